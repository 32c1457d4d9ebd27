"""pytest-qt tests of the desktop app, offscreen (QT_QPA_PLATFORM=offscreen is set in conftest)."""
import json
import shutil
import time

import numpy as np
import pytest

from lwd_core.config import preset
from lwd_core.errors import LWDError
from lwd_core.runs import RunDir, list_runs

pytest.importorskip("PySide6")
from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402

from lwd_studio.main_window import MainWindow  # noqa: E402
from lwd_studio.views.run_form import RunForm  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(tmp_path / "runs", confirm=lambda text: True)
    qtbot.addWidget(w)
    yield w
    threads = [j.worker for j in w.jobs.running()]
    w.shutdown()
    assert not w.service.isRunning()
    assert all(not t.isRunning() for t in threads)


def long_cfg(dataset, name="r1", steps=100_000):
    return preset("tiny").replace(name=name, env_id="toy-maps", data={"dataset": str(dataset)},
                                  vae={"steps": steps}, log_every=1, checkpoint_every=50)


def test_first_launch_offers_demo(window):
    assert "Demo run" in window.runs.hint.text() and window.runs.buttons["demo"].isDefault()


@pytest.mark.slow
def test_demo_run_collects_then_trains_with_live_curves(window, qtbot):
    from lwd_core.demo import DemoScale
    window.demo = DemoScale("mt10", {"episodes_per_task": 1, "episode_length": 40}, "mt10-quick",
                            {"vae": {"steps": 30}, "ddpm": {"steps": 30}})
    records = []
    window.record_received.connect(lambda p, r: records.append(r))
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as sig:
        window.action_demo()
    path, status = sig.args
    assert status == "finished" and path.endswith("demo")
    from lwd_core.envs.collect import read_provenance
    data = list((window.runs_dir / ".data").glob("mt10-*.h5"))
    assert len(data) == 1 and '"episodes_per_task": 1' in read_provenance(data[0])["collector_config"]
    steps = [(r.phase, r.step) for r in records if hasattr(r, "step")]
    assert ("vae", 30) in steps and ("ddpm", 30) in steps      # logged every 10 steps by the preset
    assert RunDir(path).status()["status"] == "finished"
    assert [r["name"] for r in list_runs(window.runs_dir)] == ["demo"]      # the data folder is not a run


def test_form_validates_inline_and_creates_run(window, qtbot, synthetic_file):
    form = RunForm(window.runs_dir, window, probes=window.jobs.probes)
    qtbot.addWidget(form)
    assert not form.validate() and "dataset" in form.error.text()
    form.dataset.setText(str(synthetic_file))
    form.base.setCurrentText("tiny")
    form.name.setText("from-form")
    assert form.validate(), form.error.text()
    assert "2: b0, b1" in form.tasks.text()
    form.latent.setValue(-3)
    assert not form.validate() and "`vae.latent_dim` must be > 0, got -3" in form.error.text()
    form.latent.setValue(16)
    form.beta.setText("abc")
    assert not form.validate() and "`vae.beta_kl` must be a number" in form.error.text()
    form.beta.setText("1e-6")
    assert form.validate()
    path = window.create_run(form.config)
    cfg = RunDir(path).config()
    assert cfg.name == "from-form" and cfg.vae.latent_dim == 16 and cfg.vae.beta_kl == 1e-6
    assert window.runs.selected_paths() == [path]
    form2 = RunForm(window.runs_dir, window, dataset=str(synthetic_file), probes=window.jobs.probes)
    qtbot.addWidget(form2)
    form2.name.setText("from-form")
    assert not form2.validate() and "already exists" in form2.error.text()


def test_corrupt_dataset_in_form(window, qtbot, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"nope" * 100)
    form = RunForm(window.runs_dir, window, dataset=str(bad), probes=window.jobs.probes)
    qtbot.addWidget(form)
    assert not form.validate() and "not a readable HDF5" in form.error.text()


def test_start_cancel_signals_in_order_and_curves(window, qtbot, synthetic_file):
    path = window.create_run(long_cfg(synthetic_file))
    events = []
    window.training_started.connect(lambda p: events.append("started"))
    window.record_received.connect(lambda p, r: events.append("record"))
    window.run_finished.connect(lambda p, s: events.append(f"finished:{s}"))
    with qtbot.waitSignal(window.training_started, timeout=5000):
        window.action_start(path)
    qtbot.waitUntil(lambda: events.count("record") > 30, timeout=30_000)
    qtbot.waitUntil(lambda: window.losses.points_drawn > 10, timeout=5000)   # the 25 Hz timer drew them
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as sig:
        window.action_stop()
    assert sig.args == [path, "cancelled"]
    assert events[0] == "started" and events[-1] == "finished:cancelled"
    assert set(events[1:-1]) == {"record"}
    run = RunDir(path)
    assert run.status()["status"] == "cancelled" and run.vae_ckpt.exists()
    assert path not in window.trainers
    # resume continues from the checkpoint
    step0 = json.loads(run.vae_ckpt.with_suffix(".json").read_text())["step"]
    steps = []
    window.record_received.connect(lambda p, r: hasattr(r, "step") and steps.append(r.step))
    window.action_resume(path)
    qtbot.waitUntil(lambda: len(steps) > 0, timeout=10_000)
    assert steps[0] == step0 + 1
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        window.trainers[path].cancel()


def test_event_loop_stays_responsive_during_training(window, qtbot, synthetic_file):
    # paper-sized VAE (256-d latent, 1024-512 encoder, 2x256 policy) so each step does real work
    cfg = long_cfg(synthetic_file, steps=150).replace(vae={"latent_dim": 256, "encoder_hidden": [1024, 512],
                                                          "policy_hidden": [256, 256], "batch_size": 32,
                                                          "states_per_window": 30})
    path = window.create_run(cfg)
    lateness = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(10)
    last = {"t": None}

    def tick():
        now = clock.elapsed()
        if last["t"] is not None:
            lateness.append(now - last["t"] - 10)
        last["t"] = now

    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    qtbot.wait(1000)                                   # the same timer with nothing training: this machine's noise
    idle, lateness[:] = sorted(lateness), []
    last["t"] = None
    with qtbot.waitSignal(window.run_finished, timeout=120_000):
        window.action_start(path)
    timer.stop()
    stall = max(lateness)
    busy = sorted(lateness)
    print(f"max event-loop stall during training: {stall} ms over {len(lateness)} ticks (idle: {idle[-1]} ms)")
    # docs/app.md: 33-61 ms alone; up to 266 ms in the CI suite, whose other worker keeps both cores busy, once the
    # two causes the bound of 250 had caught were fixed (imports on the training thread, collections of the start-up
    # objects: test_preload.py checks both without timing). The bound leaves twice that room.
    assert len(lateness) > 50 and len(idle) > 50 and stall < 500
    assert busy[len(busy) // 2] <= idle[len(idle) // 2] + 10     # the typical tick is as punctual as when idle


def test_failing_run_shows_error_and_app_keeps_working(window, qtbot, tmp_path):
    path = window.create_run(long_cfg(tmp_path / "missing.h5", name="broken"))
    with qtbot.waitSignal(window.run_failed, timeout=10_000) as sig:
        window.action_start(path)
    assert "missing.h5" in sig.args[1]
    assert window.banner_box.isVisibleTo(window) and "failed" in window.banner.text()
    assert RunDir(path).status()["status"] == "failed"
    window.refresh()
    assert window.runs.model.item(0, 3).text() == "failed"
    window.runs.table.clearSelection()
    window._on_action_requested("start")        # bad requests become messages, not exceptions
    assert "select one run" in window.banner.text()


def test_duplicate_rename_delete(window, qtbot, synthetic_file):
    path = window.create_run(long_cfg(synthetic_file, name="orig"))
    window.action_duplicate()
    assert (window.runs_dir / "orig-copy" / "config.json").exists()
    window.runs.select_path(path)
    window.action_rename("renamed")
    assert (window.runs_dir / "renamed").is_dir() and not (window.runs_dir / "orig").exists()
    assert RunDir(window.runs_dir / "renamed").config().name == "renamed"
    window.runs.select_path(str(window.runs_dir / "renamed"))
    window.action_delete()
    assert not (window.runs_dir / "renamed").exists()
    with pytest.raises(ValueError, match="taken"):
        window.runs.select_path(str(window.runs_dir / "orig-copy"))
        window.action_rename("orig-copy")


@pytest.fixture(scope="module")
def mt10_run(tmp_path_factory):
    """A tiny trained MT10 run (two tasks, short episodes) for the latent map and the MuJoCo view."""
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.envs.mt10 import MT10CollectConfig, collect_mt10
    from lwd_core.methods.registry import train_run
    d = tmp_path_factory.mktemp("mt10")
    res = {}
    for _ in collect_mt10(MT10CollectConfig(3, 30, tasks="reach-v3,push-v3"), 1, result=res):
        pass
    save_dataset(res["dataset"], d / "mt.h5")
    cfg = preset("tiny").replace(name="mt", env_id="mt10", data={"dataset": str(d / "mt.h5")})
    list(train_run(str(d / "runs" / "mt"), cfg))
    return d / "runs"


def test_click_latent_point_renders_frames(qtbot, mt10_run):
    w = MainWindow(mt10_run, confirm=lambda t: True)
    qtbot.addWidget(w)
    w.service.max_steps = 60                       # keep the test short; the app runs whole episodes
    try:
        with qtbot.waitSignal(w.service.envs_warmed, timeout=60_000):
            w.runs.select_path(str(mt10_run / "mt"))
        assert w.map is not None
        assert len(w.map.coords) == 6 and w.latents.pcx.count() >= 2
        assert "episode" in w.map.tooltip(0) and "reach-v3" in w.map.tooltip(0)
        t0 = time.perf_counter()
        w.latents.click_point(2)
        qtbot.waitUntil(lambda: len(w.viewer.frames) > 0, timeout=10_000)
        first = time.perf_counter() - t0
        qtbot.waitUntil(lambda: not w.viewer.live, timeout=60_000)
        whole = time.perf_counter() - t0
        print(f"click to first frame: {first * 1000:.0f} ms of {whole * 1000:.0f} ms for the 60-step episode")
        # docs/app.md: 103-159 ms. The first frame comes long before the episode's last (31 frames), and within
        # a bound generous enough for a shared 2-core machine
        assert first < 1.5 and first < 0.5 * whole
        f = w.viewer.frames[-1]
        assert f.ndim == 3 and f.shape[2] == 3 and f.std() > 5      # a real rendered image, not blank
        assert w.viewer.image.pixmap() is not None and not w.viewer.image.pixmap().isNull()
        n = len(w.viewer.frames)
        assert n == 31 and w.viewer.counter.text() == "frame 30 / 30"    # frames 0, 2, ..., 60
        w.viewer.restart()
        assert w.viewer.pos == 0
        w.viewer.step()
        assert w.viewer.pos == 1
        assert w.viewer.export(str(mt10_run.parent / "roll.gif"))
        assert w.viewer.export(str(mt10_run.parent / "roll.mp4"))
        import imageio.v3 as iio
        # decoded: the GIF every other frame (16 of 31), the MP4 every frame, at the rollout's size, not blank
        for name, count in (("roll.gif", (n + 1) // 2), ("roll.mp4", n)):
            frames = [np.asarray(x) for x in iio.imiter(mt10_run.parent / name)]
            assert len(frames) == count, (name, len(frames))
            h, wd = f.shape[:2]
            assert all(abs(x.shape[0] - h) < 16 and abs(x.shape[1] - wd) < 16 for x in frames), name
            assert frames[-1][..., :3].std() > 5 and np.abs(frames[-1][..., :3].astype(float).mean()
                                                            - f.astype(float).mean()) < 20, name
        # blend two points
        w.latents.click_point(0)
        w.latents.click_point(4, shift=True)
        assert w.latents.blend_btn.isEnabled()
        with qtbot.waitSignal(w.service.rollout_started, timeout=10_000):
            w.latents.slider.setValue(50)
            w.latents._on_blend_clicked()
        # sampled overlay
        with qtbot.waitSignal(w.service.samples_ready, timeout=30_000):
            w.latents.samples_requested.emit()
        assert w.latents.samples is not None and len(w.latents.samples[0]) == 2 * 8
        # the run folder deleted under the running app: an error, not a crash
        shutil.copytree(mt10_run / "mt", mt10_run / "mt-del")
        w.refresh()
        w.runs.select_path(str(mt10_run / "mt-del"))
        qtbot.waitUntil(lambda: w.current == str(mt10_run / "mt-del"), timeout=5000)
        shutil.rmtree(mt10_run / "mt-del")
        w.refresh()
        assert "deleted" in w.banner.text()
    finally:
        w.shutdown()
    assert not w.service.isRunning()


def test_compare_view_shows_table2(window, qtbot, tmp_path):
    from lwd_core.studies import table2 as T
    tasks = list(T.PAPER["LWD"])
    res = {n: [{"mean_success": 0.5, "episodes": 2, "per_condition": {t: {"success": 0.5} for t in tasks}}]
           for n in T.METHODS}
    agg = T.aggregate(res, {n: 1000 for n in T.METHODS})
    (tmp_path / "table2.json").write_text(json.dumps(agg))
    view = window.action_compare(str(tmp_path / "table2.json"))
    qtbot.addWidget(view)
    assert view.table.columnCount() == 6 and view.table.rowCount() == 13
    assert view.table.item(3, 0).text() == "0.50"
    assert [view.table.horizontalHeaderItem(j).text() for j in range(6)] == T.ORDER     # the paper's order
    lwd = T.ORDER.index("LWD")
    assert view.table.item(1, lwd).text() == "0.500 ± 0.000" and view.table.item(2, lwd).text() == "0.760 ± 0.052"
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(LWDError, match="not a study result"):
        window.action_compare(str(tmp_path / "bad.json"))


def test_compare_view_opens_any_study_report(window, qtbot, tmp_path):
    from lwd_core.studies.common import report_table
    rep = report_table("Fig. 8", ["window", "xs", "s"], [["full (500)", 0.8, 0.9], ["snippets (50)", 0.7, None]])
    (tmp_path / "fig8.json").write_text(json.dumps({"study": "fig8", "report": rep}))
    view = window.action_compare(str(tmp_path / "fig8.json"))
    qtbot.addWidget(view)
    assert view.table.rowCount() == 2 and view.table.columnCount() == 2
    assert view.table.item(0, 1).text() == "0.900" and view.table.item(1, 1).text() == ""
    assert view.table.verticalHeaderItem(1).text() == "snippets (50)"


def test_a_run_whose_process_died_shows_interrupted_with_resume_enabled(window, qtbot, synthetic_file):
    import subprocess
    path = window.create_run(long_cfg(synthetic_file, steps=60))
    from lwd_core.methods.registry import train_run
    n = {"k": 0}
    list(train_run(path, resume=True, cancel=lambda: (n.__setitem__("k", n["k"] + 1), n["k"] > 55)[1]))
    dead = subprocess.Popen(["true"])
    dead.wait()
    run = RunDir(path)                         # what a SIGKILLed trainer leaves: "running", a pid that is gone
    run.status_path.write_text(json.dumps({**run.status(), "status": "running", "pid": dead.pid}))
    window.refresh()
    window.runs.select_path(path)
    row = window.runs._paths.index(path)
    assert window.runs.model.item(row, 3).text() == "interrupted"
    assert window.runs.buttons["resume"].isEnabled() and not window.runs.buttons["start"].isEnabled()
    assert "Resume" in window.runs.model.item(row, 0).toolTip()
    from lwd_core.io import load_meta
    step0 = load_meta(run.vae_ckpt)["step"]
    steps = []
    window.record_received.connect(lambda p, r: hasattr(r, "step") and steps.append(r.step))
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as sig:
        window.runs.buttons["resume"].click()
    assert sig.args == [path, "finished"] and steps[0] == step0 + 1         # from the last checkpoint
    assert run.state()["status"] == "finished"
