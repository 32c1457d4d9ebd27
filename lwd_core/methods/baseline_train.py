"""What the supervised baselines share in training: their per-step table and the loop around the engine."""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from ..config import RunConfig
from ..data.hdf5 import Dataset
from ..data.sources import load_source
from ..envs.registry import as_suite_sees_it
from ..errors import RunError
from ..io import load_meta
from ..models.ema import EMA, resumed_ema_step
from ..runs import RunDir
from ..train.engine import (
    PhaseEvent,
    StepRecord,
    action_targets,
    autocast,
    batch_indices,
    pick_device,
    resolve_precision,
    resolve_tanh,
    run_phase,
    split_episodes,
)
from .baseline_load import Builder

# loss(model, obs_hist (B, n_obs, obs_dim), task (B,), act_chunk (B, horizon, act_dim), rng) -> scalar
Loss = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


def step_table(ds: Dataset, episodes: np.ndarray, n_obs: int, horizon: int, pad_after: int | None = None):
    """Per training step: its obs-history rows (N, n_obs) and action-chunk rows (N, horizon), clamped to the
    episode (the first observation repeats before the start, the last action after the end).
    pad_after=None: a sample at every step of the episode. pad_after=k: Chi et al.'s SequenceSampler (pad_before =
    n_obs - 1, pad_after = k): windows of `horizon` steps start from n_obs - 1 steps before the episode to k steps
    past its last full window, i.e. the current step t runs up to L - horizon + k + n_obs - 1 (with k = H_a - 1:
    the last window's executed actions end at the episode's last step); an episode shorter than
    horizon - k - n_obs + 1 gives none."""
    bounds = ds.episode_bounds()
    hist, chunk, rows = [], [], []
    for i in episodes:
        s, e = bounds[i]
        t = np.arange(s, e if pad_after is None else min(e, e - horizon + pad_after + n_obs))
        hist.append(np.clip(t[:, None] + np.arange(-(n_obs - 1), 1)[None], s, e - 1))
        chunk.append(np.clip(t[:, None] - (n_obs - 1) + np.arange(horizon)[None], s, e - 1))
        rows.append(t)
    return np.concatenate(rows), np.concatenate(hist), np.concatenate(chunk)


def train_baseline(run: RunDir, cfg: RunConfig, resume: bool, cancel, build: Builder, loss: Loss,
                   n_obs: int, horizon: int, weight_decay: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                   pad_after: int | None = None, limits: bool = False, ema: bool = False,
                   schedule: str | Callable[[int, int], float] = "constant") -> Iterator[StepRecord | PhaseEvent]:
    """One phase named after the method. Every array is moved to the configured device once; batches are
    gathered there, so the host does no per-step work beyond drawing the batch's row indices.
    Options (Diffusion Policy's; the defaults are MLP-BC's): AdamW `betas`; `pad_after` (step_table); `limits`:
    build(..., limits=(obs_min, obs_max, act_min, act_max)) for min-max normalisation, recorded in the metadata as
    `normalizer`; `ema`: an average of the weights (ema.py) saved beside them, its step as `ema_step`; `schedule`:
    run_phase's learning-rate schedule."""
    b = cfg.baseline
    ckpt = run.ckpt_dir / f"{cfg.method}.safetensors"
    ema_step = 0
    if ema and resume and ckpt.exists():
        m = load_meta(ckpt)
        if "ema_step" not in m:            # trained before the average: it evaluates as then (from_checkpoint)
            if m.get("finished") and int(m["step"]) >= b.steps:
                yield PhaseEvent(cfg.method, f"{cfg.method} already trained ({m['step']} steps)", "finished")
                run.set_status("finished", phase="done")
                yield PhaseEvent("done", "training finished", "finished")
                return
            raise RunError(f"{ckpt}: trained before EMA weights and min-max normalisation; it still evaluates, but "
                           f"cannot be resumed: start a new run")
        ema_step = resumed_ema_step(ckpt, m)
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    ds = load_source(cfg.data.dataset)
    ds = as_suite_sees_it(ds, cfg.env_id or ds.env_id)       # e.g. PushT's keypoints from stored states
    train_eps, held_eps = split_episodes(ds, cfg)
    rows, hist, chunk = step_table(ds, train_eps, n_obs, horizon, pad_after)
    labels = ds.labels if ds.labels is not None else np.zeros(len(ds), np.int64)
    names = ds.condition_names()
    tanh = resolve_tanh(cfg, ds)
    mean, std = ds.observations.mean(0), np.maximum(ds.observations.std(0), 1e-3)
    targets = action_targets(cfg, ds)
    lim = None
    if limits:   # over the whole dataset, as Chi et al.'s normaliser (and the mean and std above)
        lim = [x.tolist() for x in (ds.observations.min(0), ds.observations.max(0), targets.min(0), targets.max(0))]
    model = build(cfg, ds.obs_dim, ds.act_dim, len(names), tanh, mean, std,
                  **({"limits": lim} if limits else {})).to(device)
    meta = {"obs_dim": ds.obs_dim, "act_dim": ds.act_dim, "tanh_output": tanh, "label_names": names,
            "env_id": cfg.env_id or ds.env_id, "dataset": str(cfg.data.dataset), "method": cfg.method,
            "train_episodes": train_eps.tolist(), "heldout_episodes": held_eps.tolist(),
            "obs_mean": mean.tolist(), "obs_std": std.tolist(), "n_params": sum(
                p.numel() for n, p in model.named_parameters())}
    if limits:
        meta.update(normalizer="limits", **dict(zip(("obs_min", "obs_max", "act_min", "act_max"), lim)))
    trained = model
    if ema:
        trained = EMA(model)               # run_phase checkpoints and restores both
        meta["ema_step"] = ema_step
    run.set_status("running", phase="data", step=0)
    yield PhaseEvent("data", f"{len(rows)} steps from {len(train_eps)} episodes for {cfg.method} on {device} "
                             f"in {precision}")
    obs = torch.as_tensor(ds.observations).to(device)                      # (N, obs_dim)
    act = torch.as_tensor(targets).to(device)                              # (N, act_dim)
    task = torch.as_tensor(labels).to(device)                              # (N,)
    hist_t, chunk_t = torch.as_tensor(hist).to(device), torch.as_tensor(chunk).to(device)
    rows_t = torch.as_tensor(rows).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=b.lr, betas=betas, weight_decay=weight_decay)
    rng = torch.Generator(device=device).manual_seed(cfg.seed)

    def step_fn(step: int):
        idx, epoch = batch_indices(len(rows), b.batch_size, step, cfg.seed)
        idx = torch.as_tensor(idx, device=device)
        with autocast(device, precision):             # the forward pass and the loss only
            value = loss(model, obs[hist_t[idx]], task[rows_t[idx]], act[chunk_t[idx]], rng)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        if ema:
            trained.update(step)
            meta["ema_step"] = step + 1            # run_phase saves the metadata as it is at each checkpoint
        return {"loss": value.item()}, epoch

    state = yield from run_phase(run, cfg, cfg.method, (cfg.method,), trained, opt, rng, ckpt, b.steps, meta,
                                 resume, cancel, step_fn, schedule, precision)
    if state == "finished":
        run.set_status("finished", phase="done")
        yield PhaseEvent("done", "training finished", "finished")
