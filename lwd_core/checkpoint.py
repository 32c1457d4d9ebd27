"""Checkpoints: model + optimizer + RNG state as safetensors, metadata as JSON. No pickle anywhere."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .errors import RunError
from .io import load_meta, load_tensors, save_tensors


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    rng: torch.Generator | None, meta: dict[str, Any]) -> None:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    if optimizer is not None:
        sd = optimizer.state_dict()
        for pid, st in sd["state"].items():
            for k, v in st.items():
                tensors[f"optim.{pid}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
        meta = {**meta, "optim_param_groups": sd["param_groups"]}
    if rng is not None:
        tensors["rng"] = rng.get_state()
    save_tensors(path, tensors, meta)


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    rng: torch.Generator | None = None) -> dict[str, Any]:
    tensors = load_tensors(path)
    meta = load_meta(path)
    sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise RunError(f"{path}: checkpoint does not fit the model ({str(e).splitlines()[0]})") from None
    if optimizer is not None and "optim_param_groups" in meta:
        state: dict[int, dict[str, torch.Tensor]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, pid, name = k.split(".", 2)
                state.setdefault(int(pid), {})[name] = v
        optimizer.load_state_dict({"state": state, "param_groups": meta["optim_param_groups"]})
    if rng is not None and "rng" in tensors:
        rng.set_state(tensors["rng"])
    return meta
