"""pytest-qt tests of the Behaviours view: a saved evaluation drawn at once, a background roll-out of a run."""
import json

import numpy as np
import pytest

pytest.importorskip("PySide6")

from lwd_core.config import preset  # noqa: E402
from lwd_studio.jobs import JobManager  # noqa: E402
from lwd_studio.tab_jobs import connect_behaviours  # noqa: E402
from lwd_studio.views.behaviours import BehavioursView  # noqa: E402
from tests.toy_behaviours import write_behaviours  # noqa: E402


@pytest.fixture
def view(qtbot):
    """A Behaviours view wired to a job manager of its own, as the main window wires it to the window's."""
    v = BehavioursView()
    qtbot.addWidget(v)
    jobs = JobManager()
    connect_behaviours(v, jobs)
    v.jobs = jobs
    yield v
    assert jobs.shutdown()


def _fake_eval(levels=("expert", "medium", "random"), n=6):
    rng = np.random.default_rng(0)
    pc = lambda shift: {lv: {"return": float(100 * i + shift), "episodes": n,  # noqa: E731
                             "episode_stats": {"foot_contact": rng.uniform(0, 1, (n, 2)).tolist()}}
                        for i, lv in enumerate(levels)}
    return {"episodes": n, "foot_labels": ["back foot", "front foot"],
            "methods": {"expert": {"per_condition": pc(0)}, "lwd": {"per_condition": pc(5)}}}


def test_a_saved_evaluation_is_drawn_with_its_divergences(qtbot, tmp_path):
    v = BehavioursView()
    qtbot.addWidget(v)
    (tmp_path / "eval").mkdir()
    v.set_run(str(tmp_path))
    assert v.result is None and "press Roll out" in v.placeholder.toPlainText()
    (tmp_path / "eval" / "table1-lwd.json").write_text(json.dumps(_fake_eval()))
    (tmp_path / "eval" / "behaviours.json").write_text("{not json")                  # ignored, not a crash
    v.set_run(str(tmp_path))
    scatters = [i for i in v.scatter.getPlotItem().items if hasattr(i, "points")]
    assert len(scatters) == 6 and len(scatters[0].points()) == 6                      # 3 behaviours x 2 sets
    assert v.status.text().count(": JS ") == 3 and "front foot" in v.scatter.getAxis("bottom").labelText
    # the study's on-request kind, saved beside it for the same episodes, is offered too; one with other
    # episodes is not
    extra = _fake_eval()
    extra["methods"] = {"vae_train": extra["methods"]["lwd"]}
    (tmp_path / "eval" / "table1-vtrain.json").write_text(json.dumps(extra))
    v.set_run(str(tmp_path))
    assert [v.kind.itemText(i) for i in range(v.kind.count())] == ["lwd", "vae_train"]
    extra["episodes"] = 5
    (tmp_path / "eval" / "table1-vtrain.json").write_text(json.dumps(extra))
    v.set_run(str(tmp_path))
    assert [v.kind.itemText(i) for i in range(v.kind.count())] == ["lwd"]


def test_roll_out_a_trained_locomotion_run_in_the_background(qtbot, view, tmp_path, monkeypatch):
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.envs.locomotion_collect import LocomotionCollectConfig, collect_locomotion
    from lwd_core.methods.registry import train_run
    monkeypatch.setenv("LWD_BEHAVIOURS", str(write_behaviours(tmp_path / "assets")))
    res: dict = {}
    list(collect_locomotion(LocomotionCollectConfig(episodes=2, episode_length=30), 1, res))
    save_dataset(res["dataset"], tmp_path / "hc.h5")
    cfg = preset("tiny").replace(data={"dataset": str(tmp_path / "hc.h5")}, eval={"max_steps": 30})
    list(train_run(str(tmp_path / "run"), cfg))
    v = view
    v.set_run(str(tmp_path / "run"))
    v.episodes.setValue(3)
    with qtbot.waitSignal(v.evaluated, timeout=120_000):
        v.roll_out(workers=1)
    assert v.jobs.running() == []
    saved = json.loads((tmp_path / "run" / "eval" / "behaviours.json").read_text())
    assert saved["foot_labels"] == ["back foot", "front foot"] and saved["episodes"] == 3
    assert v.result is not None and v.status.text().count(": JS ") == 3 and v.roll_btn.isEnabled()


def test_latent_map_of_a_locomotion_run_colours_by_behaviour_and_plays_a_point(qtbot, tmp_path, monkeypatch):
    """The latent map works for locomotion runs: one point per trajectory, labelled by its behaviour, and a click
    renders that decoded policy running in HalfCheetah in the embedded view."""
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.envs.locomotion_collect import LocomotionCollectConfig, collect_locomotion
    from lwd_core.methods.registry import train_run
    from lwd_studio.main_window import MainWindow
    monkeypatch.setenv("LWD_BEHAVIOURS", str(write_behaviours(tmp_path / "assets")))
    res: dict = {}
    list(collect_locomotion(LocomotionCollectConfig(episodes=2, episode_length=30), 1, res))
    save_dataset(res["dataset"], tmp_path / "hc.h5")
    cfg = preset("tiny").replace(name="hc", data={"dataset": str(tmp_path / "hc.h5")}, eval={"max_steps": 30})
    list(train_run(str(tmp_path / "runs" / "hc"), cfg))
    w = MainWindow(tmp_path / "runs", confirm=lambda t: True)
    qtbot.addWidget(w)
    w.service.max_steps = 20
    try:
        with qtbot.waitSignal(w.service.envs_warmed, timeout=60_000):
            w.runs.select_path(str(tmp_path / "runs" / "hc"))
        assert w.map is not None and len(w.map.coords) == 6                 # 3 behaviours x 2 trajectories
        conds = sorted(w.map.tooltip(i).split("condition: ")[1].split("\n")[0] for i in range(6))
        assert conds == ["expert", "expert", "medium", "medium", "random", "random"]
        w.latents.click_point(4)
        qtbot.waitUntil(lambda: len(w.viewer.frames) > 0, timeout=20_000)
        qtbot.waitUntil(lambda: not w.viewer.live, timeout=60_000)
        f = w.viewer.frames[-1]
        assert f.ndim == 3 and f.shape[2] == 3 and f.std() > 5              # a rendered cheetah, not a blank frame
    finally:
        w.shutdown()


def test_pressing_roll_out_evaluates_the_run(qtbot, view, tmp_path, synthetic_file, monkeypatch):
    """The real Roll out button: its clicked(bool) once passed checked=False on as `workers`, so every roll-out
    failed with "`workers` must be an integer >= 1, got False"."""
    from PySide6.QtCore import Qt

    from lwd_core.envs import collect
    from lwd_core.methods.registry import train_run
    monkeypatch.setattr(collect, "usable_cores", lambda: 1)       # the button's workers=None: in this process
    cfg = preset("tiny").replace(name="toy", env_id="toy-maps", data={"dataset": str(synthetic_file)})
    list(train_run(str(tmp_path / "run"), cfg))
    v = view
    v.show()
    qtbot.waitExposed(v)
    v.set_run(str(tmp_path / "run"))
    v.episodes.setValue(2)
    errors = []
    v.error.connect(errors.append)
    assert v.roll_btn.isEnabled()
    with qtbot.waitSignal(v.evaluated, timeout=60_000):
        qtbot.mouseClick(v.roll_btn, Qt.LeftButton)
    assert errors == []
    saved = json.loads((tmp_path / "run" / "eval" / "behaviours.json").read_text())
    assert saved["episodes"] == 2 and "expert" in saved["methods"] and v.roll_btn.isEnabled()


def test_nothing_drawn_over_the_scatter_covers_a_trajectory_and_the_key_names_each_behaviour(qtbot, tmp_path):
    """A legend inside the scatter covered the points in its upper-left corner; the key is a line under it."""
    import pyqtgraph as pg
    v = BehavioursView()
    qtbot.addWidget(v)
    v.resize(430, 420)                      # the tab's size in a 1280x800 window
    v.show()
    qtbot.waitExposed(v)
    ev = _fake_eval(n=40)
    for pc in ev["methods"].values():       # trajectories everywhere, the corners included
        for i, c in enumerate(pc["per_condition"].values()):
            c["episode_stats"]["foot_contact"][:4] = [[0.95, 0.02], [0.95, 0.95], [0.02, 0.02], [0.02, 0.95]]
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "behaviours.json").write_text(json.dumps(ev))
    v.set_run(str(tmp_path))
    qtbot.wait(50)
    vb = v.scatter.getPlotItem().vb
    points = [vb.mapViewToScene(pg.Point(p.pos())) for it in v.scatter.getPlotItem().items if hasattr(it, "points")
              for p in it.points()]
    overlays = [it for it in v.scatter.scene().items() if isinstance(it, (pg.LegendItem, pg.TextItem))
                and it.isVisible()]
    assert len(points) == 2 * 3 * 40
    assert [(type(o).__name__, p) for o in overlays for p in points if o.sceneBoundingRect().contains(p)] == []
    key = v.key.text()
    assert all(lv in key for lv in ("expert", "medium", "random")) and "original" in key and "generated" in key
