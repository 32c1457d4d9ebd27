"""Standalone generated policies: safetensors weights + a JSON spec, runnable with numpy alone."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import LWDError
from .policy_file import load_policy, save_policy


@dataclass(frozen=True)
class MLPWeights:
    """A feed-forward policy as plain arrays, for exporters (onnx_export.py):
    a = out(act(... act(((s - obs_mean) * obs_inv_std) @ W_1 + b_1) ...) @ W_n + b_n), out tanh or identity."""
    layers: list[tuple[np.ndarray, np.ndarray]]    # [(W (in, out), b (out,)), ...], float32
    obs_mean: np.ndarray                           # (obs_dim,)
    obs_inv_std: np.ndarray                        # (obs_dim,)
    activation: str                                # between layers, e.g. "relu"
    tanh_output: bool


class NumpyMLPPolicy:
    """pi(s) = out(W_n relu(... relu(W_1 (s - mean)/std + b_1) ...) + b_n); out is tanh or identity."""
    activation = "relu"          # what act() applies between layers, as models/policy.py's functional policy does

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]], obs_mean: np.ndarray, obs_std: np.ndarray,
                 tanh_output: bool = True):
        # store W transposed (in, out) so a step is x @ W
        self.layers = [(np.ascontiguousarray(W.T, dtype=np.float32), b.astype(np.float32)) for W, b in weights]
        self.inv_std = (1.0 / obs_std).astype(np.float32)
        self.mean = obs_mean.astype(np.float32)
        self.tanh_output = tanh_output

    @property
    def n_params(self) -> int:
        return sum(W.size + b.size for W, b in self.layers)

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> np.ndarray:
        h = (np.asarray(obs, dtype=np.float32) - self.mean) * self.inv_std
        last = len(self.layers) - 1
        for k, (W, b) in enumerate(self.layers):
            h = h @ W + b
            if k < last:
                np.maximum(h, 0.0, out=h)
        return np.tanh(h) if self.tanh_output else h

    def mlp_weights(self) -> MLPWeights:
        return MLPWeights(self.layers, self.mean, self.inv_std, self.activation, self.tanh_output)

    def save(self, path: str | Path, extra: dict | None = None) -> None:
        tensors = {"obs_mean": self.mean, "obs_std": (1.0 / self.inv_std).astype(np.float32)}
        for i, (W, b) in enumerate(self.layers):
            tensors[f"W{i}"] = np.ascontiguousarray(W.T)
            tensors[f"b{i}"] = b
        save_policy(path, tensors, {"kind": "generated_mlp", "n_layers": len(self.layers),
                                    "tanh_output": self.tanh_output, "activation": self.activation,
                                    "obs_dim": int(self.mean.size), "act_dim": int(self.layers[-1][1].size),
                                    "n_params": self.n_params, **(extra or {})})

    @classmethod
    def load(cls, path: str | Path) -> "NumpyMLPPolicy":
        t, spec = load_policy(path, "generated_mlp")
        try:
            weights = [(t[f"W{i}"], t[f"b{i}"]) for i in range(int(spec["n_layers"]))]
            return cls(weights, t["obs_mean"], t["obs_std"], bool(spec["tanh_output"]))
        except (KeyError, ValueError, TypeError) as e:
            raise LWDError(f"{path}: not a valid generated_mlp policy file ({type(e).__name__}: {e})") from None


class NumpyPolicyBatch:
    """B generated policies stepped together: one batched matmul per layer, no loop over B."""

    def __init__(self, theta_layers: list[tuple[np.ndarray, np.ndarray]], obs_mean, obs_std, tanh_output=True):
        # theta_layers: [(W (B, out, in), b (B, out)), ...] -> stored as (B, in, out)
        self.layers = [(np.ascontiguousarray(W.transpose(0, 2, 1), dtype=np.float32), b.astype(np.float32))
                       for W, b in theta_layers]
        self.mean, self.inv_std = obs_mean.astype(np.float32), (1.0 / obs_std).astype(np.float32)
        self.tanh_output = tanh_output

    def __len__(self) -> int:
        return self.layers[0][0].shape[0]

    @classmethod
    def concat(cls, batches: "list[NumpyPolicyBatch]") -> "NumpyPolicyBatch":
        """One batch of all the batches' policies (same architecture and observation normalisation)."""
        first = batches[0]
        for b in batches[1:]:
            if not (np.array_equal(b.mean, first.mean) and np.array_equal(b.inv_std, first.inv_std)
                    and b.tanh_output == first.tanh_output and len(b.layers) == len(first.layers)):
                raise LWDError("cannot stack generated policies with different normalisation or architecture")
        out = cls.__new__(cls)
        out.layers = [(np.concatenate([b.layers[k][0] for b in batches]), np.concatenate([b.layers[k][1] for b in batches]))
                      for k in range(len(first.layers))]
        out.mean, out.inv_std, out.tanh_output = first.mean, first.inv_std, first.tanh_output
        return out

    def act(self, obs: np.ndarray) -> np.ndarray:
        """obs (B, obs_dim) -> actions (B, act_dim)."""
        h = ((np.asarray(obs, np.float32) - self.mean) * self.inv_std)[:, None, :]   # (B, 1, obs_dim)
        last = len(self.layers) - 1
        for k, (W, b) in enumerate(self.layers):
            h = np.matmul(h, W) + b[:, None, :]                                       # (B, 1, out)
            if k < last:
                np.maximum(h, 0.0, out=h)
        h = h[:, 0]
        return np.tanh(h) if self.tanh_output else h

    def with_rows(self, idx: np.ndarray, other: "NumpyPolicyBatch") -> "NumpyPolicyBatch":
        """This batch with policies idx (k,) replaced by `other`'s k policies (re-sampled episodes)."""
        out = self.__class__.__new__(self.__class__)
        out.layers = []
        for (W, b), (W2, b2) in zip(self.layers, other.layers):
            W, b = W.copy(), b.copy()
            W[idx], b[idx] = W2, b2
            out.layers.append((W, b))
        out.mean, out.inv_std, out.tanh_output = self.mean, self.inv_std, self.tanh_output
        return out

    def policy(self, i: int) -> NumpyMLPPolicy:
        return NumpyMLPPolicy([(W[i].T, b[i]) for W, b in self.layers], self.mean, 1.0 / self.inv_std,
                              self.tanh_output)
