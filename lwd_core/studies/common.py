"""What every study shares: events, the dataset, train-or-reuse of a run, cached evaluations, and the report."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..config import EvalConfig, RunConfig
from ..data.sources import spec_exists, spec_fingerprint
from ..envs.collect import dataset_file, ensure_dataset
from ..envs.registry import get_collector
from ..errors import ConfigError
from ..eval.evaluate import evaluate_run
from ..eval.plan import EvalPlan, plan_matches
from ..io import atomic_write_bytes, atomic_write_json
from ..methods.registry import train_run
from ..runs import RunDir, absolute_dataset
from ..train.engine import RESUMABLE
from .plan import Unit, collect_unit

if TYPE_CHECKING:              # registry imports this module
    from .registry import StudyArgs


@dataclass(frozen=True)
class StudyEvent:
    """A line for the user; `stage` names the run the records that follow belong to."""
    message: str
    stage: str = ""
    status: str = ""                 # "cancelled" when the study stopped at the user's request


@dataclass(frozen=True)
class StudyPoint:
    """A study's partial result each time a point arrives, for views that draw it live (no message to print)."""
    study: str
    result: dict
    points_done: int
    points_total: int


@dataclass(frozen=True)
class StudyResult:
    ok: bool                         # False when a training stopped early (rerun to resume)
    files: tuple[str, ...] = ()
    summary: str = ""


# Smoke scale (--quick) evaluates episodes as short as its demonstrations.
QUICK_EVAL_STEPS = 100

# The MT10 dataset every MT10 study trains on: the demo's scale, or a smoke scale with --quick.
MT10_DATA = {"full": {"episodes_per_task": 40, "episode_length": 500}, "quick": {"episodes_per_task": 2,
                                                                                  "episode_length": 100}}


def ensure_data(out: Path, source: str, cfg: Any, workers: int, what: str = "") -> Iterator[Any]:
    """Collect `source` with `cfg` into out/, or reuse the file collected there with exactly these settings (its
    name carries their digest: `envs/collect.py`); returns its path."""
    data = dataset_file(out, source, cfg)
    what = what or f"{source} demonstrations"
    if data.exists():
        yield StudyEvent(f"using {what} collected with the same settings: {data}")
    else:
        yield StudyEvent(f"collecting {what} into {data}", stage=f"collect {source}")
    yield from ensure_dataset(data, source, cfg, workers)
    return data


def data_unit(a: "StudyArgs", source: str, cfg: Any, what: str = "") -> tuple[Unit, Path]:
    """The unit that collects `source` with `cfg` into the study's folder (or reuses that file: ensure_data) on
    every core the study has (StudyArgs.collect_workers), and the path the dataset has, which the runs' configs
    name before it exists."""
    return (collect_unit(f"collect {what or source}", a.out, source, cfg, a.collect_workers, what),
            dataset_file(a.out, source, cfg))


def mt10_unit(a: "StudyArgs") -> tuple[Unit, Path]:
    """The study's MT10 dataset in its folder: the demo's scale, or the smoke scale with --quick."""
    cfg = get_collector("mt10").config(**MT10_DATA["quick" if a.quick else "full"])
    return data_unit(a, "mt10", cfg, "MT10 demonstrations")


# Settings that do not change what a run learns; a reused run may differ from the requested config in these.
_NOT_TRAINING = {"name", "log_every", "checkpoint_every", "device", "eval", "data.dataset"}


def training_differences(saved: RunConfig, wanted: RunConfig) -> list[str]:
    """The training settings in which a saved run's config differs from the wanted one, as 'key: saved -> wanted'."""
    def flat(d: dict, pre: str = "") -> dict:
        out = {}
        for k, v in d.items():
            key = f"{pre}{k}"
            if key in _NOT_TRAINING:
                continue
            out.update(flat(v, key + ".") if isinstance(v, dict) else {key: v})
        return out
    a, b = flat(saved.to_dict()), flat(wanted.to_dict())
    norm = (lambda v: list(v) if isinstance(v, tuple) else v)
    return [f"{k}: {norm(a.get(k))} -> {norm(b.get(k))}" for k in sorted(set(a) | set(b))
            if norm(a.get(k)) != norm(b.get(k))]


_LENGTHENABLE = tuple(k.split(".")[0] for k in RESUMABLE if k.endswith(".steps"))   # sections a resume lengthens


def only_longer(saved: RunConfig, wanted: RunConfig) -> bool:
    """True when the wanted config differs from the saved one only by more training steps in some phases, which a
    resume adds (train/engine.py extends a finished phase)."""
    a, b = saved.to_dict(), wanted.to_dict()
    phases = [p for p in _LENGTHENABLE if a[p]["steps"] != b[p]["steps"]]
    same = wanted.replace(**{p: {"steps": a[p]["steps"]} for p in phases})
    return bool(phases) and not training_differences(saved, same) and all(b[p]["steps"] > a[p]["steps"]
                                                                           for p in phases)


def check_same_dataset(run: RunDir, saved: RunConfig, wanted: RunConfig) -> None:
    """Refuse a run folder whose run was trained on other data than `wanted` names (by content hash, or by path for
    runs that record no hash)."""
    rec, spec = run.dataset_record(), wanted.data.dataset
    if rec is not None and spec and spec_exists(spec):
        if spec_fingerprint(spec)[0] == rec["sha256"]:
            return
        other = rec["path"]
    elif str(saved.data.dataset) == str(spec):
        return
    else:
        other = saved.data.dataset
    raise ConfigError(f"{run.path} was trained on another dataset ({other}); use another --out or delete that folder")


def ensure_trained(run_dir: Path, cfg: RunConfig, desc: str, cancel=lambda: False) -> Iterator[Any]:
    """Train, resume, or reuse a finished run; returns True when it is finished. A run folder trained with fewer
    steps is trained on to the wanted ones; one made with other training settings or on another dataset is an
    error, not something to reuse silently."""
    run = RunDir(run_dir)
    longer = False
    if run.exists():
        saved = run.config()
        check_same_dataset(run, saved, absolute_dataset(cfg))
        diff = training_differences(saved, cfg)
        if diff and not only_longer(saved, cfg):
            raise ConfigError(f"{run.path} was trained with other settings ({'; '.join(diff[:3])}); "
                              "use another --out or delete that folder")
        longer = bool(diff)
    if run.exists() and run.status().get("status") == "finished" and not longer:
        return True
    resume = run.started()
    how = "training further" if longer else f"resuming {run.state().get('status')}" if resume else "training"
    yield StudyEvent(f"{how} {desc}", stage=desc)
    status = "running"
    for rec in train_run(str(run.path), cfg if longer or not resume else None, resume=resume, cancel=cancel):
        yield rec
        if getattr(rec, "status", "") == "cancelled" or getattr(rec, "phase", "") == "done":
            status = rec.status
    if status != "finished":
        yield StudyEvent(f"{desc}: training {status}; rerun the command to resume")
    return status == "finished"


def cached_eval(run_dir: Path, ecfg: EvalConfig, kinds, path: Path, workers: int,
                conditions=None) -> Iterator[Any]:
    """Evaluate a run, or reuse the result saved at `path` when it was computed from exactly the same evaluation
    plan (`eval/plan.py`: every setting that changes the result, and the digests of the run's checkpoints), so
    rerunning a study after an interruption evaluates only what changed. Returns the result."""
    plan = EvalPlan.of(run_dir, ecfg, kinds, conditions)
    if path.exists():
        try:
            ev = json.loads(path.read_text())
            if plan_matches(ev, plan):
                return ev
        except (OSError, ValueError):
            pass                                   # unreadable or partial: evaluate again
    ev: dict = {}
    yield from evaluate_run(run_dir, ecfg, conditions, kinds, workers, result=ev)
    atomic_write_json(path, ev)
    return ev


def cancellable(gen: Iterator[Any], cancel) -> Iterator[Any]:
    """Pass gen's items on until cancel() is true, then close it (its files are written atomically at the end, so
    nothing partial is left). Returns gen's value, or None when cancelled."""
    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        if cancel():
            gen.close()
            return None
        yield item


def train_seconds(run: RunDir) -> float:
    """A run's recorded training time, summed over its phases (VAE + DDPM for LWD). `elapsed` restarts at 0 when
    a run resumes, so each drop starts a new segment."""
    done: dict[str, float] = {}
    last: dict[str, float] = {}
    for rec in run.read_metrics():
        if "elapsed" in rec:
            ph, e = rec.get("phase", ""), float(rec["elapsed"])
            if e < last.get(ph, 0.0):
                done[ph] = done.get(ph, 0.0) + last[ph]
            last[ph] = e
    return sum(done.values()) + sum(last.values())


def pyplot():
    """matplotlib's pyplot on the file-only Agg back-end (no display, no Qt)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def write_report(out: Path, name: str, result: dict, markdown: str, fig=None) -> tuple[str, ...]:
    """NAME.json (with its `report` table), NAME.md and, when given, NAME.png, each written atomically."""
    files = [out / f"{name}.json", out / f"{name}.md"]
    atomic_write_json(files[0], result)
    atomic_write_bytes(files[1], markdown.encode())
    if fig is not None:
        files.append(write_png(out / f"{name}.png", fig))
    return tuple(str(f) for f in files)


def write_png(path: Path, fig) -> Path:
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())
    pyplot().close(fig)
    return path


def report_table(title: str, columns: list[str], rows: list[list[Any]]) -> dict:
    """The study-independent table a viewer shows: first column is the row label."""
    return {"title": title, "columns": columns, "rows": rows}


def markdown_table(report: dict) -> str:
    cols = report["columns"]
    fmt = (lambda v: f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v)))
    lines = [f"### {report['title']}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in report["rows"]]
    return "\n".join(lines) + "\n"
