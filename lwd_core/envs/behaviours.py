"""Shipped behaviour policies for the locomotion suite (D4RL's expert / medium / random), run with numpy alone.

Each is the actor of a stable-baselines3 SAC policy, saved as `assets/behaviours/ENV-LEVEL.safetensors` with a
JSON card beside it (`env`, `level`, `return_mean`, `return_std`, `normalized_score`, `train_steps`, `seed`, ...).
The actor is an MLP (ReLU hidden layers) with two heads: the mean `mu` and `log_std` of a Gaussian, squashed by
tanh. Acting deterministically gives tanh(mu); a behaviour's data carries its own Gaussian noise,
a = tanh(mu + exp(log_std) * eps), as D4RL's datasets do (the paper's a = pi(s) + eps).

Regenerating them needs the `behaviours` extra (stable-baselines3); loading and running them does not."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import seeds
from ..errors import LWDError

LEVELS = ("expert", "medium", "random")
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0           # SB3's clamp of the actor's log-std head
# D4RL's reference returns for the normalised score 100 * (R - min) / (max - min)
D4RL_REF = {"HalfCheetah-v5": (-280.18, 12135.0), "Walker2d-v5": (1.63, 4592.3), "Ant-v5": (-325.6, 3879.7),
            "Hopper-v5": (-20.27, 3234.3)}


def assets_dir() -> Path:
    """Where the shipped behaviour policies live: $LWD_BEHAVIOURS, else the repository's assets/behaviours."""
    env = os.environ.get("LWD_BEHAVIOURS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assets" / "behaviours"


def normalized_score(env_id: str, ret: float) -> float | None:
    if env_id not in D4RL_REF:
        return None
    lo, hi = D4RL_REF[env_id]
    return 100.0 * (ret - lo) / (hi - lo)


@dataclass
class BehaviourPolicy:
    """A squashed-Gaussian MLP actor. layers: [(W (out, in), b (out,)), ...] hidden layers; then the two heads."""
    hidden: list[tuple[np.ndarray, np.ndarray]]
    mu: tuple[np.ndarray, np.ndarray]
    log_std: tuple[np.ndarray, np.ndarray]
    card: dict

    def _heads(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.asarray(obs, np.float64)
        for W, b in self.hidden:
            h = np.maximum(h @ W.T + b, 0.0)
        mu = h @ self.mu[0].T + self.mu[1]
        log_std = np.clip(h @ self.log_std[0].T + self.log_std[1], LOG_STD_MIN, LOG_STD_MAX)
        return mu, log_std

    def mean_action(self, obs: np.ndarray) -> np.ndarray:
        """obs (..., obs_dim) -> tanh(mu) (..., act_dim)."""
        return np.tanh(self._heads(obs)[0]).astype(np.float32)

    def sample(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(noisy action tanh(mu + sigma * eps), clean action tanh(mu))."""
        mu, log_std = self._heads(obs)
        noisy = np.tanh(mu + np.exp(log_std) * rng.standard_normal(mu.shape))
        return noisy.astype(np.float32), np.tanh(mu).astype(np.float32)

    @property
    def obs_dim(self) -> int:
        return self.hidden[0][0].shape[1] if self.hidden else self.mu[0].shape[1]

    @property
    def act_dim(self) -> int:
        return self.mu[0].shape[0]

    # --- files
    def tensors(self) -> dict[str, np.ndarray]:
        out = {}
        for i, (W, b) in enumerate(self.hidden):
            out[f"hidden.{i}.weight"], out[f"hidden.{i}.bias"] = W, b
        out["mu.weight"], out["mu.bias"] = self.mu
        out["log_std.weight"], out["log_std.bias"] = self.log_std
        return {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}

    def save(self, path: str | Path) -> None:
        """The weights as safetensors, the card inside its header and as the readable JSON beside it."""
        import torch

        from ..io import save_tensors
        save_tensors(path, {k: torch.from_numpy(v) for k, v in self.tensors().items()}, self.card)

    @classmethod
    def load(cls, path: str | Path) -> "BehaviourPolicy":
        from ..io import load_meta, load_tensors
        path = Path(path)
        try:
            t = {k: v.numpy() for k, v in load_tensors(path).items()}
            card = load_meta(path)
            n = len([k for k in t if k.startswith("hidden.") and k.endswith(".weight")])
            hidden = [(t[f"hidden.{i}.weight"].astype(np.float64), t[f"hidden.{i}.bias"].astype(np.float64))
                      for i in range(n)]
            pol = cls(hidden, (t["mu.weight"].astype(np.float64), t["mu.bias"].astype(np.float64)),
                      (t["log_std.weight"].astype(np.float64), t["log_std.bias"].astype(np.float64)), card)
        except LWDError:
            raise
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise LWDError(f"{path}: not a behaviour policy ({type(e).__name__}: {str(e).splitlines()[0]})") from None
        return pol


def behaviour_path(env_id: str, level: str, root: Path | None = None) -> Path:
    return (root or assets_dir()) / f"{env_id}-{level}.safetensors"


def load_behaviour(env_id: str, level: str, root: Path | None = None) -> BehaviourPolicy:
    path = behaviour_path(env_id, level, root)
    if not path.exists():
        have = sorted(p.stem for p in (root or assets_dir()).glob(f"{env_id}-*.safetensors"))
        raise LWDError(f"no shipped {level!r} behaviour policy for {env_id} ({path}); have: "
                       f"{', '.join(have) or 'none'}. Regenerate them with `lwd-studio behaviours train`")
    return BehaviourPolicy.load(path)


def shipped(root: Path | None = None) -> list[dict]:
    """The cards of every shipped behaviour policy, with their file names."""
    out = []
    for p in sorted((root or assets_dir()).glob("*.safetensors")):
        try:
            out.append({**json.loads(p.with_suffix(".json").read_text()), "file": p.name})
        except (OSError, ValueError):
            continue
    return out


class BehaviourActor:
    """A behaviour policy behind the scripted-expert contract (reset()/act(obs)), acting with its own noise when
    `noisy` (the data's behaviour) or deterministically. The noise of an episode is seeded by `seed` and the
    episode's first observation, so an episode is the same whichever worker steps it and whatever ran before."""

    def __init__(self, policy: BehaviourPolicy, noisy: bool = False, seed: int = 0):
        self.policy, self.noisy, self.seed = policy, noisy, int(seed)
        self.rng: np.random.Generator | None = None

    def reset(self) -> None:
        self.rng = None

    def act(self, obs: np.ndarray) -> np.ndarray:
        if not self.noisy:
            return self.policy.mean_action(obs)
        if self.rng is None:
            first = np.frombuffer(np.ascontiguousarray(obs, np.float64).tobytes(), np.uint32)
            self.rng = seeds.rng("behaviour_noise", self.seed, *first.tolist())
        return self.policy.sample(obs, self.rng)[0]
