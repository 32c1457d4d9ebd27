"""The main window's training: Start, Resume and Stop of runs, each training a job of the window's JobManager, and
what the window does with its records and its end."""
from __future__ import annotations

from pathlib import Path

from lwd_core.runs import RunDir

from .jobs import Job
from .workers import CANCEL_GRACE_S


class TrainingActions:
    """Mixed into MainWindow: uses its jobs, status bar, losses, service, current run, refresh(), show_error() and
    its training signals."""

    @property
    def trainers(self) -> dict[str, Job]:
        """The running trainings, by run folder."""
        return {j.subject: j for j in self.jobs.running("train")}

    def action_start(self, path: str | None = None) -> None:
        path = path or self._one()
        self.start_training(path, resume=RunDir(path).started())

    action_resume = action_start

    def action_stop(self) -> None:
        for p in self.selected():
            if self.jobs.cancel("train", p):
                self.statusBar().showMessage(f"stopping {Path(p).name} after this step…")

    def start_training(self, path: str, resume: bool = False, cfg=None) -> Job:
        if path in self.trainers:
            raise ValueError(f"{Path(path).name} is already running")
        from lwd_core.methods.registry import train_run
        run = RunDir(path)
        cfg = cfg or run.config()
        if not resume and run.metrics_path.exists():
            raise ValueError(f"{Path(path).name} has training data already: use Resume")
        job = self.jobs.start("train", path, lambda cancel: train_run(path, None if resume else cfg, resume=resume,
                                                                      cancel=cancel),
                              label=f"training {Path(path).name}", grace_s=CANCEL_GRACE_S)
        job.item.connect(lambda rec, p=path: self._on_record(p, rec))
        job.failed.connect(lambda msg, p=path: self._on_training_failed(p, msg))
        job.ended.connect(lambda st, p=path: self._on_training_ended(p, st))
        self.training_started.emit(path)
        self.statusBar().showMessage(f"training {Path(path).name}…")
        self.refresh()
        return job

    def _on_record(self, path: str, rec) -> None:
        self.record_received.emit(path, rec)
        if hasattr(rec, "step"):
            self.losses.append(path, {"phase": rec.phase, "step": rec.step, "epoch": rec.epoch, **rec.losses})
            self.statusBar().showMessage(f"{Path(path).name}: {rec.phase} step {rec.step}/{rec.total}")
        else:
            self.statusBar().showMessage(f"{Path(path).name}: {rec.message}")

    def _on_training_ended(self, path: str, status: str) -> None:
        self.refresh()                 # the job is off the list already: the row shows the status written to disk
        if status == "failed":         # _on_training_failed said why
            return
        self.run_finished.emit(path, status)
        self.statusBar().showMessage(f"{Path(path).name}: {status}")
        if status == "finished" and self.current == path:
            self.service.prepare(path)

    def _on_training_failed(self, path: str, msg: str) -> None:
        self.refresh()
        self.run_failed.emit(path, msg)
        self.show_error(f"run {Path(path).name} failed: {msg}")
