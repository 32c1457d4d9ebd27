"""Residual-MLP eps_model(z_t, t, c[, s]) for 256-d latents (in place of labml's image UNet: a latent
vector has no spatial structure for convolutions to exploit)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...models.embeddings import sinusoidal_embedding


class ResBlock(nn.Module):
    def __init__(self, hidden: int, emb: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.film = nn.Linear(emb, 2 * hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(e).chunk(2, dim=-1)
        x = self.norm(h) * (1 + scale) + shift
        return h + self.fc2(F.silu(self.fc1(x)))


class LatentDenoiser(nn.Module):
    def __init__(self, latent_dim: int, n_conditions: int, hidden: int = 512, n_blocks: int = 4,
                 cond_dim: int = 64, state_dim: int = 0):
        super().__init__()
        self.t_dim = 128
        emb = hidden
        self.t_mlp = nn.Sequential(nn.Linear(self.t_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.cond_emb = nn.Embedding(n_conditions, cond_dim)
        self.cond_proj = nn.Linear(cond_dim, emb)
        self.state_proj = (nn.Sequential(nn.Linear(state_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
                           if state_dim > 0 else None)
        self.inp = nn.Linear(latent_dim, hidden)
        self.blocks = nn.ModuleList(ResBlock(hidden, emb) for _ in range(n_blocks))
        self.out_norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, latent_dim)

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                state: torch.Tensor | None = None) -> torch.Tensor:
        # z_t (B, D), t (B,), cond (B,) int, state (B, S) normalised or None
        e = self.t_mlp(sinusoidal_embedding(t, self.t_dim)) + self.cond_proj(self.cond_emb(cond))
        if self.state_proj is not None:
            if state is None:
                raise ValueError("this denoiser is state-conditioned: pass `state`")
            e = e + self.state_proj(state)
        e = F.silu(e)
        h = self.inp(z_t)
        for blk in self.blocks:
            h = blk(h, e)
        return self.out(self.out_norm(h))
