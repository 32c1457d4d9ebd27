"""Diffusion Policy trained as Chi et al. train it: the EMA of the weights (arithmetic, checkpoint, resume), min-max
normalisation, AdamW with warm-up then cosine, the SequenceSampler's episode-end padding, and their PushT U-Net size.
The reference numbers are worked out by hand or from the published formulas here, never taken from the code."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lwd_core.checkpoint import save_checkpoint
from lwd_core.config import preset
from lwd_core.data.hdf5 import Dataset, save_dataset
from lwd_core.errors import RunError
from lwd_core.io import load_meta, load_tensors
from lwd_core.methods.baseline_train import step_table
from lwd_core.models.ema import EMA, ema_decay
from lwd_core.methods.diffusion_policy.inference import TrainedDP
from lwd_core.methods.diffusion_policy.model import DiffusionPolicyModel, DPSpec, RangeNormalizer
from lwd_core.methods.diffusion_policy.trainer import warmup_cosine
from lwd_core.methods.registry import train_run
from tests.toy_suite import make_synthetic

# 1 - k ** -0.75 by hand: 2 ** 0.75 = 1.6817928, 3 ** 0.75 = 2.2795070, 10 ** 0.75 = 5.6234133
HAND_DECAY = {0: 0.0, 1: 0.0, 2: 0.4053964, 3: 0.5613087, 10: 0.8221721, 10 ** 6: 0.9999}


def test_ema_decay_follows_the_hand_computed_sequence():
    for step, d in HAND_DECAY.items():
        assert ema_decay(step) == pytest.approx(d, abs=1e-7), step
    # capped at 0.9999 from 1 - k ** -0.75 >= 0.9999, i.e. k >= 10 ** (16 / 3) = 215443.5
    assert ema_decay(215443) < 0.9999 and ema_decay(215444) == 0.9999


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(3))
        self.frozen = torch.nn.Parameter(torch.zeros(2), requires_grad=False)
        self.register_buffer("buf", torch.zeros(1))


def test_ema_update_arithmetic_and_its_state_dict():
    m = _Tiny()
    ema = EMA(m)
    rng = np.random.default_rng(0)
    ref = np.zeros(3)                                     # the average by hand, in float64
    for step in range(12):
        w = rng.normal(size=3)
        with torch.no_grad():                             # what an optimiser step would leave
            m.w.copy_(torch.as_tensor(w, dtype=torch.float32))
            m.frozen.fill_(step)
            m.buf.fill_(-step)
        d = 0.0 if step < 2 else 1 - step ** -0.75
        ref = d * ref + (1 - d) * w.astype(np.float32)
        assert ema.update(step) == pytest.approx(d, abs=1e-12)
        np.testing.assert_allclose(ema.ema.w.numpy(), ref, rtol=0, atol=1e-6)
        assert ema.ema.frozen.tolist() == [step, step] and ema.ema.buf.item() == -step    # copied, not averaged
        if step == 1:                                     # decay 0 twice: the average is the latest weights
            assert torch.equal(ema.ema.w, m.w)
    assert not torch.allclose(ema.ema.w, m.w)
    sd = ema.state_dict()
    assert list(sd) == ["w", "frozen", "buf", "ema.w", "ema.frozen", "ema.buf"]      # the model's names unchanged
    back = EMA(_Tiny())
    back.load_state_dict(sd)
    assert all(torch.equal(v, back.state_dict()[k]) for k, v in sd.items())
    with pytest.raises(RuntimeError, match="ema"):
        EMA(_Tiny()).load_state_dict(m.state_dict())     # a checkpoint without the average does not fit


def test_min_max_normaliser_hits_the_limits_exactly_and_round_trips():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(500, 4)) * [1.0, 30.0, 1e-3, 0.0] + [0.0, 100.0, -5.0, 7.25]).astype(np.float32)
    lo, hi = x.min(0), x.max(0)
    n = RangeNormalizer(lo.tolist(), hi.tolist(), 4)
    xt = torch.as_tensor(x)
    y = n(xt)
    live = [0, 1, 2]                                      # dim 3 is constant: shifted, never scaled
    assert torch.equal(y[x.argmin(0)[live], live], torch.full((3,), -1.0))
    assert torch.equal(y[x.argmax(0)[live], live], torch.full((3,), 1.0))
    assert y[:, live].min() >= -1 and y[:, live].max() <= 1
    # Chi et al.'s form, in float64: scale = 2 / (max - min), offset = -1 - scale * min; a span under 1e-4:
    # scale 1, offset -min (the constant dimension goes to 0)
    span = hi.astype(np.float64) - lo
    scale = np.where(span < 1e-4, 1.0, 2 / np.where(span < 1e-4, 1.0, span))
    offset = np.where(span < 1e-4, -lo.astype(np.float64), -1 - scale * lo)
    np.testing.assert_allclose(y.numpy(), x * scale + offset, rtol=0, atol=2e-6)
    assert torch.equal(y[:, 3], torch.zeros(500))
    np.testing.assert_allclose(n.inverse(y).numpy(), x, rtol=2e-6, atol=2e-6)


def test_the_model_learns_normalised_actions_and_returns_raw_ones():
    act_lo, act_hi = [10.0, -200.0], [20.0, -100.0]
    m = DiffusionPolicyModel(DPSpec(3, 2, 0, "small", horizon=8, obs_min=[0.0] * 3, obs_max=[1.0] * 3,
                                    act_min=act_lo, act_max=act_hi))
    a = m.sample(torch.zeros(5, 2, 3), torch.zeros(5, dtype=torch.long), 3, torch.Generator().manual_seed(0))
    for j in range(2):                                   # clip_sample in [-1, 1], then back to the data's range
        assert act_lo[j] <= a[..., j].min() and a[..., j].max() <= act_hi[j]
    assert a[..., 0].max() > 1
    raw = torch.tensor([[10.0, -100.0], [15.0, -150.0]])
    assert m.normalise_actions(raw).tolist() == [[-1.0, 1.0], [0.0, 0.0]]


def test_warmup_then_cosine_has_chis_shape():
    total, w = 2000, 500
    f = [warmup_cosine(k, total, w) for k in range(total)]
    assert f[0] == 0.0                                    # the first update is at lr 0, as with diffusers
    for k in (1, 100, 250, 499):                          # linear warm-up
        assert f[k] == pytest.approx(k / 500, abs=1e-12)
    assert f[500] == 1.0 and max(f) == 1.0 and f.index(1.0) == 500       # peak at the warm-up's end
    for k in (750, 1250, 1999):                           # then 0.5 (1 + cos(pi p)), p = (k - 500) / 1500
        assert f[k] == pytest.approx(0.5 * (1 + math.cos(math.pi * (k - 500) / 1500)), abs=1e-12)
    assert f[1250] == pytest.approx(0.5, abs=1e-12)       # halfway through the decay
    assert all(a > b for a, b in zip(f[500:], f[501:]))   # strictly decreasing ...
    assert 0 < f[-1] < 2e-6                               # ... to ~0 at the last update
    assert warmup_cosine(5000, total, w) == f[-1]         # extending a finished run keeps the final rate
    assert [warmup_cosine(k, 20, 500) for k in (0, 5, 10)] == [0.0, 0.5, 1.0]  # warm-up at most half the steps


def test_step_table_pads_episode_ends_as_the_sequence_sampler():
    lengths, n_obs, horizon, n_action = [12, 3, 9], 2, 8, 4
    N = sum(lengths)
    tout = np.zeros(N, bool)
    tout[np.cumsum(lengths) - 1] = True
    ds = Dataset(observations=np.zeros((N, 1), np.float32), actions=np.zeros((N, 1), np.float32),
                 rewards=np.zeros(N, np.float32), terminals=np.zeros(N, bool), timeouts=tout,
                 labels=np.zeros(N, np.int64), label_names=["a"], attrs={"env_id": "x"})
    rows, hist, chunk = step_table(ds, np.arange(3), n_obs, horizon, pad_after=n_action - 1)
    # SequenceSampler by its description: window starts i from -pad_before to L - horizon + pad_after, each
    # index clamped into the episode (edge padding); the observations are the window's first n_obs entries
    want_rows, want_hist, want_chunk, s = [], [], [], 0
    for L in lengths:
        for i in range(-(n_obs - 1), L - horizon + (n_action - 1) + 1):
            idx = [s + min(max(i + j, 0), L - 1) for j in range(horizon)]
            want_rows.append(s + i + n_obs - 1)
            want_hist.append(idx[:n_obs])
            want_chunk.append(idx)
        s += L
    assert rows.tolist() == want_rows and hist.tolist() == want_hist and chunk.tolist() == want_chunk
    # the 3-step episode is too short for any window; the others end on a window whose executed actions
    # (H_a from the current step) finish at the episode's last step, and no window starts later
    assert not any(12 <= r < 15 for r in rows)
    last = [r for r in rows if r < 12][-1]
    assert chunk[list(rows).index(last)][n_obs - 1 + n_action - 1] == 11
    assert step_table(ds, np.arange(3), 1, 1)[0].tolist() == list(range(N))      # MLP-BC: every step


def test_chi_unet_has_the_published_parameter_count():
    # Chi et al. report 65.8M parameters for the low-dim PushT U-Net (obs 20, action 2, 2 observation steps)
    m = DiffusionPolicyModel(DPSpec(20, 2, 0, "chi", horizon=16, n_obs=2, n_action=8))
    assert abs(m.n_params - 65.8e6) <= 0.05e6
    assert m.unet(torch.zeros(1, 16, 2), torch.tensor([3]), torch.zeros(1, 40)).shape == (1, 16, 2)


STEPS = 12


def _cfg(tmp_path):
    save_dataset(make_synthetic(n_eps=4), tmp_path / "toy.h5")
    return preset("toy-tiny").replace(method="diffusion_policy", checkpoint_every=4, data={"dataset": str(
        tmp_path / "toy.h5")}, baseline={"dp_size": "small", "dp_train_steps": 10, "horizon": 8, "n_action": 4,
                                         "steps": STEPS, "batch_size": 8, "dp_warmup": 3})


def test_resume_is_exact_with_the_ema_and_evaluation_uses_it(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    lrs: list[tuple] = []
    step = torch.optim.AdamW.step

    def spy(self, *a, **k):
        g = self.param_groups[0]
        lrs.append((g["lr"], g["betas"], g["weight_decay"]))
        return step(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    list(train_run(str(tmp_path / "full"), cfg))
    assert [x[1:] for x in lrs] == [((0.95, 0.999), 1e-6)] * STEPS       # AdamW with Chi's betas and decay
    assert [x[0] for x in lrs] == pytest.approx([cfg.baseline.lr * warmup_cosine(k, STEPS, 3)
                                                 for k in range(STEPS)], abs=1e-15)
    calls = {"n": 0}

    def cancel_half():
        calls["n"] += 1
        return calls["n"] == STEPS // 2 + 1             # checked before each step: stops after STEPS / 2

    assert list(train_run(str(tmp_path / "cut"), cfg, cancel=cancel_half))[-1].status == "cancelled"
    ck = tmp_path / "cut" / "checkpoints" / "diffusion_policy.safetensors"
    assert load_meta(ck)["step"] == load_meta(ck)["ema_step"] == STEPS // 2
    list(train_run(str(tmp_path / "cut"), resume=True))
    path = "checkpoints/diffusion_policy.safetensors"
    a, b = load_tensors(tmp_path / "full" / path), load_tensors(tmp_path / "cut" / path)
    assert set(a) == set(b)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []           # model, EMA, optimiser and RNG: bitwise
    live = {k for k in a if k.startswith("model.unet.")}
    assert live and {"model.ema." + k[len("model."):] for k in live} <= set(a)
    assert not all(torch.equal(a[k], a["model.ema." + k[6:]]) for k in live)   # the average is not the model
    meta = load_meta(tmp_path / "full" / path)
    assert meta["ema_step"] == meta["step"] == STEPS and meta["normalizer"] == "limits"
    dp = TrainedDP(tmp_path / "full")                     # evaluation loads the average and the normalisers
    sd = dp.model.state_dict()
    assert all(torch.equal(sd[k], a["model.ema." + k]) for k in sd)
    assert dp.model.spec.act_min == meta["act_min"] and not dp.model.training


def test_checkpoints_from_before_ema_still_evaluate_and_refuse_to_resume(tmp_path):
    cfg = _cfg(tmp_path)
    list(train_run(str(tmp_path / "run"), cfg))
    ck = tmp_path / "run" / "checkpoints" / "diffusion_policy.safetensors"
    meta = {k: v for k, v in load_meta(ck).items()
            if k not in ("normalizer", "ema_step", "obs_min", "obs_max", "act_min", "act_max")}
    old = DiffusionPolicyModel(DPSpec(5, 2, 2, "small", horizon=8, n_action=4, n_train_steps=10, norm="zscore",
                                      obs_mean=meta["obs_mean"], obs_std=meta["obs_std"]))
    assert sorted(old.state_dict())[:3] == ["alpha_bar", "obs_mean", "obs_std"]     # the old layout
    save_checkpoint(ck, old, None, None, {**meta, "finished": False, "step": 6})
    dp = TrainedDP(tmp_path / "run")
    assert dp.model.spec.norm == "zscore"
    assert all(torch.equal(v, old.state_dict()[k]) for k, v in dp.model.state_dict().items())
    hist, task = torch.randn(2, 2, 5), torch.tensor([0, 1])
    g = lambda: torch.Generator().manual_seed(0)   # noqa: E731
    assert torch.equal(dp.model.sample(hist, task, 3, g()), old.sample(hist, task, 3, g()))
    with pytest.raises(RunError, match="before EMA.*cannot be resumed"):
        list(train_run(str(tmp_path / "run"), resume=True))


@pytest.mark.parametrize("steps", [None, 10])
def test_samplers_follow_the_forward_marginals_of_a_point_mass(steps):
    """The full DDPM chain (Chi et al.'s PushT inference, ddim_steps=0) and DDIM, given the exact noise of a
    one-point data distribution, eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t): every x_t they visit is
    distributed as q(x_t | x0) = N(sqrt(abar_t) x0, (1 - abar_t) I), and they end on x0 (worked out from the
    forward process, not from the samplers)."""
    m = DiffusionPolicyModel(DPSpec(3, 2, 1, "small", horizon=8, n_obs=2, n_action=4))
    x0 = torch.linspace(-0.8, 0.6, 16).view(1, 8, 2)                                  # inside the clip range
    seen = {}

    def true_eps(x_t, t, cond):
        ab = m.alpha_bar[t].view(-1, 1, 1)
        seen[int(t[0])] = x_t.clone()
        return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
    m.unet.forward = true_eps
    n = 4000
    out = m._sample(torch.zeros(n, 2, 3), torch.zeros(n, dtype=torch.long), steps, torch.Generator().manual_seed(0))
    assert out.shape == (n, 8, 2) and torch.allclose(out, x0.expand(n, -1, -1), atol=1e-4)
    late = sorted(seen)[: len(seen) // 2]                     # the steps nearest the data, where errors would show
    for t in late[1:]:
        ab = float(m.alpha_bar[t])
        mean, std = seen[t].mean(0), seen[t].std(0)
        assert torch.allclose(mean, ab ** 0.5 * x0[0], atol=4 * (1 - ab) ** 0.5 / n ** 0.5 + 1e-4), t
        assert torch.allclose(std, torch.full_like(std, (1 - ab) ** 0.5), rtol=0.08, atol=1e-4), t
