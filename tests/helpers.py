"""Small helpers shared by the tests."""
from __future__ import annotations

from pathlib import Path


def drain(gen):
    """Run a generator to its end and return its return value (the project's loops yield records, then return)."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def toy_run(folder: Path, **sections) -> Path:
    """A tiny state-conditioned LWD run on the toy suite's synthetic data, trained in folder/run (seconds)."""
    from lwd_core.config import preset
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.methods.registry import train_run
    from tests.toy_suite import make_synthetic
    save_dataset(make_synthetic(), folder / "toy.h5")
    cfg = preset("toy-tiny").replace(data={"dataset": str(folder / "toy.h5")}, ddpm={"state_condition": True},
                                     **sections)
    drain(train_run(str(folder / "run"), cfg))
    return folder / "run"


def shown_window(qtbot, runs_dir):
    """A main window on `runs_dir`, shown, confirming every question, with 6-step rollouts; shut down after use."""
    from lwd_studio.main_window import MainWindow
    w = MainWindow(runs_dir, confirm=lambda t: True)
    qtbot.addWidget(w)
    w.service.max_steps = 6
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()
