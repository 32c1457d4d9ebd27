"""The one policy file format: safetensors weights plus a JSON sidecar `<name>.json` that says what they are.
Numpy only, so a generated policy can be loaded on a robot without torch; nothing is ever unpickled."""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import LWDError
from .io import atomic_write_bytes, atomic_write_json

FORMAT = "lwd-policy/1"
_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def save_policy(path: str | Path, tensors: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    """tensors: name -> numpy array or torch tensor; spec: JSON-able description, with a "kind"."""
    from safetensors.numpy import save
    arrs = {k: np.ascontiguousarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)
            for k, v in tensors.items()}
    atomic_write_bytes(path, save(arrs))
    atomic_write_json(Path(path).with_suffix(".json"), {"format": FORMAT, **spec})


def read_safetensors_numpy(path: str | Path) -> dict[str, np.ndarray]:
    """Parse a safetensors file with numpy only (8-byte header size, JSON header, raw little-endian data)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=_DTYPES[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def load_policy(path: str | Path, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(tensors, spec) of a policy file of `kind`; any defect is one LWDError naming the file."""
    path = Path(path)
    try:
        spec = json.loads(path.with_suffix(".json").read_text())
        if not isinstance(spec, dict):
            raise ValueError("the sidecar is not a JSON object")
        found = spec.get("kind", "generated_mlp")       # LWD's generated policies predate the "kind" key
        if found != kind:
            raise ValueError(f"it holds a {found!r} policy, not {kind!r}")
        return read_safetensors_numpy(path), spec
    except (OSError, KeyError, ValueError, TypeError, struct.error) as e:
        raise LWDError(f"{path}: not a valid {kind} policy file ({type(e).__name__}: {e})") from None
