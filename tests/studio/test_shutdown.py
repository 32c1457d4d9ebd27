"""Closing the main window with jobs running: every job is cancelled, stops between items, and the window closes
within 5 s (a job's generator that never looks at its cancel flag included). Every job runs through the window's
JobManager, the ones the tabs ask for included; the views own no thread."""
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QThread, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from lwd_studio import tab_jobs  # noqa: E402
from lwd_studio.main_window import MainWindow  # noqa: E402
from lwd_studio.workers import CANCEL_GRACE_S, GeneratorWorker  # noqa: E402
from tests.helpers import toy_run  # noqa: E402

SAFETY_S = 20          # a generator stops by itself after this, so that a broken shutdown fails instead of hanging


def forever(cancel):
    """Yields until it is closed, never looking at `cancel`, as an evaluation or a data collection does."""
    t0, i = time.monotonic(), 0
    while time.monotonic() - t0 < SAFETY_S:
        yield i
        i += 1
        time.sleep(0.01)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A window whose tabs' sweep and roll-out run `forever` instead of a study and an evaluation."""
    monkeypatch.setattr(tab_jobs, "study_steps", lambda *a, **k: forever)
    monkeypatch.setattr(tab_jobs, "evaluation_steps", lambda *a, **k: forever)
    w = MainWindow(tmp_path / "runs", confirm=lambda t: True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def press_the_tabs_buttons(qtbot, w, tmp_path) -> None:
    """Start sweep on the Action horizons tab and Roll out on the Behaviours tab, pressed."""
    w.tabs.setCurrentWidget(w.horizons)
    w.horizons.out.setText(str(tmp_path / "sweep"))
    qtbot.mouseClick(w.horizons.start_btn, Qt.LeftButton)
    w.tabs.setCurrentWidget(w.behaviours)
    w.behaviours.set_run(str(tmp_path / "runs" / "trained"), trained=True)     # what selecting a trained run does
    qtbot.mouseClick(w.behaviours.roll_btn, Qt.LeftButton)


def test_closing_the_window_cancels_every_job_and_returns_within_5_s(qtbot, window, tmp_path):
    w = window
    # a training (given time to wind down, as real training is) and a demo collection, as the window starts them
    w.jobs.start("train", str(tmp_path / "runs" / "r"), forever, label="training r", grace_s=CANCEL_GRACE_S)
    w.jobs.start("collect", str(tmp_path / "data.h5"), forever, label="demo: collecting")
    press_the_tabs_buttons(qtbot, w, tmp_path)
    jobs = {j.kind: j for j in w.jobs.running()}
    assert set(jobs) == {"train", "collect", "sweep", "evaluate"}
    assert w.jobs_label.text() == "4 jobs running" and "fig9 sweep" in w.jobs_label.toolTip()
    assert not w.horizons.start_btn.isEnabled() and not w.behaviours.roll_btn.isEnabled()
    assert not w.horizons.findChildren(QThread) and not w.behaviours.findChildren(QThread)
    items = {k: [] for k in jobs}
    ends = {}
    for k, job in jobs.items():
        job.item.connect(items[k].append)
        job.ended.connect(lambda st, k=k: ends.__setitem__(k, st))
    qtbot.waitUntil(lambda: all(len(v) > 3 for v in items.values()), timeout=10_000)
    threads = [j.worker for j in jobs.values()] + [w.service]
    t0 = time.perf_counter()
    w.close()
    took = time.perf_counter() - t0
    print(f"closing with 4 jobs running took {took:.2f} s")
    assert not w.isVisible()
    assert took < 5, f"closing took {took:.1f} s"
    assert all(not t.isRunning() for t in threads) and w.stragglers == []
    qtbot.waitUntil(lambda: len(ends) == len(jobs), timeout=5000)
    assert ends == {k: "cancelled" for k in jobs}
    assert w.jobs.running() == [] and w.jobs_label.text() == ""
    counts = {k: len(v) for k, v in items.items()}
    qtbot.wait(300)
    assert {k: len(v) for k, v in items.items()} == counts          # nothing more after the stop


def test_stop_all_jobs_in_the_run_menu_stops_the_tabs_jobs_and_their_buttons_come_back(qtbot, window, tmp_path):
    w = window
    stop_all = next(a for m in w.menuBar().actions() if m.text() == "&Run" for a in m.menu().actions()
                    if a.text() == "Stop all jobs")
    assert not stop_all.isEnabled()
    press_the_tabs_buttons(qtbot, w, tmp_path)
    assert sorted(j.kind for j in w.jobs.running()) == ["evaluate", "sweep"] and stop_all.isEnabled()
    with qtbot.waitSignals([w.horizons.sweep_finished, w.behaviours.evaluated], timeout=5000):
        qtbot.keyClick(w, Qt.Key_Period, Qt.ControlModifier | Qt.ShiftModifier)     # its shortcut
    assert w.jobs.running() == [] and not stop_all.isEnabled() and w.jobs_label.text() == ""
    assert w.horizons.start_btn.isEnabled() and not w.horizons.stop_btn.isEnabled()
    assert w.behaviours.roll_btn.isEnabled() and "nothing was saved" in w.behaviours.status.text()
    assert "Start sweep again" in w.horizons.status.text()
    # the tabs can start again at once: the manager let go of the ended jobs
    qtbot.mouseClick(w.horizons.start_btn, Qt.LeftButton)
    assert [j.kind for j in w.jobs.running()] == ["sweep"]


def test_the_behaviours_stop_button_stops_its_roll_out_only(qtbot, window, tmp_path):
    w = window
    press_the_tabs_buttons(qtbot, w, tmp_path)
    b = w.behaviours
    assert b.stop_btn.isEnabled() and not b.roll_btn.isEnabled()
    with qtbot.waitSignal(b.evaluated, timeout=5000):
        qtbot.mouseClick(b.stop_btn, Qt.LeftButton)
    assert [j.kind for j in w.jobs.running()] == ["sweep"]          # the sweep runs on
    assert b.roll_btn.isEnabled() and not b.stop_btn.isEnabled() and "nothing was saved" in b.status.text()


def test_a_run_that_a_roll_out_uses_cannot_be_renamed_or_deleted_until_it_stops(qtbot, window, tmp_path):
    """Rename and Delete once refused only while a run trained: Del during a Behaviours roll-out deleted the run
    under it."""
    w = window
    run = str(toy_run(tmp_path / "runs"))
    w.refresh()
    w.runs.select_path(run)
    buttons = w.runs.buttons
    assert buttons["rename"].isEnabled() and buttons["delete"].isEnabled()
    w.tabs.setCurrentWidget(w.behaviours)
    qtbot.mouseClick(w.behaviours.roll_btn, Qt.LeftButton)
    assert [j.subject for j in w.jobs.running()] == [run]
    assert not buttons["rename"].isEnabled() and not buttons["delete"].isEnabled() and buttons["duplicate"].isEnabled()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)
    qtbot.keyClick(w.runs.table, Qt.Key_Delete)                   # the window confirms every question
    assert Path(run, "config.json").is_file()
    with qtbot.waitSignal(w.behaviours.evaluated, timeout=5000):
        qtbot.mouseClick(w.behaviours.stop_btn, Qt.LeftButton)
    assert buttons["rename"].isEnabled() and buttons["delete"].isEnabled()
    qtbot.keyClick(w.runs.table, Qt.Key_Delete)
    assert not Path(run).exists()


def test_a_worker_stops_between_items_once_cancelled(qtbot):
    job = GeneratorWorker(forever)
    seen, ends = [], []
    job.item_produced.connect(seen.append)
    job.work_finished.connect(ends.append)
    job.start()
    qtbot.waitUntil(lambda: len(seen) > 0, timeout=5000)
    t0 = time.perf_counter()
    job.cancel()
    assert job.wait(5000) and time.perf_counter() - t0 < 1 and job.status == "cancelled"
    qtbot.waitUntil(lambda: ends == ["cancelled"], timeout=2000)
