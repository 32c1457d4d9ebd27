"""`vae.compile`: the VAE step compiled with torch.compile. It trains what the eager step trains, compiles once per
phase (an epoch's shorter last batch runs eagerly), resumes exactly, and trains eagerly, unchanged, where it cannot
compile. Most tests use the aot_eager backend (tracing and AOTAutograd, no code generation), which needs no C++
compiler and takes a second; one uses the real backend."""
from __future__ import annotations

import pytest
import torch

from lwd_core.config import preset
from lwd_core.data.hdf5 import save_dataset
from lwd_core.io import load_meta, load_tensors
from lwd_core.methods.lwd.trainer import vae_step_loss
from lwd_core.methods.lwd.vae import LWDVAE, draw_noise
from lwd_core.methods.registry import train_run
from lwd_core.runs import RunDir
from lwd_core.train import compiled
from tests.toy_suite import make_synthetic


@pytest.fixture
def toy_data(tmp_path):
    p = tmp_path / "toy.h5"
    save_dataset(make_synthetic(), p)                  # 6 windows: batches of 4, then 2, each epoch
    return p


@pytest.fixture
def aot(monkeypatch):
    monkeypatch.setattr(compiled, "BACKEND", "aot_eager")


def _cfg(data, compile, **over):
    return preset("toy-tiny").replace(data={"dataset": str(data)}, vae={"steps": 12, "compile": compile, **over},
                                      ddpm={"steps": 3})


def _weights(run, name="vae"):
    return load_tensors(run / "checkpoints" / f"{name}.safetensors")


def _vae_losses(run):
    return [r["vae_loss"] for r in RunDir(run).read_metrics() if r["phase"] == "vae"]


def _messages(out):
    return [getattr(o, "message", "") for o in out]


def test_a_compiled_run_trains_what_the_eager_run_trains(tmp_path, toy_data, aot):
    eager = list(train_run(str(tmp_path / "eager"), _cfg(toy_data, False)))
    comp = list(train_run(str(tmp_path / "comp"), _cfg(toy_data, True)))
    assert comp[-1].status == "finished"
    assert any(m.startswith("compiled the training step with torch.compile in") for m in _messages(comp))
    assert not any("torch.compile" in m for m in _messages(eager))
    le, lc = _vae_losses(tmp_path / "eager"), _vae_losses(tmp_path / "comp")
    assert len(le) == len(lc) == 12 and lc == pytest.approx(le, rel=1e-4)     # 3 epochs, each with a short batch
    we, wc = _weights(tmp_path / "eager"), _weights(tmp_path / "comp")
    assert set(we) == set(wc)                            # the checkpoint of an uncompiled module, same keys
    for k in we:
        if k != "rng":
            assert torch.allclose(we[k], wc[k], rtol=1e-3, atol=1e-5), k
    assert torch.equal(we["rng"], wc["rng"])             # the warm-up drew from its own generator


def _counting(calls):
    def backend(gm, example_inputs):
        calls.append([tuple(t.shape) for t in example_inputs if isinstance(t, torch.Tensor)])
        return gm.forward
    return backend


def test_one_compilation_serves_the_phase_and_other_shapes_run_eagerly(monkeypatch):
    calls = []
    monkeypatch.setattr(compiled, "BACKEND", _counting(calls))
    cfg = preset("toy-tiny").vae
    vae = LWDVAE(cfg, 30, 5, 2, True)
    loss = vae_step_loss(vae, torch.device("cpu"), "fp32", True)
    g = torch.Generator().manual_seed(0)

    def batch(n):
        obs, act, mask = torch.randn(n, 30, 5, generator=g), torch.rand(n, 30, 2, generator=g), torch.ones(n, 30)
        return obs, act, mask, *draw_noise(vae, mask, g)

    assert "compiled the training step" in loss.warm_up(*batch(4))
    assert all(p.grad is None for p in vae.parameters())           # the warm-up leaves no gradients
    n = len(calls)
    assert n >= 1
    for size in (2, 4, 3, 4):
        out = loss.backward(*batch(size))
        assert torch.isfinite(out["loss"]) and all(p.grad is not None for p in vae.parameters())
        vae.zero_grad(set_to_none=True)
    assert len(calls) == n and loss.active                         # no recompilation for the batches of 2 and 3


def test_where_it_cannot_compile_it_trains_eagerly_and_exactly_as_without(tmp_path, toy_data, monkeypatch):
    def broken(gm, example_inputs):
        raise RuntimeError("no C++ compiler here")

    monkeypatch.setattr(compiled, "BACKEND", broken)
    out = list(train_run(str(tmp_path / "comp"), _cfg(toy_data, True)))
    assert out[-1].status == "finished"
    failed = [m for m in _messages(out) if m.startswith("torch.compile failed")]
    assert len(failed) == 1 and "no C++ compiler here" in failed[0] and failed[0].endswith("training without it")
    list(train_run(str(tmp_path / "eager"), _cfg(toy_data, False)))
    assert _vae_losses(tmp_path / "comp") == _vae_losses(tmp_path / "eager")
    we, wc = _weights(tmp_path / "eager"), _weights(tmp_path / "comp")
    assert all(torch.equal(we[k], wc[k]) for k in we)


def test_a_compiled_resume_equals_the_uninterrupted_compiled_run(tmp_path, toy_data, aot):
    cfg = _cfg(toy_data, True)
    list(train_run(str(tmp_path / "full"), cfg))
    calls = {"n": 0}

    def cancel_in_vae():
        calls["n"] += 1
        return calls["n"] == 8                                     # after 7 VAE steps: between checkpoints (every 5)

    assert list(train_run(str(tmp_path / "cut"), cfg, cancel=cancel_in_vae))[-1].status == "cancelled"
    out = list(train_run(str(tmp_path / "cut"), resume=True))
    assert any(m.startswith("compiled the training step") for m in _messages(out))
    for ph in ("vae", "ddpm"):
        full, cut = _weights(tmp_path / "full", ph), _weights(tmp_path / "cut", ph)
        assert all(torch.equal(full[k], cut[k]) for k in full), ph
    # a finished VAE is not compiled again for a resume that only has diffusion steps left
    out = list(train_run(str(tmp_path / "cut"), cfg.replace(ddpm={"steps": 5}), resume=True))
    assert not any("torch.compile" in m for m in _messages(out)) and out[-1].status == "finished"
    assert load_meta(tmp_path / "cut" / "checkpoints" / "ddpm.safetensors")["step"] == 5


def test_compile_may_be_switched_on_for_a_resume(tmp_path, toy_data, aot):
    run = tmp_path / "r"
    out = list(train_run(str(run), _cfg(toy_data, False), cancel=lambda: RunDir(run).status().get("step") == 5))
    assert out[-1].status == "cancelled"
    out = list(train_run(str(run), _cfg(toy_data, True), resume=True))
    assert out[-1].status == "finished" and any(m.startswith("compiled the training step") for m in _messages(out))
    assert RunDir(run).config().vae.compile is True


def test_the_real_backend_compiles_and_matches_eager_or_says_why_not():
    """inductor needs a C++ compiler for the CPU: with one, the compiled step's loss and gradients are the eager
    step's; without, the step says why and runs eagerly."""
    torch.manual_seed(0)
    vae = LWDVAE(preset("toy-tiny").vae, 30, 5, 2, True)
    g = torch.Generator().manual_seed(0)
    obs, act, mask = torch.randn(4, 30, 5, generator=g), torch.rand(4, 30, 2, generator=g), torch.ones(4, 30)
    noise = draw_noise(vae, mask, g)
    eager = vae_step_loss(vae, torch.device("cpu"), "fp32", False).backward(obs, act, mask, *noise)
    want = [p.grad.clone() for p in vae.parameters()]
    vae.zero_grad(set_to_none=True)
    loss = vae_step_loss(vae, torch.device("cpu"), "fp32", True)
    got = loss.backward(obs, act, mask, *noise)
    if loss.active:
        assert loss.failure is None
        assert got["loss"].item() == pytest.approx(eager["loss"].item(), rel=1e-4)
        for p, w in zip(vae.parameters(), want):
            assert torch.allclose(p.grad, w, rtol=1e-3, atol=1e-6)
    else:
        assert loss.failure and got["loss"].item() == eager["loss"].item()


def test_smoke_studies_do_not_compile_and_full_ones_train_as_the_preset(tmp_path):
    from lwd_core.studies.table2 import method_config
    from lwd_core.studies.vae_runs import vae_config
    assert preset("mt10").vae.compile                               # what the full studies inherit
    assert vae_config(500, "xs", tmp_path, False).vae.compile and not vae_config(500, "xs", tmp_path, True).vae.compile
    assert method_config("LWD", "d.h5", 0, False).vae.compile and not method_config("LWD", "d.h5", 0, True).vae.compile
