"""pytest-qt tests of the latent map in the main window, driven by real mouse clicks: on the runs table, on the
map's points and stars (pyqtgraph scene), and on its buttons."""
import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from lwd_core.config import preset  # noqa: E402
from lwd_studio.main_window import MainWindow  # noqa: E402


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """Two tiny trained LWD runs of the toy suite, side by side."""
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.methods.registry import train_run
    from tests.toy_suite import make_synthetic
    d = tmp_path_factory.mktemp("toy")
    save_dataset(make_synthetic(), d / "synth.h5")
    for name, seed in (("a", 0), ("b", 1)):
        cfg = preset("tiny").replace(name=name, env_id="toy-maps", seed=seed, data={"dataset": str(d / "synth.h5")})
        list(train_run(str(d / "runs" / name), cfg))
    return d / "runs"


@pytest.fixture
def win(qtbot, toy_runs):
    w = MainWindow(toy_runs, confirm=lambda t: True)
    qtbot.addWidget(w)
    w.service.max_steps = 6
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def select_run(qtbot, w, name):
    """Click the run's row in the runs table; wait for its latent map."""
    row = w.runs._paths.index(str(w.runs_dir / name))
    table = w.runs.table
    with qtbot.waitSignal(w.service.envs_warmed, timeout=30_000):
        qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualRect(w.runs.model.index(row, 0)).center())
    qtbot.waitUntil(lambda: w.latents.map is not None and w.map is w.latents.map, timeout=5000)


def spot_pos(plot, item, i):
    """Where spot i of a scatter item is, in the plot widget's viewport pixels."""
    return plot.mapFromScene(plot.getPlotItem().vb.mapViewToScene(item.points()[i].pos()))


def isolated(plot, item, others, away=14):
    """Spots of `item` at least `away` pixels from every other spot drawn (so a click picks that one)."""
    mine = [spot_pos(plot, item, i) for i in range(len(item.points()))]
    rest = [spot_pos(plot, it, j) for it in others for j in range(len(it.points()))]
    out = []
    for i, p in enumerate(mine):
        near = [q for j, q in enumerate(mine) if j != i] + rest
        if all(abs(p.x() - q.x()) + abs(p.y() - q.y()) >= away for q in near):
            out.append(i)
    return out


def click_spot(qtbot, plot, item, i, shift=False):
    qtbot.mouseClick(plot.viewport(), Qt.LeftButton, Qt.ShiftModifier if shift else Qt.NoModifier,
                     spot_pos(plot, item, i))


def test_selecting_another_run_drops_the_blend_pair_and_a_new_pair_blends_that_runs_latents(qtbot, win):
    w, lat = win, win.latents
    started = []
    w.service.rollout_started.connect(started.append)
    select_run(qtbot, w, "a")
    lat.plot.getPlotItem().vb.autoRange()
    free = isolated(lat.plot, lat.scatter, [lat.sampled])
    assert len(free) >= 2, "the toy map's points overlap on screen"
    click_spot(qtbot, lat.plot, lat.scatter, free[0])
    qtbot.waitUntil(lambda: len(started) == 1, timeout=10_000)
    click_spot(qtbot, lat.plot, lat.scatter, free[1], shift=True)
    assert lat.blend_btn.isEnabled() and len(lat.marks.points()) == 2
    select_run(qtbot, w, "b")
    # the pair of run a is gone with its map: Run blend is off, and pressing it does nothing, with no error
    assert not lat.blend_btn.isEnabled() and lat.sel_a is None and lat.sel_b is None
    qtbot.mouseClick(lat.blend_btn, Qt.LeftButton)
    qtbot.wait(200)
    assert len(started) == 1 and not w.banner_box.isVisibleTo(w)
    # a pair of run b blends run b's latents
    lat.plot.getPlotItem().vb.autoRange()
    free = isolated(lat.plot, lat.scatter, [lat.sampled])
    click_spot(qtbot, lat.plot, lat.scatter, free[0])
    click_spot(qtbot, lat.plot, lat.scatter, free[-1], shift=True)
    assert lat.blend_btn.isEnabled()
    lat.slider.setValue(25)
    with qtbot.waitSignal(w.service.rollout_started, timeout=10_000) as sig:
        qtbot.mouseClick(lat.blend_btn, Qt.LeftButton)
    m = w.map
    assert sig.args[0]["label"] == (f"blend 0.75·episode {m.episode[free[0]]} + "
                                    f"0.25·episode {m.episode[free[-1]]}")
    assert sig.args[0]["condition"] == m.label_names[m.label[free[0]]]
    assert not w.banner_box.isVisibleTo(w), w.banner.text()


def test_shift_clicking_a_star_chooses_it_as_the_blend_partner(qtbot, win):
    w, lat = win, win.latents
    select_run(qtbot, w, "a")
    with qtbot.waitSignal(w.service.samples_ready, timeout=30_000):
        qtbot.mouseClick(lat.sample_btn, Qt.LeftButton)
    lat.plot.getPlotItem().vb.autoRange()
    points = isolated(lat.plot, lat.scatter, [lat.sampled])
    stars = isolated(lat.plot, lat.sampled, [lat.scatter])
    assert points and stars, "the toy map's points and stars overlap on screen"
    runs, sampled = [], []
    w.service.rollout_started.connect(runs.append)
    lat.sample_clicked.connect(sampled.append)
    click_spot(qtbot, lat.plot, lat.scatter, points[0])
    qtbot.waitUntil(lambda: len(runs) == 1, timeout=10_000)
    click_spot(qtbot, lat.plot, lat.sampled, stars[0], shift=True)
    qtbot.wait(200)
    assert sampled == [] and len(runs) == 1                   # chosen, not run
    assert lat.sel_a == ("point", points[0]) and lat.sel_b == ("sample", stars[0]) and lat.blend_btn.isEnabled()
    assert f"sample {stars[0]}" in lat.blend_label.text()
    lat.slider.setValue(100)
    with qtbot.waitSignal(w.service.rollout_started, timeout=10_000) as sig:
        qtbot.mouseClick(lat.blend_btn, Qt.LeftButton)
    z, cond = lat.samples
    assert sig.args[0]["label"].endswith(f"1.00·sample {stars[0]}")
    assert sig.args[0]["condition"] == w.map.label_names[cond[stars[0]]]
    # a plain click on a star still runs it
    with qtbot.waitSignal(w.service.rollout_started, timeout=10_000) as sig:
        click_spot(qtbot, lat.plot, lat.sampled, stars[0])
    assert sampled == [stars[0]] and sig.args[0]["label"].startswith("sampled")
    # new samples drop a pair whose partner was a star
    click_spot(qtbot, lat.plot, lat.scatter, points[0])
    click_spot(qtbot, lat.plot, lat.sampled, stars[0], shift=True)
    assert lat.blend_btn.isEnabled()
    with qtbot.waitSignal(w.service.samples_ready, timeout=30_000):
        qtbot.mouseClick(lat.sample_btn, Qt.LeftButton)
    assert lat.sel_a == ("point", points[0]) and lat.sel_b is None and not lat.blend_btn.isEnabled()
    assert np.isfinite(z).all() and not w.banner_box.isVisibleTo(w), w.banner.text()
