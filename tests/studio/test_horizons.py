"""pytest-qt tests of the action-horizon view (paper Fig. 9): drawing a result, clicking a point, a live sweep."""
import json

import pytest

pytest.importorskip("PySide6")

from lwd_core.runs import RunDir  # noqa: E402
from lwd_core.studies.fig9 import aggregate  # noqa: E402
from lwd_studio.views.horizons import HorizonView  # noqa: E402


def _result(tmp_path, **extra):
    pts = [{"method": m, "kind": "lwd" if m == "LWD" else "diffusion_policy", "horizon": h, "condition": c,
            "seed": 0, "run": "lwd" if m == "LWD" else f"dp{16 if h < 16 else 132}",
            "score": 0.8 - 0.001 * h * (2 if m == "DP" else 1), "success": 0.5, "queries": 300 / h,
            "wall_per_episode": 0.05, "episodes": 50}
           for m in ("LWD", "DP") for c in ("clean", "perturbed") for h in (1, 8, 16, 32, 64, 128)]
    floors = [{"condition": c, "seed": 0, "score": s, "success": 0.02} for c, s in (("clean", 0.12), ("perturbed", 0.1))]
    res = {**aggregate(pts, (1, 8, 16, 32, 64, 128), ["clean", "perturbed"], floors), "study": "fig9", **extra}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "fig9.json"
    path.write_text(json.dumps(res))
    return path


def test_view_draws_both_methods_and_a_click_asks_to_play_that_point(qtbot, tmp_path):
    v = HorizonView(tmp_path)
    qtbot.addWidget(v)
    v.open_result(_result(tmp_path))
    assert len(v.items) == 2 * 2 * 2                  # methods x conditions x (absolute, relative) plots
    assert "relative at H_a=64" in v.status.text()
    assert sorted(round(line.value(), 3) for line in v.floor_lines) == [0.1, 0.12]       # hold-still floors drawn
    dp_perturbed = next(it for it in v.items if it.points()[0].data()[:2] == ("DP", "perturbed"))
    spot = dp_perturbed.points()[5]                    # H_a = 128
    (tmp_path / "dp132-s0").mkdir()                    # its run, beside the result
    with qtbot.waitSignal(v.play_requested) as sig:
        v._on_point_clicked(dp_perturbed, [spot])
    assert sig.args[0] == {"run_dir": str(tmp_path / "dp132-s0"), "kind": "diffusion_policy", "horizon": 128,
                           "perturb": True, "label": "DP at H_a = 128 (perturbed)"}
    v.measure.setCurrentIndex(1)                       # success rate on the left plot
    assert len(v.items) == 8 and [line.value() for line in v.floor_lines] == [0.02, 0.02]
    errors = []
    v.error.connect(errors.append)
    (tmp_path / "bad.json").write_text('{"study": "fig9", "curves": {"LWD": {"clean": [{"horizon": 1}]}}}')
    v._guard(v.open_result, tmp_path / "bad.json")
    assert errors and "not a fig9 result" in errors[0] and len(v.items) == 8     # the old curves stay


@pytest.mark.slow
def test_sweep_from_the_app_stops_resumably_resumes_and_plays_a_point(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from lwd_studio.main_window import MainWindow
    w = MainWindow(tmp_path / "runs", confirm=lambda text: True)
    qtbot.addWidget(w)
    try:
        v = w.horizons
        v.out.setText(str(tmp_path / "sweep"))
        v.quick.setChecked(True)
        v.perturb.setChecked(False)
        firsts = []

        def stop_at_first_point(item):
            if hasattr(item, "points_total") and not firsts:
                firsts.append(item)
                v.stop_sweep()
        v.start_sweep(workers=1)
        w.jobs.job("sweep", str(tmp_path / "sweep")).item.connect(stop_at_first_point)
        with qtbot.waitSignal(v.sweep_finished, timeout=300_000) as sig:
            pass
        assert sig.args == ["cancelled"] and firsts[0].points_done == 1 and firsts[0].points_total == 6
        assert not (tmp_path / "sweep" / "fig9.json").exists() and v.start_btn.isEnabled()
        assert all(RunDir(p).status()["status"] == "finished" for p in (tmp_path / "sweep").glob("*-s0"))
        assert len(list((tmp_path / "sweep").glob("*/eval/fig9-*.json"))) == 1     # kept, and reused below
        with qtbot.waitSignal(v.sweep_finished, timeout=300_000) as sig:
            v.start_sweep(workers=1)
        assert sig.args == ["finished"] and v.progress.value() == 6 and len(v.items) == 4
        w.show()
        qtbot.waitExposed(w)
        w.tabs.setCurrentWidget(v)
        qtbot.wait(50)
        plot = v.abs_plot
        lwd = next(it for it in v.items
                   if it.points()[0].data()[0] == "LWD" and it.getViewBox() is plot.getPlotItem().vb)
        pos = plot.mapFromScene(plot.getPlotItem().vb.mapViewToScene(lwd.points()[1].pos()))     # LWD at H_a = 8
        with qtbot.waitSignal(w.service.rollout_finished, timeout=60_000) as done:
            qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=pos)
        assert done.args[0]["queries"] >= 1 and len(w.viewer.frames) > 10
        assert w.viewer.frames[0].ndim == 3
    finally:
        w.shutdown()


def test_a_result_opened_from_elsewhere_keeps_the_sweep_folder_and_a_point_without_runs_is_a_message(
        qtbot, tmp_path, monkeypatch):
    """A fig9.json copied away from its runs (its recorded sweep folder gone too): opening it with the real Open
    button leaves the sweep folder alone, and a real click on a point says where the runs are missing, instead of
    asking the viewer for a run that is not there."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog
    v = HorizonView(tmp_path / "runs")
    qtbot.addWidget(v)
    v.resize(1000, 600)
    v.show()
    qtbot.waitExposed(v)
    sweep_folder = v.out.text()
    path = _result(tmp_path / "copied", out=str(tmp_path / "gone"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    qtbot.mouseClick(v.open_btn, Qt.LeftButton)
    assert len(v.items) == 8 and v.out.text() == sweep_folder
    errors, plays = [], []
    v.error.connect(errors.append)
    v.play_requested.connect(plays.append)
    plot = v.abs_plot
    qtbot.wait(50)                                     # the plot's range settles on the new curves
    dp = next(it for it in v.items if it.points()[0].data()[0] == "DP" and it.getViewBox() is plot.getPlotItem().vb)
    pos = plot.mapFromScene(plot.getPlotItem().vb.mapViewToScene(dp.points()[5].pos()))     # DP at H_a = 128
    qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=pos)
    msg = f"run folder not found at {tmp_path / 'copied' / 'dp132-s0'}"
    assert plays == [] and errors == [msg] and v.status.text() == msg
    # the runs copied beside it: the same click plays the run there
    (tmp_path / "copied" / "dp132-s0").mkdir()
    qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=pos)
    assert len(plays) == 1 and plays[0]["run_dir"] == str(tmp_path / "copied" / "dp132-s0")
    assert plays[0]["kind"] == "diffusion_policy" and plays[0]["horizon"] == 128


def test_points_whose_run_folder_is_missing_are_drawn_hollow_and_grey_and_say_why(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QFileDialog
    v = HorizonView(tmp_path)
    qtbot.addWidget(v)
    v.resize(900, 500)
    v.show()
    qtbot.waitExposed(v)
    path = _result(tmp_path / "res", out=str(tmp_path / "gone"))
    (tmp_path / "res" / "dp132-s0").mkdir()             # the one run beside the result: DP at H_a 16..128
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    qtbot.mouseClick(v.open_btn, Qt.LeftButton)
    plot = v.abs_plot
    qtbot.wait(50)
    on_abs = [it for it in v.items if it.getViewBox() is plot.getPlotItem().vb]
    dp = next(it for it in on_abs if it.points()[0].data()[:2] == ("DP", "clean"))
    lwd = next(it for it in on_abs if it.points()[0].data()[:2] == ("LWD", "clean"))
    hollow = [s.brush().style() == Qt.NoBrush and s.pen().color().name() == "#999999" for s in dp.points()]
    assert hollow == [True, True, False, False, False, False]          # dp16-s0 is missing, dp132-s0 is here
    assert all(s.brush().style() == Qt.NoBrush for s in lwd.points())
    # hovering a missing point says why it cannot play; a present one says it can
    def hover_tip(item, i):
        pos = plot.mapFromScene(plot.getPlotItem().vb.mapViewToScene(item.points()[i].pos()))
        for dx in (0, 1):                             # the point left clears the tip once; the next move sets it
            qtbot.mouseMove(plot.viewport(), pos + QPoint(dx, 0))
            qtbot.wait(50)                            # pyqtgraph drops moves closer together than ~16 ms
        return plot.getPlotItem().vb.toolTip()        # pyqtgraph puts the hovered points' tips on the view box
    assert hover_tip(lwd, 5).endswith(f"not playable: run folder not found at {tmp_path / 'res' / 'lwd-s0'}")
    assert hover_tip(dp, 5).endswith("click to play")


def test_nothing_drawn_over_the_plots_covers_a_data_point_and_the_key_names_every_line(qtbot, tmp_path):
    """At the tab's width in a 1024-pixel window (about 370 px), a legend inside the plot covered the curves'
    left end; the key is a line under the plots."""
    import pyqtgraph as pg

    v = HorizonView(tmp_path)
    qtbot.addWidget(v)
    v.resize(370, 520)
    v.show()
    qtbot.waitExposed(v)
    v.open_result(_result(tmp_path))
    qtbot.wait(50)
    for plot in (v.abs_plot, v.rel_plot):
        vb = plot.getPlotItem().vb
        overlays = [it for it in plot.scene().items() if isinstance(it, (pg.LegendItem, pg.TextItem))
                    and it.isVisible() and it is not v.placeholder]
        points = [vb.mapViewToScene(pg.Point(p.pos())) for it in v.items if it.getViewBox() is vb
                  for p in it.points()]
        assert points
        covered = [(type(o).__name__, p) for o in overlays for p in points if o.sceneBoundingRect().contains(p)]
        assert covered == []
    key = v.key.text()
    assert all(m in key and c in key for m, c in (("LWD", "#1f77b4"), ("DP", "#ff7f0e")))
    assert "perturbed" in key and "hold still" in key
