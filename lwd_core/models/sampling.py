"""Deterministic DDIM sampling (Song et al. 2021, eta = 0) for any eps-prediction model and alpha_bar schedule.
Shared by LWD's latent DDPM and Diffusion Policy."""
from __future__ import annotations

from typing import Callable

import torch


@torch.no_grad()
def ddim_sample(eps_model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                alpha_bar: torch.Tensor, steps: int, clip_x0: Callable[[torch.Tensor], torch.Tensor] | None = None,
                eta: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Denoise x_T = x over `steps` evenly spaced timesteps of the T = len(alpha_bar) chain; returns x_0.

    eps_model(x_t, t (B,)) predicts the noise. clip_x0 bounds each predicted x_0; eps is then re-derived from the
    clipped x_0 so the update stays on the DDIM trajectory of the clipped estimate."""
    n_steps = len(alpha_bar)
    steps = max(1, min(steps, n_steps))
    ts = torch.linspace(n_steps - 1, 0, steps).round().long().tolist()
    for i, t in enumerate(ts):
        tt = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        eps = eps_model(x, tt)
        ab = alpha_bar[t]
        x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
        if clip_x0 is not None:
            x0 = clip_x0(x0)
        if i == len(ts) - 1:
            return x0
        ab_prev = alpha_bar[ts[i + 1]]
        eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
        sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).sqrt()
        x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma ** 2).clamp_min(0).sqrt() * eps
        if eta > 0:
            x = x + sigma * torch.randn(x.shape, generator=generator, device=x.device)
    return x
