"""Training loops as generators. They yield small frozen records, check `cancel()` between steps, and
never print or plot; the CLI and the GUI iterate the same generators."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch

from ..config import RunConfig
from ..data.hdf5 import Dataset, load_dataset
from ..data.windows import Windows, make_windows
from ..errors import DatasetError, RunError
from ..io import save_tensors
from ..models.ddpm import GaussianDiffusion
from ..models.denoiser import LatentDenoiser
from ..models.vae import LWDVAE, vae_loss
from .checkpoint import load_checkpoint, save_checkpoint
from .run import RunDir


@dataclass(frozen=True)
class StepRecord:
    phase: str                 # "vae" or "ddpm"
    step: int                  # 1-based, after the update
    total: int
    epoch: float
    losses: dict = field(default_factory=dict)
    elapsed: float = 0.0


@dataclass(frozen=True)
class PhaseEvent:
    phase: str                 # "data", "vae", "latents", "ddpm", "done"
    message: str
    status: str = "running"    # "running", "finished", "cancelled"


def pick_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RunError("device 'cuda' requested but CUDA is not available")
        return torch.device("cuda")
    return torch.device("cpu")


def resolve_tanh(cfg: RunConfig, ds: Dataset) -> bool:
    if cfg.vae.output_activation == "auto":
        return bool(np.abs(ds.actions).max() <= 1.0 + 1e-6)
    return cfg.vae.output_activation == "tanh"


def split_episodes(ds: Dataset, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a stratified fraction of episodes per condition (for reconstruction checks)."""
    labels = ds.episode_labels()
    rng = np.random.default_rng(cfg.seed)
    train, held = [], []
    for c in np.unique(labels):
        ids = np.flatnonzero(labels == c)
        rng.shuffle(ids)
        k = int(round(len(ids) * cfg.data.holdout_fraction))
        held += list(ids[:k])
        train += list(ids[k:])
    return np.sort(np.array(train, np.int64)), np.sort(np.array(held, np.int64))


def build_vae(cfg: RunConfig, window: int, obs_dim: int, act_dim: int, tanh: bool) -> LWDVAE:
    return LWDVAE(cfg.vae, window, obs_dim, act_dim, tanh)


def build_diffusion(cfg: RunConfig, n_conditions: int, state_dim: int) -> GaussianDiffusion:
    d = cfg.ddpm
    eps = LatentDenoiser(cfg.vae.latent_dim, n_conditions, d.hidden, d.n_blocks, d.cond_dim,
                         state_dim if d.state_condition else 0)
    return GaussianDiffusion(eps, cfg.vae.latent_dim, state_dim, d.n_steps, d.beta_start, d.beta_end)


def _batch_indices(n: int, bs: int, step: int, seed: int) -> tuple[np.ndarray, float]:
    """Shuffled epochs that depend only on (seed, step), so a resumed run sees the same batches."""
    spe = max(1, int(np.ceil(n / bs)))
    epoch, k = divmod(step, spe)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[k * bs:(k + 1) * bs], epoch + k / spe


def check_dataset_fits(run: RunDir, ds: Dataset) -> None:
    """A resumed run must see data of the dimensions it was trained on."""
    if not run.vae_ckpt.exists():
        return
    from ..io import load_meta
    meta = load_meta(run.vae_ckpt)
    if meta.get("obs_dim") != ds.obs_dim or meta.get("act_dim") != ds.act_dim:
        raise DatasetError(f"{ds.path}: dataset has obs_dim={ds.obs_dim}, act_dim={ds.act_dim} but run "
                           f"{run.path} was trained with obs_dim={meta.get('obs_dim')}, act_dim={meta.get('act_dim')}")


def train_run(run_dir: str, cfg: RunConfig | None = None, resume: bool = False,
              cancel: Callable[[], bool] = lambda: False) -> Iterator[StepRecord | PhaseEvent]:
    """VAE, then latents, then the latent DDPM. With resume=True, continue from the checkpoints."""
    run = RunDir(run_dir)
    if resume:
        if not run.exists():
            raise RunError(f"{run.path}: nothing to resume (no config.json)")
        cfg = run.config()
    else:
        if cfg is None:
            raise RunError("a config is needed to start a new run")
        if run.exists() and (run.vae_ckpt.exists() or run.metrics_path.exists()):
            raise RunError(f"{run.path}: run already exists; pass --resume or choose another directory")
        run.create(cfg)
    if cfg.method == "lwd":
        body = _train(run, cfg, resume, cancel)
    else:
        from .baselines import train_baseline
        body = train_baseline(run, cfg, resume, cancel)
    try:
        yield from body
    except (GeneratorExit, KeyboardInterrupt):
        run.set_status("cancelled")
        raise
    except BaseException as e:
        run.set_status("failed", error=f"{type(e).__name__}: {e}")
        raise


def _train(run: RunDir, cfg: RunConfig, resume: bool, cancel) -> Iterator[StepRecord | PhaseEvent]:
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    ds = load_dataset(cfg.data.dataset)
    if resume:
        check_dataset_fits(run, ds)
    train_eps, held_eps = split_episodes(ds, cfg)
    win = make_windows(ds, cfg.data.window, cfg.data.stride, cfg.data.short_episodes, cfg.data.use_action_labels,
                       episodes=train_eps)
    tanh = resolve_tanh(cfg, ds)
    base_meta = {"obs_dim": ds.obs_dim, "act_dim": ds.act_dim, "window": win.length, "tanh_output": tanh,
                 "label_names": ds.condition_names(), "env_id": cfg.env_id or ds.env_id,
                 "dataset": str(cfg.data.dataset), "train_episodes": train_eps.tolist(),
                 "heldout_episodes": held_eps.tolist()}
    run.set_status("running", phase="data", step=0)
    yield PhaseEvent("data", f"{len(win)} windows of length {win.length} from {len(train_eps)} episodes "
                             f"({ds.obs_dim}-d obs, {ds.act_dim}-d act, {len(ds.condition_names())} conditions)")

    vae = build_vae(cfg, win.length, ds.obs_dim, ds.act_dim, tanh).to(device)
    vae.set_normalizer(torch.as_tensor(ds.observations.mean(0)), torch.as_tensor(ds.observations.std(0)))
    vstate = yield from _train_vae(run, cfg, vae, win, base_meta, resume, cancel, device)
    if vstate == "cancelled":
        return

    yield PhaseEvent("latents", "encoding training windows")
    lat = encode_windows(vae, win, cfg.ddpm.latent_samples_per_window, cfg.seed, device)
    save_tensors(run.latents_path, lat, {"label_names": ds.condition_names(), "window": win.length})

    diff = build_diffusion(cfg, len(ds.condition_names()), ds.obs_dim).to(device)
    dstate = yield from _train_ddpm(run, cfg, diff, lat, base_meta, resume, cancel, device)
    if dstate == "cancelled":
        return
    run.set_status("finished", phase="done")
    yield PhaseEvent("done", "training finished", "finished")


def _run_phase(run: RunDir, cfg: RunConfig, phase: str, model: torch.nn.Module, opt: torch.optim.Optimizer,
               rng: torch.Generator, ckpt_path, total: int, meta: dict, resume: bool, cancel,
               step_fn: Callable[[int], dict], schedule: str = "constant") -> Iterator[StepRecord | PhaseEvent]:
    """Shared step/log/checkpoint/cancel loop for both phases. Returns 'finished' or 'cancelled'."""
    step = 0
    base_lr = opt.param_groups[0]["lr"]
    if resume and ckpt_path.exists():
        m = load_checkpoint(ckpt_path, model, opt, rng)
        step = int(m["step"])
        run.truncate_metrics(phase, step)
        if m.get("finished"):
            yield PhaseEvent(phase, f"{phase} already trained ({step} steps)", "finished")
            return "finished"
    elif not resume and ckpt_path.exists():
        raise RunError(f"{ckpt_path}: exists already")

    def save(finished: bool) -> None:
        save_checkpoint(ckpt_path, model, opt, rng, {**meta, "phase": phase, "step": step, "finished": finished})

    yield PhaseEvent(phase, f"training {phase} from step {step} to {total}")
    run.set_status("running", phase=phase, step=step, total=total)
    t0, pending = time.perf_counter(), []
    model.train()
    while step < total:
        if cancel():
            save(False)
            run.append_metrics(pending)
            run.set_status("cancelled", phase=phase, step=step, total=total)
            yield PhaseEvent(phase, f"cancelled at step {step}; resumable", "cancelled")
            return "cancelled"
        if schedule == "cosine":  # a pure function of the step, so resuming needs no scheduler state
            for g in opt.param_groups:
                g["lr"] = base_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / total)))
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
    run.append_metrics(pending)
    save(True)
    run.set_status("running", phase=phase, step=step, total=total)
    yield PhaseEvent(phase, f"{phase} finished at step {step}", "finished")
    return "finished"


def _train_vae(run, cfg, vae, win: Windows, meta, resume, cancel, device):
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.vae.lr, fused=True)  # 5x faster step than foreach on CPU
    rng = torch.Generator(device=device).manual_seed(cfg.seed)
    obs, act, mask = (torch.as_tensor(a) for a in (win.obs, win.act, win.mask))

    def step_fn(step: int):
        idx, epoch = _batch_indices(len(win), cfg.vae.batch_size, step, cfg.seed)
        out = vae_loss(vae, obs[idx].to(device), act[idx].to(device), mask[idx].to(device), rng)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()
        return {"vae_loss": out["loss"].item(), "mse": out["mse"].item(), "kl": out["kl"].item()}, epoch

    return (yield from _run_phase(run, cfg, "vae", vae, opt, rng, run.vae_ckpt, cfg.vae.steps, meta, resume,
                                  cancel, step_fn, cfg.vae.lr_schedule))


@torch.no_grad()
def encode_windows(vae: LWDVAE, win: Windows, samples: int, seed: int, device) -> dict[str, torch.Tensor]:
    vae.eval()
    mus, logvars = [], []
    for s in range(0, len(win), 64):
        sl = slice(s, s + 64)
        mu, lv = vae.encode(torch.as_tensor(win.obs[sl]).to(device), torch.as_tensor(win.act[sl]).to(device),
                            torch.as_tensor(win.mask[sl]).to(device))
        mus.append(mu.cpu())
        logvars.append(lv.cpu())
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    return {"mu": mu, "logvar": logvar, "label": torch.as_tensor(win.label), "episode": torch.as_tensor(win.episode),
            "start": torch.as_tensor(win.start), "init_obs": torch.as_tensor(win.obs[:, 0]),
            "samples": torch.tensor([samples])}


def diffusion_data(lat: dict[str, torch.Tensor], seed: int):
    """Normalised latent training set: `samples` draws from q(z|tau) per window, per-dim standardised."""
    mu, logvar = lat["mu"], lat["logvar"]
    k = int(lat["samples"][0])
    g = torch.Generator().manual_seed(seed)
    z = mu.repeat(k, 1) + (0.5 * logvar).exp().repeat(k, 1) * torch.randn((k * len(mu), mu.shape[1]), generator=g)
    z_mean = mu.mean(0)
    z_std = mu.std(0).clamp_min(1e-6) if len(mu) > 1 else torch.ones(mu.shape[1])
    return ((z - z_mean) / z_std, lat["label"].repeat(k), lat["init_obs"].repeat(k, 1), z_mean, z_std)


def _train_ddpm(run, cfg, diff: GaussianDiffusion, lat, meta, resume, cancel, device):
    zn, cond, init_obs, z_mean, z_std = diffusion_data(lat, cfg.seed)
    lo, hi = zn.min(0).values, zn.max(0).values
    margin = 0.1 * (hi - lo)
    s_mean, s_std = init_obs.mean(0), init_obs.std(0).clamp_min(1e-3)
    diff.set_normalizers(z_mean, z_std, lo - margin, hi + margin, s_mean, s_std)
    state_n = (init_obs - s_mean) / s_std
    opt = torch.optim.Adam(diff.parameters(), lr=cfg.ddpm.lr, fused=True)
    rng = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    zn, cond, state_n = zn.to(device), cond.to(device), state_n.to(device)
    use_state = cfg.ddpm.state_condition

    def step_fn(step: int):
        idx, epoch = _batch_indices(len(zn), cfg.ddpm.batch_size, step, cfg.seed + 1)
        idx = torch.as_tensor(idx, device=device)
        loss = diff.loss(zn[idx], cond[idx], state_n[idx] if use_state else None, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"ddpm_loss": loss.item()}, epoch

    return (yield from _run_phase(run, cfg, "ddpm", diff, opt, rng, run.ddpm_ckpt, cfg.ddpm.steps,
                                  {**meta, "latent_dim": cfg.vae.latent_dim}, resume, cancel, step_fn,
                                  cfg.ddpm.lr_schedule))

