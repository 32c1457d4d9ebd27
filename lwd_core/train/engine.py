"""The training engine every method shares: records, the phase loop (step, log, checkpoint, cancel, resume) and the
batch schedule. Training loops are generators: they yield small frozen records, check `cancel()` between steps,
and never print or plot; the CLI and the GUI iterate the same generators."""
from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Iterator

import numpy as np
import torch

from ..checkpoint import load_checkpoint, save_checkpoint
from ..config import RunConfig
from ..data.hdf5 import Dataset
from ..data.sources import spec_exists
from ..errors import DatasetError, RunError
from ..io import atomic_write_json, load_meta, load_tensors, repair_sidecar
from ..runs import HEARTBEAT_S, RunBusy, RunDir, absolute_dataset

# Subnormal floats run at a small fraction of the normal speed on x86 CPUs. Adam's first moment decays by beta1 at
# every step where a weight's gradient is zero, and rounding stops it in the subnormal range for good: after 10k
# steps of the MT10 VAE, 35% of those moments were subnormal and Adam's step took 21 ms instead of 3.6 (the whole
# step went from 23 to 15.6 steps/s). Flushing them to zero changes nothing a model can see (they are below
# 1.2e-38). It must happen before torch starts its OpenMP threads, which inherit the setting from the thread that
# starts them; importing the engine comes before any training op in every entry point.
torch.set_flush_denormal(True)


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks for reuse instead of returning them to the system at once.

    By default every block over its mmap threshold (at most 32 MB) is mapped on allocation and unmapped on free, so
    a training step that frees and re-allocates a large gradient pays a page fault for each of its 4 KB pages every
    step: the paper's flattened MT10 encoder (an 88 MB weight gradient) took 22.8k faults and about a third of its
    step that way. With mmap off and the trim threshold at 1 GiB the heap keeps those pages (the process's resident
    memory stays near its peak). Returns whether the setting took: glibc only, and not with LWD_KEEP_FREED_MEMORY=0
    in the environment (for a host process that wants its allocator left alone)."""
    import ctypes
    import os
    import platform
    if os.environ.get("LWD_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        m_trim_threshold, m_mmap_max = -1, -4              # <malloc.h>
        return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        return False


KEEPS_FREED_MEMORY = keep_freed_memory()


@dataclass(frozen=True)
class StepRecord:
    phase: str                 # a method's phase: "vae", "ddpm", "mlp_bc", ...
    step: int                  # 1-based, after the update
    total: int
    epoch: float
    losses: dict = field(default_factory=dict)
    elapsed: float = 0.0


@dataclass(frozen=True)
class PhaseEvent:
    phase: str                 # "data", a training phase, "latents", "done"
    message: str
    status: str = "running"    # "running", "finished", "cancelled"


def pick_device(name: str) -> torch.device:
    """"auto" is CUDA when available; every method trains on the device this returns."""
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RunError("device='cuda' requested but CUDA is not available on this machine "
                           "(use device='cpu' or 'auto')")
        return torch.device("cuda")
    return torch.device("cpu")


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:                                    # not Linux: no flags, so no native bf16 detected
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes in bf16 natively: a CUDA device that says so (not by emulation), or a CPU with
    avx512_bf16 or AMX (amx_bf16) in /proc/cpuinfo's flags."""
    if device.type == "cuda":
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:                              # an older torch without the argument
            return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})
    return False


def resolve_precision(name: str, device: torch.device) -> str:
    """The training arithmetic `precision` ("auto", "fp32", "bf16") means on `device`: "fp32" or "bf16"."""
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return name


def autocast(device: torch.device, precision: str) -> ContextManager:
    """What each training step wraps its forward pass and loss in: bf16 autocast, or nothing at all for fp32 (the
    arithmetic of every run before the setting existed). Backward and the optimizer step stay outside; the weights
    and the optimizer state remain fp32 either way."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def resolve_tanh(cfg: RunConfig, ds: Dataset) -> bool:
    if cfg.vae.output_activation == "auto":
        return bool(np.abs(ds.actions).max() <= 1.0 + 1e-6)
    return cfg.vae.output_activation == "tanh"


def action_targets(cfg: RunConfig, ds: Dataset) -> np.ndarray:
    """What every method learns to output: the clean expert labels when the file has them and the config asks."""
    return ds.action_labels if (cfg.data.use_action_labels and ds.action_labels is not None) else ds.actions


def split_episodes(ds: Dataset, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a stratified fraction of episodes per condition (for reconstruction checks)."""
    labels = ds.episode_labels()
    rng = np.random.default_rng(cfg.seed)
    train, held = [], []
    names = ds.condition_names()
    for c in np.unique(labels):
        ids = np.flatnonzero(labels == c)
        rng.shuffle(ids)
        k = int(round(len(ids) * cfg.data.holdout_fraction))
        if k >= len(ids):
            name = names[c] if 0 <= c < len(names) else str(c)
            raise DatasetError(f"{ds.path}: data.holdout_fraction={cfg.data.holdout_fraction} leaves no training "
                               f"episode for condition {name!r} ({len(ids)} episodes)")
        held += list(ids[:k])
        train += list(ids[k:])
    return np.sort(np.array(train, np.int64)), np.sort(np.array(held, np.int64))


def batch_indices(n: int, bs: int, step: int, seed: int) -> tuple[np.ndarray, float]:
    """Shuffled epochs that depend only on (seed, step), so a resumed run sees the same batches."""
    spe = max(1, int(np.ceil(n / bs)))
    epoch, k = divmod(step, spe)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[k * bs:(k + 1) * bs], epoch + k / spe


# Keys a resumed run may change: how long to train, where, how often to log, and evaluation. Anything else would
# change the data or the model under the checkpoints.
# `precision` is resumable on purpose, like `device` (a run moved to a GPU may continue in bf16): it changes how the
# steps are computed, not the data or the model; each checkpoint counts the steps trained in each precision.
# `vae.compile` likewise changes only how the steps are computed.
RESUMABLE = ("name", "device", "precision", "log_every", "checkpoint_every", "vae.steps", "vae.compile",
             "ddpm.steps", "baseline.steps")


def open_run(run_dir: str, cfg: RunConfig | None, resume: bool,
             checkpoints: tuple[str, ...] = ()) -> tuple[RunDir, RunConfig]:
    """The run directory to train in: an existing one to resume (with `cfg` its requested, possibly changed,
    config), or a new one created from `cfg`. A resume is checked completely before anything in the directory is
    written: the config changes, the dataset's content hash, and that each checkpoint (names in `checkpoints`)
    is readable. A rejected resume leaves every file as it was.

    A new run's folder is created on the trainer's first write (RunDir.create(defer=True)): every check a trainer
    makes before it starts (the device, the dataset, its windows) refuses with no folder left behind."""
    run = RunDir(run_dir)
    if resume:
        if not run.exists():
            raise RunError(f"{run.path}: nothing to resume (no config.json)")
        old = run.config()
        new = absolute_dataset(cfg) if cfg is not None else old
        changed = old.differences(new)
        fixed = [k for k in changed if k not in RESUMABLE and not k.startswith("eval.") and k != "data.dataset"]
        if fixed:
            raise RunError(f"{run.path}: --resume cannot change {', '.join(fixed)} (the dataset or the model "
                           f"depends on them); start a new run instead")
        pick_device(new.device)                           # before a changed device is written to config.json
        if new.data.dataset:
            run.check_dataset(new.data.dataset)
        for name in checkpoints:
            path = run.ckpt_dir / name
            if path.exists():
                load_meta(path)
                load_tensors(path)
        run.claim()                                       # refuses a live trainer before it cleans anything
        if changed:
            atomic_write_json(run.config_path, new.to_dict())
        if new.data.dataset and spec_exists(new.data.dataset) and (
                "data.dataset" in changed or run.dataset_record() is None):
            run.record_dataset(new.data.dataset)           # a moved file with the same content, or an older run
        return run, new
    if cfg is None:
        raise RunError("a config is needed to start a new run")
    if run.exists() and (any(run.ckpt_dir.glob("*.safetensors")) or run.metrics_path.exists()):
        raise RunError(f"{run.path}: run already exists; pass --resume or choose another directory")
    pick_device(cfg.device)
    return run, run.create(cfg, defer=True)


def guarded(run: RunDir, body: Iterator) -> Iterator:
    """Mark the run cancelled or failed in status.json when its training generator ends abnormally. A new run that
    ends before its trainer wrote anything (a refusal: see open_run) writes nothing: no folder is left behind, and
    a folder that was there already (the app's "New run" makes one before training) keeps its config and dataset
    record, with status.json saying why its training failed."""
    try:
        yield from body
    except RunBusy:                    # another trainer holds the run: its files are that trainer's to write
        run.discard_pending()
        raise
    except (GeneratorExit, KeyboardInterrupt):
        if run.pending:
            run.discard_pending()
        else:
            run.set_status("cancelled")
        raise
    except BaseException as e:
        if run.pending:
            run.discard_pending()
        if run.exists():
            run.set_status("failed", error=f"{type(e).__name__}: {e}")
        raise
    finally:
        run.release()


def cosine_lr(base_lr: float, step: int, schedule_total: int) -> float:
    """The learning rate of the update that takes a phase from `step` to `step + 1`: a cosine from the base rate
    down to 0.1x of it, reached by the phase's last update (step + 1 == schedule_total). Steps beyond
    schedule_total (a finished phase trained further) stay at that final rate, so extending a phase never raises
    its learning rate again."""
    frac = min(step + 1, schedule_total) / max(schedule_total, 1)
    return base_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def run_phase(run: RunDir, cfg: RunConfig, phase: str, phases: tuple[str, ...], model: torch.nn.Module,
              opt: torch.optim.Optimizer, rng: torch.Generator, ckpt_path, total: int, meta: dict, resume: bool,
              cancel: Callable[[], bool], step_fn: Callable[[int], tuple[dict, float]],
              schedule: str | Callable[[int, int], float] = "constant",
              precision: str = "fp32") -> Iterator[StepRecord | PhaseEvent]:
    """Step/log/checkpoint/cancel loop of one phase; `phases` is the method's phase order (for resume).
    Returns 'finished' or 'cancelled'.

    `precision` is the resolved arithmetic ("fp32" or "bf16", see resolve_precision) that `step_fn` computes its
    forward pass in (under autocast(device, precision)); the checkpoint records it as `precision`, and in
    `steps_by_precision` how many of its steps were trained in each (a resume may change it deliberately).

    The cosine schedule is defined on the phase's first total (`schedule_total` in the checkpoint's metadata), not
    on `total`: a phase extended by `--resume --set PHASE.steps=N` continues at the rate it finished on. A
    checkpoint from before that field takes its own step as that total when it is finished (a phase finishes at its
    total), else the configured steps."""
    step = 0
    schedule_total = total
    base_lr = opt.param_groups[0]["lr"]
    before: dict[str, int] = {}                    # steps trained in each precision before this process
    if resume and ckpt_path.exists():
        m = load_checkpoint(ckpt_path, model, opt, rng)
        repair_sidecar(ckpt_path)                  # a kill between the weights and their readable copy
        if m.get("phase", phase) != phase:
            raise RunError(f"{ckpt_path}: holds phase {m.get('phase')!r}, expected {phase!r}")
        step = int(m["step"])
        before = {str(k): int(v) for k, v in m.get("steps_by_precision", {m.get("precision", "fp32"): step}).items()
                  if int(v) > 0}
        schedule_total = int(m.get("schedule_total", step if m.get("finished") else total))
        if m.get("finished") and step >= total:
            yield PhaseEvent(phase, f"{phase} already trained ({step} steps)", "finished")
            return "finished"
        if m.get("finished"):        # the config now asks for more steps (train --resume --set PHASE.steps=N)
            yield PhaseEvent(phase, f"extending the finished {phase} from {step} to {total} steps")
    elif not resume and ckpt_path.exists():
        raise RunError(f"{ckpt_path}: exists already")
    if resume:
        run.truncate_metrics(phase, step, phases)  # records after the checkpoint will be logged again

    start = step

    def save(finished: bool) -> None:
        counts = {**before, precision: before.get(precision, 0) + step - start}
        save_checkpoint(ckpt_path, model, opt, rng, {**meta, "phase": phase, "step": step, "finished": finished,
                                                     "schedule_total": schedule_total, "precision": precision,
                                                     "steps_by_precision": {k: v for k, v in counts.items() if v}})

    other = {k: v for k, v in before.items() if k != precision}
    earlier = (f"; {', '.join(f'{v} earlier steps in {k}' for k, v in sorted(other.items()))}" if other else "")
    yield PhaseEvent(phase, f"training {phase} from step {step} to {total} in {precision}{earlier}")
    run.set_status("running", phase=phase, step=step, total=total)
    t0, pending = time.perf_counter(), []
    beat = t0
    model.train()
    while step < total:
        if cancel():
            run.append_metrics(pending)            # metrics first: a kill in between only repeats them
            save(False)
            run.set_status("cancelled", phase=phase, step=step, total=total)
            yield PhaseEvent(phase, f"cancelled at step {step}; resumable", "cancelled")
            return "cancelled"
        if schedule == "cosine":  # a pure function of the step, so resuming needs no scheduler state
            for g in opt.param_groups:
                g["lr"] = cosine_lr(base_lr, step, schedule_total)
        elif callable(schedule):  # a method's own factor of (step, schedule_total), e.g. warm-up then cosine
            for g in opt.param_groups:
                g["lr"] = base_lr * schedule(step, schedule_total)
        losses, epoch = step_fn(step)
        step += 1
        if step % cfg.log_every == 0 or step == total:
            rec = StepRecord(phase, step, total, epoch, losses, time.perf_counter() - t0)
            pending.append({"phase": phase, "step": step, "epoch": epoch, "elapsed": rec.elapsed, **losses})
            yield rec
        if step % cfg.checkpoint_every == 0 and step < total:
            run.append_metrics(pending)
            pending = []
            save(False)
            run.set_status("running", phase=phase, step=step, total=total)
            beat = time.perf_counter()
        elif time.perf_counter() - beat > HEARTBEAT_S:
            run.heartbeat(phase=phase, step=step, total=total)
            beat = time.perf_counter()
    run.append_metrics(pending)
    save(True)
    run.set_status("running", phase=phase, step=step, total=total)
    yield PhaseEvent(phase, f"{phase} finished at step {step}", "finished")
    return "finished"
