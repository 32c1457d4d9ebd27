"""Evaluation plans: a saved result is reused only for exactly the plan it was computed from; every setting that
changes a result, and the run's checkpoints, evaluate again."""
from __future__ import annotations

import dataclasses
import json

import pytest

import lwd_core.studies.common as common
from lwd_core.config import EvalConfig
from lwd_core.eval.plan import EvalPlan
from lwd_core.methods.registry import train_run
from lwd_core.studies.common import cached_eval
from tests.helpers import drain, toy_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return toy_run(tmp_path_factory.mktemp("plan"))


@pytest.fixture
def counted(monkeypatch):
    calls: list[dict] = []
    real = common.evaluate_run

    def counting(run_dir, ecfg, conditions, kinds, workers, result=None):
        calls.append({"ecfg": ecfg, "conditions": conditions})
        return (yield from real(run_dir, ecfg, conditions, kinds, workers, result=result))

    monkeypatch.setattr(common, "evaluate_run", counting)
    return calls


BASE = EvalConfig(episodes=2, seed=0, ddim_steps=3, max_steps=8)
CHANGES = [("sampler", "ddpm"), ("ddim_steps", 4), ("episodes", 3), ("seed", 1), ("action_horizon", 4),
           ("perturb", True), ("start_states", "reference"), ("max_steps", 7)]


def test_the_same_plan_is_reused_and_every_change_evaluates_again(run, tmp_path, counted):
    path = tmp_path / "ev.json"
    first = drain(cached_eval(run, BASE, ("lwd",), path, 1))
    assert len(counted) == 1 and first["plan_key"] == EvalPlan.of(run, BASE, ("lwd",)).key()
    assert drain(cached_eval(run, BASE, ("lwd",), path, 1)) == json.loads(path.read_text())
    assert len(counted) == 1                                            # nothing changed: reused
    for field, value in CHANGES:
        n = len(counted)
        ev = drain(cached_eval(run, dataclasses.replace(BASE, **{field: value}), ("lwd",), path, 1))
        assert len(counted) == n + 1, field                             # evaluated again
        assert ev["plan"][field] == value
    n = len(counted)
    ev = drain(cached_eval(run, BASE, ("lwd",), path, 1, conditions=["b1"]))
    assert len(counted) == n + 1 and list(ev["per_condition"]) == ["b1"]
    drain(cached_eval(run, BASE, ("lwd", "vae"), path, 1))               # another set of policy kinds
    assert len(counted) == n + 2


def test_new_checkpoints_evaluate_again(run, tmp_path, counted):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    path = tmp_path / "ev.json"
    drain(cached_eval(copy, BASE, ("lwd",), path, 1))
    drain(cached_eval(copy, BASE, ("lwd",), path, 1))
    assert len(counted) == 1
    ckpt = copy / "checkpoints" / "ddpm.safetensors"                     # the same config, other weights: the
    raw = bytearray(ckpt.read_bytes())                                   # file's last byte is in its last tensor
    raw[-1] ^= 0x40
    ckpt.write_bytes(bytes(raw))
    drain(cached_eval(copy, BASE, ("lwd",), path, 1))
    assert len(counted) == 2
    from lwd_core.runs import RunDir
    longer = RunDir(copy).config().replace(ddpm={"steps": 25})
    for _ in train_run(str(copy), longer, resume=True):
        pass                                                             # the diffusion model trained further
    drain(cached_eval(copy, BASE, ("lwd",), path, 1))
    assert len(counted) == 3
