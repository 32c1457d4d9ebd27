"""Training for the Table 2 baselines (MLP-BC, Diffusion Policy) with the same generator loop, run directory,
checkpoints and resume as LWD."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from ..baselines.diffusion_policy import DiffusionPolicyModel, DPSpec
from ..baselines.mlp_bc import MLPBC
from ..config import RunConfig
from ..data.hdf5 import Dataset, load_dataset
from ..io import load_meta
from .checkpoint import load_checkpoint
from .loops import PhaseEvent, StepRecord, _batch_indices, _run_phase, resolve_tanh, split_episodes
from .run import RunDir


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


def build_baseline(cfg: RunConfig, obs_dim: int, act_dim: int, n_tasks: int, tanh: bool,
                   obs_mean=None, obs_std=None) -> torch.nn.Module:
    b = cfg.baseline
    if cfg.method == "mlp_bc":
        m = MLPBC(obs_dim, act_dim, n_tasks, b.width, 5, tanh)
        if obs_mean is not None:
            m.obs_mean.copy_(torch.as_tensor(obs_mean))
            m.obs_std.copy_(torch.as_tensor(obs_std))
        return m
    spec = DPSpec(obs_dim, act_dim, n_tasks, b.dp_size, 5, b.horizon, b.n_obs, b.n_action, b.dp_train_steps,
                  [] if obs_mean is None else [float(x) for x in obs_mean],
                  [] if obs_std is None else [float(x) for x in obs_std])
    return DiffusionPolicyModel(spec)


def train_baseline(run: RunDir, cfg: RunConfig, resume: bool, cancel) -> Iterator[StepRecord | PhaseEvent]:
    torch.manual_seed(cfg.seed)
    ds = load_dataset(cfg.data.dataset)
    train_eps, held_eps = split_episodes(ds, cfg)
    b = cfg.baseline
    targets = ds.action_labels if (cfg.data.use_action_labels and ds.action_labels is not None) else ds.actions
    rows, hist, chunk = step_table(ds, train_eps, b.n_obs, b.horizon)
    labels = ds.labels if ds.labels is not None else np.zeros(len(ds), np.int64)
    names = ds.condition_names()
    tanh = resolve_tanh(cfg, ds)
    mean, std = ds.observations.mean(0), np.maximum(ds.observations.std(0), 1e-3)
    model = build_baseline(cfg, ds.obs_dim, ds.act_dim, len(names), tanh, mean, std)
    meta = {"obs_dim": ds.obs_dim, "act_dim": ds.act_dim, "tanh_output": tanh, "label_names": names,
            "env_id": cfg.env_id or ds.env_id, "dataset": str(cfg.data.dataset), "method": cfg.method,
            "train_episodes": train_eps.tolist(), "heldout_episodes": held_eps.tolist(),
            "obs_mean": mean.tolist(), "obs_std": std.tolist(), "n_params": sum(
                p.numel() for n, p in model.named_parameters())}
    run.set_status("running", phase="data", step=0)
    yield PhaseEvent("data", f"{len(rows)} steps from {len(train_eps)} episodes for {cfg.method}")
    obs = torch.as_tensor(ds.observations)
    act = torch.as_tensor(targets)
    task = torch.as_tensor(labels)
    opt = torch.optim.AdamW(model.parameters(), lr=b.lr, weight_decay=1e-6 if cfg.method == "diffusion_policy" else 0)
    rng = torch.Generator().manual_seed(cfg.seed)

    def step_fn(step: int):
        idx, epoch = _batch_indices(len(rows), b.batch_size, step, cfg.seed)
        r = rows[idx]
        if cfg.method == "mlp_bc":
            loss = (model(obs[r], task[r]) - act[r]).pow(2).mean()
        else:
            loss = model.loss(obs[hist[idx]], task[r], act[chunk[idx]].clamp(-1, 1), rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}, epoch

    ckpt = run.ckpt_dir / f"{cfg.method}.safetensors"
    state = yield from _run_phase(run, cfg, cfg.method, model, opt, rng, ckpt, b.steps, meta, resume, cancel,
                                  step_fn)
    if state == "finished":
        run.set_status("finished", phase="done")
        yield PhaseEvent("done", "training finished", "finished")


def load_baseline(run_dir) -> tuple[RunConfig, torch.nn.Module, dict]:
    run = RunDir(run_dir)
    cfg = run.config()
    ckpt = run.ckpt_dir / f"{cfg.method}.safetensors"
    meta = load_meta(ckpt)
    model = build_baseline(cfg, meta["obs_dim"], meta["act_dim"], len(meta["label_names"]), meta["tanh_output"],
                           meta["obs_mean"], meta["obs_std"])
    load_checkpoint(ckpt, model)
    return cfg, model.eval(), meta

