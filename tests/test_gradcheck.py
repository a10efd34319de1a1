"""Tests for dlfoundations.gradcheck: finite differences against autograd."""

import pytest
import torch

from dlfoundations.gradcheck import check_grad, numerical_grad


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=_gen(seed), dtype=torch.float64)


# Smooth float64 functions of one or more inputs, each returning a scalar.
FUNCTIONS = {
    "polynomial": (lambda x: (x**3 - 2 * x**2 + 3 * x + 1).sum(), ((5,),)),
    "sin": (lambda x: torch.sin(x).prod(), ((2, 3),)),
    "matmul": (lambda X, W: torch.tanh(X @ W.T).pow(2).mean(), ((4, 3), (2, 3))),  # (N, O)
    "exp-log": (lambda x, y: (torch.exp(0.3 * x) * torch.log1p(y**2)).sum(), ((6,), (6,))),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_check_grad_agrees_with_autograd(name, seed):
    fn, shapes = FUNCTIONS[name]
    inputs = [_randn(*shape, seed=seed + 10 * i) for i, shape in enumerate(shapes)]
    assert check_grad(fn, inputs) < 1e-7


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_numerical_grad_matches_autograd_elementwise(name):
    fn, shapes = FUNCTIONS[name]
    inputs = [_randn(*shape, seed=3 + i) for i, shape in enumerate(shapes)]
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    expected = torch.autograd.grad(fn(*leaves), leaves)
    for got, want in zip(numerical_grad(fn, inputs), expected):
        torch.testing.assert_close(got, want, atol=1e-7, rtol=1e-6)


def test_numerical_grad_of_square_is_two_x():
    x = _randn(7)
    (grad,) = numerical_grad(lambda x: (x**2).sum(), x)
    torch.testing.assert_close(grad, 2 * x, atol=1e-8, rtol=0)


def test_numerical_grad_of_polynomial_at_two_is_seven():
    x = torch.tensor(2.0, dtype=torch.float64)
    (grad,) = numerical_grad(lambda x: x**2 + 3 * x + 1, x)
    torch.testing.assert_close(grad, torch.tensor(7.0, dtype=torch.float64), atol=1e-8, rtol=0)


def test_numerical_grad_does_not_modify_inputs_and_keeps_shapes():
    X, W = _randn(4, 3), _randn(2, 3, seed=1)
    X0, W0 = X.clone(), W.clone()
    grads = numerical_grad(lambda X, W: (X @ W.T).sum(), [X, W])
    assert [g.shape for g in grads] == [X.shape, W.shape]
    assert all(g.dtype == torch.float64 for g in grads)
    assert torch.equal(X, X0) and torch.equal(W, W0)


def test_central_difference_error_falls_like_eps_squared():
    x = torch.tensor(1.0, dtype=torch.float64)
    exact = torch.cos(x)
    err = [(numerical_grad(torch.sin, x, eps=eps)[0] - exact).abs().item() for eps in (1e-2, 1e-3)]
    # Truncation error is f'''(x) eps^2 / 6: ten times smaller eps, ~100 times smaller error.
    assert 50 < err[0] / err[1] < 200


class _WrongSquare(torch.autograd.Function):
    """x ** 2 with a deliberately wrong backward (x instead of 2 x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x  # wrong: should be 2 * x


def test_check_grad_detects_wrong_backward():
    x = _randn(5) + 3.0  # keep |x| away from 0, where x and 2x agree
    diff = check_grad(lambda x: _WrongSquare.apply(x).sum(), x)
    assert diff > 1.0
    # The reported difference is exactly |x| at its largest (the missing half of 2x).
    assert diff == pytest.approx(x.abs().max().item(), rel=1e-6)
    # torch's own gradcheck agrees that this backward is wrong.
    assert not torch.autograd.gradcheck(_WrongSquare.apply, (x.clone().requires_grad_(True),), raise_exception=False)


def test_check_grad_of_unused_input_is_zero_difference():
    x, y = _randn(3), _randn(2, seed=1)
    assert check_grad(lambda x, y: (x**2).sum(), [x, y]) < 1e-8
    assert check_grad(lambda x: torch.tensor(1.0, dtype=torch.float64), x) == 0.0


def test_check_grad_leaves_inputs_untouched():
    x = _randn(4)
    check_grad(lambda x: torch.sin(x).sum(), x)
    assert x.grad is None and not x.requires_grad


@pytest.mark.parametrize("func", [numerical_grad, check_grad])
def test_rejects_float32_naming_both_dtypes(func):
    with pytest.raises(TypeError, match=r"inputs\[0\] of dtype torch.float64, got torch.float32"):
        func(lambda x: x.sum(), torch.ones(3))


@pytest.mark.parametrize("func", [numerical_grad, check_grad])
def test_rejects_non_tensor_input(func):
    with pytest.raises(TypeError, match=r"inputs\[1\] to be a torch.Tensor, got list"):
        func(lambda x, y: x.sum(), [torch.ones(2, dtype=torch.float64), [1.0, 2.0]])


@pytest.mark.parametrize("func", [numerical_grad, check_grad])
def test_rejects_non_scalar_output_naming_shape(func):
    with pytest.raises(ValueError, match=r"scalar \(shape \(\)\), got shape \(3,\)"):
        func(lambda x: x**2, torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("func", [numerical_grad, check_grad])
def test_rejects_non_tensor_output(func):
    with pytest.raises(TypeError, match="return a torch.Tensor, got float"):
        func(lambda x: 1.0, torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("eps", [0.0, -1e-3])
def test_rejects_non_positive_eps(eps):
    with pytest.raises(ValueError, match=f"expected eps > 0, got {eps}"):
        numerical_grad(lambda x: x.sum(), torch.ones(2, dtype=torch.float64), eps=eps)
