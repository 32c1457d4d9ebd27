"""What the supervised baselines share in training: their per-step table and the loop around the engine."""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from ..config import RunConfig
from ..data.hdf5 import Dataset
from ..data.sources import load_source
from ..runs import RunDir
from ..train.engine import (
    PhaseEvent,
    StepRecord,
    action_targets,
    batch_indices,
    pick_device,
    resolve_tanh,
    run_phase,
    split_episodes,
)
from .baseline_load import Builder

# loss(model, obs_hist (B, n_obs, obs_dim), task (B,), act_chunk (B, horizon, act_dim), rng) -> scalar
Loss = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


def step_table(ds: Dataset, episodes: np.ndarray, n_obs: int, horizon: int):
    """Per training step: its obs-history rows (N, n_obs) and action-chunk rows (N, horizon), clamped to the
    episode (the first observation repeats before the start, the last action after the end)."""
    bounds = ds.episode_bounds()
    hist, chunk, rows = [], [], []
    for i in episodes:
        s, e = bounds[i]
        t = np.arange(s, e)
        hist.append(np.clip(t[:, None] + np.arange(-(n_obs - 1), 1)[None], s, e - 1))
        chunk.append(np.clip(t[:, None] - (n_obs - 1) + np.arange(horizon)[None], s, e - 1))
        rows.append(t)
    return np.concatenate(rows), np.concatenate(hist), np.concatenate(chunk)


def train_baseline(run: RunDir, cfg: RunConfig, resume: bool, cancel, build: Builder, loss: Loss,
                   n_obs: int, horizon: int, weight_decay: float = 0.0) -> Iterator[StepRecord | PhaseEvent]:
    """One phase named after the method. Every array is moved to the configured device once; batches are
    gathered there, so the host does no per-step work beyond drawing the batch's row indices."""
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    ds = load_source(cfg.data.dataset)
    train_eps, held_eps = split_episodes(ds, cfg)
    b = cfg.baseline
    rows, hist, chunk = step_table(ds, train_eps, n_obs, horizon)
    labels = ds.labels if ds.labels is not None else np.zeros(len(ds), np.int64)
    names = ds.condition_names()
    tanh = resolve_tanh(cfg, ds)
    mean, std = ds.observations.mean(0), np.maximum(ds.observations.std(0), 1e-3)
    model = build(cfg, ds.obs_dim, ds.act_dim, len(names), tanh, mean, std).to(device)
    meta = {"obs_dim": ds.obs_dim, "act_dim": ds.act_dim, "tanh_output": tanh, "label_names": names,
            "env_id": cfg.env_id or ds.env_id, "dataset": str(cfg.data.dataset), "method": cfg.method,
            "train_episodes": train_eps.tolist(), "heldout_episodes": held_eps.tolist(),
            "obs_mean": mean.tolist(), "obs_std": std.tolist(), "n_params": sum(
                p.numel() for n, p in model.named_parameters())}
    run.set_status("running", phase="data", step=0)
    yield PhaseEvent("data", f"{len(rows)} steps from {len(train_eps)} episodes for {cfg.method} on {device}")
    obs = torch.as_tensor(ds.observations).to(device)                      # (N, obs_dim)
    act = torch.as_tensor(action_targets(cfg, ds)).to(device)              # (N, act_dim)
    task = torch.as_tensor(labels).to(device)                              # (N,)
    hist_t, chunk_t = torch.as_tensor(hist).to(device), torch.as_tensor(chunk).to(device)
    rows_t = torch.as_tensor(rows).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=b.lr, weight_decay=weight_decay)
    rng = torch.Generator(device=device).manual_seed(cfg.seed)

    def step_fn(step: int):
        idx, epoch = batch_indices(len(rows), b.batch_size, step, cfg.seed)
        idx = torch.as_tensor(idx, device=device)
        value = loss(model, obs[hist_t[idx]], task[rows_t[idx]], act[chunk_t[idx]], rng)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        return {"loss": value.item()}, epoch

    ckpt = run.ckpt_dir / f"{cfg.method}.safetensors"
    state = yield from run_phase(run, cfg, cfg.method, (cfg.method,), model, opt, rng, ckpt, b.steps, meta, resume,
                                 cancel, step_fn)
    if state == "finished":
        run.set_status("finished", phase="done")
        yield PhaseEvent("done", "training finished", "finished")
