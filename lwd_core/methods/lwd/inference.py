"""A trained LWD run: sample latents with the DDPM, decode them into policies, encode trajectories.
Builds its models from `model.py` and never imports the trainer."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...checkpoint import load_checkpoint
from ...config import EvalConfig
from ...data.sources import load_source
from ...envs.registry import as_suite_sees_it
from ...errors import LWDError, RunError
from ...export import NumpyPolicyBatch
from ...io import load_meta, load_tensors
from ...models.ema import EMA
from ...models.policy import split_theta
from ...runs import RunDir
from .model import build_diffusion, build_vae


def state_distances(states: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """states (k, obs_dim) against the training windows' first states `first` (W, obs_dim) -> (k, W) distances in
    units of each dimension's spread over those first states, so that a keypoint in pixels and an angle weigh
    alike."""
    scale = first.std(0).clamp_min(1e-3)
    return torch.cdist(states / scale, first / scale)


class GeneratedBatch:
    """B generated policies behind the BatchPolicy contract, with the latents they were decoded from."""

    def __init__(self, policies: NumpyPolicyBatch, latents: torch.Tensor | None = None):
        self.policies, self.latents = policies, latents

    def __call__(self, obs: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
        return self.policies.act(obs)            # fixed policies: nothing to query, a finished row is ignored

    @classmethod
    def concat(cls, batches: "Sequence[GeneratedBatch]") -> "GeneratedBatch":
        """Several conditions' policies as one batch, so a control step stays one matmul per layer."""
        return cls(NumpyPolicyBatch.concat([b.policies for b in batches]))


class ResampledBatch:
    """B closed-loop policies re-generated every H_a steps (paper §3.3, Fig. 9): at steps 0, H_a, 2 H_a, ... one
    batched diffusion query samples a latent for each live episode's current state, the VAE decodes it, and that
    policy acts alone until the next query. Finished episodes are not re-sampled. `queries` (n,) counts each
    episode's diffusion queries, ceil(length / H_a); `latents` holds the first ones (for the novelty measure).
    `nearest=True` replaces the diffusion query by the latent of the training window whose first state is nearest
    the current one: the VAE's decoding alone, the oracle that tells a VAE miss from a diffusion miss."""

    def __init__(self, trained: "TrainedLWD", cid: int, n: int, ecfg: EvalConfig, seed: int, nearest: bool = False):
        self.trained, self.cid, self.n, self.ecfg, self.nearest = trained, cid, n, ecfg, nearest
        self.horizon = int(ecfg.action_horizon)
        self.gen = torch.Generator().manual_seed(seed)
        self.t = 0
        self.queries = np.zeros(n, np.int64)
        self.policies: NumpyPolicyBatch | None = None
        self.latents: torch.Tensor | None = None

    def __call__(self, obs: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
        live = np.ones(self.n, bool) if live is None else np.asarray(live, bool)
        if self.t % self.horizon == 0 and live.any():
            idx = np.flatnonzero(live)                                          # (k,) episodes still running
            if self.nearest:
                z = self.trained.nearest_latents(self.cid, obs[idx])
            else:
                z = self.trained.sample_latents(np.full(len(idx), self.cid), self.ecfg.sampler,
                                                self.ecfg.ddim_steps, init_obs=obs[idx], generator=self.gen)
            new = self.trained.policy_batch(self.trained.decode(z))
            self.policies = new if self.policies is None else self.policies.with_rows(idx, new)
            if self.latents is None and not self.nearest:      # novelty measures diffusion samples only
                self.latents = z
            self.queries[idx] += 1
        self.t += 1
        return self.policies.act(obs)


class TrainedLWD:
    policy_kinds = ("lwd", "vae")     # sampled from the diffusion model; reconstructed from a demonstration
    extra_kinds = ("vae_train",)       # decoded from the training windows' latents (paper Fig. 3b)

    def __init__(self, run_dir: str | Path, need_diffusion: bool = True):
        self.run = RunDir(run_dir)
        if not self.run.path.is_dir():
            raise RunError(f"{self.run.path}: run directory not found")
        self.cfg = self.run.config()
        if not self.run.vae_ckpt.exists():
            raise RunError(f"{self.run.path}: no trained VAE checkpoint (train the run first)")
        meta = load_meta(self.run.vae_ckpt)
        self.meta = meta
        self.label_names: list[str] = list(meta["label_names"])
        self.vae = build_vae(self.cfg, int(meta["window"]), int(meta["obs_dim"]), int(meta["act_dim"]),
                             bool(meta["tanh_output"]))
        load_checkpoint(self.run.vae_ckpt, self.vae)
        self.vae.eval()
        self.diffusion = None
        if need_diffusion:
            if not self.run.ddpm_ckpt.exists():
                raise RunError(f"{self.run.path}: no trained diffusion checkpoint (training not finished)")
            self.diffusion = build_diffusion(self.cfg, len(self.label_names), int(meta["obs_dim"]))
            if "ema_step" in load_meta(self.run.ddpm_ckpt):     # trained with ddpm.ema: sample with the average
                both = EMA(self.diffusion)
                load_checkpoint(self.run.ddpm_ckpt, both)
                self.diffusion = both.ema
            else:
                load_checkpoint(self.run.ddpm_ckpt, self.diffusion)
            self.diffusion.eval()
        self.latents = load_tensors(self.run.latents_path) if self.run.latents_path.exists() else None
        self._heldout_ds = None

    @property
    def spec(self):
        return self.vae.spec

    @property
    def n_params(self) -> int:
        return self.spec.n_params

    @property
    def env_id(self) -> str:
        return str(self.meta.get("env_id", ""))

    def condition_id(self, name: str) -> int:
        if name not in self.label_names:
            raise LWDError(f"unknown condition {name!r}; this run knows: {', '.join(self.label_names)}")
        return self.label_names.index(name)

    @torch.no_grad()
    def sample_latents(self, cond: np.ndarray, sampler: str = "ddim", steps: int = 50, seed: int = 0,
                       init_obs: np.ndarray | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """cond (n,) condition ids -> z (n, latent_dim) in the VAE's latent space. `generator` (instead of
        `seed`) continues a stream of draws, for re-sampling during an episode."""
        d = self.diffusion
        g = generator if generator is not None else torch.Generator().manual_seed(seed)
        c = torch.as_tensor(np.asarray(cond), dtype=torch.long)
        state = None
        if self.cfg.ddpm.state_condition:
            if init_obs is None:
                raise LWDError("this run's diffusion model is state-conditioned: an initial observation is needed")
            state = d.norm_state(torch.as_tensor(np.asarray(init_obs), dtype=torch.float32))
        n, D = len(c), d.latent_dim
        if sampler == "ddim":
            x = d.sample_ddim(n, D, c, state, steps=steps, generator=g, clip=self.cfg.ddpm.clip_x0)
        elif sampler == "ddpm":
            x = d.sample_ddpm(n, D, c, state, generator=g, clip=self.cfg.ddpm.clip_x0)
        else:
            raise LWDError(f"unknown sampler {sampler!r}; choose ddim or ddpm")
        return d.to_latent(x)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)                                  # (n, P)

    def policy_batch(self, theta: torch.Tensor) -> NumpyPolicyBatch:
        layers = [(W.numpy(), b.numpy()) for W, b in split_theta(self.spec, theta.float().cpu())]
        return NumpyPolicyBatch(layers, self.vae.obs_mean.numpy(), self.vae.obs_std.numpy(), self.spec.tanh_output)

    def single_policy(self, cid: int, seed: int = 0, sampler: str | None = None, first_obs=None):
        """One sampled policy (NumpyMLPPolicy) for methods/registry.py:sample_policy; a state-conditioned run
        samples for first_obs()."""
        init = np.asarray(first_obs())[None] if self.cfg.ddpm.state_condition and first_obs is not None else None
        z = self.sample_latents(np.array([cid]), sampler or self.cfg.eval.sampler, self.cfg.eval.ddim_steps,
                                seed=seed, init_obs=init)
        return self.policy_batch(self.decode(z)).policy(0)

    @torch.no_grad()
    def encode(self, obs: np.ndarray, act: np.ndarray, mask: np.ndarray | None = None) -> torch.Tensor:
        """obs (n, L, obs_dim), act (n, L, act_dim) -> mu (n, latent_dim); longer inputs are cut to L."""
        L = self.vae.window
        obs, act = np.asarray(obs, np.float32), np.asarray(act, np.float32)
        if mask is None:
            mask = np.ones(obs.shape[:2], np.float32)
        n, T = obs.shape[:2]
        po = np.zeros((n, L, obs.shape[2]), np.float32)
        pa = np.zeros((n, L, act.shape[2]), np.float32)
        pm = np.zeros((n, L), np.float32)
        k = min(T, L)
        po[:, :k], pa[:, :k], pm[:, :k] = obs[:, :k], act[:, :k], mask[:, :k]
        mu, _ = self.vae.encode(torch.as_tensor(po), torch.as_tensor(pa), torch.as_tensor(pm))
        return mu

    def training_latents(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.latents is None:
            raise RunError(f"{self.run.path}: no latents.safetensors")
        return self.latents["mu"], self.latents["label"]


    def nearest_latents(self, cid: int, obs: np.ndarray) -> torch.Tensor:
        """obs (k, obs_dim) -> (k, latent_dim): for each state, the latent (posterior mean) of this condition's
        training window whose first state is nearest it (state_distances)."""
        if self.latents is None or "init_obs" not in self.latents:
            raise RunError(f"{self.run.path}: its latents.safetensors has no windows' first states")
        mu, label = self.training_latents()
        keep = label == cid
        if not keep.any():
            raise LWDError(f"{self.run.path}: no training windows of condition {self.label_names[cid]!r}")
        d = state_distances(torch.as_tensor(np.asarray(obs, np.float32)), self.latents["init_obs"].float())
        return mu[keep][d[:, keep].argmin(1)]                                         # d (k, windows)

    def training_latents_of(self, cid: int, n: int) -> torch.Tensor:
        """n latents (posterior means) of this condition's training windows, in dataset order, cycled when the
        condition has fewer than n windows."""
        mu, label = self.training_latents()
        z = mu[label == cid]
        if len(z) == 0:
            raise LWDError(f"{self.run.path}: no training windows of condition {self.label_names[cid]!r}")
        return z[torch.arange(n) % len(z)]

    # ---- the TrainedMethod contract used by evaluation
    def needs_demos(self, kind: str) -> bool:
        return kind == "vae"

    def batch_policy(self, kind: str, cid: int, n: int, ecfg: EvalConfig, seed: int, init_obs: np.ndarray,
                     demos: Sequence[dict] | None = None) -> "GeneratedBatch | ResampledBatch":
        if kind == "lwd" and ecfg.action_horizon > 0:
            if not self.cfg.ddpm.state_condition:
                raise LWDError("an action horizon re-samples latents for the current state: this run's diffusion "
                               "model is not state-conditioned (train with ddpm.state_condition=true)")
            return ResampledBatch(self, cid, n, ecfg, seed)
        if kind == "lwd":
            z = self.sample_latents(np.full(n, cid), ecfg.sampler, ecfg.ddim_steps, seed=seed, init_obs=init_obs)
            return GeneratedBatch(self.policy_batch(self.decode(z)), z)
        if kind == "vae":
            L = max(len(d["obs"]) for d in demos)
            O = np.zeros((len(demos), L, self.spec.obs_dim), np.float32)
            A = np.zeros((len(demos), L, self.spec.act_dim), np.float32)
            M = np.zeros((len(demos), L), np.float32)
            for i, d in enumerate(demos):
                O[i, :len(d["obs"])], A[i, :len(d["act"])], M[i, :len(d["obs"])] = d["obs"], d["act"], 1
            return GeneratedBatch(self.policy_batch(self.decode(self.encode(O, A, M))))
        if kind == "vae_train" and ecfg.action_horizon > 0 and self.cfg.ddpm.state_condition:
            return ResampledBatch(self, cid, n, ecfg, seed, nearest=True)
        if kind == "vae_train":
            return GeneratedBatch(self.policy_batch(self.decode(self.training_latents_of(cid, n))))
        raise LWDError(f"unknown LWD policy kind {kind!r}; choose from "
                       f"{', '.join(self.policy_kinds + self.extra_kinds)}")

    def heldout_demos(self, cid: int, n: int) -> list[dict]:
        """Held-out episodes of the run's dataset for this condition (to reconstruct where the suite has no expert
        for it), as the VAE saw its training episodes: the clean action labels when the run trained on them. The
        episodes are those the trainer kept out (data.holdout_fraction); none when it kept none. Raises LWDError
        when the dataset cannot be read any more."""
        held = self.meta.get("heldout_episodes")
        if not held:
            return []
        if self._heldout_ds is None:
            self._heldout_ds = as_suite_sees_it(load_source(self.meta["dataset"]), self.env_id)
        ds = self._heldout_ds
        b = ds.episode_bounds()
        lab = ds.episode_labels()
        if max(held) >= len(b):
            raise RunError(f"{self.meta['dataset']}: has {len(b)} episodes, but the run held out episode {max(held)}")
        clean = ds.action_labels is not None and self.cfg.data.use_action_labels
        tgt = ds.action_labels if clean else ds.actions
        out = [{"obs": ds.observations[b[i][0]:b[i][1]], "act": tgt[b[i][0]:b[i][1]]} for i in held if lab[i] == cid]
        return out[:n]

    def extra_metrics(self, batches: Sequence[tuple[int, object]]) -> dict:
        """Novelty of the sampled latents: (condition id, GeneratedBatch) pairs of the "lwd" kind; with re-sampling,
        also the diffusion queries per episode."""
        out = {}
        resampled = [b for _, b in batches if isinstance(b, ResampledBatch) and not b.nearest]
        if resampled:
            out["diffusion_queries_per_episode"] = float(np.mean(np.concatenate([b.queries for b in resampled])))
            out["action_horizon"] = resampled[0].horizon
        zs = [(cid, b.latents) for cid, b in batches if getattr(b, "latents", None) is not None]
        if not zs or self.latents is None:
            return out
        mu, lab = self.training_latents()
        z = torch.cat([z for _, z in zs])
        c = torch.cat([torch.full((len(z),), cid) for cid, z in zs])
        return {**out, "novelty": novelty(z, c, mu, lab)}


def novelty(z: torch.Tensor, z_cond: torch.Tensor, train_mu: torch.Tensor, train_label: torch.Tensor) -> dict:
    """Distance from each sampled latent to its nearest training latent (same condition), beside the
    typical nearest-neighbour spacing of the training latents themselves (leave-one-out). A statistic that is
    undefined is None: the spacing (and so the ratio and the share of copies) when no condition has two training
    latents, the distance when no sampled condition has a training latent."""
    out_d, ref_d = [], []
    for c in torch.unique(z_cond):
        tr = train_mu[train_label == c]
        zs = z[z_cond == c]
        if len(tr) == 0:
            continue
        out_d.append(torch.cdist(zs, tr).min(1).values)
        if len(tr) > 1:
            dd = torch.cdist(tr, tr)
            dd.fill_diagonal_(float("inf"))
            ref_d.append(dd.min(1).values)
    nn_sample = torch.cat(out_d) if out_d else torch.zeros(0)
    nn_train = torch.cat(ref_d) if ref_d else torch.zeros(0)
    ref = float(nn_train.median()) if len(nn_train) else None
    med = float(nn_sample.median()) if len(nn_sample) else None
    spaced = ref is not None and ref > 0
    return {"nn_dist_median": med, "train_nn_dist_median": ref,
            "novelty_ratio": med / ref if spaced and med is not None else None,
            "frac_copies": float((nn_sample < 0.05 * ref).float().mean()) if spaced and len(nn_sample) else None}
