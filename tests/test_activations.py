"""Tests for dlfoundations.activations: each function equals PyTorch's, each derivative equals autograd's."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dlfoundations import activations as act
from dlfoundations.seed import make_generator

# (ours, its derivative, PyTorch's reference)
ELEMENTWISE = {
    "relu": (act.relu, act.relu_grad, torch.relu),
    "leaky_relu": (act.leaky_relu, act.leaky_relu_grad, F.leaky_relu),
    "leaky_relu_0.2": (
        lambda x: act.leaky_relu(x, 0.2),
        lambda x: act.leaky_relu_grad(x, 0.2),
        lambda x: F.leaky_relu(x, 0.2),
    ),
    "gelu": (act.gelu, act.gelu_grad, F.gelu),
    "sigmoid": (act.sigmoid, act.sigmoid_grad, torch.sigmoid),
    "tanh": (act.tanh, act.tanh_grad, torch.tanh),
}


def _inputs(seed: int, shape=(64, 7)) -> torch.Tensor:
    """float64 draws, kept at least 1e-3 away from 0 (ReLU's kink)."""
    x = 3.0 * torch.randn(shape, generator=make_generator(seed), dtype=torch.float64)
    return torch.where(x.abs() < 1e-3, torch.full_like(x, 0.5), x)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_function_equals_pytorch(name, seed):
    ours, _, theirs = ELEMENTWISE[name]
    x = _inputs(seed)
    torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_derivative_equals_autograd(name, seed):
    _, grad, theirs = ELEMENTWISE[name]
    x = _inputs(seed).requires_grad_(True)
    # The functions are element-wise, so the gradient of the sum is the derivative at each element.
    (autograd,) = torch.autograd.grad(theirs(x).sum(), x)
    torch.testing.assert_close(grad(x.detach()), autograd)


@pytest.mark.parametrize("name", ["leaky_relu", "gelu", "sigmoid", "tanh"])
def test_our_function_passes_gradcheck(name):
    ours, _, _ = ELEMENTWISE[name]
    x = _inputs(3, shape=(5, 3)).requires_grad_(True)
    assert torch.autograd.gradcheck(ours, (x,))


def test_extreme_inputs_do_not_overflow():
    x = torch.tensor([-1000.0, -50.0, -1e-12, 0.0, 1e-12, 50.0, 1000.0], dtype=torch.float64)
    for ours, theirs in [(act.sigmoid, torch.sigmoid), (act.tanh, torch.tanh), (act.gelu, F.gelu)]:
        out = ours(x)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out, theirs(x))
    logits = torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64)
    torch.testing.assert_close(act.softmax(logits), torch.softmax(logits, -1))


def test_relu_derivative_is_zero_at_the_kink_like_autograd():
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (autograd,) = torch.autograd.grad(torch.relu(x).sum(), x)
    torch.testing.assert_close(act.relu_grad(x.detach()), autograd)


def test_gelu_is_the_erf_form_not_the_tanh_approximation():
    x = _inputs(4)
    torch.testing.assert_close(act.gelu(x), F.gelu(x, approximate="none"))
    assert (act.gelu(x) - F.gelu(x, approximate="tanh")).abs().max() > 1e-6


def test_a_wrong_derivative_is_caught():
    # A common slip: writing sigma'(x) = sigma(x) (1 + sigma(x)). The autograd comparison must fail.
    x = _inputs(5).requires_grad_(True)
    (autograd,) = torch.autograd.grad(torch.sigmoid(x).sum(), x)
    s = act.sigmoid(x.detach())
    with pytest.raises(AssertionError):
        torch.testing.assert_close(s * (1 + s), autograd)


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_softmax_equals_pytorch(dim):
    x = torch.randn(4, 5, 6, generator=make_generator(6), dtype=torch.float64)
    out = act.softmax(x, dim=dim)
    torch.testing.assert_close(out, torch.softmax(x, dim=dim))
    torch.testing.assert_close(out.sum(dim=dim), torch.ones_like(out.sum(dim=dim)))


def test_softmax_jacobian_equals_autograd_1d():
    z = torch.randn(6, generator=make_generator(7), dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), z)
    torch.testing.assert_close(act.softmax_jacobian(z), J)


def test_softmax_jacobian_equals_autograd_batched():
    Z = torch.randn(4, 5, generator=make_generator(8), dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), Z)  # (N, K, N, K)
    blocks = torch.stack([J[i, :, i, :] for i in range(Z.shape[0])])  # (N, K, K)
    torch.testing.assert_close(act.softmax_jacobian(Z), blocks)
    # Rows do not interact: the off-diagonal blocks are zero.
    assert J[0, :, 1, :].abs().max() == 0


def test_softmax_jacobian_without_the_outer_product_is_caught():
    z = torch.randn(5, generator=make_generator(9), dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), z)
    wrong = torch.diag(act.softmax(z))  # forgets -s s^T: treats softmax as element-wise
    with pytest.raises(AssertionError):
        torch.testing.assert_close(wrong, J)


def test_input_validation():
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor, got list"):
        act.relu([1.0, -1.0])
    with pytest.raises(TypeError, match="floating tensor, got dtype torch.int64"):
        act.sigmoid(torch.arange(3))
    with pytest.raises(TypeError, match="negative_slope must be a float, got str"):
        act.leaky_relu(torch.zeros(2), "0.1")
    with pytest.raises(ValueError, match="negative_slope must be finite, got inf"):
        act.leaky_relu_grad(torch.zeros(2), float("inf"))
    with pytest.raises(ValueError, match=r"dim must be in \[-2, 1\] for a 2-d input, got 2"):
        act.softmax(torch.zeros(2, 3), dim=2)
    with pytest.raises(TypeError, match="dim must be an int, got float"):
        act.softmax(torch.zeros(2, 3), dim=1.0)
    with pytest.raises(ValueError, match="at least 1 dimension, got a 0-d tensor"):
        act.softmax(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"expected x of shape \(K,\) or \(N, K\), got \(2, 3, 4\)"):
        act.softmax_jacobian(torch.zeros(2, 3, 4))


def test_sigmoid_float32_ends_as_the_docstring_says():
    # 1 from the first float32 at or above 24 ln 2 (where 1 + e^{-x} rounds to 1), as torch.sigmoid;
    # 0 only where e^{-|x|} underflows, while torch.sigmoid is 0 already where its e^{-x} overflows.
    one_at = torch.tensor(24 * math.log(2), dtype=torch.float32)
    if one_at.item() < 24 * math.log(2):
        one_at = torch.nextafter(one_at, torch.tensor(math.inf))
    below = torch.nextafter(one_at, torch.tensor(0.0))
    assert act.sigmoid(one_at).item() == 1.0 and torch.sigmoid(one_at).item() == 1.0
    assert act.sigmoid(below).item() < 1.0 and torch.sigmoid(below).item() < 1.0
    x = torch.tensor(-95.0)
    assert torch.sigmoid(x).item() == 0.0 and act.sigmoid(x).item() > 0.0
    assert act.sigmoid(torch.tensor(-104.0)).item() == 0.0
