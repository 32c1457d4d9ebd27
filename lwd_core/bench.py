"""`lwd-studio bench`: throughput and latency, all measured in one run on this machine.

Ratios, not absolute times, are the portable numbers: the training step's achieved GFLOP/s is divided
by plain fp32 matmul GFLOP/s measured moments before, with the same thread count."""
from __future__ import annotations

import dataclasses
import platform
import statistics
import time
from typing import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import MT10_BF16_DECODER, MT10_COMPILE, MT10_CONV, MT10_PATCH, VAEConfig, preset
from .methods.lwd.model import build_diffusion, build_vae
from .methods.lwd.vae import draw_noise, vae_loss


def _median_time(fn: Callable[[], object], reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def measured_precisions(device: torch.device) -> tuple[str, ...]:
    """The precisions worth timing on `device`: fp32, and bf16 where the device computes it natively. Emulated bf16
    (a CPU without avx512_bf16 or AMX) is no option anyone would train with: a bf16 matmul measured 60x slower
    than fp32 on an AVX2-only AMD EPYC, so timing it would only make the bench run for many minutes."""
    from .train.engine import native_bf16
    return ("fp32", "bf16") if native_bf16(device) else ("fp32",)


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / _median_time(lambda: a @ b, reps) / 1e9


def run_bench(quick: bool = False, log: Callable[[str], None] = lambda s: None, compile: bool = True) -> dict:
    """Every measurement below, in one process. `compile=False` times the set-ups whose presets compile their step
    (torch.compile) without it, which skips the compilations (about half a minute each on 2 cores, uncached)."""
    torch.manual_seed(0)
    cfg = preset("mt10")
    L, obs_dim, act_dim, B = cfg.data.window, 39, 4, cfg.vae.batch_size
    res: dict = {"threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
                 "torch": torch.__version__}
    from .train.engine import KEEPS_FREED_MEMORY
    res["keeps_freed_memory"] = KEEPS_FREED_MEMORY   # glibc keeps freed blocks (engine.py): the paper's step ~1.5x

    precisions = measured_precisions(torch.device("cpu"))
    res["precisions"] = list(precisions)             # of the CPU measurements (the VAE encoders)
    if "bf16" not in precisions:
        log("bf16 not measured: this CPU has no native bf16 (avx512_bf16 or AMX), and emulated bf16 is slower "
            "than fp32 by tens of times")
    peak = matmul_gflops(reps=5 if quick else 15)
    res["matmul_gflops"] = peak
    log(f"fp32 matmul (2048^2, {res['threads']} threads): {peak:.1f} GFLOP/s")

    # --- the paper's VAE training step (flattened encoder, fp32; mt10 shapes: window 500, batch 32). The ratio of
    # its achieved GFLOP/s to plain matmul says how far the step is from compute-bound, not how fast it is: the
    # encoder's weight gradient (inner dimension = the batch of 32) and Adam over 27M weights are memory-bound
    paper = setup_config("flat").replace(precision="fp32")
    vae = build_vae(paper, L, obs_dim, act_dim, True)
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.vae.lr, fused=True)
    obs, act = torch.randn(B, L, obs_dim), torch.rand(B, L, act_dim) * 2 - 1
    mask = torch.ones(B, L)

    def step():
        out = vae_loss(vae, obs, act, mask)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    with FlopCounterMode(display=False) as fc:
        out = vae_loss(vae, obs, act, mask)
        out["loss"].backward()
    flops = fc.get_total_flops()
    st = _median_time(step, 4 if quick else 12)
    res.update(train_step_s=st, train_step_gflop=flops / 1e9, train_step_gflops=flops / st / 1e9)
    res["train_step_matmul_ratio"] = res["train_step_gflops"] / peak
    log(f"paper's VAE train step (flat encoder, fp32, batch {B}, window {L}): {st * 1e3:.1f} ms, "
        f"{flops / 1e9:.2f} GFLOP -> {res['train_step_gflops']:.1f} GFLOP/s = {res['train_step_matmul_ratio']:.2f} "
        f"x matmul (memory-bound: a low ratio, not a slow step)")

    # --- VAE steps/s for each encoder and precision, in this same run; the default set-up against the paper's
    enc = encoder_precision_bench(steps=6 if quick else 20, precisions=precisions, compile=compile, log=log)
    res["vae_compiled_setups"] = enc["compiled_setups"]
    res["vae_default_compiled"] = cfg.vae.encoder in enc["compiled_setups"]
    res.update({f"vae_{k}": v for k, v in enc.items() if "steps_per_s" in k or "over_flat" in k or "failure" in k})
    from .train.engine import resolve_precision
    default_precision = resolve_precision(cfg.precision, torch.device("cpu"))
    default = f"{cfg.vae.encoder}_{default_precision}"
    res["vae_default_setup"] = default
    res["vae_default_over_paper"] = enc[f"{default}_over_flat_fp32"]
    res["vae_ceiling_over_paper"] = enc[f"floor_{default_precision}_over_flat_fp32"]
    log(f"VAE default set-up ({default.replace('_', ', ')}{', compiled' if res['vae_default_compiled'] else ''}) "
        f"over the paper's (flat, fp32): "
        f"{res['vae_default_over_paper']:.2f}x; with no encoder at all: {res['vae_ceiling_over_paper']:.2f}x")

    # --- generated policy latency at batch 1 (numpy, the exported form) and batched
    with torch.no_grad():
        theta = vae.decode(torch.randn(100, cfg.vae.latent_dim))
    from .export import NumpyPolicyBatch
    from .models.policy import split_theta
    layers = [(W.numpy(), b.numpy()) for W, b in split_theta(vae.spec, theta)]
    pb = NumpyPolicyBatch(layers, np.zeros(obs_dim, np.float32), np.ones(obs_dim, np.float32))
    pol = pb.policy(0)
    o = np.random.randn(obs_dim).astype(np.float32)
    n = 2000 if quick else 20000
    per = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n // 5):
            pol.act(o)
        per.append((time.perf_counter() - t) / (n // 5))
    res["policy_step_us"] = statistics.median(per) * 1e6
    res["policy_params"] = pol.n_params
    ob = np.random.randn(100, obs_dim).astype(np.float32)
    res["policy_batch100_step_us"] = _median_time(lambda: pb.act(ob), 50 if quick else 300) * 1e6
    log(f"generated policy ({pol.n_params} params) step at batch 1: {res['policy_step_us']:.1f} us; "
        f"100 policies in one batched step: {res['policy_batch100_step_us']:.0f} us")

    # --- sampling one policy: DDPM latent sampling + hypernetwork decode
    diff = build_diffusion(cfg, 10, obs_dim).eval()
    c = torch.zeros(1, dtype=torch.long)
    D = cfg.vae.latent_dim

    def ddim():
        with torch.no_grad():
            vae.decode(diff.sample_ddim(1, D, c, steps=cfg.eval.ddim_steps))

    def ddpm():
        with torch.no_grad():
            vae.decode(diff.sample_ddpm(1, D, c))

    res["sample_ddim_ms"] = _median_time(ddim, 3 if quick else 7, 1) * 1e3
    res["sample_ddpm_ms"] = _median_time(ddpm, 1 if quick else 3, 1) * 1e3
    res["ddim_steps"] = cfg.eval.ddim_steps
    res["ddpm_steps"] = cfg.ddpm.n_steps
    log(f"sample one policy: DDIM ({cfg.eval.ddim_steps} steps) {res['sample_ddim_ms']:.1f} ms, "
        f"DDPM ({cfg.ddpm.n_steps} steps) {res['sample_ddpm_ms']:.1f} ms (latent denoising + hypernetwork decode)")
    res.update(inference_costs(res, quick, log))
    res.update(training_throughput(quick, log, compile=compile))   # its own device's precisions: bf16 on CUDA too
    return res


# Table 2's set-ups, each trained for a few steps through its real trainer on an MT10-shaped dataset: key ->
# (method, config sections over the mt10 preset, the phase timed). `lwd_ddpm_4_blocks` is the denoiser mt10 had
# before 2 blocks were measured to sample policies as good, so the two are timed in the same run.
_THROUGHPUT = {"lwd_vae": ("lwd", {}, "vae"), "lwd_ddpm": ("lwd", {}, "ddpm"),
               "lwd_ddpm_4_blocks": ("lwd", {"ddpm": {"n_blocks": 4}}, "ddpm"),
               "mlp_bc_512": ("mlp_bc", {"baseline": {"width": 512}}, "mlp_bc"),
               "dp_large": ("diffusion_policy", {"baseline": {"dp_size": "large"}}, "diffusion_policy"),
               "dp_small": ("diffusion_policy", {"baseline": {"dp_size": "small"}}, "diffusion_policy")}


def training_throughput(quick: bool, log, device: str = "auto", precisions: tuple[str, ...] | None = None,
                        compile: bool = True) -> dict:
    """Training steps/s of every method on the configured device (`auto`: CUDA when available) under each precision,
    measured from the engine's own step records after a warm-up, at the Table 2 batch sizes. The key without a
    precision is the preset's own (`auto` resolved on this device). The VAE is compiled as its preset says (unless
    `compile` is off) where it is the phase timed; elsewhere it trains 2 steps, not worth compiling."""
    import tempfile
    from pathlib import Path

    from .data.hdf5 import Dataset, save_dataset
    from .methods.registry import train_run
    from .train.engine import StepRecord, pick_device, resolve_precision
    rng = np.random.default_rng(0)
    n_eps, T = 64, 500           # whole-episode windows: two full VAE batches of 32 per epoch (20 made every batch 20)
    N = n_eps * T
    tout = np.zeros(N, bool)
    tout[T - 1::T] = True
    ds = Dataset(observations=rng.normal(size=(N, 39)).astype(np.float32),
                 actions=rng.uniform(-1, 1, (N, 4)).astype(np.float32), rewards=np.zeros(N, np.float32),
                 terminals=np.zeros(N, bool), timeouts=tout, labels=np.repeat(np.arange(n_eps) % 10, T),
                 label_names=[f"t{i}" for i in range(10)], attrs={"env_id": "mt10"})
    steps = 6 if quick else 20
    precisions = precisions or measured_precisions(pick_device(device))
    out = {"train_device": str(pick_device(device))}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bench.h5"
        save_dataset(ds, data)
        own = resolve_precision(preset("mt10").precision, pick_device(device))
        base_compile = preset("mt10").vae.compile
        for key, (method, over, phase) in _THROUGHPUT.items():
            for prec in precisions:
                cfg = preset("mt10").replace(method=method, device=device, precision=prec, log_every=1,
                                             checkpoint_every=10_000, data={"dataset": str(data)},
                                             baseline={**over.get("baseline", {}), "steps": 2 * steps},
                                             vae={"steps": 2 * steps if phase == "vae" else 2,
                                                  "compile": compile and phase == "vae" and base_compile},
                                             ddpm={**over.get("ddpm", {}), "steps": 10 * steps if phase == "ddpm" else 2})
                recs = [r for r in train_run(str(Path(tmp) / f"{key}-{prec}"), cfg)
                        if isinstance(r, StepRecord) and r.phase == phase]
                half = len(recs) // 2            # the first half warms up kernels and allocators
                rate = (len(recs) - half) / (recs[-1].elapsed - recs[half - 1].elapsed)
                out[f"train_steps_per_s_{key}_{prec}"] = rate
                if prec == own:
                    out[f"train_steps_per_s_{key}"] = rate
                # the VAE's batch is of whole-episode windows, as many as there are episodes at most
                bs = {"vae": min(cfg.vae.batch_size, n_eps), "ddpm": cfg.ddpm.batch_size}.get(phase,
                                                                                          cfg.baseline.batch_size)
                log(f"training {key} (batch {bs}) on {out['train_device']}, {prec}: {rate:.1f} steps/s")
            if key == "lwd_ddpm_4_blocks":
                out["train_ddpm_default_over_4_blocks"] = out[f"train_steps_per_s_lwd_ddpm_{precisions[0]}"] / \
                    out[f"train_steps_per_s_{key}_{precisions[0]}"]
                log(f"  the default denoiser ({preset('mt10').ddpm.n_blocks} blocks) over 4 blocks, {precisions[0]}: "
                    f"{out['train_ddpm_default_over_4_blocks']:.2f}x")
            if "bf16" in precisions and "fp32" in precisions:
                out[f"train_bf16_over_fp32_{key}"] = out[f"train_steps_per_s_{key}_bf16"] / \
                    out[f"train_steps_per_s_{key}_fp32"]
    return out


def inference_costs(res: dict, quick: bool, log) -> dict:
    """Per-control-step cost of LWD, MLP-512 and Diffusion Policy on the same machine and inputs, and the cost
    averaged over a 500-step MT10 episode: one policy generation per episode for LWD, one diffusion query per
    action horizon (H_a = 8) for DP."""
    from .export import NumpyMLPPolicy
    from .methods.diffusion_policy.model import DiffusionPolicyModel, DPSpec
    from .methods.mlp_bc.model import MLPBC
    T, obs_dim, act_dim, n_tasks = 500, 39, 4, 10
    out: dict = {}
    mlp = MLPBC(obs_dim, act_dim, n_tasks, 512)
    lin = [m for m in mlp.net if isinstance(m, torch.nn.Linear)]
    np_mlp = NumpyMLPPolicy([(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in lin],
                            np.zeros(obs_dim + n_tasks, np.float32), np.ones(obs_dim + n_tasks, np.float32))
    x = np.random.randn(obs_dim + n_tasks).astype(np.float32)
    n = 1000 if quick else 10000
    out["mlp512_step_us"] = _median_time(lambda: [np_mlp.act(x) for _ in range(n)], 3) / n * 1e6
    out["mlp512_params"] = mlp.n_params
    hist, task = torch.randn(1, 2, obs_dim), torch.zeros(1, dtype=torch.long)
    for size in ("large", "small"):
        dp = DiffusionPolicyModel(DPSpec(obs_dim, act_dim, n_tasks, size)).eval()
        out[f"dp_{size}_params"] = dp.n_params
        out[f"dp_{size}_ddpm_query_ms"] = _median_time(lambda m=dp: m.sample(hist, task), 2 if quick else 5, 1) * 1e3
        out[f"dp_{size}_ddim_query_ms"] = _median_time(lambda m=dp: m.sample(hist, task, 10), 5 if quick else 20) * 1e3
    h_a = 8
    queries = int(np.ceil(T / h_a))
    lwd_ep = (res["sample_ddim_ms"] * 1e3 + T * res["policy_step_us"]) / T
    out["lwd_episode_step_us"] = lwd_ep
    for size in ("large", "small"):
        for kind in ("ddpm", "ddim"):
            # a DP step either pops a planned action (free) or runs a query
            out[f"dp_{size}_{kind}_episode_step_us"] = queries * out[f"dp_{size}_{kind}_query_ms"] * 1e3 / T
    out["dp_large_ddpm_over_lwd_episode"] = out["dp_large_ddpm_episode_step_us"] / lwd_ep
    log(f"inference, per control step averaged over a {T}-step episode (DP re-plans every {h_a} steps):")
    log(f"  LWD generated policy ({res['policy_params']} params, DDIM-{res['ddim_steps']} once per episode): "
        f"{lwd_ep:.1f} us/step (step alone {res['policy_step_us']:.1f} us)")
    log(f"  MLP-512 ({out['mlp512_params']} params): {out['mlp512_step_us']:.1f} us/step")
    for size in ("large", "small"):
        log(f"  DP-{size} ({out[f'dp_{size}_params']} params): DDPM-100 query {out[f'dp_{size}_ddpm_query_ms']:.1f} ms "
            f"-> {out[f'dp_{size}_ddpm_episode_step_us']:.0f} us/step; DDIM-10 query "
            f"{out[f'dp_{size}_ddim_query_ms']:.1f} ms -> {out[f'dp_{size}_ddim_episode_step_us']:.0f} us/step")
    log(f"  DP-large DDPM / LWD, episode-averaged: {out['dp_large_ddpm_over_lwd_episode']:.0f}x")
    return out


def _vae_steps_per_s(vae, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor, precision: str, steps: int,
                     warmup: int, compile: bool) -> tuple[float, str | None]:
    """The trainer's VAE step (methods.lwd.trainer.vae_step_loss, compiled if `compile`, then fused Adam), timed after
    a warm-up that includes any compilation. Returns steps/s and why it could not compile (None if it did or was
    not asked to)."""
    from .methods.lwd.trainer import vae_step_loss
    dev = obs.device
    opt = torch.optim.Adam(vae.parameters(), lr=vae.cfg.lr, fused=True)
    rng = torch.Generator(device=dev).manual_seed(0)
    loss = vae_step_loss(vae, dev, precision, compile)

    def step():
        opt.zero_grad(set_to_none=True)
        loss.backward(obs, act, mask, *draw_noise(vae, mask, rng))
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    rate = 1.0 / _median_time(step, steps, max(warmup, 1 if compile else 0))
    return rate, loss.failure


class _MeanPoolEncoder(torch.nn.Module):
    """The cheapest encoder there is, for timing only: (mu, logvar) from the window's mean step."""

    def __init__(self, in_dim: int, latent_dim: int):
        super().__init__()
        self.head = torch.nn.Linear(in_dim, 2 * latent_dim)

    def forward(self, obs_n: torch.Tensor, act: torch.Tensor, mask: torch.Tensor | None = None):
        mu, logvar = self.head(torch.cat([obs_n, act], dim=-1).mean(1)).chunk(2, dim=-1)
        return mu, logvar


# Each encoder as the presets train it: the paper's flat one (`mt10-paper`); the conv one of `mt10-snippets` and the
# locomotion presets (the MT10 default before the patch one); the patch one of the MT10 presets, whose bf16 runs
# compute the hypernetwork and the generated policies in bf16 too and whose step is compiled; that set-up not
# compiled; and not compiled with the hypernetwork and policies in fp32, so that one run shows what each change buys.
ENCODER_SETUPS = {"flat": {"encoder": "flat"}, "conv": MT10_CONV,
                  "patch": {**MT10_PATCH, **MT10_BF16_DECODER, **MT10_COMPILE},
                  "patch_eager": {**MT10_PATCH, **MT10_BF16_DECODER}, "patch_fp32_decoder": MT10_PATCH}


def setup_config(name: str):
    """The run config the bench times for ENCODER_SETUPS[name]: the setup over the VAE section's defaults, at the
    `mt10` preset's shapes (window, batch, states per window), so every set-up scores the same states."""
    base = preset("mt10")
    shapes = {"batch_size": base.vae.batch_size, "states_per_window": base.vae.states_per_window}
    return base.replace(vae={**dataclasses.asdict(VAEConfig()), **shapes, **ENCODER_SETUPS[name]})


def encoder_precision_bench(steps: int = 20, warmup: int = 3, device: str = "cpu", window: int | None = None,
                            batch: int | None = None, obs_dim: int = 39, act_dim: int = 4,
                            precisions: tuple[str, ...] | None = None, compile: bool = True,
                            log: Callable[[str], None] = lambda s: None) -> dict:
    """VAE training steps/s for each of ENCODER_SETUPS (the flattened encoder of the paper, the conv and the patch
    encoder, and the patch one uncompiled and with fp32 generated policies), each in fp32 and under bf16 autocast
    (`precisions`; by default bf16 only where the device has it natively, measured_precisions), at the `mt10`
    preset's shapes (batch 32, window 500, 39 + 4 dims; `window`/`batch` override them for a smoke test), all in one
    process, one after another on the same inputs. The ratios to flat fp32 are the numbers to compare across
    machines; run it on an otherwise idle machine. Each step is the trainer's (vae_step_loss: compiled where the
    set-up says so and `compile` allows, then fused Adam); `compiled_setups` lists those that ran compiled."""
    from .train.engine import native_bf16, pick_device
    dev = pick_device(device)
    precisions = precisions or measured_precisions(dev)
    base = preset("mt10")
    L, B = window or base.data.window, batch or base.vae.batch_size
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(B, L, obs_dim, generator=g).to(dev)
    act = (torch.rand(B, L, act_dim, generator=g) * 2 - 1).to(dev)
    mask = torch.ones(B, L, device=dev)
    res: dict = {"device": str(dev), "native_bf16": native_bf16(dev), "threads": torch.get_num_threads(),
                 "window": L, "batch": B, "steps": steps, "precisions": list(precisions)}
    compiled, failed = {}, set()
    for enc in ENCODER_SETUPS:
        torch.manual_seed(0)
        cfg = setup_config(enc)
        vae = build_vae(cfg, L, obs_dim, act_dim, True).to(dev)
        res[f"{enc}_encoder_params"] = sum(p.numel() for p in vae.encoder.parameters())
        compiled[enc] = compile and cfg.vae.compile
        for prec in precisions:
            res[f"{enc}_{prec}_steps_per_s"], failure = _vae_steps_per_s(vae, obs, act, mask, prec, steps, warmup,
                                                                         compiled[enc])
            how = ", compiled" if compiled[enc] else ""
            if failure:
                res[f"{enc}_{prec}_compile_failure"], how = failure, f", torch.compile failed ({failure}): eager"
                failed.add(enc)
            log(f"VAE {enc.replace('_', ' ')} ({res[f'{enc}_encoder_params'] / 1e6:.2f}M encoder params), {prec}"
                f"{how}: {res[f'{enc}_{prec}_steps_per_s']:.2f} steps/s")
    res["compiled_setups"] = [e for e, c in compiled.items() if c and e not in failed]
    # The default's step with the encoder reduced to a linear map of the window's mean: what is left is the
    # hypernetwork, the generated policies and Adam, which every encoder pays for. Its ratio to flat fp32 bounds any
    # encoder's at that precision (compiled as the default is).
    torch.manual_seed(0)
    vae = build_vae(base, L, obs_dim, act_dim, True).to(dev)
    vae.encoder = _MeanPoolEncoder(obs_dim + act_dim, base.vae.latent_dim).to(dev)
    ref = res["flat_fp32_steps_per_s"]
    for prec in precisions:
        res[f"floor_{prec}_steps_per_s"], failure = _vae_steps_per_s(vae, obs, act, mask, prec, steps, warmup,
                                                                     compile and base.vae.compile)
        if failure:
            res[f"floor_{prec}_compile_failure"] = failure
        res[f"floor_{prec}_over_flat_fp32"] = res[f"floor_{prec}_steps_per_s"] / ref
        log(f"VAE step without an encoder (the window's mean, one linear layer), {prec}: "
            f"{res[f'floor_{prec}_steps_per_s']:.2f} steps/s")
    for enc in ENCODER_SETUPS:
        for prec in precisions:
            res[f"{enc}_{prec}_over_flat_fp32"] = res[f"{enc}_{prec}_steps_per_s"] / ref
    log("steps/s relative to flat fp32: " + ", ".join(
        f"{e} {p} {res[f'{e}_{p}_over_flat_fp32']:.2f}x" for e in ENCODER_SETUPS for p in precisions))
    return res


if __name__ == "__main__":       # python -m lwd_core.bench --encoder-precision [--steps N] [--device cpu|cuda|auto]
    import argparse
    import json
    ap = argparse.ArgumentParser(description="VAE steps/s: flat vs conv vs patch encoder, fp32 vs bf16 (mt10 shapes)")
    ap.add_argument("--encoder-precision", action="store_true", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    ap.add_argument("--window", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--precisions", default=None, help="comma-separated, e.g. fp32,bf16 (default: fp32, and bf16 "
                                                         "where the device has it natively)")
    a = ap.parse_args()
    precs = tuple(a.precisions.split(",")) if a.precisions else None
    print(json.dumps(encoder_precision_bench(a.steps, device=a.device, window=a.window, batch=a.batch,
                                             precisions=precs, compile=a.compile, log=print),
                     indent=1))
