"""The app imports at start-up what training imports, so a run's worker thread imports nothing new: an import holds
the GIL, and one on a worker thread froze the app's event loop for up to a third of a second (hypnettorch pulling in
matplotlib). Checked in a fresh interpreter, where nothing else has imported those packages yet."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import importlib.abc, json, sys, threading
    from pathlib import Path
    from lwd_studio.workers import preload
    from tests.toy_suite import make_synthetic
    from lwd_core.config import preset
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.methods.registry import train_run
    tmp = Path(sys.argv[2])
    save_dataset(make_synthetic(), tmp / "d.h5")
    cfg = preset("tiny").replace(env_id="toy-maps", data={"dataset": str(tmp / "d.h5")}, vae={"steps": 3},
                                 ddpm={"steps": 3}, checkpoint_every=2)
    if sys.argv[1] == "preload":
        preload()
    imported = []

    class OnWorkerThreads(importlib.abc.MetaPathFinder):    # asked only for modules not imported yet
        def find_spec(self, name, path, target=None):
            if threading.current_thread() is not threading.main_thread() and "." not in name:
                imported.append(name)
            return None

    sys.meta_path.insert(0, OnWorkerThreads())
    events = []
    t = threading.Thread(target=lambda: events.extend(train_run(str(tmp / "run"), cfg)))
    t.start()
    t.join()
    if not events or events[-1].status != "finished":              # a thread's exception would not fail the process
        sys.exit(f"the training did not finish: {events[-1:]}")
    print(json.dumps(imported))
""")


def _packages_a_training_thread_imports(mode: str, tmp: Path) -> list[str]:
    tmp.mkdir()
    out = subprocess.run([sys.executable, "-c", PROBE, mode, str(tmp)], cwd=ROOT, capture_output=True, text=True, timeout=240,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_after_preload_a_training_thread_imports_no_package(tmp_path):
    assert _packages_a_training_thread_imports("preload", tmp_path / "a") == []
    # and the probe sees such imports when they happen: without the preload, training imports hypnettorch itself
    assert "hypnettorch" in _packages_a_training_thread_imports("none", tmp_path / "b")


WINDOW = textwrap.dedent("""
    import gc, json, os, sys
    from PySide6.QtWidgets import QApplication
    from lwd_studio.main_window import MainWindow
    app = QApplication(sys.argv[:1])
    w = MainWindow(sys.argv[1])
    print(json.dumps({"frozen": gc.get_freeze_count(), "collectable": len(gc.get_objects())}), flush=True)
    w.shutdown(timeout_s=10)
    os._exit(0)                            # as `lwd-studio launch` ends: no Qt teardown racing the window's threads
""")


def test_the_objects_of_the_start_up_imports_are_out_of_the_collectors_reach(tmp_path):
    # each full collection on the GUI thread scanned them all: 215 ms and more of a frozen event loop during training
    out = subprocess.run([sys.executable, "-c", WINDOW, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=240,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr[-2000:]
    n = json.loads(out.stdout.strip().splitlines()[-1])
    assert n["frozen"] > 100_000 and n["collectable"] < n["frozen"] / 5, n
