"""The one-exp Mish against PyTorch's: values, gradients (analytic against numeric) and extreme inputs."""
import torch
import torch.nn.functional as F

from lwd_core.models.mish import Mish, mish


def _inputs(dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    wide = torch.randn(4096, generator=g, dtype=torch.float64) * 8
    edges = torch.tensor([-1e4, -100.0, -30.0, -1e-3, 0.0, 1e-3, 19.9, 20.0, 20.1, 30.0, 100.0, 1e4], dtype=torch.float64)
    return torch.cat([wide, edges]).to(dtype)


def test_values_match_pytorch_mish():
    x = _inputs()
    ours, ref = mish(x), F.mish(x)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_gradient_matches_pytorch_mish():
    x = _inputs().requires_grad_()
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    ours, = torch.autograd.grad(mish(x), x, g)
    ref, = torch.autograd.grad(F.mish(x), x, g)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_gradient_against_finite_differences():
    x = (torch.randn(64, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 4).requires_grad_()
    assert torch.autograd.gradcheck(mish, (x,))


def test_module_is_a_drop_in_for_nn_mish():
    x = torch.randn(8, 16, 20, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(Mish()(x), torch.nn.Mish()(x), rtol=1e-5, atol=1e-6)
    assert list(Mish().state_dict()) == []
