"""pytest-qt tests of the latent map of an LWD run still training: it shows once the VAE phase has written
latents.safetensors, before the diffusion model exists, with "Sample from diffusion" off until it does."""
import shutil

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from lwd_core.config import preset  # noqa: E402
from lwd_core.runs import RunDir  # noqa: E402
from lwd_core.train.engine import PhaseEvent  # noqa: E402
from lwd_studio.latent_preview import NO_DIFFUSION_TIP  # noqa: E402
from tests.helpers import shown_window  # noqa: E402

from .test_latent_map import click_spot, isolated  # noqa: E402


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny trained LWD run of the toy suite, kept aside: each test copies it into its own runs folder."""
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.methods.registry import train_run
    from tests.toy_suite import make_synthetic
    d = tmp_path_factory.mktemp("toy")
    save_dataset(make_synthetic(), d / "synth.h5")
    cfg = preset("tiny").replace(name="a", env_id="toy-maps", seed=0, data={"dataset": str(d / "synth.h5")})
    list(train_run(str(d / "done" / "a"), cfg))
    return d / "done" / "a"


@pytest.fixture
def half_trained(trained_run, tmp_path):
    """The run as its VAE phase leaves it: VAE checkpoint and latents on disk, the diffusion model set aside."""
    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / "a")
    run = RunDir(runs / "a")
    shutil.move(run.ddpm_ckpt, tmp_path / "ddpm.safetensors")
    return runs, run, tmp_path / "ddpm.safetensors"


@pytest.fixture
def win(qtbot, half_trained):
    yield from shown_window(qtbot, half_trained[0])


def click_row(qtbot, w, path):
    table = w.runs.table
    row = w.runs._paths.index(str(path))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualRect(w.runs.model.index(row, 0)).center())


def test_a_run_past_its_vae_phase_shows_its_map_with_sampling_off_until_the_diffusion_model_exists(
        qtbot, win, half_trained):
    w, lat = win, win.latents
    _, run, ddpm = half_trained
    with qtbot.waitSignal(w.service.envs_warmed, timeout=30_000):
        click_row(qtbot, w, run.path)
    qtbot.waitUntil(lambda: lat.map is not None and w.map is lat.map, timeout=5000)
    assert len(lat.scatter.points()) == len(w.map.latents)
    assert not lat.sample_btn.isEnabled() and lat.sample_btn.toolTip() == NO_DIFFUSION_TIP
    qtbot.mouseClick(lat.sample_btn, Qt.LeftButton)           # off: nothing asked of the service
    # a point rolls out through the VAE alone
    lat.plot.getPlotItem().vb.autoRange()
    free = isolated(lat.plot, lat.scatter, [lat.sampled])
    with qtbot.waitSignal(w.service.rollout_started, timeout=10_000):
        click_spot(qtbot, lat.plot, lat.scatter, free[0])
    assert not w.banner_box.isVisibleTo(w), w.banner.text()
    # the diffusion model is written and the run finishes: the full run loads and sampling opens
    shutil.move(ddpm, run.ddpm_ckpt)
    with qtbot.waitSignal(w.service.map_ready, timeout=30_000):
        w._on_training_ended(str(run.path), "finished")
    qtbot.waitUntil(lat.sample_btn.isEnabled, timeout=5000)
    with qtbot.waitSignal(w.service.samples_ready, timeout=30_000):
        qtbot.mouseClick(lat.sample_btn, Qt.LeftButton)
    assert not w.banner_box.isVisibleTo(w), w.banner.text()


def test_the_map_appears_when_the_selected_runs_latents_are_written_during_training(qtbot, win, half_trained):
    w, lat = win, win.latents
    _, run, _ = half_trained
    aside = run.path / "latents.aside"
    shutil.move(run.latents_path, aside)                      # still in its VAE phase
    click_row(qtbot, w, run.path)
    qtbot.wait(300)
    assert w.current == str(run.path) and lat.map is None
    shutil.move(aside, run.latents_path)                      # the VAE phase ends: latents written, DDPM starts
    with qtbot.waitSignal(w.service.map_ready, timeout=30_000):
        w._on_record(str(run.path), PhaseEvent("ddpm", "training ddpm from step 0"))
    qtbot.waitUntil(lambda: lat.map is not None and w.map is lat.map, timeout=5000)
    assert not lat.sample_btn.isEnabled()
