"""ddpm.ema: LWD's latent denoiser with an average of its weights, as Diffusion Policy keeps one. The average is
recomputed here by hand from the weights after every optimiser step (decay 1 - k ** -0.75 from the third step on,
Chi et al.'s EMAModel), never taken from the code under test."""
from __future__ import annotations

import pytest
import torch

from lwd_core.config import preset
from lwd_core.errors import RunError
from lwd_core.io import load_meta, load_tensors
from lwd_core.methods.lwd.inference import TrainedLWD
from lwd_core.methods.registry import train_run

STEPS = 20                      # the tiny preset's steps per phase


def ema_cfg(path, ema=True, **over):
    return preset("tiny").replace(data={"dataset": str(path)}, env_id="toy-maps", ddpm={"ema": ema}, **over)


def test_the_average_is_folded_after_every_step_and_is_what_sampling_uses(tmp_path, synthetic_file, monkeypatch):
    after: list[list[torch.Tensor]] = []                   # the DDPM's weights after each of its optimiser steps
    step = torch.optim.Adam.step

    def spy(self, *a, **k):
        out = step(self, *a, **k)
        after.append([p.detach().clone() for p in self.param_groups[0]["params"]])
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    list(train_run(str(tmp_path / "r"), ema_cfg(synthetic_file)))
    ddpm_steps = after[STEPS:]                             # the VAE's 20 steps come first
    assert len(ddpm_steps) == STEPS
    avg = [w.clone() for w in ddpm_steps[0]]
    for k, ws in enumerate(ddpm_steps[1:], start=1):
        d = 0.0 if k < 2 else 1.0 - k ** -0.75
        avg = [d * a + (1.0 - d) * w for a, w in zip(avg, ws)]
    lwd = TrainedLWD(tmp_path / "r")
    sampled = [p for p in lwd.diffusion.parameters()]
    assert len(sampled) == len(avg)
    for s, a in zip(sampled, avg):
        torch.testing.assert_close(s, a, rtol=1e-5, atol=1e-7)
    assert not all(torch.equal(s, w) for s, w in zip(sampled, ddpm_steps[-1]))   # the average, not the last weights
    meta = load_meta(tmp_path / "r" / "checkpoints" / "ddpm.safetensors")
    assert meta["ema_step"] == meta["step"] == STEPS


def test_resume_with_the_average_is_exact(tmp_path, synthetic_file):
    cfg = ema_cfg(synthetic_file, checkpoint_every=7)
    list(train_run(str(tmp_path / "a"), cfg))
    n = {"k": 0}

    def cancel():
        n["k"] += 1
        return n["k"] > STEPS + 9                          # in the middle of the DDPM phase

    assert list(train_run(str(tmp_path / "b"), cfg, cancel=cancel))[-1].status == "cancelled"
    ck = "checkpoints/ddpm.safetensors"
    cut = load_meta(tmp_path / "b" / ck)
    assert cut["ema_step"] == cut["step"] < STEPS
    list(train_run(str(tmp_path / "b"), resume=True))
    a, b = load_tensors(tmp_path / "a" / ck), load_tensors(tmp_path / "b" / ck)
    assert any(k.startswith("model.ema.") for k in a) and set(a) == set(b)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []      # weights, average, optimiser, RNG: bitwise


@pytest.mark.parametrize("first, then", [(False, True), (True, False)])
def test_a_diffusion_checkpoint_resumes_only_with_its_own_ema_setting(tmp_path, synthetic_file, first, then):
    n = {"k": 0}

    def cancel():
        n["k"] += 1
        return n["k"] > STEPS + 9

    list(train_run(str(tmp_path / "r"), ema_cfg(synthetic_file, first, checkpoint_every=7), cancel=cancel))
    before = load_tensors(tmp_path / "r" / "checkpoints" / "ddpm.safetensors")
    with pytest.raises(RunError, match="ddpm.ema"):
        list(train_run(str(tmp_path / "r"), ema_cfg(synthetic_file, then, checkpoint_every=7), resume=True))
    after = load_tensors(tmp_path / "r" / "checkpoints" / "ddpm.safetensors")
    assert set(before) == set(after) and all(torch.equal(before[k], after[k]) for k in before)   # nothing lost
