"""The temporal encoders (conv, patch) beside the paper's flattened one, and bf16 mixed-precision training: shapes
for any window, padding that never reaches the latent, the parameter count at MT10's window, old runs that stay
flat and fp32 whatever the defaults become, and bf16 runs that checkpoint fp32 tensors, resume exactly and repeat
exactly."""
from __future__ import annotations

import dataclasses
import inspect
import json

import pytest
import torch
import torch.nn.functional as F

from lwd_core.config import SAVED_DEFAULTS, RunConfig, VAEConfig, preset
from lwd_core.data.hdf5 import save_dataset
from lwd_core.errors import ConfigError
from lwd_core.io import load_meta, load_tensors
from lwd_core.methods.lwd.inference import TrainedLWD
from lwd_core.methods.lwd.vae import (ConvTrajectoryEncoder, LWDVAE, PatchTrajectoryEncoder, TrajectoryEncoder,
                                      vae_loss)
from lwd_core.methods.registry import train_run
from lwd_core.runs import RunDir
from lwd_core.train import engine
from tests.toy_suite import make_synthetic

SMALL = dict(latent_dim=16, encoder_hidden=(32,), policy_hidden=(8,), conv_channels=(8, 16, 16),
             patch_sizes=(3, 2), patch_channels=(8, 16))


# ---- the temporal encoders: conv and patch
@pytest.mark.parametrize("encoder", ["conv", "patch"])
@pytest.mark.parametrize("window", [1, 7, 32, 500])
def test_temporal_encoders_take_any_window_length(encoder, window):
    vae = LWDVAE(VAEConfig(encoder=encoder, **SMALL), window, 39, 4, True)
    obs, act, mask = torch.randn(3, window, 39), torch.rand(3, window, 4), torch.ones(3, window)
    mu, lv = vae.encode(obs, act, mask)
    assert mu.shape == lv.shape == (3, 16) and torch.isfinite(mu).all() and torch.isfinite(lv).all()
    out = vae_loss(vae, obs, act, mask)
    out["loss"].backward()                                     # and trains through the whole VAE
    assert all(p.grad is not None for p in vae.encoder.parameters())


def _padded_pair(window=40, real=(40, 23, 9, 1)):
    """Two batches equal on their real steps and different (random, large) on their padded ones."""
    g = torch.Generator().manual_seed(0)
    B = len(real)
    mask = (torch.arange(window)[None] < torch.tensor(real)[:, None]).float()
    obs, act = torch.randn(B, window, 39, generator=g), torch.rand(B, window, 4, generator=g)
    pad = (mask == 0).unsqueeze(-1)
    obs2 = torch.where(pad, 100 * torch.randn(obs.shape, generator=g), obs)
    act2 = torch.where(pad, 100 * torch.randn(act.shape, generator=g), act)
    return obs, act, obs2, act2, mask


@pytest.mark.parametrize("encoder", ["flat", "conv", "patch"])
def test_padded_steps_do_not_change_the_latent(encoder):
    torch.manual_seed(0)
    vae = LWDVAE(VAEConfig(encoder=encoder, **SMALL), 40, 39, 4, True)
    obs, act, obs2, act2, mask = _padded_pair()
    mu, lv = vae.encode(obs, act, mask)
    mu2, lv2 = vae.encode(obs2, act2, mask)
    assert torch.equal(mu, mu2) and torch.equal(lv, lv2)
    real = obs.clone()
    real[:, 0] += 1.0                                          # a real step does move it (the test can see a change)
    assert not torch.allclose(vae.encode(real, act, mask)[0], mu)


def test_conv_encoder_masks_on_its_own():
    """Called directly with unmasked inputs: its own masking and masked pooling keep the padding out."""
    torch.manual_seed(0)
    enc = ConvTrajectoryEncoder(39, 4, (8, 16, 16), 5, (32,), 16)
    obs, act, obs2, act2, mask = _padded_pair()
    assert torch.equal(enc(obs, act, mask)[0], enc(obs2, act2, mask)[0])


def test_patch_encoder_masks_on_its_own():
    torch.manual_seed(0)
    enc = PatchTrajectoryEncoder(39, 4, (3, 2), (8, 16), (32,), 16)
    obs, act, obs2, act2, mask = _padded_pair()
    assert torch.equal(enc(obs, act, mask)[0], enc(obs2, act2, mask)[0])


def test_a_patch_layer_is_a_convolution_whose_stride_is_its_kernel():
    torch.manual_seed(0)
    p, C, window = 5, 43, 23                                   # 23 steps: the last patch is padded
    enc = PatchTrajectoryEncoder(39, 4, (p,), (6,), (32,), 16)
    x = torch.randn(2, window, C)
    captured = {}
    enc.layers[0].register_forward_hook(lambda mod, inp, out: captured.update(out=out))
    enc(x[..., :39], x[..., 39:])
    W, b = enc.layers[0].weight, enc.layers[0].bias           # (6, p * C): a patch flattened step-major
    kernel = W.view(6, p, C).permute(0, 2, 1)                  # (out, C, p), as nn.Conv1d holds it
    ref = F.conv1d(F.pad(x.transpose(1, 2), (0, 25 - window)), kernel, b, stride=p)   # (2, 6, 5)
    torch.testing.assert_close(captured["out"], ref.transpose(1, 2))


def test_patch_sizes_and_channels_must_pair_up():
    with pytest.raises(ConfigError, match="vae.patch_sizes"):
        VAEConfig(patch_sizes=(5, 5), patch_channels=(64,))


def test_conv_encoder_is_far_smaller_than_the_flat_one_at_window_500():
    flat_first_layer = 500 * (39 + 4) * 1024                    # by hand: the flattened window into 1024 units
    flat = LWDVAE(VAEConfig(), 500, 39, 4, True)
    assert isinstance(flat.encoder, TrajectoryEncoder)
    assert flat.encoder.body[0].weight.numel() == flat_first_layer
    conv = LWDVAE(VAEConfig(encoder="conv"), 500, 39, 4, True)
    assert isinstance(conv.encoder, ConvTrajectoryEncoder)
    n_conv = sum(p.numel() for p in conv.encoder.parameters())
    assert n_conv < flat_first_layer / 10, n_conv
    # the decoder, the rest of the interface, is the same
    assert sum(p.numel() for p in conv.decoder.parameters()) == sum(p.numel() for p in flat.decoder.parameters())


def test_under_bf16_autocast_the_encoder_computes_in_bf16_and_the_policies_stay_fp32():
    vae = LWDVAE(VAEConfig(encoder="conv", **SMALL), 32, 39, 4, True)
    obs, act, mask = torch.randn(3, 32, 39), torch.rand(3, 32, 4), torch.ones(3, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mu, _ = vae.encode(obs, act, mask)
        theta = vae.decode(mu)
        actions = vae.act(theta, obs)
    assert mu.dtype == torch.bfloat16                          # where bf16 buys speed
    assert theta.dtype == actions.dtype == torch.float32       # generated weights keep fp32 precision
    # and they are the weights fp32 arithmetic writes for that latent, to fp32 rounding
    assert torch.allclose(theta, vae.decode(mu.float()), rtol=0, atol=1e-6)


def test_decoder_bf16_computes_the_hypernetwork_and_policies_in_bf16_when_training_only():
    torch.manual_seed(0)
    vae = LWDVAE(VAEConfig(encoder="patch", decoder_bf16=True, **SMALL), 32, 39, 4, True)
    obs, act, mask = torch.randn(3, 32, 39), torch.rand(3, 32, 4) * 2 - 1, torch.ones(3, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mu, _ = vae.encode(obs, act, mask)
        theta = vae.decode(mu)
        actions = vae.act(theta, obs)
    assert theta.dtype == actions.dtype == torch.bfloat16
    # outside autocast (sampling, evaluation, the latent map) the same model writes and runs fp32 policies
    theta32 = vae.decode(mu.float())
    assert theta32.dtype == vae.act(theta32, obs).dtype == torch.float32
    # bf16 rounds the generated weights (8 significant bits), it does not compute something else
    assert torch.allclose(theta.float(), theta32, rtol=2 ** -6, atol=1e-3)
    # and training keeps fp32 parameters with fp32 gradients
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = vae_loss(vae, obs, act, mask, torch.Generator().manual_seed(0))
    out["loss"].backward()
    assert out["loss"].dtype == torch.float32
    assert all(p.dtype == p.grad.dtype == torch.float32 for p in vae.decoder.parameters())


def test_even_conv_kernel_is_a_config_error():
    with pytest.raises(ConfigError, match="vae.conv_kernel"):
        VAEConfig(conv_kernel=4)


def test_mt10_presets_default_to_the_patch_encoder_and_keep_the_paper_set_up_by_name():
    mt10, paper, state = preset("mt10"), preset("mt10-paper"), preset("mt10-state")
    assert paper.vae.encoder == "flat" and paper.precision == "fp32"
    assert mt10.vae.encoder == "patch" and mt10.precision == "auto" and preset("mt10-quick").vae.encoder == "patch"
    # the paper's set-up differs from the default in the encoder, the VAE's learning-rate schedule, the denoiser's
    # depth, the precision (bf16 reaching the generated policies too) and the compiled VAE step only
    assert mt10.vae.decoder_bf16 and not paper.vae.decoder_bf16 and not VAEConfig().decoder_bf16
    assert mt10.vae.compile and not paper.vae.compile and not VAEConfig().compile
    assert not preset("mt10-quick").vae.compile                # its 300 steps would not pay for the compilation
    assert paper.ddpm.n_blocks == 4 and mt10.ddpm.n_blocks == 2
    assert paper.vae.lr_schedule == "constant" and mt10.vae.lr_schedule == "cosine"
    own = {k: getattr(mt10.vae, k) for k in ("encoder", "patch_sizes", "patch_channels", "encoder_hidden",
                                             "decoder_bf16", "compile", "steps", "lr", "lr_schedule")}
    assert paper.replace(name="mt10", vae=own, ddpm={"n_blocks": mt10.ddpm.n_blocks}, precision="auto") == mt10
    assert state.replace(name="mt10", ddpm={"state_condition": False}) == mt10
    # a config without a preset keeps the paper's encoder and fp32 (what runs saved before the setting assume)
    assert VAEConfig().encoder == "flat" and RunConfig().precision == "fp32"


def test_table2_trains_lwd_at_its_preset_precision_and_every_baseline_in_fp32():
    # the baselines' figures in the docs were measured in fp32, so an MT10 preset turning to auto must not move them
    from lwd_core.studies.table2 import METHODS, method_config
    for quick in (False, True):
        for name, (method, _) in METHODS.items():
            cfg = method_config(name, "data.h5", 0, quick)
            assert cfg.method == method
            assert cfg.precision == ("auto" if method == "lwd" else "fp32"), (name, quick)


# ---- old runs: keys they predate take the value they were trained with
def _flip_default(monkeypatch, cls, name, value):
    """Simulate a future default flip: the dataclass's generated __init__ keeps its defaults in __defaults__."""
    params = list(inspect.signature(cls.__init__).parameters)[1:]
    defaults = list(cls.__init__.__defaults__)
    defaults[params.index(name) - (len(params) - len(defaults))] = value
    monkeypatch.setattr(cls.__init__, "__defaults__", tuple(defaults))


@pytest.fixture
def toy_data(tmp_path):
    p = tmp_path / "toy.h5"
    save_dataset(make_synthetic(), p)
    return p


def _cfg(data, **over):
    return preset("toy-tiny").replace(data={"dataset": str(data)}, **over)


def test_an_old_run_without_the_new_keys_loads_flat_and_fp32_after_a_default_flip(tmp_path, toy_data, monkeypatch):
    run = tmp_path / "old"
    list(train_run(str(run), _cfg(toy_data, vae={"steps": 3}, ddpm={"steps": 3})))
    saved = json.loads((run / "config.json").read_text())
    for key in SAVED_DEFAULTS:                                 # as a run written before the keys existed
        *sec, leaf = key.split(".")
        (saved[sec[0]] if sec else saved).pop(leaf)
    (run / "config.json").write_text(json.dumps(saved))
    _flip_default(monkeypatch, VAEConfig, "encoder", "conv")
    _flip_default(monkeypatch, RunConfig, "precision", "bf16")
    assert RunConfig.from_dict(saved).vae.encoder == "conv"    # the flip is real for new configs
    cfg = RunDir(run).config()
    assert cfg.vae.encoder == "flat" and cfg.precision == "fp32"
    lwd = TrainedLWD(run)                                      # and its checkpoint loads into a flat encoder
    assert isinstance(lwd.vae.encoder, TrajectoryEncoder)
    list(train_run(str(run), resume=True))                     # a resume is no config change
    assert RunDir(run).status()["status"] == "finished"


# ---- precision
def _weights(run, name):
    return load_tensors(run / "checkpoints" / f"{name}.safetensors")


def _same(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


BASELINES = {"mlp_bc": {"width": 32}, "diffusion_policy": {"dp_size": "small", "dp_train_steps": 10}}


@pytest.mark.parametrize("method", ["lwd", "mlp_bc", "diffusion_policy"])
def test_bf16_trains_every_method_and_checkpoints_fp32(tmp_path, toy_data, method):
    losses = {}
    for prec in ("fp32", "bf16"):
        cfg = _cfg(toy_data, method=method, precision=prec, vae={"steps": 6}, ddpm={"steps": 6},
                   baseline={**BASELINES.get(method, {}), "steps": 6, "batch_size": 16})
        out = list(train_run(str(tmp_path / prec), cfg))
        assert out[-1].status == "finished"
        phases = ("vae", "ddpm") if method == "lwd" else (method,)
        for ph in phases:
            assert any(getattr(o, "message", "").startswith(f"training {ph} from step 0 to 6 in {prec}")
                       for o in out)
            meta = load_meta(tmp_path / prec / "checkpoints" / f"{ph}.safetensors")
            assert meta["precision"] == prec and meta["steps_by_precision"] == {prec: 6}
            for k, v in _weights(tmp_path / prec, ph).items():
                assert k == "rng" or v.dtype in (torch.float32, torch.int64), (k, v.dtype)
        losses[prec] = [r for r in RunDir(tmp_path / prec).read_metrics()]
        for r in losses[prec]:
            r.pop("elapsed")
    assert losses["fp32"] != losses["bf16"]                    # bf16 really computed something else


@pytest.mark.parametrize("decoder_bf16", [False, True])
def test_bf16_resume_equals_the_uninterrupted_bf16_run_and_repeats_exactly(tmp_path, toy_data, decoder_bf16):
    cfg = _cfg(toy_data, precision="bf16", vae={"steps": 12, "decoder_bf16": decoder_bf16}, ddpm={"steps": 12})
    for name in ("full", "again"):
        list(train_run(str(tmp_path / name), cfg))
    calls = {"n": 0}

    def cancel_in_vae():
        calls["n"] += 1
        return calls["n"] == 8                                 # after 7 VAE steps: between checkpoints (every 5)

    out = list(train_run(str(tmp_path / "cut"), cfg, cancel=cancel_in_vae))
    assert out[-1].status == "cancelled" and out[-1].phase == "vae"
    list(train_run(str(tmp_path / "cut"), resume=True))
    for ph in ("vae", "ddpm"):
        full = _weights(tmp_path / "full", ph)
        assert _same(full, _weights(tmp_path / "again", ph)), f"two bf16 runs of one seed differ in {ph}"
        assert _same(full, _weights(tmp_path / "cut", ph)), f"the resumed bf16 run differs in {ph}"
    assert load_meta(tmp_path / "cut" / "checkpoints" / "vae.safetensors")["steps_by_precision"] == {"bf16": 12}


def test_precision_may_change_on_resume_and_the_checkpoint_counts_both(tmp_path, toy_data):
    cfg = _cfg(toy_data, precision="bf16", vae={"steps": 12}, ddpm={"steps": 4})
    out = list(train_run(str(tmp_path / "r"), cfg, cancel=lambda: RunDir(tmp_path / "r").status().get("step") == 5))
    assert out[-1].status == "cancelled"
    out = list(train_run(str(tmp_path / "r"), cfg.replace(precision="fp32"), resume=True))
    assert any(getattr(o, "message", "") == "training vae from step 5 to 12 in fp32; 5 earlier steps in bf16"
               for o in out)
    meta = load_meta(tmp_path / "r" / "checkpoints" / "vae.safetensors")
    assert meta["precision"] == "fp32" and meta["steps_by_precision"] == {"bf16": 5, "fp32": 7}
    assert RunDir(tmp_path / "r").config().precision == "fp32"


@pytest.mark.parametrize("native", [True, False])
def test_auto_is_bf16_exactly_where_the_device_has_native_bf16(tmp_path, toy_data, monkeypatch, native):
    monkeypatch.setattr(engine, "native_bf16", lambda device: native)
    want = "bf16" if native else "fp32"
    assert engine.resolve_precision("auto", torch.device("cpu")) == want
    assert engine.resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert engine.resolve_precision("bf16", torch.device("cpu")) == "bf16"
    out = list(train_run(str(tmp_path / "r"), _cfg(toy_data, precision="auto", vae={"steps": 2}, ddpm={"steps": 2})))
    assert f"on cpu in {want}" in out[0].message
    assert load_meta(tmp_path / "r" / "checkpoints" / "vae.safetensors")["precision"] == want
    assert RunDir(tmp_path / "r").config().precision == "auto"          # the request; the checkpoint: what ran


@pytest.mark.parametrize("flags, native", [({"avx512_bf16", "avx512f"}, True), ({"amx_bf16"}, True),
                                           ({"avx512f", "avx2"}, False), (set(), False)])
def test_cpu_bf16_detection_reads_the_cpu_flags(monkeypatch, flags, native):
    monkeypatch.setattr(engine, "_cpu_flags", lambda: frozenset(flags))
    assert engine.native_bf16(torch.device("cpu")) is native


def test_fp32_is_the_arithmetic_of_before(tmp_path, toy_data, monkeypatch):
    """fp32 (the default, or asked for) enters no autocast at all, so it trains exactly as the code before the
    setting; bf16 does enter it. A config written without the key trains the same run as one with fp32."""
    entered = []
    real = torch.autocast

    def spy(*a, **k):
        entered.append(k.get("dtype"))
        return real(*a, **k)

    monkeypatch.setattr(torch, "autocast", spy)
    d = _cfg(toy_data, vae={"steps": 5}, ddpm={"steps": 5}).to_dict()
    d.pop("precision")
    runs = {"absent": RunConfig.from_dict(d), "fp32": RunConfig.from_dict({**d, "precision": "fp32"})}
    for name, cfg in runs.items():
        list(train_run(str(tmp_path / name), cfg))
    assert entered == []
    for ph in ("vae", "ddpm"):
        assert _same(_weights(tmp_path / "absent", ph), _weights(tmp_path / "fp32", ph))
    la = [r["vae_loss"] for r in RunDir(tmp_path / "absent").read_metrics() if r["phase"] == "vae"]
    lb = [r["vae_loss"] for r in RunDir(tmp_path / "fp32").read_metrics() if r["phase"] == "vae"]
    assert la == lb and len(la) == 5
    list(train_run(str(tmp_path / "bf16"), runs["fp32"].replace(precision="bf16")))
    # bf16 enters bf16 autocast, and leaves it (enabled=False, no dtype) only for the generated policies' weights
    assert torch.bfloat16 in entered and set(entered) <= {torch.bfloat16, None}


def test_encoder_precision_bench_smoke(monkeypatch):
    from lwd_core.bench import encoder_precision_bench
    from lwd_core.train import compiled
    monkeypatch.setattr(compiled, "BACKEND", "aot_eager")     # the compiled path, without code generation
    res = encoder_precision_bench(steps=1, warmup=0, window=16, batch=2, precisions=("fp32", "bf16"))
    assert res["flat_fp32_over_flat_fp32"] == 1.0
    for k in ("flat_bf16", "conv_fp32", "conv_bf16", "patch_bf16", "patch_eager_bf16", "patch_fp32_decoder_bf16",
              "floor_fp32", "floor_bf16"):
        assert res[f"{k}_steps_per_s"] > 0 and res[f"{k}_over_flat_fp32"] > 0
    assert res["compiled_setups"] == ["patch"] and not any(k.endswith("_compile_failure") for k in res)
    assert encoder_precision_bench(steps=1, warmup=0, window=16, batch=2, precisions=("fp32",),
                                   compile=False)["compiled_setups"] == []


def test_the_bench_names_a_set_up_that_could_not_compile(monkeypatch):
    from lwd_core.bench import encoder_precision_bench
    from lwd_core.train import compiled

    def broken(gm, example_inputs):
        raise RuntimeError("no C++ compiler here")

    monkeypatch.setattr(compiled, "BACKEND", broken)
    res = encoder_precision_bench(steps=1, warmup=0, window=16, batch=2, precisions=("fp32",))
    assert res["compiled_setups"] == [] and "no C++ compiler here" in res["patch_fp32_compile_failure"]
    assert res["patch_fp32_steps_per_s"] > 0                    # timed uncompiled


def test_the_bench_times_each_encoder_as_its_presets_train_it():
    from lwd_core.bench import ENCODER_SETUPS, setup_config
    arch = ("encoder", "encoder_hidden", "conv_channels", "conv_kernel", "patch_sizes", "patch_channels",
            "decoder_size", "decoder_bf16", "policy_hidden", "latent_dim", "output_activation", "compile")
    for name, where in (("flat", "mt10-paper"), ("conv", "mt10-snippets"), ("patch", "mt10")):
        built, want = setup_config(name).vae, preset(where).vae
        assert {k: getattr(built, k) for k in arch} == {k: getattr(want, k) for k in arch}, name
        # at the default's shapes, whatever the preset trains with
        assert (built.batch_size, built.states_per_window) == (32, preset("mt10").vae.states_per_window)
    eager = setup_config("patch_eager").vae
    assert eager == dataclasses.replace(setup_config("patch").vae, compile=False)
    assert setup_config("patch_fp32_decoder").vae == dataclasses.replace(eager, decoder_bf16=False)
    assert set(ENCODER_SETUPS) == {"flat", "conv", "patch", "patch_eager", "patch_fp32_decoder"}


@pytest.mark.parametrize("native", [True, False])
def test_the_bench_times_bf16_only_where_it_is_native(monkeypatch, native):
    # emulated bf16 (an AVX2-only CPU) is tens of times slower than fp32: timing it is no measurement of an option
    from lwd_core import bench
    monkeypatch.setattr(engine, "native_bf16", lambda device: native)
    res = bench.encoder_precision_bench(steps=1, warmup=0, window=16, batch=2, compile=False)
    assert ("conv_bf16_steps_per_s" in res) is native and ("flat_bf16_over_flat_fp32" in res) is native
    assert res["conv_fp32_steps_per_s"] > 0 and res["precisions"] == (["fp32", "bf16"] if native else ["fp32"])
