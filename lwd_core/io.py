"""Atomic file writes and safetensors checkpoints (never pickle)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .errors import RunError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: not valid JSON ({e})") from None


def save_tensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor],
                 meta: Mapping[str, Any] | None = None) -> None:
    """Save tensors as safetensors, with JSON metadata in a sidecar `<name>.json`."""
    path = Path(path)
    # clone: some modules (hypnettorch HMLP) expose one parameter under two names
    flat = {k: v.detach().to("cpu").clone().contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, st_save(flat))
    if meta is not None:
        atomic_write_json(path.with_suffix(".json"), dict(meta))


def load_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunError(f"{path}: checkpoint not found") from None
    try:
        return st_load(data)
    except Exception as e:  # safetensors raises several kinds (SafetensorError, ValueError...) on corrupt bytes
        raise RunError(f"{path}: not a valid safetensors file ({type(e).__name__})") from None


def load_meta(path: str | os.PathLike) -> dict[str, Any]:
    return read_json(Path(path).with_suffix(".json"))
