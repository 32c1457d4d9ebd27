"""Read, write and validate datasets in the D4RL HDF5 layout (without importing d4rl).

Layout: flat arrays `observations` (N, obs_dim), `actions` (N, act_dim), `rewards` (N,),
`terminals` (N,), `timeouts` (N,); optional `infos/qpos`, `infos/qvel`,
`infos/action_labels` (the clean expert action at each step, DART-style) and `infos/success`.
Condition labels: an integer array `labels` (N,) whose names are in the attribute `label_names`
(a JSON list). The env id is the file attribute `env_id`.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ..errors import DatasetError
from ..io import atomic_write_bytes

REQUIRED = ("observations", "actions", "rewards", "terminals", "timeouts")


@dataclass
class Dataset:
    observations: np.ndarray            # (N, obs_dim) float32
    actions: np.ndarray                 # (N, act_dim) float32
    rewards: np.ndarray                 # (N,)
    terminals: np.ndarray               # (N,) bool
    timeouts: np.ndarray                # (N,) bool
    labels: np.ndarray | None = None    # (N,) int64 condition id per step
    label_names: list[str] = field(default_factory=list)
    action_labels: np.ndarray | None = None  # (N, act_dim) clean expert actions, if recorded
    success: np.ndarray | None = None   # (N,) per-step success flag, if recorded
    infos: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, object] = field(default_factory=dict)
    path: str = "<memory>"

    @property
    def obs_dim(self) -> int:
        return self.observations.shape[1]

    @property
    def act_dim(self) -> int:
        return self.actions.shape[1]

    @property
    def env_id(self) -> str:
        return str(self.attrs.get("env_id", ""))

    def __len__(self) -> int:
        return self.observations.shape[0]

    def episode_bounds(self) -> list[tuple[int, int]]:
        """[start, end) of each episode; an episode ends at a terminal or a timeout."""
        ends = np.flatnonzero(self.terminals | self.timeouts) + 1
        bounds, start = [], 0
        for e in ends:
            bounds.append((start, int(e)))
            start = int(e)
        if start < len(self):  # trailing steps with no end flag still form an episode
            bounds.append((start, len(self)))
        return bounds

    def episode_labels(self) -> np.ndarray:
        b = self.episode_bounds()
        if self.labels is None:
            return np.zeros(len(b), dtype=np.int64)
        return np.array([self.labels[s] for s, _ in b], dtype=np.int64)

    def episode_success(self) -> np.ndarray | None:
        if self.success is None:
            return None
        return np.array([bool(self.success[s:e].any()) for s, e in self.episode_bounds()])

    def condition_names(self) -> list[str]:
        return list(self.label_names) if self.label_names else ["default"]


def validate(ds: Dataset) -> Dataset:
    """Raise DatasetError naming the file and the key for any inconsistency."""
    p = ds.path
    for key in ("observations", "actions"):
        arr = getattr(ds, key)
        if arr.ndim != 2:
            raise DatasetError(f"{p}: `{key}` must be 2-D (N, dim), got shape {arr.shape}")
        if arr.shape[1] == 0:
            raise DatasetError(f"{p}: `{key}` has zero columns")
    n = ds.observations.shape[0]
    if n == 0:
        raise DatasetError(f"{p}: the dataset has no rows")
    for key in ("actions", "rewards", "terminals", "timeouts"):
        arr = getattr(ds, key)
        if arr.ndim == 0 or arr.shape[0] != n:
            raise DatasetError(f"{p}: `{key}` has {arr.shape[0] if arr.ndim else 0} rows but `observations` has {n}")
    for key in ("rewards", "terminals", "timeouts"):
        if getattr(ds, key).ndim != 1:
            raise DatasetError(f"{p}: `{key}` must be 1-D (N,), got shape {getattr(ds, key).shape}")
    for key in ("observations", "actions", "rewards", "action_labels"):
        arr = getattr(ds, key)
        if arr is not None and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise DatasetError(f"{p}: `{key}` contains {bad} NaN/inf values")
    if ds.action_labels is not None and ds.action_labels.shape != ds.actions.shape:
        raise DatasetError(f"{p}: `infos/action_labels` has shape {ds.action_labels.shape}, "
                           f"`actions` has {ds.actions.shape}")
    if ds.success is not None and ds.success.shape != (n,):
        raise DatasetError(f"{p}: `infos/success` must have shape ({n},), got {ds.success.shape}")
    for k, v in ds.infos.items():
        if v.ndim == 0 or v.shape[0] != n:
            raise DatasetError(f"{p}: `infos/{k}` must have {n} rows, got shape {v.shape}")
    names = ds.label_names
    if not isinstance(names, list) or not all(isinstance(x, str) and x for x in names):
        raise DatasetError(f"{p}: `label_names` must be a list of non-empty strings, got {names!r}")
    if len(set(names)) != len(names):
        dup = sorted({x for x in names if names.count(x) > 1})
        raise DatasetError(f"{p}: `label_names` repeats {', '.join(map(repr, dup))}")
    if ds.labels is not None:
        if ds.labels.shape != (n,):
            raise DatasetError(f"{p}: `labels` must have shape ({n},), got {ds.labels.shape}")
        hi = len(names) if names else n
        if ds.labels.min() < 0 or ds.labels.max() >= hi:
            raise DatasetError(f"{p}: `labels` values must lie in [0, {hi}), got [{ds.labels.min()}, {ds.labels.max()}]")
        for s, e in ds.episode_bounds():
            if (ds.labels[s:e] != ds.labels[s]).any():
                raise DatasetError(f"{p}: `labels` changes inside the episode at rows {s}:{e}")
    return ds


def _flags(arr: np.ndarray, key: str, p: str) -> np.ndarray:
    """terminals/timeouts: booleans, or numbers that are all 0 or 1 (D4RL stores some as float32)."""
    if arr.dtype.kind != "b" and not np.isin(arr, (0, 1)).all():
        raise DatasetError(f"{p}: `{key}` must hold only 0/1 or true/false")
    return arr.astype(bool)


def _label_names(f: h5py.File, p: str) -> list[str] | None:
    """Names of the condition labels, from the conventions a file may use: a JSON-list attribute `label_names`
    on `labels` or on the file, or a `names` attribute on `labels` (a JSON list or an array of strings)."""
    lab = f["labels"].attrs
    for raw in (lab.get("label_names"), f.attrs.get("label_names"), lab.get("names")):
        if raw is None:
            continue
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise DatasetError(f"{p}: label names attribute is not a JSON list") from None
            if not isinstance(raw, list):
                raise DatasetError(f"{p}: label names must be a JSON list of strings, got {raw!r}")
            vals = raw
        elif isinstance(raw, np.ndarray) and raw.ndim == 1:
            vals = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in raw.tolist()]
        else:
            raise DatasetError(f"{p}: label names must be a JSON list of strings, got {raw!r}")
        if not all(isinstance(x, str) for x in vals):
            raise DatasetError(f"{p}: label names must be strings, got {vals!r}")
        return list(vals)
    return None


def _read(f: h5py.File, key: str, p: str, required: bool = True) -> np.ndarray | None:
    if key not in f:
        if required:
            raise DatasetError(f"{p}: missing key `{key}`")
        return None
    obj = f[key]
    if not isinstance(obj, h5py.Dataset):
        raise DatasetError(f"{p}: `{key}` is a group, expected an array")
    try:
        arr = obj[()]
    except Exception as e:  # h5py raises OSError/TypeError on damaged chunks
        raise DatasetError(f"{p}: cannot read `{key}` ({e})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise DatasetError(f"{p}: `{key}` must be numeric, got {getattr(arr, 'dtype', type(arr))}")
    return arr


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Load and validate a D4RL-layout HDF5 file."""
    p = str(path)
    if not Path(p).is_file():
        raise DatasetError(f"{p}: file not found")
    try:
        f = h5py.File(p, "r")
    except OSError as e:
        raise DatasetError(f"{p}: not a readable HDF5 file ({str(e).splitlines()[0]})") from None
    try:
        with f:
            return validate(_load(f, p))
    except DatasetError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, OSError, MemoryError) as e:
        # a last guard for layouts the checks above do not foresee: still one line, still this project's error
        raise DatasetError(f"{p}: unreadable dataset ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
                           ) from None


def _load(f: h5py.File, p: str) -> Dataset:
    arrs = {k: _read(f, k, p) for k in REQUIRED}
    for key in ("observations", "actions"):
        if arrs[key].dtype.kind != "f":
            raise DatasetError(f"{p}: `{key}` must hold floats, got {arrs[key].dtype}")
    labels = _read(f, "labels", p, required=False)
    label_names: list[str] = []
    if labels is not None:
        if labels.dtype.kind not in "iu":
            raise DatasetError(f"{p}: `labels` must hold integers, got {labels.dtype}")
        if labels.ndim != 1 or labels.size == 0:
            raise DatasetError(f"{p}: `labels` must be 1-D (N,), got shape {labels.shape}")
        label_names = _label_names(f, p) or []
        labels = labels.astype(np.int64)
    infos = {}
    if "infos" in f and isinstance(f["infos"], h5py.Group):
        for k in f["infos"]:
            arr = _read(f, f"infos/{k}", p, required=False)
            if arr is not None:
                infos[k] = arr
    attrs = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items()}
    if "env_id" in attrs and not isinstance(attrs["env_id"], str):
        raise DatasetError(f"{p}: attribute `env_id` must be a string, got {attrs['env_id']!r}")
    if labels is not None and not label_names and labels.min() >= 0 and labels.max() < len(labels):
        label_names = [f"c{i}" for i in range(int(labels.max()) + 1)]
    a_lab = infos.pop("action_labels", None)
    succ = infos.pop("success", None)
    return Dataset(
        observations=np.asarray(arrs["observations"], dtype=np.float32),
        actions=np.asarray(arrs["actions"], dtype=np.float32),
        rewards=np.asarray(arrs["rewards"], dtype=np.float32),
        terminals=_flags(arrs["terminals"], "terminals", p), timeouts=_flags(arrs["timeouts"], "timeouts", p),
        labels=labels, label_names=label_names,
        action_labels=None if a_lab is None else np.asarray(a_lab, dtype=np.float32),
        success=None if succ is None else _flags(succ, "infos/success", p),
        infos=infos, attrs=dict(attrs), path=p,
    )


def save_dataset(ds: Dataset, path: str | os.PathLike) -> None:
    """Write atomically in the D4RL layout (built in memory, then renamed into place)."""
    validate(ds)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("observations", data=ds.observations, compression="gzip", compression_opts=1)
        f.create_dataset("actions", data=ds.actions, compression="gzip", compression_opts=1)
        f.create_dataset("rewards", data=ds.rewards)
        f.create_dataset("terminals", data=ds.terminals)
        f.create_dataset("timeouts", data=ds.timeouts)
        if ds.labels is not None:
            d = f.create_dataset("labels", data=ds.labels.astype(np.int64))
            d.attrs["label_names"] = json.dumps(list(ds.label_names))
        g = f.create_group("infos")
        if ds.action_labels is not None:
            g.create_dataset("action_labels", data=ds.action_labels, compression="gzip", compression_opts=1)
        if ds.success is not None:
            g.create_dataset("success", data=ds.success)
        for k, v in ds.infos.items():
            g.create_dataset(k, data=v)
        for k, v in ds.attrs.items():
            f.attrs[k] = v
    atomic_write_bytes(path, buf.getvalue())
