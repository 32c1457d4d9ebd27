"""Latent DDPM (Ho et al. 2020, as in labml's implementation): linear beta schedule, eps prediction,
ancestral sampling (p_sample) and deterministic DDIM sampling with k steps."""
from __future__ import annotations

import torch
import torch.nn as nn

from ...models.sampling import ddim_sample


class GaussianDiffusion(nn.Module):
    def __init__(self, eps_model: nn.Module, latent_dim: int, state_dim: int = 0, n_steps: int = 1000,
                 beta_start: float = 1e-4, beta_end: float = 0.02):
        super().__init__()
        self.latent_dim = latent_dim
        self.eps_model = eps_model
        self.n_steps = n_steps
        beta = torch.linspace(beta_start, beta_end, n_steps, dtype=torch.float64)
        alpha = 1.0 - beta
        alpha_bar = torch.cumprod(alpha, 0)
        self.register_buffer("beta", beta.float())
        self.register_buffer("alpha", alpha.float())
        self.register_buffer("alpha_bar", alpha_bar.float())
        # The DDPM works on per-dimension standardised latents; x0 is clipped to the data range.
        self.register_buffer("z_mean", torch.zeros(latent_dim))
        self.register_buffer("z_std", torch.ones(latent_dim))
        self.register_buffer("x0_low", torch.full((latent_dim,), -float("inf")))
        self.register_buffer("x0_high", torch.full((latent_dim,), float("inf")))
        self.register_buffer("s_mean", torch.zeros(max(state_dim, 1)))
        self.register_buffer("s_std", torch.ones(max(state_dim, 1)))

    def set_normalizers(self, z_mean, z_std, low, high, s_mean=None, s_std=None) -> None:
        self.z_mean.copy_(z_mean)
        self.z_std.copy_(z_std)
        self.x0_low.copy_(low)
        self.x0_high.copy_(high)
        if s_mean is not None:
            self.s_mean.copy_(s_mean)
            self.s_std.copy_(s_std)

    def to_latent(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.z_std + self.z_mean

    def norm_state(self, s: torch.Tensor) -> torch.Tensor:
        return (s - self.s_mean) / self.s_std

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t ~ q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)."""
        ab = self.alpha_bar[t].unsqueeze(-1)                      # (B, 1)
        return ab.sqrt() * x0 + (1.0 - ab).sqrt() * eps

    def loss(self, x0: torch.Tensor, cond: torch.Tensor, state: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
        B = x0.shape[0]
        t = torch.randint(0, self.n_steps, (B,), generator=generator, device=x0.device)
        eps = torch.randn(x0.shape, generator=generator, device=x0.device)
        return (self.eps_model(self.q_sample(x0, t, eps), t, cond, state) - eps).pow(2).mean()

    def _x0_from_eps(self, xt, t_idx, eps):
        ab = self.alpha_bar[t_idx]
        x0 = (xt - (1 - ab).sqrt() * eps) / ab.sqrt()
        return torch.maximum(torch.minimum(x0, self.x0_high), self.x0_low)

    @torch.no_grad()
    def p_sample(self, xt: torch.Tensor, t: int, cond: torch.Tensor, state: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, clip: bool = True) -> torch.Tensor:
        """One ancestral step x_t -> x_{t-1} with sigma_t^2 = beta_t."""
        tt = torch.full((xt.shape[0],), t, device=xt.device, dtype=torch.long)
        eps = self.eps_model(xt, tt, cond, state)
        beta, alpha, ab = self.beta[t], self.alpha[t], self.alpha_bar[t]
        if clip:
            x0 = self._x0_from_eps(xt, t, eps)
            ab_prev = self.alpha_bar[t - 1] if t > 0 else torch.ones_like(ab)
            mean = (ab_prev.sqrt() * beta / (1 - ab)) * x0 + (alpha.sqrt() * (1 - ab_prev) / (1 - ab)) * xt
        else:
            mean = (xt - beta / (1 - ab).sqrt() * eps) / alpha.sqrt()
        if t == 0:
            return mean
        noise = torch.randn(xt.shape, generator=generator, device=xt.device)
        return mean + beta.sqrt() * noise

    @torch.no_grad()
    def sample_ddpm(self, n: int, dim: int, cond: torch.Tensor, state: torch.Tensor | None = None,
                    generator: torch.Generator | None = None, clip: bool = True) -> torch.Tensor:
        x = torch.randn((n, dim), generator=generator, device=self.beta.device)
        for t in range(self.n_steps - 1, -1, -1):
            x = self.p_sample(x, t, cond, state, generator, clip)
        return x

    @torch.no_grad()
    def sample_ddim(self, n: int, dim: int, cond: torch.Tensor, state: torch.Tensor | None = None,
                    steps: int = 50, generator: torch.Generator | None = None, clip: bool = True,
                    eta: float = 0.0) -> torch.Tensor:
        """DDIM (Song et al. 2021) over `steps` evenly spaced timesteps; eta=0 is deterministic."""
        x = torch.randn((n, dim), generator=generator, device=self.beta.device)
        clip_x0 = (lambda x0: torch.maximum(torch.minimum(x0, self.x0_high), self.x0_low)) if clip else None
        return ddim_sample(lambda x_t, t: self.eps_model(x_t, t, cond, state), x, self.alpha_bar, steps, clip_x0,
                           eta, generator)
