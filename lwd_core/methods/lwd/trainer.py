"""LWD training: the VAE (paper Eq. 2), then the training windows' latents, then the latent DDPM."""
from __future__ import annotations

from typing import Iterator

import torch

from ...checkpoint import set_aside
from ...config import RunConfig
from ...data.hdf5 import Dataset
from ...data.sources import load_source
from ...data.windows import Windows, make_windows
from ...envs.registry import as_suite_sees_it
from ...errors import DatasetError
from ...io import load_meta, save_tensors
from ...models.ema import EMA, resumed_ema_step
from ...runs import RunDir
from ...train.compiled import CompiledLoss
from ...train.engine import (
    PhaseEvent,
    StepRecord,
    autocast,
    batch_indices,
    pick_device,
    resolve_precision,
    resolve_tanh,
    run_phase,
    split_episodes,
)
from .ddpm import GaussianDiffusion
from .model import build_diffusion, build_vae
from .precision import PrecisionProbe, precision_probe
from .vae import LWDVAE, draw_noise, vae_loss_given_noise

PHASES = ("vae", "ddpm")


def check_dataset_fits(run: RunDir, ds: Dataset) -> None:
    """A resumed run must see data of the dimensions it was trained on."""
    if not run.vae_ckpt.exists():
        return
    meta = load_meta(run.vae_ckpt)
    if meta.get("obs_dim") != ds.obs_dim or meta.get("act_dim") != ds.act_dim:
        raise DatasetError(f"{ds.path}: dataset has obs_dim={ds.obs_dim}, act_dim={ds.act_dim} but run "
                           f"{run.path} was trained with obs_dim={meta.get('obs_dim')}, act_dim={meta.get('act_dim')}")


def train(run: RunDir, cfg: RunConfig, resume: bool, cancel) -> Iterator[StepRecord | PhaseEvent]:
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    ds = load_source(cfg.data.dataset)
    ds = as_suite_sees_it(ds, cfg.env_id or ds.env_id)       # e.g. PushT's keypoints from stored states
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
                             f"({ds.obs_dim}-d obs, {ds.act_dim}-d act, {len(ds.condition_names())} conditions) "
                             f"on {device} in {precision}")

    vae = build_vae(cfg, win.length, ds.obs_dim, ds.act_dim, tanh).to(device)
    vae.set_normalizer(torch.as_tensor(ds.observations.mean(0)), torch.as_tensor(ds.observations.std(0)))
    probe = precision_probe(ds, win, cfg.env_id or ds.env_id, device, cfg.seed)   # PushT: error near the goal, px
    vstate = yield from _train_vae(run, cfg, vae, win, base_meta, resume, cancel, device, probe, precision)
    if vstate == "cancelled":
        return

    yield PhaseEvent("latents", "encoding training windows")
    lat = encode_windows(vae, win, cfg.ddpm.latent_samples_per_window, device)
    save_tensors(run.latents_path, lat, {"label_names": ds.condition_names(), "window": win.length})

    diff = build_diffusion(cfg, len(ds.condition_names()), ds.obs_dim).to(device)
    vae_step = int(load_meta(run.vae_ckpt)["step"])           # the latents above come from this VAE
    if resume and run.ddpm_ckpt.exists() and load_meta(run.ddpm_ckpt).get("vae_step", vae_step) != vae_step:
        # the VAE was trained further: the diffusion model learnt latents that no longer exist
        stale = set_aside(run.ddpm_ckpt)
        yield PhaseEvent("ddpm", f"the VAE changed since the diffusion model was trained; training it again "
                                 f"(the old checkpoint is kept as {stale.name})")
    dstate = yield from _train_ddpm(run, cfg, diff, lat, {**base_meta, "vae_step": vae_step}, resume, cancel, device,
                                    precision)
    if dstate == "cancelled":
        return
    run.set_status("finished", phase="done")
    yield PhaseEvent("done", "training finished", "finished")


def vae_step_loss(vae: LWDVAE, device: torch.device, precision: str, compile: bool) -> CompiledLoss:
    """The VAE step's forward (under autocast in `precision`) and backward, given a batch and its draw_noise; compiled
    with torch.compile if `compile`. `bench` times this same step."""
    def loss_fn(obs, act, mask, eps, keys):
        with autocast(device, precision):             # the forward pass and the loss only
            return vae_loss_given_noise(vae, obs, act, mask, eps, keys)

    return CompiledLoss(loss_fn, compile, list(vae.parameters()))


def _train_vae(run, cfg: RunConfig, vae: LWDVAE, win: Windows, meta, resume, cancel, device,
               probe: PrecisionProbe | None = None, precision: str = "fp32"):
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.vae.lr, fused=True)  # 5x faster step than foreach on CPU
    rng = torch.Generator(device=device).manual_seed(cfg.seed)
    # the windows go to the device once; each batch is gathered there
    obs, act, mask = (torch.as_tensor(a).to(device) for a in (win.obs, win.act, win.mask))

    loss = vae_step_loss(vae, device, precision, cfg.vae.compile and not _phase_done(run.vae_ckpt, cfg.vae.steps,
                                                                                     resume))
    if loss.active:
        yield PhaseEvent("vae", "compiling the VAE training step (torch.compile; about half a minute on 2 cores the "
                                "first time, seconds once cached)")
        idx = torch.as_tensor(batch_indices(len(win), cfg.vae.batch_size, 0, cfg.seed)[0], device=device)
        spare = torch.Generator(device=device).manual_seed(cfg.seed)   # the training draws stay untouched
        yield PhaseEvent("vae", loss.warm_up(obs[idx], act[idx], mask[idx], *draw_noise(vae, mask[idx], spare)))

    def step_fn(step: int):
        idx, epoch = batch_indices(len(win), cfg.vae.batch_size, step, cfg.seed)
        idx = torch.as_tensor(idx, device=device)
        opt.zero_grad(set_to_none=True)
        out = loss.backward(obs[idx], act[idx], mask[idx], *draw_noise(vae, mask[idx], rng))
        opt.step()
        rec = {"vae_loss": out["loss"].item(), "mse": out["mse"].item(), "kl": out["kl"].item()}
        if probe is not None and ((step + 1) % cfg.log_every == 0 or step + 1 == cfg.vae.steps):
            rec.update(probe.measure(vae))          # only on logged steps: a forward pass over the probe windows
        return rec, epoch

    return (yield from run_phase(run, cfg, "vae", PHASES, vae, opt, rng, run.vae_ckpt, cfg.vae.steps, meta, resume,
                                 cancel, step_fn, cfg.vae.lr_schedule, precision))


def _phase_done(ckpt, total: int, resume: bool) -> bool:
    """Whether a resumed phase has nothing left to train (then there is nothing to compile)."""
    if not (resume and ckpt.exists()):
        return False
    m = load_meta(ckpt)
    return bool(m.get("finished")) and int(m["step"]) >= total


@torch.no_grad()
def encode_windows(vae: LWDVAE, win: Windows, samples: int, device) -> dict[str, torch.Tensor]:
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


def _train_ddpm(run, cfg: RunConfig, diff: GaussianDiffusion, lat, meta, resume, cancel, device,
                precision: str = "fp32"):
    zn, cond, init_obs, z_mean, z_std = diffusion_data(lat, cfg.seed)
    lo, hi = zn.min(0).values, zn.max(0).values
    margin = 0.1 * (hi - lo)
    s_mean, s_std = init_obs.mean(0), init_obs.std(0).clamp_min(1e-3)
    diff.set_normalizers(z_mean, z_std, lo - margin, hi + margin, s_mean, s_std)
    state_n = (init_obs - s_mean) / s_std
    trained, meta = _with_average(run, cfg, diff, meta, resume)
    opt = torch.optim.Adam(diff.parameters(), lr=cfg.ddpm.lr, fused=True)
    rng = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    zn, cond, state_n = zn.to(device), cond.to(device), state_n.to(device)
    use_state = cfg.ddpm.state_condition

    def step_fn(step: int):
        idx, epoch = batch_indices(len(zn), cfg.ddpm.batch_size, step, cfg.seed + 1)
        idx = torch.as_tensor(idx, device=device)
        with autocast(device, precision):
            loss = diff.loss(zn[idx], cond[idx], state_n[idx] if use_state else None, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if trained is not diff:
            trained.update(step)
            meta["ema_step"] = step + 1            # run_phase saves the metadata as it is at each checkpoint
        return {"ddpm_loss": loss.item()}, epoch

    return (yield from run_phase(run, cfg, "ddpm", PHASES, trained, opt, rng, run.ddpm_ckpt, cfg.ddpm.steps,
                                 meta, resume, cancel, step_fn, cfg.ddpm.lr_schedule, precision))


def _with_average(run: RunDir, cfg: RunConfig, diff: GaussianDiffusion, meta: dict, resume: bool):
    """The module the DDPM phase trains and checkpoints: the denoiser, or (ddpm.ema) the denoiser and the average of
    its weights, whose step is kept as `ema_step`. A resume cannot switch the average on or off (the engine refuses
    a changed ddpm.ema), and a checkpoint of the other kind does not load into this module."""
    meta = {**meta, "latent_dim": cfg.vae.latent_dim}
    if not cfg.ddpm.ema:
        return diff, meta
    resumed = resume and run.ddpm_ckpt.exists()
    meta["ema_step"] = resumed_ema_step(run.ddpm_ckpt, load_meta(run.ddpm_ckpt)) if resumed else 0
    return EMA(diff), meta
