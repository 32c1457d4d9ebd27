"""The generated policies' action error where a suite needs precision, in the suite's own units, logged with the
VAE's training records. PushT finishes only when the block is within about 2 px and 0.03 rad of the goal, so an
overall action MSE hides what matters: the error on near-goal states (coverage above 0.8), in pixels.

A suite opts in with `precision_steps(ds) -> {name: (N,) bool}` (the dataset's steps that need precision) and
`action_unit -> (scale, unit)` (one action unit in the suite's units, e.g. 256 px for PushT)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...data.hdf5 import Dataset
from ...data.windows import Windows
from ...envs.registry import get_suite
from .inference import state_distances
from .vae import LWDVAE

PROBE_WINDOWS = 64                  # windows holding precision steps, fixed for the whole phase


@dataclass
class PrecisionProbe:
    obs: torch.Tensor               # (P, L, obs_dim) probe windows
    act: torch.Tensor               # (P, L, act_dim) their action targets
    masks: dict[str, torch.Tensor]  # name -> (P, L) float, 1 on that kind of step ("all": every real step)
    scale: float
    unit: str
    episode: torch.Tensor           # (P,) each probe window's episode in the dataset

    @torch.no_grad()
    def measure(self, vae: LWDVAE) -> dict[str, float]:
        """RMS action error per action dimension, in the suite's unit, of each window's own decoded policy (the
        posterior mean's), over each kind of step: {"all_rmse_px": ..., "near_goal_rmse_px": ...}."""
        was = vae.training
        vae.eval()
        mu, _ = vae.encode(self.obs, self.act, self.masks["all"])
        se = (vae.act(vae.decode(mu), self.obs) - self.act).pow(2).mean(-1)     # (P, L)
        vae.train(was)
        return self._rmse(se)

    @torch.no_grad()
    def measure_sampled(self, trained, samples: int = 4, seed: int = 0) -> dict[str, float]:
        """The same error for policies the diffusion model samples for each window's first state (a trained
        state-conditioned LWD, inference.TrainedLWD), `samples` per window: beside measure(), it tells a VAE that
        cannot decode precisely from a diffusion model that does not sample the precise latents."""
        P = len(self.obs)
        first = self.obs[:, 0].cpu().numpy().repeat(samples, 0)                           # (P*S, obs_dim)
        z = trained.sample_latents(np.zeros(P * samples, np.int64), "ddim", trained.cfg.eval.ddim_steps,
                                   init_obs=first, generator=torch.Generator().manual_seed(seed))
        return self._rmse_of_latents(trained.vae, z, samples)

    @torch.no_grad()
    def measure_neighbours(self, vae: LWDVAE, mu: torch.Tensor, first: torch.Tensor, episode: torch.Tensor,
                           k: int = 4) -> dict[str, float] | None:
        """The same error for the latents (`mu` (W, D)) of the k training windows of other episodes whose first
        states (`first` (W, obs_dim)) are nearest each probe window's, distances in units of each dimension's spread:
        how much the demonstrations themselves differ from state to nearby state. A diffusion model that samples
        p(z | s) faithfully lands near this, not near the window's own latent. None when some probe window has
        fewer than k windows of other episodes to compare with."""
        if len(first) < k:
            return None
        d = state_distances(self.obs[:, 0].cpu(), first)                                 # (P, W)
        d[self.episode.cpu()[:, None] == episode[None]] = float("inf")                    # not its own episode
        dist, nearest = d.topk(k, dim=1, largest=False)                                  # (P, k)
        if torch.isinf(dist).any():
            return None
        return self._rmse_of_latents(vae, mu[nearest.reshape(-1)], k)

    def _rmse_of_latents(self, vae: LWDVAE, z: torch.Tensor, n: int) -> dict[str, float]:
        """z (P*n, D): n latents per probe window, in window order, each decoded and run on its window's states ->
        the error of the mean over the n of the squared errors."""
        dev = vae.obs_mean.device
        obs, act = self.obs.to(dev).repeat_interleave(n, 0), self.act.to(dev).repeat_interleave(n, 0)
        se = (vae.act(vae.decode(z.to(dev)), obs) - act).pow(2)
        return self._rmse(se.mean(-1).view(len(self.obs), n, -1).mean(1))               # (P, L), mean over n

    def _rmse(self, se: torch.Tensor) -> dict[str, float]:
        return {f"{name}_rmse_{self.unit}": float((se * m.to(se.device)).sum() / m.sum().clamp_min(1)) ** 0.5
                * self.scale for name, m in self.masks.items()}


def run_precision(trained, samples: int = 4) -> dict[str, dict[str, float]] | None:
    """Which part of a trained state-conditioned LWD run misses, on its own probe windows: {"vae": the windows'
    own decoded latents, "diffusion": policies sampled for their first states, "demonstrations": the latents of
    the training windows of other episodes that start nearest them}, each {name_rmse_unit: ...}; None when the
    suite has no precision steps."""
    from ...data.sources import load_source
    from ...data.windows import make_windows
    from ...envs.registry import as_suite_sees_it
    cfg, meta = trained.cfg, trained.meta
    ds = as_suite_sees_it(load_source(meta["dataset"]), trained.env_id)
    win = make_windows(ds, cfg.data.window, cfg.data.stride, cfg.data.short_episodes, cfg.data.use_action_labels,
                       episodes=np.asarray(meta["train_episodes"]))
    probe = precision_probe(ds, win, trained.env_id, "cpu", cfg.seed)
    if probe is None:
        return None
    out = {"vae": probe.measure(trained.vae)}
    lat = trained.latents
    if lat is not None and "init_obs" in lat and len(lat["mu"]) == len(win):
        spread = probe.measure_neighbours(trained.vae, lat["mu"], lat["init_obs"].float(), lat["episode"])
        if spread is not None:
            out["demonstrations"] = spread
    if trained.diffusion is not None and cfg.ddpm.state_condition:
        out["diffusion"] = probe.measure_sampled(trained, samples)
    return out


def precision_probe(ds: Dataset, win: Windows, env_id: str, device, seed: int = 0) -> PrecisionProbe | None:
    """A fixed probe of up to PROBE_WINDOWS training windows that hold the suite's precision steps, or None when
    the suite (or this dataset) has none."""
    suite = get_suite(env_id) if env_id else None
    steps = getattr(suite, "precision_steps", None)
    kinds = steps(ds) if steps is not None else {}
    if not kinds:
        return None
    first = np.array([b[0] for b in ds.episode_bounds()])
    idx = first[win.episode][:, None] + win.start[:, None] + np.arange(win.length)            # (W, L) dataset step
    idx = np.minimum(idx, len(ds) - 1)                                                        # padded steps
    real = win.mask > 0
    per = {name: m[idx] & real for name, m in kinds.items()}                                  # (W, L) each
    rows = np.flatnonzero(np.any(np.stack(list(per.values())), axis=(0, 2)))
    if len(rows) == 0:
        return None
    rows = np.sort(np.random.default_rng(seed).permutation(rows)[:PROBE_WINDOWS])
    dev = (lambda a: torch.as_tensor(a).to(device))
    masks = {"all": dev(real[rows].astype(np.float32))}
    masks.update({name: dev(m[rows].astype(np.float32)) for name, m in per.items()})
    scale, unit = suite.action_unit
    return PrecisionProbe(dev(win.obs[rows]), dev(win.act[rows]), masks, float(scale), unit,
                          torch.as_tensor(win.episode[rows]))
