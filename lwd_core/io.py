"""Atomic file writes and safetensors files (never pickle).

A safetensors file written here carries its JSON metadata inside its own header (key `lwd_meta`), so weights and
metadata are replaced together by one rename: no kill can leave new weights beside old metadata. The `<name>.json`
sidecar is a readable copy; readers take the header's copy, and `repair_sidecar` rewrites a stale sidecar."""
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

TMP_SUFFIX = ".tmp"
META_KEY = "lwd_meta"


def _file_mode() -> int:
    """0666 less the umask: what open() would give. mkstemp's 0600 would make run files private by accident.
    The umask is read from /proc where it can be: setting it to read it back would, for that moment, give files
    that other threads create (the app writes from worker threads) the wrong permissions."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), _file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temp files that a killed atomic write left in `folder` (call only when no writer is alive)."""
    out = []
    for p in Path(folder).glob(f".*{TMP_SUFFIX}"):
        try:
            p.unlink()
            out.append(p)
        except OSError:
            pass
    return out


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
    """Save tensors as safetensors with `meta` inside the header, then its readable `<name>.json` copy."""
    path = Path(path)
    # clone: some modules (hypnettorch HMLP) expose one parameter under two names
    flat = {k: v.detach().to("cpu").clone().contiguous() for k, v in tensors.items()}
    header = None if meta is None else {META_KEY: json.dumps(dict(meta), sort_keys=True)}
    atomic_write_bytes(path, st_save(flat, metadata=header))
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


def header_meta(path: str | os.PathLike) -> dict[str, Any] | None:
    """The metadata stored inside a safetensors header, or None (an older file without it)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n < 100_000_000:
                raise ValueError("bad header length")
            header = json.loads(f.read(n))
        raw = (header.get("__metadata__") or {}).get(META_KEY)
        return None if raw is None else dict(json.loads(raw))
    except FileNotFoundError:
        raise RunError(f"{path}: checkpoint not found") from None
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError, OSError):
        raise RunError(f"{path}: not a valid safetensors file (unreadable header)") from None


def load_meta(path: str | os.PathLike) -> dict[str, Any]:
    """A safetensors file's metadata: its header's copy, else (files from before headers carried it) the
    sidecar."""
    meta = header_meta(path) if Path(path).suffix == ".safetensors" else None
    return meta if meta is not None else read_json(Path(path).with_suffix(".json"))


def repair_sidecar(path: str | os.PathLike) -> bool:
    """Rewrite `<name>.json` from the header's metadata when they differ (a kill between the two writes).
    Returns True when it rewrote it."""
    meta = header_meta(path)
    if meta is None:
        return False
    side = Path(path).with_suffix(".json")
    try:
        if read_json(side) == json.loads(json.dumps(meta)):
            return False
    except RunError:
        pass
    atomic_write_json(side, meta)
    return True
