"""The jobs the tabs ask for: the Action horizons tab's fig9 sweep and the Behaviours tab's roll-out. The views only
emit requests and show what they are given; this turns a request into a job of the window's JobManager and feeds
the job's items and end back to the view."""
from __future__ import annotations

from pathlib import Path

from .jobs import JobManager
from .views.behaviours import SAVED, BehavioursView
from .views.horizons import HorizonView
from .workers import CANCEL_GRACE_S, evaluation_steps, study_steps


def _reported(view, fn):
    """A request that cannot start (already running, bad folder) is a message in the app, never an exception."""
    def guarded(*args):
        try:
            fn(*args)
        except Exception as e:
            view.error.emit(str(e).splitlines()[0] if str(e) else type(e).__name__)
    return guarded


def connect_horizons(view: HorizonView, jobs: JobManager) -> None:
    def start(req: dict) -> None:
        out = str(Path(req["out"]))
        job = jobs.start("sweep", out, study_steps("fig9", Path(out), quick=req["quick"],
                                                   options={"perturb": req["perturb"]}, workers=req["workers"]),
                         label=f"fig9 sweep in {Path(out).name}", grace_s=CANCEL_GRACE_S)
        job.item.connect(view.show_sweep_item)
        job.failed.connect(lambda msg: view.error.emit(f"fig9: {msg}"))
        job.ended.connect(view.sweep_ended)
        view.sweep_started(out)

    view.sweep_requested.connect(_reported(view, start))
    view.stop_requested.connect(lambda out: jobs.cancel("sweep", out))


def connect_behaviours(view: BehavioursView, jobs: JobManager) -> None:
    def start(run_dir: str, episodes: int, workers) -> None:
        job = jobs.start("evaluate", run_dir, evaluation_steps(run_dir, episodes, None,
                                                               Path(run_dir) / "eval" / SAVED[0][0], workers),
                         label=f"behaviour roll-out of {Path(run_dir).name}")
        job.item.connect(view.show_progress)
        job.failed.connect(lambda msg: view.error.emit(f"behaviours: {msg}"))
        job.ended.connect(lambda status: view.roll_out_ended(run_dir, status))
        view.roll_out_started(run_dir)

    view.roll_out_requested.connect(_reported(view, start))
    view.stop_requested.connect(lambda run_dir: jobs.cancel("evaluate", run_dir))
