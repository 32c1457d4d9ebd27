"""Checkpoints: model + optimizer + RNG state as safetensors, with their metadata (phase, step, ...) inside the
same file's header and a readable JSON copy beside it. No pickle anywhere."""
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
    meta = load_meta(path)                       # the header's copy: written in the same rename as the weights
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
        _check_optimizer_step(path, state, meta)
        try:
            optimizer.load_state_dict({"state": state, "param_groups": meta["optim_param_groups"]})
        except (ValueError, KeyError, TypeError) as e:
            raise RunError(f"{path}: optimizer state does not fit the model ({e})") from None
    if rng is not None and "rng" in tensors:
        rng.set_state(tensors["rng"])
    return meta


def _check_optimizer_step(path: Path, state: dict, meta: dict[str, Any]) -> None:
    """Adam counts its own steps; they must equal the checkpoint's step (one update per training step), or the
    file mixes states from two moments and resuming from it would not be exact."""
    if "step" not in meta:
        return
    counts = {float(st["step"]) for st in state.values() if "step" in st}
    if counts and counts != {float(meta["step"])}:
        raise RunError(f"{path}: inconsistent checkpoint (optimizer at step {sorted(counts)[0]:g}, checkpoint "
                       f"says {meta['step']}); delete it to retrain that phase")


def set_aside(path: Path) -> Path:
    """Rename a checkpoint that no longer fits its run to `<name>.stale.safetensors` (its JSON copy too), so that
    training starts that phase afresh without destroying anything. Returns the new path."""
    path = Path(path)
    stale = path.with_name(f"{path.stem}.stale{path.suffix}")
    side = path.with_suffix(".json")
    if side.exists():
        side.replace(stale.with_suffix(".json"))
    path.replace(stale)
    return stale
