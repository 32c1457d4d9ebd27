"""Closing the main window with jobs running: every job is cancelled, stops between items, and the window closes
within 5 s (a job's generator that never looks at its cancel flag included)."""
import time

import pytest

pytest.importorskip("PySide6")

from lwd_studio.main_window import MainWindow  # noqa: E402
from lwd_studio.workers import CANCEL_GRACE_S, GeneratorWorker  # noqa: E402

SAFETY_S = 20          # a generator stops by itself after this, so that a broken shutdown fails instead of hanging


def forever(cancel):
    """Yields until it is closed, never looking at `cancel`, as an evaluation or a data collection does."""
    t0, i = time.monotonic(), 0
    while time.monotonic() - t0 < SAFETY_S:
        yield i
        i += 1
        time.sleep(0.01)


def test_closing_the_window_cancels_every_job_and_returns_within_5_s(qtbot, tmp_path):
    w = MainWindow(tmp_path / "runs", confirm=lambda t: True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    # one job in each place the window keeps one; the trainer, like real training, is given time to wind down
    jobs = {"trainer": GeneratorWorker(forever, w, grace_s=CANCEL_GRACE_S), "collector": GeneratorWorker(forever, w),
            "sweep": GeneratorWorker(forever, w.horizons), "evaluation": GeneratorWorker(forever, w.behaviours)}
    w.trainers[str(tmp_path / "runs" / "r")] = jobs["trainer"]
    w.collector, w.horizons.worker, w.behaviours.worker = jobs["collector"], jobs["sweep"], jobs["evaluation"]
    items = {k: [] for k in jobs}
    ends = {}
    for k, job in jobs.items():
        job.item_produced.connect(items[k].append)
        job.work_finished.connect(lambda st, k=k: ends.__setitem__(k, st))
        job.start()
    qtbot.waitUntil(lambda: all(len(v) > 3 for v in items.values()), timeout=10_000)
    t0 = time.perf_counter()
    w.close()
    took = time.perf_counter() - t0
    print(f"closing with 4 jobs running took {took:.2f} s")
    assert not w.isVisible()
    assert took < 5, f"closing took {took:.1f} s"
    assert all(not j.isRunning() for j in jobs.values()) and not w.service.isRunning() and w.stragglers == []
    qtbot.waitUntil(lambda: len(ends) == len(jobs), timeout=5000)
    assert ends == {k: "cancelled" for k in jobs}
    counts = {k: len(v) for k, v in items.items()}
    qtbot.wait(300)
    assert {k: len(v) for k, v in items.items()} == counts          # nothing more after the stop


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
