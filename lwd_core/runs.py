"""A run directory is the unit of persistence: config.json, status.json, metrics.jsonl, checkpoints/,
latents.safetensors. Everything is written atomically; the app reads these files and nothing else."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import RunError
from .io import atomic_write_bytes, atomic_write_json, read_json

STATUSES = ("created", "running", "finished", "failed", "cancelled")


class RunDir:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # layout
    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    ckpt_dir = property(lambda self: self.path / "checkpoints")
    vae_ckpt = property(lambda self: self.path / "checkpoints" / "vae.safetensors")
    ddpm_ckpt = property(lambda self: self.path / "checkpoints" / "ddpm.safetensors")
    latents_path = property(lambda self: self.path / "latents.safetensors")
    eval_dir = property(lambda self: self.path / "eval")

    def exists(self) -> bool:
        return self.config_path.is_file()

    def create(self, cfg: RunConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.config_path, cfg.to_dict())
        self.set_status("created", phase="", step=0)

    def config(self) -> RunConfig:
        if not self.path.is_dir():
            raise RunError(f"{self.path}: run directory not found")
        return RunConfig.from_dict(read_json(self.config_path))

    def status(self) -> dict[str, Any]:
        try:
            return read_json(self.status_path)
        except RunError:
            return {"status": "created", "phase": "", "step": 0}

    def set_status(self, status: str, **fields: Any) -> None:
        assert status in STATUSES
        st = {k: v for k, v in self.status().items() if k != "error"}
        st.update(fields, status=status, updated=time.time())
        atomic_write_json(self.status_path, st)

    def append_metrics(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with open(self.metrics_path, "a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_metrics(self) -> list[dict[str, Any]]:
        """All records; a torn last line (a crash mid-write) is skipped."""
        if not self.metrics_path.exists():
            return []
        out = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def truncate_metrics(self, phase: str, step: int, phases: tuple[str, ...]) -> None:
        """On resume: drop records of `phase` after the checkpointed step (and of later phases); `phases` is the
        method's phase order."""
        order = {p: i for i, p in enumerate(phases)}
        keep = [r for r in self.read_metrics()
                if order.get(r.get("phase"), 0) < order[phase] or (r.get("phase") == phase and r["step"] <= step)]
        atomic_write_bytes(self.metrics_path, "".join(json.dumps(r) + "\n" for r in keep).encode())


def summarize_run(path: Path, best_of: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """One row of the run list, read from the run's files only (never raises on a broken run)."""
    run = RunDir(path)
    row: dict[str, Any] = {"path": str(path), "name": path.name, "dataset": "", "preset": "", "status": "broken",
                           "step": 0, "total": 0, "phase": "", "best": None, "updated": 0.0, "error": ""}
    try:
        cfg = run.config()
        row.update(dataset=Path(cfg.data.dataset).name, preset=cfg.name, decoder=cfg.vae.decoder_size)
    except Exception as e:  # a half-written or foreign folder shows as broken, with the reason
        row["error"] = str(e)
        return row
    st = run.status()
    row.update(status=st.get("status", "created"), step=int(st.get("step", 0)), total=int(st.get("total", 0)),
               phase=st.get("phase", ""), updated=float(st.get("updated", 0.0)), error=st.get("error", ""))
    row["best"] = _best_metric(run, (best_of or {}).get(cfg.method))
    return row


_BEST_CACHE: dict[str, tuple[tuple[float, int], float | None]] = {}


def _best_metric(run: RunDir, which: tuple[str, str] | None) -> float | None:
    """Lowest value of (phase, key), e.g. LWD's reconstruction MSE; re-read only when metrics.jsonl changed."""
    if which is None:
        return None
    try:
        st = run.metrics_path.stat()
    except FileNotFoundError:
        return None
    key, stamp = f"{run.metrics_path}:{which}", (st.st_mtime, st.st_size)
    if key in _BEST_CACHE and _BEST_CACHE[key][0] == stamp:
        return _BEST_CACHE[key][1]
    phase, k = which
    mse = [r[k] for r in run.read_metrics() if r.get("phase") == phase and k in r]
    best = min(mse) if mse else None
    _BEST_CACHE[key] = (stamp, best)
    return best


def list_runs(runs_dir: str | os.PathLike, best_of: dict[str, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """One row per run folder; best_of maps a method name to the (phase, key) whose minimum is its best metric."""
    d = Path(runs_dir)
    if not d.is_dir():
        return []
    rows = [summarize_run(p, best_of) for p in sorted(d.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return sorted(rows, key=lambda r: -r["updated"])
