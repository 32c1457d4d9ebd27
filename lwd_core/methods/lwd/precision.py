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
from .vae import LWDVAE

PROBE_WINDOWS = 64                  # windows holding precision steps, fixed for the whole phase


@dataclass
class PrecisionProbe:
    obs: torch.Tensor               # (P, L, obs_dim) probe windows
    act: torch.Tensor               # (P, L, act_dim) their action targets
    masks: dict[str, torch.Tensor]  # name -> (P, L) float, 1 on that kind of step ("all": every real step)
    scale: float
    unit: str

    @torch.no_grad()
    def measure(self, vae: LWDVAE) -> dict[str, float]:
        """RMS action error per action dimension, in the suite's unit, of each window's own decoded policy (the
        posterior mean's), over each kind of step: {"all_rmse_px": ..., "near_goal_rmse_px": ...}."""
        was = vae.training
        vae.eval()
        mu, _ = vae.encode(self.obs, self.act, self.masks["all"])
        se = (vae.act(vae.decode(mu), self.obs) - self.act).pow(2).mean(-1)     # (P, L)
        vae.train(was)
        return {f"{name}_rmse_{self.unit}": float((se * m).sum() / m.sum().clamp_min(1)) ** 0.5 * self.scale
                for name, m in self.masks.items()}


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
    return PrecisionProbe(dev(win.obs[rows]), dev(win.act[rows]), masks, float(scale), unit)
