"""Loading a trained baseline run's checkpoint; shared by the baselines' inference, free of training code."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from ..checkpoint import load_checkpoint
from ..config import RunConfig
from ..errors import LWDError
from ..io import load_meta
from ..runs import RunDir

# build(cfg, obs_dim, act_dim, n_tasks, tanh, obs_mean, obs_std) -> model
Builder = Callable[[RunConfig, int, int, int, bool, list | None, list | None], torch.nn.Module]
# load(cfg, checkpoint path, its metadata) -> the model to evaluate, for a method whose checkpoint holds more
Loader = Callable[[RunConfig, Path, dict], torch.nn.Module]


def load_baseline(run_dir, build: Builder, load: Loader | None = None) -> tuple[RunConfig, torch.nn.Module, dict]:
    run = RunDir(run_dir)
    cfg = run.config()
    ckpt = run.ckpt_dir / f"{cfg.method}.safetensors"
    meta = load_meta(ckpt)
    if load is not None:
        return cfg, load(cfg, ckpt, meta).eval(), meta
    model = build(cfg, meta["obs_dim"], meta["act_dim"], len(meta["label_names"]), meta["tanh_output"],
                  meta["obs_mean"], meta["obs_std"])
    load_checkpoint(ckpt, model)
    return cfg, model.eval(), meta


class TrainedBaseline:
    """What the baselines' TrainedMethod objects share: the loaded model, its run's conditions, no demonstrations."""
    extra_kinds: tuple[str, ...] = ()

    def __init__(self, run_dir, build: Builder, load: Loader | None = None):
        self.cfg, self.model, self.meta = load_baseline(run_dir, build, load)
        self.label_names = list(self.meta["label_names"])
        self.env_id = str(self.meta["env_id"])
        self.n_params = int(self.meta["n_params"])

    def condition_id(self, name: str) -> int:
        if name not in self.label_names:
            raise LWDError(f"unknown condition {name!r}; this run knows: {', '.join(self.label_names)}")
        return self.label_names.index(name)

    def needs_demos(self, kind: str) -> bool:
        return False

    def heldout_demos(self, cid: int, n: int) -> list[dict]:
        return []

    def extra_metrics(self, batches) -> dict:
        return {}
