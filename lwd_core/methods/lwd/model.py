"""Build LWD's two models from a run config; used by the trainer and by inference alike."""
from __future__ import annotations

from ...config import RunConfig
from .ddpm import GaussianDiffusion
from .denoiser import LatentDenoiser
from .vae import LWDVAE


def build_vae(cfg: RunConfig, window: int, obs_dim: int, act_dim: int, tanh: bool) -> LWDVAE:
    return LWDVAE(cfg.vae, window, obs_dim, act_dim, tanh)


def build_diffusion(cfg: RunConfig, n_conditions: int, state_dim: int) -> GaussianDiffusion:
    d = cfg.ddpm
    eps = LatentDenoiser(cfg.vae.latent_dim, n_conditions, d.hidden, d.n_blocks, d.cond_dim,
                         state_dim if d.state_condition else 0)
    return GaussianDiffusion(eps, cfg.vae.latent_dim, state_dim, d.n_steps, d.beta_start, d.beta_end)
