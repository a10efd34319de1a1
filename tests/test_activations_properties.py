"""Property-based tests for dlfoundations.activations: equal to PyTorch at the edges too.

Hypothesis draws inputs that reach exact zeros (ReLU's kink, the symmetric point of sigmoid and
tanh), signed zeros, NaN, ±inf, magnitudes near the float limits, empty tensors and size-1
dimensions (``tests/strategies.py``). Each function is compared with PyTorch's on its values and on
the gradients autograd takes through it, and each hand-written derivative with autograd's
derivative of PyTorch's function, in float32 and float64.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import DTYPES, assert_same, grads, tensors

from dlfoundations import activations as act

_F32_MAX = torch.finfo(torch.float32).max


def _gelu_reference(x: torch.Tensor) -> torch.Tensor:
    """``F.gelu``, except where its vectorised float32 kernel parts from the math (see gelu's Note)."""
    out = F.gelu(x)
    if x.dtype != torch.float32:
        return out
    documented = x > _F32_MAX / 2  # +inf included: GELU(x) = x there, as in float64
    return torch.where(documented, x, out)


# name: (ours, our derivative, PyTorch's reference)
ELEMENTWISE = {
    "relu": (act.relu, act.relu_grad, torch.relu),
    "leaky_relu": (act.leaky_relu, act.leaky_relu_grad, F.leaky_relu),
    "leaky_relu_0.2": (lambda x: act.leaky_relu(x, 0.2), lambda x: act.leaky_relu_grad(x, 0.2),
                       lambda x: F.leaky_relu(x, 0.2)),
    "leaky_relu_-0.5": (lambda x: act.leaky_relu(x, -0.5), lambda x: act.leaky_relu_grad(x, -0.5),
                        lambda x: F.leaky_relu(x, -0.5)),
    "gelu": (act.gelu, act.gelu_grad, _gelu_reference),
    "sigmoid": (act.sigmoid, act.sigmoid_grad, torch.sigmoid),
    "tanh": (act.tanh, act.tanh_grad, torch.tanh),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
@given(data=st.data())
def test_elementwise_values_autograd_and_derivative_equal_pytorch(name, dtype, data):
    ours, derivative, reference = ELEMENTWISE[name]
    x = data.draw(tensors(dtype, min_dims=0, max_dims=3), label="x")
    out = ours(x)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert_same(out, reference(x))  # NaN where PyTorch has NaN, ±inf where it has ±inf
    (expected_grad,) = grads(reference, x)  # element-wise: the gradient of the sum is f' at every element
    assert_same(grads(ours, x)[0], expected_grad)  # autograd through our formula
    assert_same(derivative(x), expected_grad)  # our hand-written derivative


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_values_and_autograd_equal_pytorch(dtype, data):
    x = data.draw(tensors(dtype, min_dims=1, max_dims=3), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    # A random upstream gradient: with all ones the softmax gradient is 0 and checks nothing.
    w = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    out = act.softmax(x, dim=dim)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert_same(out, torch.softmax(x, dim=dim))
    ours = grads(lambda t: act.softmax(t, dim=dim), x, grad_output=w)[0]
    theirs = grads(lambda t: torch.softmax(t, dim=dim), x, grad_output=w)[0]
    assert_same(ours, theirs)


def _softmax_jacobian_reference(x: torch.Tensor) -> torch.Tensor:
    def jac(z):  # (K,) -> (K, K)
        return torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), z)

    K = x.shape[-1]
    if K == 0:
        return x.new_zeros(*x.shape, 0)
    if x.ndim == 1:
        return jac(x)
    return torch.stack([jac(row) for row in x]) if len(x) else x.new_zeros(0, K, K)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_jacobian_equals_autograd(dtype, data):
    x = data.draw(tensors(dtype, min_dims=1, max_dims=2), label="x")
    J = act.softmax_jacobian(x)
    assert J.shape == (*x.shape, x.shape[-1]) and J.dtype == dtype
    assert_same(J, _softmax_jacobian_reference(x))


@given(x=tensors(torch.float64, min_dims=1, max_dims=2, allow_nan=False, allow_infinity=False,
                 min_value=-50.0, max_value=50.0, min_side=1))
def test_softmax_rows_sum_to_one_and_are_shift_invariant(x):
    s = act.softmax(x, dim=-1)
    torch.testing.assert_close(s.sum(-1), torch.ones_like(s.sum(-1)))
    assert_same(act.softmax(x + 7.0, dim=-1), s)


# ---------------------------------------------------------------- the edges, one by one


@pytest.mark.parametrize("dtype", DTYPES)
def test_autograd_at_zero_is_the_derivative(dtype):
    # The case: abs and sign have derivative 0 at 0, so sigmoid and tanh built on them gave 0.
    x = torch.tensor([0.0, -0.0], dtype=dtype)
    assert_same(grads(act.sigmoid, x)[0], torch.full_like(x, 0.25))
    assert_same(grads(act.tanh, x)[0], torch.ones_like(x))
    assert_same(grads(act.gelu, x)[0], torch.full_like(x, 0.5))
    assert_same(grads(act.relu, x)[0], torch.zeros_like(x))  # autograd's choice at the kink
    assert_same(grads(act.leaky_relu, x)[0], torch.full_like(x, 0.01))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_propagates(name, dtype):
    # A ReLU that turns NaN into 0 hides a diverging model.
    ours, _, _ = ELEMENTWISE[name]
    assert torch.isnan(ours(torch.tensor([math.nan], dtype=dtype))).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_grad_at_nan_is_autograds(dtype):
    x = torch.tensor([math.nan, 0.0, -1.0, 2.0], dtype=dtype)
    assert_same(act.relu_grad(x), torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=dtype))


def test_gelu_float32_at_the_top_of_the_range_is_x_as_documented():
    x = torch.tensor([math.inf, _F32_MAX, _F32_MAX * 0.75], dtype=torch.float32)
    assert_same(act.gelu(x), x)
    assert_same(act.gelu(x.double()), F.gelu(x.double()))  # float64 PyTorch agrees
    assert torch.isnan(act.gelu(torch.tensor([-math.inf]))).all()  # -inf * Phi(-inf) = -inf * 0, as F.gelu


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4), (0, 0), (2, 0, 3)])
def test_softmax_of_empty_tensors(dtype, shape):
    x = torch.zeros(shape, dtype=dtype)
    for dim in range(-len(shape), len(shape)):
        assert_same(act.softmax(x, dim=dim), torch.softmax(x, dim=dim))
    if len(shape) <= 2:
        assert act.softmax_jacobian(x).shape == (*shape, shape[-1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_at_huge_and_infinite_logits(dtype):
    big = torch.finfo(dtype).max
    x = torch.tensor([[big, -big, 0.0], [-math.inf, 0.0, 1.0], [math.inf, 0.0, 1.0],
                      [-math.inf, -math.inf, -math.inf], [big, big, big]], dtype=dtype)
    assert_same(act.softmax(x), torch.softmax(x, -1))
    w = torch.arange(15, dtype=dtype).reshape(5, 3)
    assert_same(grads(act.softmax, x, grad_output=w)[0], grads(lambda t: torch.softmax(t, -1), x, grad_output=w)[0])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_output_keeps_the_input_dtype(name, dtype):
    # One tensor in, the same dtype out: never a third dtype, also for the half-precision types.
    ours, derivative, _ = ELEMENTWISE[name]
    x = torch.linspace(-3, 3, 13).to(dtype)
    assert ours(x).dtype == dtype and derivative(x).dtype == dtype
    assert act.softmax(x).dtype == dtype and act.softmax_jacobian(x).dtype == dtype


# ---------------------------------------------------------------- bad input

_X = torch.zeros(2, 3)
_ONE_ARG = [act.relu, act.relu_grad, act.leaky_relu, act.leaky_relu_grad, act.gelu, act.gelu_grad,
            act.sigmoid, act.sigmoid_grad, act.tanh, act.tanh_grad, act.softmax, act.softmax_jacobian]

BAD_INPUTS = [
    *[(fn, ([1.0, -1.0],), {}, TypeError, r"expected x to be a torch.Tensor, got list") for fn in _ONE_ARG],
    *[(fn, (torch.arange(3),), {}, TypeError, r"floating tensor, got dtype torch.int64") for fn in _ONE_ARG],
    *[(fn, (torch.ones(3, dtype=torch.bool),), {}, TypeError, r"floating tensor, got dtype torch.bool")
      for fn in _ONE_ARG],
    *[(fn, (torch.ones(3, dtype=torch.complex64),), {}, TypeError, r"floating tensor, got dtype torch.complex64")
      for fn in _ONE_ARG],
    *[(fn, (1.5,), {}, TypeError, r"torch.Tensor, got float") for fn in _ONE_ARG],
    *[(fn, (_X, "0.1"), {}, TypeError, r"negative_slope must be a float, got str")
      for fn in (act.leaky_relu, act.leaky_relu_grad)],
    *[(fn, (_X, True), {}, TypeError, r"negative_slope must be a float, got bool")
      for fn in (act.leaky_relu, act.leaky_relu_grad)],
    *[(fn, (_X, bad), {}, ValueError, rf"negative_slope must be finite, got {bad}")
      for fn in (act.leaky_relu, act.leaky_relu_grad) for bad in (math.inf, -math.inf, math.nan)],
    (act.softmax, (_X,), {"dim": 2}, ValueError, r"dim must be in \[-2, 1\] for a 2-d input, got 2"),
    (act.softmax, (_X,), {"dim": -3}, ValueError, r"dim must be in \[-2, 1\] for a 2-d input, got -3"),
    (act.softmax, (_X,), {"dim": 1.0}, TypeError, r"dim must be an int, got float"),
    (act.softmax, (_X,), {"dim": None}, TypeError, r"dim must be an int, got NoneType"),
    (act.softmax, (_X,), {"dim": True}, TypeError, r"dim must be an int, got bool"),
    (act.softmax, (torch.tensor(1.0),), {}, ValueError, r"at least 1 dimension, got a 0-d tensor"),
    (act.softmax_jacobian, (torch.zeros(2, 3, 4),), {}, ValueError,
     r"expected x of shape \(K,\) or \(N, K\), got \(2, 3, 4\)"),
    (act.softmax_jacobian, (torch.tensor(1.0),), {}, ValueError, r"expected x of shape \(K,\) or \(N, K\), got \(\)"),
]


@pytest.mark.parametrize("fn, args, kwargs, error, message", BAD_INPUTS,
                         ids=[f"{case[0].__name__}-{i}" for i, case in enumerate(BAD_INPUTS)])
def test_bad_input_raises_a_message_naming_expected_and_got(fn, args, kwargs, error, message):
    with pytest.raises(error, match=message):
        fn(*args, **kwargs)
