import numpy as np
import pytest
import torch

from lwd_core.methods.diffusion_policy.model import (
    DiffusionPolicy,
    DiffusionPolicyModel,
    DPSpec,
)
from lwd_core.methods.mlp_bc.model import MLPBC, MLPBCPolicy


def dense_params(sizes):
    """Weights and biases of fully connected layers sizes[0] -> sizes[1] -> ... -> sizes[-1]."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))


@pytest.mark.parametrize("width", [512, 256, 128])
def test_mlp_bc_shapes_and_size(width):
    m = MLPBC(39, 4, 10, width)
    assert sum(isinstance(x, torch.nn.Linear) for x in m.net) == 6           # 5 hidden layers + output
    out = m(torch.randn(7, 39), torch.arange(7) % 10)
    assert out.shape == (7, 4) and out.abs().max() <= 1
    # 39-d observation + 10-d task one-hot -> 5 hidden layers of `width` -> 4 actions
    expected = dense_params([39 + 10] + [width] * 5 + [4])
    assert m.n_params == expected and sum(p.numel() for p in m.parameters()) == expected
    assert dense_params([49, 512, 512, 512, 512, 512, 4]) == 1_078_276       # README's Table 2 row, MLP 512


def test_mlp_bc_task_one_hot_changes_output():
    torch.manual_seed(0)
    m = MLPBC(5, 2, 3, 32)
    o = torch.randn(1, 5)
    assert not torch.allclose(m(o, torch.tensor([0])), m(o, torch.tensor([2])))


def test_mlp_bc_save_load_exact(tmp_path):
    torch.manual_seed(0)
    m = MLPBC(39, 4, 10, 128)
    m.obs_mean.normal_()
    pol = MLPBCPolicy(m, task=3)
    pol.save(tmp_path / "bc.safetensors")
    back = MLPBCPolicy.load(tmp_path / "bc.safetensors")
    assert back.task == 3
    for (k, v), (k2, v2) in zip(m.state_dict().items(), back.model.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    o = np.random.randn(39).astype(np.float32)
    np.testing.assert_array_equal(pol.act(o), back.act(o))


@pytest.mark.parametrize("size, paper_k", [("small", 403.6), ("large", 2086.9)])
def test_dp_shapes_and_size_near_paper(size, paper_k):
    m = DiffusionPolicyModel(DPSpec(39, 4, 10, size))
    assert abs(m.n_params / 1e3 - paper_k) / paper_k < 0.05                 # Table 2 counts, within 5%
    x, t = torch.randn(3, 16, 4), torch.tensor([0, 50, 99])
    cond = m.global_cond(torch.randn(3, 2, 39), torch.tensor([0, 1, 9]))
    assert cond.shape == (3, 2 * 49) and m.unet(x, t, cond).shape == (3, 16, 4)
    for steps in (None, 10):
        a = m.sample(torch.randn(2, 2, 39), torch.tensor([0, 1]), steps)
        assert a.shape == (2, 16, 4) and a.abs().max() <= 1


def test_dp_loss_decreases_on_a_fixed_chunk():
    torch.manual_seed(0)
    m = DiffusionPolicyModel(DPSpec(3, 2, 0, "small", horizon=8))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    obs, acts = torch.randn(16, 2, 3), torch.rand(16, 8, 2) * 2 - 1
    task = torch.zeros(16, dtype=torch.long)

    def held_loss():  # the same timesteps and noise each time
        with torch.no_grad():
            return np.mean([m.loss(obs, task, acts, torch.Generator().manual_seed(100 + i)).item() for i in range(8)])

    before = held_loss()
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        loss = m.loss(obs, task, acts, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert held_loss() < 0.6 * before


def test_dp_policy_replans_every_action_horizon(tmp_path):
    m = DiffusionPolicyModel(DPSpec(3, 2, 0, "small", horizon=16, n_obs=2, n_action=8))
    pol = DiffusionPolicy(m, ddim_steps=5)
    calls = {"n": 0}
    orig = m.sample

    def counting(*a, **k):
        calls["n"] += 1
        return orig(*a, **k)

    m.sample = counting
    pol.reset()
    acts = [pol.act(np.zeros(3)) for _ in range(20)]
    assert calls["n"] == 3 and all(a.shape == (2,) for a in acts)          # steps 0, 8, 16
    m.sample = orig
    pol.save(tmp_path / "dp.safetensors")
    back = DiffusionPolicy.load(tmp_path / "dp.safetensors")
    assert back.ddim_steps == 5 and back.model.spec == m.spec
    for (k, v), (k2, v2) in zip(m.state_dict().items(), back.model.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)


def test_dp_batch_executes_an_overridden_action_horizon_and_refuses_one_too_long():
    from types import SimpleNamespace

    from lwd_core.config import EvalConfig
    from lwd_core.errors import LWDError
    from lwd_core.methods.diffusion_policy.inference import DPBatch, TrainedDP
    m = DiffusionPolicyModel(DPSpec(3, 2, 1, "small", horizon=16, n_obs=2, n_action=8))
    b = DPBatch(m, 0, 5, seed=0, n_action=3)
    acts = [b(np.zeros((4, 3), np.float32)) for _ in range(10)]
    assert b.queries.tolist() == [4] * 4 and acts[0].shape == (4, 2)       # steps 0, 3, 6, 9
    fake = SimpleNamespace(model=m, ddim_steps=5)
    assert TrainedDP.batch_policy(fake, "diffusion_policy", 0, 4, EvalConfig(action_horizon=15), 0, None).n_action == 15
    with pytest.raises(LWDError, match="at most 15"):
        TrainedDP.batch_policy(fake, "diffusion_policy", 0, 4, EvalConfig(action_horizon=16), 0, None)
