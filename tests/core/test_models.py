import math

import numpy as np
import pytest
import torch

from lwd_core.config import VAEConfig
from lwd_core.methods.lwd.ddpm import GaussianDiffusion
from lwd_core.methods.lwd.vae import LWDVAE, kl_term, masked_mse, vae_loss
from lwd_core.models.policy import PolicySpec, batched_policy, reference_policy


def test_policy_param_count_matches_paper():
    assert PolicySpec(39, 4, (256, 256)).n_params == 77_060


@pytest.mark.parametrize("size, millions", [("xs", 3.9), ("s", 7.8), ("m", 15.6), ("l", 31.2)])
def test_decoder_sizes_match_table3(size, millions):
    vae = LWDVAE(VAEConfig(decoder_size=size, encoder_hidden=(8,)), 2, 39, 4, True)
    n = sum(p.numel() for p in vae.decoder.parameters())
    assert abs(n / 1e6 - millions) / millions < 0.03


def test_shapes():
    vae = LWDVAE(VAEConfig(latent_dim=16, encoder_hidden=(32,), policy_hidden=(8, 8)), 7, 5, 3, True)
    obs, act, mask = torch.randn(4, 7, 5), torch.randn(4, 7, 3), torch.ones(4, 7)
    mu, lv = vae.encode(obs, act, mask)
    assert mu.shape == lv.shape == (4, 16)
    theta = vae.decode(mu)
    assert theta.shape == (4, vae.spec.n_params) == (4, 5 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3)
    assert vae.act(theta, obs).shape == (4, 7, 3)


@pytest.mark.parametrize("tanh", [True, False])
def test_batched_policy_matches_per_policy_reference(tanh):
    spec = PolicySpec(39, 4, (256, 256), tanh)
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(6, spec.n_params, generator=g, dtype=torch.float64) * 0.1
    x = torch.randn(6, 50, 39, generator=g, dtype=torch.float64)
    out = batched_policy(spec, theta, x)
    for b in range(6):
        torch.testing.assert_close(out[b], reference_policy(spec, theta[b], x[b]), rtol=1e-12, atol=1e-12)


def test_batched_policy_gradient_matches_per_policy_reference():
    # the VAE trains through this gradient: every generated weight's, in theta's own layout
    spec = PolicySpec(7, 3, (16, 12), True)
    g = torch.Generator().manual_seed(1)
    theta = (torch.randn(4, spec.n_params, generator=g, dtype=torch.float64) * 0.3).requires_grad_()
    x = torch.randn(4, 9, 7, generator=g, dtype=torch.float64)
    y = torch.randn(4, 9, 3, generator=g, dtype=torch.float64)
    (grad,) = torch.autograd.grad(((batched_policy(spec, theta, x) - y) ** 2).sum(), theta)
    for b in range(4):
        one = theta[b].detach().clone().requires_grad_()
        (ref,) = torch.autograd.grad(((reference_policy(spec, one, x[b]) - y[b]) ** 2).sum(), one)
        torch.testing.assert_close(grad[b], ref, rtol=1e-12, atol=1e-12)


def test_numpy_policies_match_torch():
    from lwd_core.export import NumpyPolicyBatch
    from lwd_core.models.policy import split_theta
    spec = PolicySpec(39, 4, (256, 256), True)
    theta = torch.randn(5, spec.n_params) * 0.1
    x = torch.randn(5, 39)
    mean, std = torch.randn(39), torch.rand(39) + 0.5
    ref = batched_policy(spec, theta, ((x - mean) / std)[:, None])[:, 0].numpy()
    pb = NumpyPolicyBatch([(W.numpy(), b.numpy()) for W, b in split_theta(spec, theta)], mean.numpy(), std.numpy())
    np.testing.assert_allclose(pb.act(x.numpy()), ref, atol=1e-5)
    np.testing.assert_allclose(pb.policy(3).act(x[3].numpy()), ref[3], atol=1e-5)


def test_kl_hand_computed():
    mu = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # row 0: (1+0-1-0) + (2+1-1-log2) = 2 - log 2 ; row 1: (1+4-1-0) + 0 = 4
    assert kl_term(mu, logvar).item() == pytest.approx(((2 - math.log(2)) + 4) / 2)


def test_masked_mse_hand_computed():
    pred = torch.tensor([[[1.0, 0.0], [3.0, 3.0]]])
    tgt = torch.zeros(1, 2, 2)
    assert masked_mse(pred, tgt, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(0.5)
    assert masked_mse(pred, tgt, torch.tensor([[1.0, 1.0]])).item() == pytest.approx((1 + 18) / 4)


def test_vae_loss_is_mse_plus_beta_kl():
    torch.manual_seed(0)
    vae = LWDVAE(VAEConfig(latent_dim=8, encoder_hidden=(16,), policy_hidden=(8,), beta_kl=0.5), 6, 3, 2, True)
    out = vae_loss(vae, torch.randn(2, 6, 3), torch.rand(2, 6, 2), torch.ones(2, 6))
    assert out["loss"].item() == pytest.approx(out["mse"].item() + 0.5 * out["kl"].item(), rel=1e-6)


class OracleEps(torch.nn.Module):
    """The exact E[eps | x_t] for data x0 ~ N(m, s^2 I)."""

    def __init__(self, diff_ref, m, s):
        super().__init__()
        self.ref, self.m, self.s = [diff_ref], m, s

    def forward(self, x, t, cond, state=None):
        ab = self.ref[0].alpha_bar[t].unsqueeze(-1)
        return (1 - ab).sqrt() / (ab * self.s ** 2 + 1 - ab) * (x - ab.sqrt() * self.m)


def _diff(m, s, T=1000):
    d = GaussianDiffusion(torch.nn.Identity(), latent_dim=2, n_steps=T)
    d.eps_model = OracleEps(d, m, s)
    return d


def test_schedule_is_labml_linear():
    d = _diff(0.0, 1.0)
    assert d.beta[0].item() == pytest.approx(1e-4) and d.beta[-1].item() == pytest.approx(0.02)
    assert d.alpha_bar[-1].item() < 1e-4


def test_q_sample_statistics():
    d = _diff(0.0, 1.0)
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000, 1), 3.0)
    for t in (0, 100, 999):
        xt = d.q_sample(x0, torch.full((len(x0),), t), torch.randn(x0.shape, generator=g))
        ab = d.alpha_bar[t].item()
        assert xt.mean().item() == pytest.approx(3 * math.sqrt(ab), abs=0.01)
        assert xt.std().item() == pytest.approx(math.sqrt(1 - ab), abs=0.01)


def test_p_sample_and_ddim_recover_data_distribution():
    m, s = 2.0, 0.5
    d = _diff(m, s)
    c = torch.zeros(4000, dtype=torch.long)
    g = torch.Generator().manual_seed(1)
    x = d.sample_ddpm(4000, 2, c, generator=g, clip=False)
    assert x.mean().item() == pytest.approx(m, abs=0.03) and x.std().item() == pytest.approx(s, abs=0.03)
    y = d.sample_ddim(4000, 2, c, steps=50, generator=g, clip=False)
    assert y.mean().item() == pytest.approx(m, abs=0.03) and y.std().item() == pytest.approx(s, abs=0.03)
    # one p_sample step from the prior keeps the marginal of x_{T-1}
    xt = torch.randn(100_000, 1, generator=g)
    x1 = d.p_sample(xt, 999, torch.zeros(100_000, dtype=torch.long), generator=g, clip=False)
    ab = d.alpha_bar[998].item()
    assert x1.std().item() == pytest.approx(math.sqrt(ab * s ** 2 + 1 - ab), abs=0.02)


def test_x0_clipping_bounds_samples_per_dimension():
    """The oracle's data are N(2, 0.5^2) in both dimensions. x0 is clipped to a box of its own per dimension:
    dim 0 to [-0.1, 0.1], below almost every data point, dim 1 to [1.5, 2.5], which holds 68% of them. Both samplers
    must end inside each dimension's own box, dim 1 still spread around 2.0 (not piled on an edge, not moved to dim
    0's box); without clipping both dimensions stay N(2, 0.5^2)."""
    d = _diff(2.0, 0.5)
    d.set_normalizers(torch.zeros(2), torch.ones(2), torch.tensor([-0.1, 1.5]), torch.tensor([0.1, 2.5]))
    g = torch.Generator().manual_seed(0)
    c = torch.zeros(2000, dtype=torch.long)
    free = d.sample_ddim(2000, 2, c, steps=20, generator=g, clip=False)
    assert free.mean(0).tolist() == pytest.approx([2.0, 2.0], abs=0.05) and (free[:, 0] > 0.1).float().mean() > 0.99
    # DDIM returns the clipped x0 itself; DDPM's last step scales it by beta_0 / (1 - alpha_bar_0) = 1 up to float32
    for y, tol in ((d.sample_ddim(2000, 2, c, steps=20, generator=g), 1e-6), (d.sample_ddpm(2000, 2, c, generator=g),
                                                                             1e-3)):
        assert y[:, 0].min() >= -0.1 - tol and y[:, 0].max() <= 0.1 + tol
        assert y[:, 1].min() >= 1.5 - tol and y[:, 1].max() <= 2.5 + tol
        assert y[:, 1].mean().item() == pytest.approx(2.0, abs=0.05)
        assert ((y[:, 1] > 1.51) & (y[:, 1] < 2.49)).float().mean() > 0.6      # inside the box, not on its edges
