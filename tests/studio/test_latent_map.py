"""pytest-qt tests of the latent map in the main window, driven by real mouse clicks: on the runs table, on the
map's points and stars (pyqtgraph scene), and on its buttons."""
import threading
import time

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer  # noqa: E402

from lwd_core.config import preset  # noqa: E402
from tests.helpers import shown_window  # noqa: E402


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
    yield from shown_window(qtbot, toy_runs)


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
    # the rollout may reshape the window: find the isolated stars again on the map as it is drawn now
    lat.plot.getPlotItem().vb.autoRange()
    stars = isolated(lat.plot, lat.sampled, [lat.scatter, lat.marks])
    assert stars, "the toy map's stars overlap on screen"
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


def test_a_newer_click_wins_over_the_rollout_queued_before_it(qtbot, win, monkeypatch):
    w, lat = win, win.latents
    select_run(qtbot, w, "a")
    lat.plot.getPlotItem().vb.autoRange()
    free = isolated(lat.plot, lat.scatter, [lat.sampled])
    assert len(free) >= 2, "the toy map's points overlap on screen"
    # Keep the rollout thread busy while both clicks arrive (as a slow warm-up or sampling does): the first click's
    # job is then still queued when the second comes in
    busy, release = threading.Event(), threading.Event()

    def slow_sample(*args):
        busy.set()
        release.wait(10)
    monkeypatch.setattr(w.service, "_do_sample", slow_sample)
    qtbot.mouseClick(lat.sample_btn, Qt.LeftButton)
    qtbot.waitUntil(busy.is_set, timeout=5000)
    started, finished = [], []
    w.service.rollout_started.connect(started.append)
    w.service.rollout_finished.connect(finished.append)
    click_spot(qtbot, lat.plot, lat.scatter, free[0])
    click_spot(qtbot, lat.plot, lat.scatter, free[1])
    release.set()
    qtbot.waitUntil(lambda: len(finished) >= 1 and not w.viewer.live, timeout=10_000)
    qtbot.wait(300)                                   # a stale rollout would start after the newest one
    m = w.map
    newest = f"{m.label_names[m.label[free[1]]]}, episode {m.episode[free[1]]}"
    assert [s["label"] for s in started] == [newest]
    assert len(finished) == 1 and not finished[0].get("aborted")
    assert w.viewer.title.text().startswith(f"<b>Policy rollout</b> — {newest}")
    assert len(w.viewer.frames) == 4                  # steps 0, 2, 4, 6 of the newest rollout only
    assert not w.banner_box.isVisibleTo(w), w.banner.text()


def test_the_viewer_scrubs_changes_speed_and_exports_the_whole_episode(qtbot, win, tmp_path, monkeypatch):
    import imageio.v3 as iio
    from PySide6.QtWidgets import QApplication, QFileDialog
    w, lat, v = win, win.latents, win.viewer
    w.service.max_steps = None                        # whole toy episodes: 30 steps, a frame every 2nd
    select_run(qtbot, w, "a")
    send = w.service._frame_sender
    # frames arrive slowly, so that Export is pressed while the episode is still running
    monkeypatch.setattr(w.service, "_frame_sender",
                        lambda g: (lambda f, st: (time.sleep(0.05), send(g)(f, st))))
    lat.plot.getPlotItem().vb.autoRange()
    i = isolated(lat.plot, lat.scatter, [lat.sampled])[0]
    click_spot(qtbot, lat.plot, lat.scatter, i)
    qtbot.waitUntil(lambda: len(v.frames) >= 2, timeout=10_000)
    m = w.map
    chosen = {}

    def answer_the_dialog():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, QFileDialog):
            QTimer.singleShot(20, answer_the_dialog)
            return
        chosen["suggested"] = dlg.selectedFiles()[0]
        dlg.selectFile(str(tmp_path / chosen["suggested"].rsplit("/", 1)[-1]))
        dlg.accept()

    QTimer.singleShot(0, answer_the_dialog)
    with qtbot.waitSignal(v.exported, timeout=20_000) as done:
        qtbot.mouseClick(v.export_btn, Qt.LeftButton)
        assert v.live                                  # still rolling out when the path was chosen
    seed = v.info["seed"]
    name = f"{m.label_names[m.label[i]]}_episode-{m.episode[i]}_seed-{seed}.mp4"
    assert chosen["suggested"].endswith(name) and done.args == [str(tmp_path / name)]
    assert str(tmp_path / name) in w.statusBar().currentMessage()
    assert len(v.frames) == 16 and len(list(iio.imiter(tmp_path / name))) == 16      # the whole episode
    # the scrubber: Home goes to the first frame and pauses, Right steps one frame
    v.scrubber.setFocus()
    qtbot.keyClick(v.scrubber, Qt.Key_Home)
    assert v.pos == 0 and not v.playing and v.counter.text() == "frame 0 / 15" and v.scrubber.maximum() == 15
    qtbot.keyClick(v.scrubber, Qt.Key_Right)
    assert v.pos == 1 and v.scrubber.value() == 1
    # the speed control: 4x replays four times as fast as 1x
    v.speed.setFocus()
    qtbot.keyClick(v.speed, Qt.Key_End)
    assert v.speed.currentText() == "4×" and v.timer.interval() == 8
    qtbot.mouseClick(v.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: v.pos == 15 and not v.playing, timeout=3000)
    assert v.scrubber.value() == 15


def test_a_point_in_the_maps_top_left_corner_is_clickable_and_the_key_names_every_condition(qtbot):
    """Ten conditions, as MT10 has: a legend inside the plot covered the upper-left points and took their clicks;
    the key is a line under the plot."""
    from sklearn.decomposition import PCA

    from lwd_core.eval.latents import LatentMap
    from lwd_studio.views.latent_map import LatentMapView
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 8)).astype(np.float32)
    pca = PCA(n_components=2, random_state=0).fit(z.astype(np.float64))
    coords = pca.transform(z.astype(np.float64))
    coords[0] = coords[:, 0].min() - 0.5, coords[:, 1].max() + 0.5          # alone in the upper-left corner
    names = [f"task-{i}" for i in range(10)]
    lmap = LatentMap(coords, z, np.arange(200) % 10, np.arange(200), np.full(200, np.nan), np.full(200, -1), names,
                     pca.explained_variance_ratio_, pca)
    v = LatentMapView()
    qtbot.addWidget(v)
    v.resize(420, 420)
    v.show()
    qtbot.waitExposed(v)
    v.set_map(lmap)
    qtbot.wait(50)
    with qtbot.waitSignal(v.point_clicked, timeout=2000) as sig:
        qtbot.mouseClick(v.plot.viewport(), Qt.LeftButton, pos=spot_pos(v.plot, v.scatter, 0))
    assert sig.args == [0]
    assert all(n in v.key.text() for n in names)
