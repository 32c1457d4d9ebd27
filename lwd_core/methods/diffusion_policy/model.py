"""Diffusion Policy baseline (Chi et al. 2024): a 1-D temporal U-Net over action chunks, FiLM-conditioned on
the observation history and the diffusion step; DDPM training with 100 steps, DDPM or DDIM inference.
Written from the paper's description; sizes follow LWD appendix C.6 (Table 8), plus Chi et al.'s PushT U-Net ("chi").
Observations and actions are min-max normalised to [-1, 1] as Chi et al.'s LinearNormalizer ('limits'); checkpoints
from before that z-score the observations and take the actions as they are (DPSpec.norm "zscore")."""
from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...checkpoint import load_checkpoint
from ...errors import LWDError
from ...models.embeddings import sinusoidal_embedding
from ...models.sampling import ddim_sample
from ...policy_file import load_policy, save_policy
from ...models.ema import EMA
from ...models.mish import Mish

# (step embed dim, down dims); "chi": Chi et al.'s low-dim PushT U-Net (65.8M parameters at obs 20, act 2)
DP_SIZES = {"small": (64, (16, 32, 64)), "large": (256, (32, 64, 128)), "chi": (256, (256, 512, 1024))}
RANGE_EPS = 1e-4                  # a dimension whose data span less than this is shifted, not scaled (as Chi et al.)


@dataclass
class DPSpec:
    obs_dim: int
    act_dim: int
    n_tasks: int = 0                  # task one-hot appended to each observation
    size: str = "small"
    kernel: int = 5
    horizon: int = 16                 # prediction horizon H_p
    n_obs: int = 2                    # observation steps T_o
    n_action: int = 8                 # action horizon H_a: executed before re-planning
    n_train_steps: int = 100
    obs_mean: list = field(default_factory=list)
    obs_std: list = field(default_factory=list)
    norm: str = "limits"              # "limits": min-max to [-1, 1]; "zscore": checkpoints from before it
    obs_min: list = field(default_factory=list)   # the data's limits ("limits"; empty = the identity)
    obs_max: list = field(default_factory=list)
    act_min: list = field(default_factory=list)
    act_max: list = field(default_factory=list)


class RangeNormalizer(nn.Module):
    """Chi et al.'s 'limits' normaliser: x -> scale * x + offset with scale = 2 / (max - min), offset = -1 - scale *
    min, so the data's min and max map to -1 and 1; a dimension spanning less than RANGE_EPS is only shifted (scale
    1, offset -min). Computed as (x - lo) / half_range - 1 with half_range = (max - min) / 2: the same map, but it
    sends the limits to -1 and 1 exactly in floating point (x - lo is then 0, or exactly twice half_range)."""

    def __init__(self, lo: list, hi: list, dim: int):
        super().__init__()
        lo_t = torch.tensor(lo or [-1.0] * dim, dtype=torch.float32)
        hi_t = torch.tensor(hi or [1.0] * dim, dtype=torch.float32)
        flat = (hi_t - lo_t) < RANGE_EPS
        self.register_buffer("lo", torch.where(flat, lo_t - 1, lo_t))          # flat: (x - (min - 1)) / 1 - 1
        self.register_buffer("half_range", torch.where(flat, torch.ones_like(lo_t), (hi_t - lo_t) / 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.lo) / self.half_range - 1

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return (y + 1) * self.half_range + self.lo


class ConvNormAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int):
        super().__init__(nn.Conv1d(cin, cout, k, padding=k // 2), nn.GroupNorm(8, cout), Mish())


class FiLMResBlock(nn.Module):
    """conv -> FiLM(cond) -> conv, plus a residual path."""

    def __init__(self, cin: int, cout: int, cond_dim: int, k: int):
        super().__init__()
        self.c1, self.c2 = ConvNormAct(cin, cout, k), ConvNormAct(cout, cout, k)
        self.film = nn.Sequential(Mish(), nn.Linear(cond_dim, 2 * cout))
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.c1(x)                                             # (B, C, T)
        scale, shift = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
        return self.c2(h * scale + shift) + self.skip(x)


class TemporalUNet(nn.Module):
    def __init__(self, act_dim: int, global_dim: int, step_dim: int, down_dims: tuple[int, ...], k: int = 5):
        super().__init__()
        self.step_dim = step_dim
        self.step_mlp = nn.Sequential(nn.Linear(step_dim, 4 * step_dim), Mish(), nn.Linear(4 * step_dim, step_dim))
        cdim = step_dim + global_dim
        chans = [act_dim, *down_dims]
        self.down = nn.ModuleList()
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            last = i == len(down_dims) - 1
            self.down.append(nn.ModuleList([FiLMResBlock(a, b, cdim, k), FiLMResBlock(b, b, cdim, k),
                                            nn.Conv1d(b, b, 3, 2, 1) if not last else nn.Identity()]))
        m = down_dims[-1]
        self.mid = nn.ModuleList([FiLMResBlock(m, m, cdim, k), FiLMResBlock(m, m, cdim, k)])
        self.up = nn.ModuleList()
        rev = list(reversed(down_dims))
        for a, b in zip(rev[:-1], rev[1:]):   # every up stage undoes one downsampling
            self.up.append(nn.ModuleList([FiLMResBlock(2 * a, b, cdim, k), FiLMResBlock(b, b, cdim, k),
                                          nn.ConvTranspose1d(b, b, 4, 2, 1)]))
        self.final = nn.Sequential(ConvNormAct(down_dims[0], down_dims[0], k), nn.Conv1d(down_dims[0], act_dim, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, global_cond: torch.Tensor) -> torch.Tensor:
        # x (B, H, act_dim), t (B,), global_cond (B, G) -> predicted noise (B, H, act_dim)
        cond = torch.cat([self.step_mlp(sinusoidal_embedding(t, self.step_dim, endpoint=True)), global_cond], dim=-1)
        h = x.transpose(1, 2)                                      # (B, act_dim, H)
        skips = []
        for r1, r2, down in self.down:
            h = r2(r1(h, cond), cond)
            skips.append(h)                                        # the finest skip stays unused, as in DP
            h = down(h)
        for r in self.mid:
            h = r(h, cond)
        for r1, r2, up in self.up:
            h = r2(r1(torch.cat([h, skips.pop()], dim=1), cond), cond)
            h = up(h)
        return self.final(h).transpose(1, 2)


def cosine_alpha_bar(n: int, s: float = 0.008) -> torch.Tensor:
    """Squared-cosine schedule (Nichol & Dhariwal), betas capped at 0.999, as Diffusion Policy uses."""
    f = lambda i: math.cos((i / n + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    betas = torch.tensor([min(1 - f(i + 1) / f(i), 0.999) for i in range(n)], dtype=torch.float64)
    return torch.cumprod(1 - betas, 0).float()


class DiffusionPolicyModel(nn.Module):
    def __init__(self, spec: DPSpec):
        super().__init__()
        self.spec = spec
        if spec.size not in DP_SIZES:
            raise LWDError(f"DP size must be one of {sorted(DP_SIZES)}, got {spec.size!r}")
        step_dim, down = DP_SIZES[spec.size]
        self.unet = TemporalUNet(spec.act_dim, spec.n_obs * (spec.obs_dim + spec.n_tasks), step_dim, down, spec.kernel)
        self.register_buffer("alpha_bar", cosine_alpha_bar(spec.n_train_steps))
        if spec.norm == "limits":
            self.obs_norm = RangeNormalizer(spec.obs_min, spec.obs_max, spec.obs_dim)
            self.act_norm = RangeNormalizer(spec.act_min, spec.act_max, spec.act_dim)
        elif spec.norm == "zscore":   # the state dict of checkpoints from before min-max normalisation
            mean = spec.obs_mean or [0.0] * spec.obs_dim
            std = spec.obs_std or [1.0] * spec.obs_dim
            self.register_buffer("obs_mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("obs_std", torch.tensor(std, dtype=torch.float32))
        else:
            raise LWDError(f"DP normalisation must be limits or zscore, got {spec.norm!r}")

    def global_cond(self, obs_hist: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        # obs_hist (B, T_o, obs_dim) raw, task (B,) -> (B, T_o * (obs_dim + n_tasks))
        o = self.obs_norm(obs_hist) if self.spec.norm == "limits" else (obs_hist - self.obs_mean) / self.obs_std
        if self.spec.n_tasks:
            oh = F.one_hot(task, self.spec.n_tasks).to(o.dtype)[:, None].expand(-1, o.shape[1], -1)
            o = torch.cat([o, oh], dim=-1)
        return o.flatten(1)

    def normalise_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Raw actions -> the [-1, 1] space the diffusion runs in ("zscore" checkpoints: clamped raw actions)."""
        return self.act_norm(actions) if self.spec.norm == "limits" else actions.clamp(-1, 1)

    def loss(self, obs_hist, task, actions, generator=None) -> torch.Tensor:
        """actions (B, H, act_dim) raw; epsilon-prediction MSE on their normalised values."""
        actions = self.normalise_actions(actions)
        B = actions.shape[0]
        t = torch.randint(0, self.spec.n_train_steps, (B,), generator=generator, device=actions.device)
        eps = torch.randn(actions.shape, generator=generator, device=actions.device)
        ab = self.alpha_bar[t].view(B, 1, 1)
        x = ab.sqrt() * actions + (1 - ab).sqrt() * eps
        return F.mse_loss(self.unet(x, t, self.global_cond(obs_hist, task)), eps)

    @torch.no_grad()
    def sample(self, obs_hist, task, steps: int | None = None, generator=None) -> torch.Tensor:
        """DDIM (eta=0) over `steps` timesteps; steps=None or >= n_train_steps gives the full DDPM chain. Returns
        raw actions (B, H, act_dim)."""
        x = self._sample(obs_hist, task, steps, generator)
        return self.act_norm.inverse(x) if self.spec.norm == "limits" else x

    def _sample(self, obs_hist, task, steps: int | None = None, generator=None) -> torch.Tensor:
        n = self.spec.n_train_steps
        cond = self.global_cond(obs_hist, task)
        dev = obs_hist.device
        x = torch.randn((obs_hist.shape[0], self.spec.horizon, self.spec.act_dim), generator=generator, device=dev)
        eps_model = lambda x_t, t: self.unet(x_t, t, cond)  # noqa: E731
        if steps is not None and steps < n:
            return ddim_sample(eps_model, x, self.alpha_bar, steps, lambda x0: x0.clamp(-1, 1))
        for t in range(n - 1, -1, -1):  # ancestral steps from the posterior q(x_{t-1} | x_t, x0)
            eps = eps_model(x, torch.full((x.shape[0],), t, dtype=torch.long, device=dev))
            ab = self.alpha_bar[t]
            x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            ab_prev = self.alpha_bar[t - 1] if t > 0 else torch.tensor(1.0, device=dev)
            beta = 1 - ab / ab_prev
            mean = (ab_prev.sqrt() * beta / (1 - ab)) * x0 + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)) * x
            var = beta * (1 - ab_prev) / (1 - ab)
            x = mean + (var.sqrt() * torch.randn(x.shape, generator=generator, device=dev) if t > 0 else 0)
        return x

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())


class DiffusionPolicy:
    """Receding-horizon controller: keep T_o observations, sample a chunk of H_p actions, execute H_a."""

    def __init__(self, model: DiffusionPolicyModel, task: int = 0, ddim_steps: int | None = None, seed: int = 0):
        self.model = model.eval()
        self.task, self.ddim_steps = task, ddim_steps
        self.gen = torch.Generator().manual_seed(seed)
        self.reset()

    def reset(self) -> None:
        self.obs: deque = deque(maxlen=self.model.spec.n_obs)
        self.plan: deque = deque()

    def act(self, obs: np.ndarray) -> np.ndarray:
        o = np.asarray(obs, np.float32)
        if not self.obs:
            self.obs.extend([o] * self.model.spec.n_obs)
        else:
            self.obs.append(o)
        if not self.plan:
            hist = torch.as_tensor(np.stack(self.obs))[None]
            chunk = self.model.sample(hist, torch.tensor([self.task]), self.ddim_steps, self.gen)[0].numpy()
            start = self.model.spec.n_obs - 1            # the action for the current step
            self.plan.extend(chunk[start:start + self.model.spec.n_action])
        return self.plan.popleft()

    def save(self, path: str | Path) -> None:
        save_policy(path, self.model.state_dict(), {"kind": "diffusion_policy", **asdict(self.model.spec),
                                                    "task": self.task, "ddim_steps": self.ddim_steps})

    @classmethod
    def load(cls, path: str | Path) -> "DiffusionPolicy":
        t, d = load_policy(path, "diffusion_policy")
        try:
            task, steps = int(d.pop("task", 0)), d.pop("ddim_steps", None)
            d.pop("kind", None)
            d.pop("format", None)
            d.setdefault("norm", "zscore")                 # files from before min-max normalisation
            model = DiffusionPolicyModel(DPSpec(**d))
            model.load_state_dict({k: torch.from_numpy(v) for k, v in t.items()})
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise LWDError(f"{path}: not a valid diffusion_policy policy file ({type(e).__name__}: "
                           f"{str(e).splitlines()[0]})") from None
        return cls(model, task, steps)


def _floats(x) -> list:
    return [] if x is None else [float(v) for v in x]


def build(cfg, obs_dim: int, act_dim: int, n_tasks: int, tanh: bool, obs_mean=None, obs_std=None,
          limits=None, norm: str = "limits"):
    """limits: (obs_min, obs_max, act_min, act_max) of the data, for norm "limits"."""
    b = cfg.baseline
    lim = [_floats(x) for x in limits] if limits is not None else [[], [], [], []]
    spec = DPSpec(obs_dim, act_dim, n_tasks, b.dp_size, 5, b.horizon, b.n_obs, b.n_action, b.dp_train_steps,
                  _floats(obs_mean), _floats(obs_std), norm, *lim)
    return DiffusionPolicyModel(spec)


def from_checkpoint(cfg, path, meta: dict) -> DiffusionPolicyModel:
    """The model a run's checkpoint is evaluated with: its EMA weights and min-max normalisers; a checkpoint from
    before them (no `normalizer` in its metadata) loads its trained weights with z-scored observations, as then."""
    dims = (meta["obs_dim"], meta["act_dim"], len(meta["label_names"]), meta["tanh_output"], meta["obs_mean"],
            meta["obs_std"])
    if "normalizer" not in meta:
        model = build(cfg, *dims, norm="zscore")
        load_checkpoint(path, model)
        return model
    model = build(cfg, *dims, limits=[meta[k] for k in ("obs_min", "obs_max", "act_min", "act_max")],
                  norm=meta["normalizer"])
    both = EMA(model)
    load_checkpoint(path, both)             # the trained weights and their average; the average is evaluated
    return both.ema
