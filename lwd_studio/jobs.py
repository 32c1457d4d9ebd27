"""The app's one job layer. Every background job (a training, a study sweep, an evaluation, a data collection)
runs through the JobManager that the main window owns, and rollouts run in its rollout lane (the RolloutService
thread, which owns the EGL renderers). Views own no threads: they ask for work with signals, and whoever starts a
job on their behalf feeds its items and its end back to them.

So the manager is the one place that knows every job: it lists them, cancels one or all, and shuts them all down
within a deadline when the window closes."""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterator

from PySide6.QtCore import QObject, Qt, Signal

from .views.dataset_probe import inspect
from .workers import GeneratorWorker, RolloutService


class DatasetProbes(QObject):
    """Reads a dataset for the run form off the GUI thread. A read is a few seconds at most and has nothing to
    cancel or save, so it is a daemon thread rather than a job: closing the window never waits for it."""

    done = Signal(str, object)           # spec, DatasetInfo; emitted from the reading thread, delivered queued

    def start(self, spec: str) -> None:
        threading.Thread(target=lambda: self.done.emit(spec, inspect(spec)), daemon=True,
                         name="dataset-probe").start()


class Job(QObject):
    """One background job as the GUI sees it. Its signals are emitted on the GUI thread: the worker thread's
    signals reach this object (which lives there) queued, and it re-emits them."""

    item = Signal(object)                # whatever the job's generator yields
    ended = Signal(str)                  # "finished", "cancelled" or "failed", once
    failed = Signal(str)                 # a one-line message, just before ended("failed")

    def __init__(self, kind: str, subject: str, label: str, worker: GeneratorWorker, parent=None):
        super().__init__(parent)
        self.kind, self.subject, self.label = kind, subject, label
        self.key = job_key(kind, subject)
        self.worker = worker
        self.status = "running"
        self.started_at = time.monotonic()
        worker.item_produced.connect(self._on_item)
        worker.work_finished.connect(self._on_finished)
        worker.work_failed.connect(self._on_failed)
        # QThread.finished comes after run() has returned, and after the signals above (same thread, same order)
        worker.finished.connect(self._on_thread_done)

    def cancel(self) -> None:
        """Stop between steps: a training at its next step with a resumable checkpoint, anything else at its
        next item, leaving no partial file."""
        self.worker.cancel()

    def cancelled(self) -> bool:
        return self.worker.cancelled()

    def is_running(self) -> bool:
        return self.status == "running"

    def _on_item(self, item) -> None:
        self.item.emit(item)

    def _on_finished(self, status: str) -> None:
        self.status = status
        self.ended.emit(status)

    def _on_failed(self, msg: str) -> None:
        self.status = "failed"
        self.failed.emit(msg)
        self.ended.emit("failed")

    def _on_thread_done(self) -> None:
        if self.status == "running":         # the thread died without a word (an error that is no Exception)
            self._on_failed("the job's thread ended without a result")
        # freed here, on the GUI thread, once the thread is over: a QThread object deleted while its thread runs
        # aborts the process
        self.worker.wait()
        self.worker.deleteLater()
        self.deleteLater()


def job_key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"


class JobManager(QObject):
    """Starts, lists, cancels and shuts down every background job of one window. A job has a kind ("train",
    "sweep", "evaluate", "collect") and a subject (a run folder, a sweep folder): one job per kind and subject at
    a time."""

    job_started = Signal(str)            # key
    job_ended = Signal(str, str)         # key, status
    changed = Signal()                   # a job started or ended

    def __init__(self, parent=None):
        super().__init__(parent)
        self._jobs: dict[str, Job] = {}
        self.rollouts = RolloutService(self)       # the rollout lane
        self.rollouts.start()
        self.probes = DatasetProbes(self)          # the run form's dataset reads
        self.stragglers: list = []                 # threads still inside a step when shutdown() stopped waiting
        self._closed = False

    # --- starting
    def start(self, kind: str, subject: str, make: Callable[[Callable[[], bool]], Iterator], label: str = "",
              grace_s: float = 0.0) -> Job:
        """Run the generator `make(cancel)` builds in a worker thread. `grace_s`: how long a generator that
        honours `cancel` itself may go on after cancel() to end on its own terms (see GeneratorWorker)."""
        if self._closed:
            raise RuntimeError("the app is closing: no new jobs")
        key = job_key(kind, subject)
        if key in self._jobs:
            raise ValueError(f"{self._jobs[key].label} is already running")
        job = Job(kind, subject, label or key, GeneratorWorker(make, grace_s=grace_s), self)
        # direct, and connected before any view's handler: a job is off the list by the time anyone hears it ended
        job.ended.connect(lambda status, j=job: self._on_ended(j, status), Qt.DirectConnection)
        self._jobs[key] = job
        job.worker.start()
        self.job_started.emit(key)
        self.changed.emit()
        return job

    def _on_ended(self, job: Job, status: str) -> None:
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]
            self.job_ended.emit(job.key, status)
            self.changed.emit()

    # --- looking and cancelling
    def job(self, kind: str, subject: str) -> Job | None:
        return self._jobs.get(job_key(kind, subject))

    def running(self, kind: str | None = None) -> list[Job]:
        """The jobs not yet ended, oldest first; only those of `kind` if given."""
        return [j for j in self._jobs.values() if kind is None or j.kind == kind]

    def cancel(self, kind: str, subject: str) -> bool:
        job = self.job(kind, subject)
        if job is not None:
            job.cancel()
        return job is not None

    def cancel_all(self) -> int:
        jobs = self.running()
        for j in jobs:
            j.cancel()
        return len(jobs)

    def describe(self) -> tuple[str, str]:
        """A short line for the status bar ("2 jobs running") and a tooltip naming each job ("" when idle)."""
        jobs = self.running()
        if not jobs:
            return "", ""
        return f"{len(jobs)} job{'s' if len(jobs) > 1 else ''} running", "\n".join(j.label for j in jobs)

    # --- closing
    def shutdown(self, timeout_s: float = 4.0) -> bool:
        """Cancel every job and stop the rollout lane, then wait for them all together for at most timeout_s.
        False when one is still inside a long step (kept in `stragglers`); it stops at its next step."""
        self._closed = True
        jobs = self.running()
        for j in jobs:
            j.cancel()
        deadline = time.monotonic() + timeout_s
        self.rollouts.stop(wait_ms=0)
        threads = [j.worker for j in jobs] + [self.rollouts]
        for t in threads:
            t.wait(max(0, int(1000 * (deadline - time.monotonic()))))
        self.stragglers = [t for t in threads if t.isRunning()]
        return not self.stragglers
