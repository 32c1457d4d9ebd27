"""Sinusoidal embedding of the diffusion step, shared by LWD's latent denoiser and Diffusion Policy's U-Net."""
from __future__ import annotations

import math

import torch


def sinusoidal_embedding(t: torch.Tensor, dim: int, endpoint: bool = False) -> torch.Tensor:
    """t (B,) -> (B, dim): [sin(t f_k), cos(t f_k)] with geometric frequencies f_k from 1 down to 1/10000.

    endpoint=True spaces the frequencies so the last is exactly 1/10000 (Diffusion Policy, labml); endpoint=False
    divides by `half` instead. LWD's denoiser was trained with the latter, and checkpoints depend on it."""
    half = dim // 2
    denom = max(half - 1, 1) if endpoint else half
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / denom)
    a = t.float().unsqueeze(-1) * freqs                       # (B, half)
    return torch.cat([a.sin(), a.cos()], dim=-1)
