"""A run directory is the unit of persistence: config.json, dataset.json, status.json, metrics.jsonl,
checkpoints/, latents.safetensors. Everything is written atomically; the app reads these files and nothing else.

What a run directory promises (tests in tests/core/test_run_dir.py and tests/core/test_soak.py):
- status.json names the training process (pid, host) and its heartbeat, so a reader can tell a live run from
  one whose process died ("interrupted": resumable);
- metrics.jsonl holds each logged step of each phase once, up to the last checkpoint of the phase in progress;
- dataset.json holds the dataset's absolute path and content hash, which resume and evaluation check;
- at most one trainer writes it at a time, across processes and threads: a trainer holds an exclusive lock on
  .trainer.lock in it while it trains (RunDir.lock), which the kernel drops when the trainer dies, even by SIGKILL,
  so a crashed trainer never blocks its resume. status.json's heartbeat still guards a run trained on another host
  whose file system does not share locks."""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:                    # not POSIX: status.json's liveness check alone guards a run
    fcntl = None

from .config import RunConfig
from .data.sources import absolute_spec, spec_exists, spec_fingerprint, spec_label
from .errors import DatasetError, RunError
from .io import atomic_write_bytes, atomic_write_json, read_json, remove_stale_temp_files

STATUSES = ("created", "running", "finished", "failed", "cancelled")
INTERRUPTED = "interrupted"            # derived by readers: "running" in the file, but its process is gone
HEARTBEAT_S = 10.0                     # a running run rewrites status.json at least this often
STALE_S = 600.0                        # a run on another host whose heartbeat is older than this is interrupted
LOCK_NAME = ".trainer.lock"


class RunBusy(RunError):
    """Another trainer holds the run: nothing of the run may be written by the one refused."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # exists, owned by someone else
        return True
    return True


def check_creatable(path: str | os.PathLike, what: str = "") -> None:
    """Refuse, before anything is written, a run folder that cannot be made or written here: a file in its place
    or above it, or a folder above it that this process may not write in. `what` prefixes the message (the CLI
    passes "--run-dir ")."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise RunError(f"{what}{p}: is a file, not a run directory")
    q = p
    while not q.exists() and q.parent != q:
        q = q.parent
    if not q.is_dir():
        raise RunError(f"{what}{p}: cannot create the run directory there: {q} is a file, not a directory")
    if not os.access(q, os.W_OK | os.X_OK):
        where = "it" if q == p else f"{q}"
        raise RunError(f"{what}{p}: cannot create the run directory there: {where} is not writable")


class RunDir:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._pending: RunConfig | None = None     # create(..., defer=True): written on the first write
        self._lock = None                            # the open lock file while this object trains the run

    # layout
    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    ckpt_dir = property(lambda self: self.path / "checkpoints")
    vae_ckpt = property(lambda self: self.path / "checkpoints" / "vae.safetensors")
    ddpm_ckpt = property(lambda self: self.path / "checkpoints" / "ddpm.safetensors")
    latents_path = property(lambda self: self.path / "latents.safetensors")
    eval_dir = property(lambda self: self.path / "eval")
    dataset_path = property(lambda self: self.path / "dataset.json")

    def exists(self) -> bool:
        return self.config_path.is_file()

    def started(self) -> bool:
        """Training has left metrics or a checkpoint here: continue it with resume, do not start over."""
        return self.exists() and (self.metrics_path.exists() or any(self.ckpt_dir.glob("*.safetensors")))

    def create(self, cfg: RunConfig, defer: bool = False) -> RunConfig:
        """Write a new run's config (its dataset path made absolute) and the dataset's hash; returns the config.

        defer=True writes nothing yet: the folder and its files are made by this object's first write
        (set_status, append_metrics), so a training that is refused before it starts (no CUDA, windows longer than
        the episodes, ...) leaves no folder behind, and a folder that was there is left as it was."""
        cfg = absolute_dataset(cfg)
        if defer:
            check_creatable(self.path)
            self._pending = cfg
            return cfg
        self._write_new(cfg)
        return cfg

    @property
    def pending(self) -> bool:
        """create(..., defer=True) was called and nothing has been written yet."""
        return self._pending is not None

    def discard_pending(self) -> None:
        """Forget a deferred new run's config: nothing of it is written."""
        self._pending = None

    def materialize(self) -> None:
        """Write a deferred new run's folder, config and dataset record now (nothing if not deferred)."""
        if self._pending is not None:
            self._write_new(self._pending, lock=True)

    def _write_new(self, cfg: RunConfig, lock: bool = False) -> None:
        """lock: a trainer's first write (materialize); two new trainings of one folder, and the second is refused
        before it writes anything."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._pending = None
            raise RunError(f"{self.path}: cannot create the run directory ({e.strerror or e})") from None
        if lock:
            self.lock()
            if self.started():              # another trainer made and trained it after this one looked
                self.release()
                raise RunBusy(f"{self.path}: another trainer started this run meanwhile; resume it instead")
        self._pending = None
        atomic_write_json(self.config_path, cfg.to_dict())
        if cfg.data.dataset and spec_exists(cfg.data.dataset):
            self.record_dataset(cfg.data.dataset)
        self.set_status("created", phase="", step=0)

    def config(self) -> RunConfig:
        if not self.path.is_dir():
            raise RunError(f"{self.path}: run directory not found")
        return RunConfig.from_saved(read_json(self.config_path))     # keys it predates: what it was trained with

    # ---- the dataset a run was trained on
    def record_dataset(self, spec: str) -> None:
        """The dataset's spec (a file, a Minari folder or a mixture; `data/sources.py`) and its content hash."""
        try:
            digest, size = spec_fingerprint(spec)
        except DatasetError as e:
            raise RunError(str(e)) from None
        atomic_write_json(self.dataset_path, {"path": absolute_spec(spec), "sha256": digest, "bytes": size})

    def dataset_record(self) -> dict[str, Any] | None:
        try:
            rec = read_json(self.dataset_path)
        except RunError:
            return None                                   # runs from before dataset.json existed
        return rec if isinstance(rec, dict) and "sha256" in rec else None

    def check_dataset(self, path: str) -> None:
        """Refuse a dataset whose content differs from the one this run was trained on."""
        rec = self.dataset_record()
        if rec is None:
            return
        if not spec_exists(path):
            raise RunError(f"{path}: the run's dataset is missing (trained on {rec['path']})")
        try:
            digest = spec_fingerprint(path)[0]
        except DatasetError as e:
            raise RunError(str(e)) from None
        if digest != rec["sha256"]:
            raise RunError(f"{path}: not the dataset this run was trained on (content hash differs from "
                           f"{rec['path']})")

    # ---- status and liveness
    def status(self) -> dict[str, Any]:
        try:
            st = read_json(self.status_path)
            return st if isinstance(st, dict) else {"status": "created", "phase": "", "step": 0}
        except RunError:
            return {"status": "created", "phase": "", "step": 0}

    def set_status(self, status: str, **fields: Any) -> None:
        assert status in STATUSES
        self.materialize()
        st = {k: v for k, v in self.status().items() if k != "error"}
        st.update(fields, status=status, updated=time.time())
        if status == "running":
            st.update(pid=os.getpid(), host=socket.gethostname())
        atomic_write_json(self.status_path, st)

    def heartbeat(self, **fields: Any) -> None:
        """Refresh a running run's status (at most every HEARTBEAT_S seconds is enough for readers)."""
        self.set_status("running", **fields)

    def state(self) -> dict[str, Any]:
        """status.json as readers should see it: a "running" run whose process is gone is "interrupted"."""
        st = self.status()
        if st.get("status") == "running" and not self.alive(st):
            st = {**st, "status": INTERRUPTED}
        return st

    @staticmethod
    def alive(st: dict[str, Any]) -> bool:
        pid, host = st.get("pid"), st.get("host")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return False                                  # written before liveness existed: cannot be alive
        if host == socket.gethostname():
            return _pid_alive(pid)
        return time.time() - float(st.get("updated", 0)) < STALE_S

    def claim(self) -> None:
        """Before training in this directory: refuse if a live process (this one included: the app trains in
        threads) is training it, take its lock, then clean the temp files that a killed writer left behind."""
        st = self.status()
        if st.get("status") == "running" and self.alive(st):
            raise RunBusy(f"{self.path}: being trained by process {st.get('pid')} on {st.get('host')}")
        self.lock()
        for d in (self.path, self.ckpt_dir, self.eval_dir):
            if d.is_dir():
                remove_stale_temp_files(d)

    def lock(self) -> None:
        """Hold the run's trainer lock until release() (or until this object or its process goes): an exclusive
        flock, so a second trainer is refused whether it is another thread, another process or a Ray worker on
        this machine, or on another one that shares the folder over a file system with locks (NFSv4 has them)."""
        if self._lock is not None or fcntl is None:
            return
        f = open(self.path / LOCK_NAME, "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            st = self.status()
            who = f"process {st.get('pid')} on {st.get('host')}" if st.get("status") == "running" else "another trainer"
            raise RunBusy(f"{self.path}: being trained by {who}") from None
        except OSError:                 # a file system without locks: the heartbeat check is all there is
            f.close()
            return
        self._lock = f

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def append_metrics(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.materialize()
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
        """On resuming `phase` from its checkpoint at `step` (0: no checkpoint yet): keep every record of the
        earlier phases, this phase's records up to `step`, and none of the later phases' (they cannot have
        started). Records logged after the last checkpoint would be logged again, so they go. The file is only
        rewritten when something changes."""
        order = {p: i for i, p in enumerate(phases)}
        rows = self.read_metrics()
        keep = [r for r in rows if order.get(r.get("phase"), -1) < order[phase]
                or (r.get("phase") == phase and isinstance(r.get("step"), int) and r["step"] <= step)]
        if len(keep) != len(rows) or (self.metrics_path.exists() and not self._ends_cleanly()):
            atomic_write_bytes(self.metrics_path, "".join(json.dumps(r) + "\n" for r in keep).encode())

    def _ends_cleanly(self) -> bool:
        with open(self.metrics_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return True
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"


def absolute_dataset(cfg: RunConfig) -> RunConfig:
    """The same config with its dataset path absolute, so the run can be resumed from any directory."""
    if not cfg.data.dataset:
        return cfg
    try:
        return cfg.replace(data={"dataset": absolute_spec(cfg.data.dataset)})
    except DatasetError as e:
        raise RunError(str(e)) from None


def summarize_run(path: Path, best_of: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """One row of the run list, read from the run's files only (never raises on a broken run)."""
    run = RunDir(path)
    row: dict[str, Any] = {"path": str(path), "name": path.name, "dataset": "", "preset": "", "status": "broken",
                           "step": 0, "total": 0, "phase": "", "best": None, "updated": 0.0, "error": ""}
    try:
        cfg = run.config()
        row.update(dataset=spec_label(cfg.data.dataset), decoder=cfg.vae.decoder_size)
    except Exception as e:  # a half-written or foreign folder shows as broken, with the reason
        row["error"] = str(e)
        return row
    st = run.state()
    row.update(status=st.get("status", "created"), step=int(st.get("step", 0)), total=int(st.get("total", 0)),
               phase=st.get("phase", ""), updated=float(st.get("updated", 0.0)), error=st.get("error", ""),
               preset=str(st.get("preset") or ""))       # recorded by the app and `train --preset`; "" if unknown
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
