"""An evaluation plan: one frozen, hashable description of an evaluation, made of every setting that changes its
result and the digests of the files it reads. A saved result carries its plan; studies reuse a result only when
the plan they would run has the same key, so a change of sampler, DDIM steps, conditions, episodes, seed, start
states, H_a, perturbations or checkpoints always evaluates again (and nothing relies on file times)."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from ..config import EvalConfig

# Bumped whenever evaluation itself would give other numbers for the same plan (e.g. another seed scheme), so no
# result computed the old way is reused.
EVAL_VERSION = 2

_DIGESTS: dict[tuple[str, int, int], str] = {}      # (path, size, mtime_ns) -> sha256, per process


def file_digest(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so a study hashes each checkpoint once."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def run_inputs(run_dir: str | os.PathLike) -> tuple[tuple[str, str], ...]:
    """(name, sha256) of everything an evaluation of the run reads: its config, its checkpoints and its latents."""
    run = Path(run_dir)
    files = [run / "config.json", *sorted((run / "checkpoints").glob("*.safetensors")), run / "latents.safetensors"]
    return tuple((f.relative_to(run).as_posix(), file_digest(f)) for f in files if f.is_file())


@dataclass(frozen=True)
class EvalPlan:
    inputs: tuple[tuple[str, str], ...]       # (file in the run, sha256)
    kinds: tuple[str, ...]                     # () = the method's default kinds (fixed by the checkpoints)
    conditions: tuple[str, ...]                # () = every condition of the run
    episodes: int
    seed: int
    start_states: str
    sampler: str
    ddim_steps: int
    max_steps: int
    perturb: bool
    action_horizon: int
    version: int = EVAL_VERSION

    @classmethod
    def of(cls, run_dir: str | os.PathLike, ecfg: EvalConfig, kinds: Sequence[str] | None = None,
           conditions: Sequence[str] | None = None) -> "EvalPlan":
        return cls(inputs=run_inputs(run_dir), kinds=tuple(kinds or ()), conditions=tuple(conditions or ()),
                   episodes=int(ecfg.episodes), seed=int(ecfg.seed), start_states=str(ecfg.start_states),
                   sampler=str(ecfg.sampler), ddim_steps=int(ecfg.ddim_steps), max_steps=int(ecfg.max_steps),
                   perturb=bool(ecfg.perturb), action_horizon=int(ecfg.action_horizon))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["inputs"] = {name: digest for name, digest in self.inputs}
        d["kinds"], d["conditions"] = list(self.kinds), list(self.conditions)
        return d

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def plan_matches(saved: dict, plan: EvalPlan) -> bool:
    """Whether a saved result was computed from exactly `plan`."""
    return isinstance(saved, dict) and saved.get("plan_key") == plan.key()
