"""Where a run's data comes from: one D4RL-layout HDF5 file, one Minari dataset directory, or a labelled mixture
of several of them (the paper's expert + medium + random set-up from real files).

A dataset spec is the string a run's config stores in `data.dataset`:
- `PATH`: an HDF5 file in the D4RL layout (`hdf5.py`), or a Minari dataset directory (the folder that holds
  `data/metadata.json`, or that `data/` folder itself), read with `minari` and no network;
- `PATH:NAME|PATH:NAME|...`: each source's episodes labelled with its behaviour NAME, concatenated into one
  dataset whose `label_names` are the names in order of first appearance. A source's own labels are replaced.

On the CLI, `--dataset expert.h5:expert --dataset medium.h5:medium` builds the mixture spec."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .hdf5 import Dataset, load_dataset, validate

SEP = "|"


def parse_spec(spec: str) -> list[tuple[str, str | None]]:
    """'a.h5' -> [('a.h5', None)]; 'a.h5:expert|b:medium' -> [('a.h5', 'expert'), ('b', 'medium')]. A name is
    what follows the last ':' of a part, when that is not a path separator (so C:\\x and /a:b/c stay paths)."""
    if not isinstance(spec, str) or not spec.strip():
        raise DatasetError("no dataset given")
    parts = [p.strip() for p in spec.split(SEP)]
    out: list[tuple[str, str | None]] = []
    for p in parts:
        if not p:
            raise DatasetError(f"{spec!r}: an empty source in the mixture")
        path, name = p, None
        head, sep, tail = p.rpartition(":")
        if sep and head and tail and "/" not in tail and "\\" not in tail and not Path(p).exists():
            path, name = head, tail
        out.append((path, name))
    if len(out) > 1 and any(n is None for _, n in out):
        raise DatasetError(f"{spec!r}: every source of a mixture needs a behaviour name, as PATH:NAME")
    return out


def join_spec(sources: list[str]) -> str:
    """The CLI's repeated --dataset values as one spec (a single unlabelled file stays a plain path)."""
    return SEP.join(str(s) for s in sources)


def load_source(spec: str | os.PathLike) -> Dataset:
    """Load and validate what a spec names (see the module docstring)."""
    sources = parse_spec(str(spec))
    if len(sources) == 1 and sources[0][1] is None:
        return _load_one(sources[0][0])
    return mix([(_load_one(p), name) for p, name in sources], str(spec))


def _load_one(path: str) -> Dataset:
    return load_minari(path) if Path(path).is_dir() else load_dataset(path)


def mix(parts: list[tuple[Dataset, str]], spec: str = "<mixture>") -> Dataset:
    """Concatenate datasets, labelling every step of each with its behaviour name."""
    first = parts[0][0]
    names: list[str] = []
    for ds, name in parts:
        if (ds.obs_dim, ds.act_dim) != (first.obs_dim, first.act_dim):
            raise DatasetError(f"{ds.path}: obs_dim={ds.obs_dim}, act_dim={ds.act_dim} differ from {first.path} "
                               f"({first.obs_dim}, {first.act_dim}); a mixture needs one environment")
        if ds.env_id and first.env_id and ds.env_id != first.env_id:
            raise DatasetError(f"{ds.path}: env_id {ds.env_id!r} differs from {first.path}'s {first.env_id!r}")
        if name not in names:
            names.append(name)
    cat = (lambda key: np.concatenate([getattr(ds, key) for ds, _ in parts]))
    labels = np.concatenate([np.full(len(ds), names.index(n), np.int64) for ds, n in parts])
    # the infos every source has, with the same per-step shape
    keys = [k for k, v in first.infos.items() if all(k in ds.infos and ds.infos[k].shape[1:] == v.shape[1:]
                                                      for ds, _ in parts)]
    optional = {}
    for key in ("action_labels", "success"):
        if all(getattr(ds, key) is not None for ds, _ in parts):
            optional[key] = cat(key)
    env_id = next((ds.env_id for ds, _ in parts if ds.env_id), "")
    out = Dataset(observations=cat("observations"), actions=cat("actions"), rewards=cat("rewards"),
                  terminals=cat("terminals"), timeouts=cat("timeouts"), labels=labels, label_names=names,
                  infos={k: np.concatenate([ds.infos[k] for ds, _ in parts]) for k in keys},
                  attrs={"env_id": env_id, "sources": json.dumps([[ds.path, n] for ds, n in parts])}, path=spec,
                  **optional)
    # an episode must not run across two sources: close each source's last episode with a timeout
    ends = np.cumsum([len(ds) for ds, _ in parts]) - 1
    out.timeouts[ends] |= ~out.terminals[ends]
    return validate(out)


def load_minari(path: str | os.PathLike) -> Dataset:
    """A local Minari dataset (HDF5 storage) as a Dataset: each episode's first T observations, its T actions and
    rewards, terminations as terminals and truncations as timeouts, and per-step `infos` arrays that have T or T+1
    rows (qpos, qvel, ...). The env id is the dataset's env_spec id."""
    root = Path(path)
    data = root / "data" if (root / "data" / "metadata.json").is_file() else root
    if not (data / "metadata.json").is_file():
        raise DatasetError(f"{path}: not a Minari dataset (no data/metadata.json) and not an HDF5 file")
    try:
        import minari
        ds = minari.MinariDataset(str(data))
        episodes = list(ds.iterate_episodes())
        spec = ds.spec.env_spec
    except ImportError as e:
        raise DatasetError(f"{path}: reading this Minari dataset needs {e.name} (pip install minari)") from None
    except Exception as e:  # minari and h5py raise many kinds on damaged or foreign folders
        raise DatasetError(f"{path}: unreadable Minari dataset ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not episodes:
        raise DatasetError(f"{path}: the Minari dataset has no episodes")
    obs, act, rew, term, tout, infos = [], [], [], [], [], {}
    for ep in episodes:
        if not isinstance(ep.observations, np.ndarray) or not isinstance(ep.actions, np.ndarray):
            raise DatasetError(f"{path}: episode {ep.id} has dict or tuple observations; only flat arrays are read")
        T = len(ep.rewards)
        obs.append(ep.observations[:T].reshape(T, -1))
        act.append(ep.actions[:T].reshape(T, -1))
        rew.append(ep.rewards)
        term.append(np.asarray(ep.terminations, bool))
        tr = np.asarray(ep.truncations, bool).copy()
        tr[-1] |= not term[-1][-1]           # the recorded episode ends here either way
        tout.append(tr)
        for k, v in (ep.infos or {}).items():
            if isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.shape[:1] in ((T,), (T + 1,)):
                infos.setdefault(k, []).append(v[:T])
    n_eps = len(episodes)
    out = Dataset(observations=np.concatenate(obs).astype(np.float32), actions=np.concatenate(act).astype(np.float32),
                  rewards=np.concatenate(rew).astype(np.float32), terminals=np.concatenate(term),
                  timeouts=np.concatenate(tout),
                  infos={k: np.concatenate(v) for k, v in infos.items() if len(v) == n_eps},
                  attrs={"env_id": spec.id if spec is not None else "", "minari_id": str(ds.spec.dataset_id)},
                  path=str(path))
    return validate(out)


def _name(path: str, name: str | None) -> str:
    return path if name is None else f"{path}:{name}"


def absolute_spec(spec: str) -> str:
    """The spec with every path absolute, so a run can be resumed from any directory."""
    return join_spec([_name(str(Path(p).expanduser().resolve()), n) for p, n in parse_spec(spec)])


def spec_exists(spec: str) -> bool:
    try:
        return all(Path(p).exists() for p, _ in parse_spec(spec))
    except DatasetError:
        return False


def spec_label(spec: str) -> str:
    """A short name for lists: the file names, with their behaviour names."""
    try:
        return " + ".join(_name(Path(p).name, n) for p, n in parse_spec(spec))
    except DatasetError:
        return str(spec)


def spec_fingerprint(spec: str) -> tuple[str, int]:
    """(sha256, bytes) of what a spec reads. A single file hashes as the file itself (as runs always recorded it);
    a directory or a mixture hashes each file's digest with its relative path and behaviour name."""
    sources = parse_spec(spec)
    if len(sources) == 1 and sources[0][1] is None and Path(sources[0][0]).is_file():
        return file_digest(sources[0][0]), Path(sources[0][0]).stat().st_size
    h, size = hashlib.sha256(), 0
    for path, name in sources:
        p = Path(path)
        for f in (sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]):
            rel = f.relative_to(p).as_posix() if p.is_dir() else ""
            h.update(f"{name}\0{rel}\0{file_digest(f)}\n".encode())
            size += f.stat().st_size
    return h.hexdigest(), size


def file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read the dataset ({e.strerror})") from None
    return h.hexdigest()
