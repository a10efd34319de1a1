"""Property-based tests for dlfoundations.backprop: the hand-written network against PyTorch at the edges.

Activations, softmax, log-softmax and the loss (the functions of ``activations`` and
``losses`` that the network uses) are compared with ``torch.sigmoid``,
``torch.tanh``, ``torch.relu``, ``torch.softmax``, ``torch.log_softmax`` and
``F.cross_entropy`` on values that include 0 (ReLU's kink, the symmetric point of
sigmoid and tanh), -0, tiny, ±max, NaN and ±inf; the hand-written gradients of the
two-layer network are compared with autograd on the same graph, with pre-activations
exactly at the kink, empty batches and single examples, in float32 and float64.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import DTYPES, assert_same, finite_tensors, tensors

from dlfoundations.activations import softmax
from dlfoundations.backprop import (
    ACTIVATIONS,
    BackpropLoss,
    accuracy,
    activation_derivative,
    activation_forward,
    backward,
    forward,
    init_params,
    train_gradient_descent,
)
from dlfoundations.losses import cross_entropy, cross_entropy_grad, log_softmax

TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
NAMES = ("W1", "b1", "W2", "b2")


def _tol(dtype: torch.dtype, scale: float = 1.0) -> dict[str, float]:
    if dtype == torch.float32:
        return dict(rtol=1e-4, atol=1e-5 * scale)
    return dict(rtol=1e-9, atol=1e-12 * scale)


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), activation=st.sampled_from(list(ACTIVATIONS)))
def test_activation_and_derivative_equal_torch_and_autograd(dtype, data, activation):
    Z = data.draw(tensors(dtype, max_dims=3))
    f = TORCH_ACTIVATIONS[activation]
    A = activation_forward(Z, activation)
    assert A.dtype == dtype and A.shape == Z.shape
    # Relative: tiny values too. The absolute floor is the smallest normal number: below float32's
    # -88.72 torch.sigmoid has underflowed to 0 where the sigmoid of activations still returns e^z
    # (a subnormal; see the Note of dlfoundations.activations.sigmoid).
    assert_same(A, f(Z), rtol=4 * torch.finfo(dtype).eps, atol=torch.finfo(dtype).tiny)
    leaf = Z.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(f(leaf), leaf, torch.ones_like(Z))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-15)
    assert_same(activation_derivative(Z, activation), expected, **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_derivatives_at_the_kink_and_the_symmetric_point(dtype):
    Z = torch.tensor([0.0, -0.0], dtype=dtype)
    assert activation_derivative(Z, "relu").tolist() == [0.0, 0.0]  # relu'(0) = 0, as torch
    assert activation_derivative(Z, "sigmoid").tolist() == [0.25, 0.25]
    assert activation_derivative(Z, "tanh").tolist() == [1.0, 1.0]
    assert activation_forward(torch.tensor([math.nan], dtype=dtype), "relu").isnan().all()  # NaN is not hidden


# ---------------------------------------------------------------- softmax, log-softmax, loss


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_log_softmax_and_loss_equal_torch(dtype, data):
    N = data.draw(st.integers(0, 4))
    K = data.draw(st.integers(1, 4))
    Z = data.draw(tensors(dtype, shape=(N, K)))
    y = torch.tensor(data.draw(st.lists(st.integers(0, K - 1), min_size=N, max_size=N)), dtype=torch.int64)
    assert_same(softmax(Z, dim=1), torch.softmax(Z, dim=1), **_tol(dtype))
    assert_same(log_softmax(Z, dim=1), torch.log_softmax(Z, dim=1), **_tol(dtype))
    assert_same(cross_entropy(Z, y), F.cross_entropy(Z, y), **_tol(dtype))  # NaN for N = 0, as torch
    leaf = Z.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(F.cross_entropy(leaf, y), leaf) if N else (torch.zeros_like(Z),)
    assert_same(cross_entropy_grad(Z, y), expected, **_tol(dtype))


# ---------------------------------------------------------------- the network against autograd


@st.composite
def networks(draw, dtype, finite: bool = True, max_N: int = 4):
    """Data and parameters of a small network; entries include 0, ±0.5, ±1, 2, so that sums cancel
    and ReLU pre-activations land exactly on the kink; N may be 0 or 1."""
    N = draw(st.integers(0, max_N))
    D, H, K = (draw(st.integers(1, 3)) for _ in range(3))
    draw_tensor = (lambda shape: draw(finite_tensors(dtype, bound=4.0, shape=shape))) if finite else (
        lambda shape: draw(tensors(dtype, shape=shape)))
    X = draw_tensor((N, D))
    params = {"W1": draw_tensor((H, D)), "b1": draw_tensor((H,)), "W2": draw_tensor((K, H)), "b2": draw_tensor((K,))}
    y = torch.tensor(draw(st.lists(st.integers(0, K - 1), min_size=N, max_size=N)), dtype=torch.int64)
    return X, y, params


def _autograd(X, y, params, activation):
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    Z1 = X @ leaves["W1"].T + leaves["b1"]
    Z2 = TORCH_ACTIVATIONS[activation](Z1) @ leaves["W2"].T + leaves["b2"]
    loss = F.cross_entropy(Z2, y)
    return loss.detach(), dict(zip(NAMES, torch.autograd.grad(loss, list(leaves.values()))))


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), activation=st.sampled_from(list(ACTIVATIONS)))
def test_backward_equals_autograd_at_kinks_empty_and_single_batches(dtype, data, activation):
    X, y, params = data.draw(networks(dtype))
    Y_hat, cache = forward(X, params, activation)
    loss, expected = _autograd(X, y, params, activation)
    scale = 1.0 + max(float(t.abs().max()) if t.numel() else 0.0 for t in (X, *params.values())) ** 2
    assert_same(cross_entropy(cache["Z2"], y), loss, **_tol(dtype, scale))
    grads = backward(cache, y, params, activation)
    for name in NAMES:
        assert grads[name].dtype == dtype and grads[name].shape == params[name].shape
        assert_same(grads[name], expected[name], **_tol(dtype, scale))
    # BackpropLoss routes autograd through the hand-written backward: the same gradients.
    leaves = [params[k].clone().requires_grad_(True) for k in NAMES]
    through = torch.autograd.grad(BackpropLoss.apply(X, y, *leaves, activation), leaves)
    for name, g in zip(NAMES, through):
        assert_same(g, grads[name], rtol=0.0, atol=0.0)


@settings(max_examples=40)
@given(data=st.data(), activation=st.sampled_from(["sigmoid", "tanh"]))
def test_nan_and_inf_propagate_through_the_network_as_in_autograd(data, activation):
    X, y, params = data.draw(networks(torch.float64, finite=False, max_N=3))
    Y_hat, cache = forward(X, params, activation)
    loss, expected = _autograd(X, y, params, activation)
    assert_same(cross_entropy(cache["Z2"], y), loss, rtol=1e-6, atol=1e-6)
    grads = backward(cache, y, params, activation)
    for name in NAMES:
        assert torch.equal(grads[name].isnan(), expected[name].isnan()), name  # NaN exactly where autograd has it
        assert torch.equal(grads[name].isinf(), expected[name].isinf()), name


@settings(max_examples=30)
@given(data=st.data())
def test_relu_network_with_nan_and_inf_documented_difference(data):
    """Note in backward: ReLU's backward here multiplies by f'(z) in {0, 1}, where torch selects; they
    differ only where the upstream gradient is already NaN or ±inf at an inactive unit: NaN here, 0 in torch.
    Everywhere autograd has NaN, so does the book's backward (a diverging model is never hidden)."""
    X, y, params = data.draw(networks(torch.float64, finite=False, max_N=3))
    _, cache = forward(X, params, "relu")
    _, expected = _autograd(X, y, params, "relu")
    grads = backward(cache, y, params, "relu")
    for name in NAMES:
        assert not (expected[name].isnan() & ~grads[name].isnan()).any(), name
        same = ~grads[name].isnan()
        assert_same(grads[name][same], expected[name][same], rtol=1e-6, atol=1e-6)


def test_relu_documented_difference_on_a_concrete_network():
    """An inactive unit (z = -1) under a NaN upstream gradient: NaN here, 0 in torch's selecting backward."""
    inf = math.inf
    params = {"W1": torch.tensor([[1.0], [-1.0]], dtype=torch.float64), "b1": torch.zeros(2, dtype=torch.float64),
              "W2": torch.tensor([[inf, 0.0], [0.0, 0.0]], dtype=torch.float64), "b2": torch.zeros(2, dtype=torch.float64)}
    X, y = torch.ones(1, 1, dtype=torch.float64), torch.tensor([0])
    _, cache = forward(X, params, "relu")
    _, expected = _autograd(X, y, params, "relu")
    grads = backward(cache, y, params, "relu")
    assert grads["W1"][0].isnan().all() and expected["W1"][0].isnan().all()  # the active unit: NaN in both
    assert grads["W1"][1].isnan().all() and expected["W1"][1].eq(0).all()  # the inactive one: NaN vs 0


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradcheck_with_a_single_example_and_pre_activations_at_zero(activation):
    """gradcheck (finite differences) at N = 1; for ReLU the kink is avoided by gradcheck itself only
    when no pre-activation is 0, so the exact-zero case is compared with autograd above instead."""
    g = torch.Generator().manual_seed(0)
    params = init_params(3, 4, 2, generator=g, dtype=torch.float64)
    X = torch.randn(1, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([1])
    leaves = tuple(params[k].clone().requires_grad_(True) for k in NAMES)
    assert torch.autograd.gradcheck(lambda *p: BackpropLoss.apply(X, y, *p, activation), leaves)
    # Exactly at the kink: X = 0 and b1 = 0 give Z1 = 0 for every hidden unit.
    params["b1"] = torch.zeros(4, dtype=torch.float64)
    X0 = torch.zeros(1, 3, dtype=torch.float64)
    _, cache = forward(X0, params, activation)
    grads = backward(cache, y, params, activation)
    _, expected = _autograd(X0, y, params, activation)
    for name in NAMES:
        torch.testing.assert_close(grads[name], expected[name], rtol=0, atol=1e-15)


def test_empty_batch_gives_nan_loss_and_zero_gradients_as_torch():
    params = init_params(3, 4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    X, y = torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.int64)
    _, cache = forward(X, params)
    loss, expected = _autograd(X, y, params, "relu")
    assert cross_entropy(cache["Z2"], y).isnan() and loss.isnan()
    for name, grad in backward(cache, y, params).items():
        assert torch.equal(grad, torch.zeros_like(params[name])) and torch.equal(grad, expected[name])


# ---------------------------------------------------------------- training, accuracy


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25)
@given(data=st.data(), lr=st.sampled_from([0.0, 0.1, 1.0]), num_epochs=st.integers(1, 3),
       activation=st.sampled_from(list(ACTIVATIONS)))
def test_training_equals_torch_sgd_full_batch(dtype, data, lr, num_epochs, activation):
    X, y, params = data.draw(networks(dtype, max_N=4).filter(lambda net: net[0].shape[0] > 0))
    result = train_gradient_descent(X, y, params, lr, num_epochs, activation)
    leaves = [params[k].clone().requires_grad_(True) for k in NAMES]
    optimizer = torch.optim.SGD(leaves, lr=lr, foreach=False)
    for _ in range(num_epochs):
        optimizer.zero_grad()
        W1, b1, W2, b2 = leaves
        F.cross_entropy(TORCH_ACTIVATIONS[activation](X @ W1.T + b1) @ W2.T + b2, y).backward()
        optimizer.step()
    scale = 1.0 + max(float(t.abs().max()) for t in (X, *params.values())) ** 2
    for name, leaf in zip(NAMES, leaves):
        assert_same(result.params[name], leaf.detach(), **_tol(dtype, scale * (1 + lr) ** num_epochs))
    if lr == 0.0:  # lr = 0 is allowed, as in torch.optim.SGD: nothing moves
        for name in NAMES:
            assert torch.equal(result.params[name], params[name])
    assert len(result.history["train_loss"]) == num_epochs + 1


@given(Y_hat=tensors(torch.float64, shape=(4, 3)), y=st.lists(st.integers(0, 2), min_size=4, max_size=4))
def test_accuracy_is_the_mean_of_argmax_hits(Y_hat, y):
    y = torch.tensor(y)
    assert accuracy(Y_hat, y) == (Y_hat.argmax(dim=1) == y).double().mean().item()


# ---------------------------------------------------------------- autograd through these functions: none, by design


def test_functions_record_nothing_for_autograd_as_documented():
    """Note in the docstrings: these run under no_grad (the gradients come from backward), so their
    outputs never require grad even when the input does."""
    Z = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    params = init_params(2, 4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    params = {k: v.requires_grad_(True) for k, v in params.items()}
    Y_hat, cache = forward(Z, params, "tanh")
    grads = backward(cache, torch.tensor([0, 1, 1]), params, "tanh")
    computed = [v for k, v in cache.items() if k != "X"]  # the cache holds X itself, as given
    for out in (activation_forward(Z, "tanh"), activation_derivative(Z, "relu"), Y_hat, *computed, *grads.values()):
        assert not out.requires_grad


# ---------------------------------------------------------------- bad input


_P = init_params(3, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
_X = torch.zeros(4, 3, dtype=torch.float64)
_y = torch.tensor([0, 1, 0, 1])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: forward(_X.float(), _P), TypeError, r"one dtype, got \['torch.float32', 'torch.float64'\]"),
        (lambda: forward(_X.long(), _P), TypeError, "X must be a floating Tensor, got Tensor of dtype torch.int64"),
        (lambda: forward(_X, dict(_P, b2=_P["b2"].float())), TypeError, "torch.float32.*torch.float64"),
        (lambda: accuracy(torch.zeros(3), _y), ValueError, r"expected Y_hat of shape \(N, K\) with K >= 1, got \(3,\)"),
        (lambda: accuracy(torch.zeros(3, 0), _y), ValueError, r"got \(3, 0\)"),
        (lambda: accuracy([[0.0]], _y), TypeError, "Y_hat must be a floating Tensor, got list"),
        (lambda: accuracy(torch.zeros(4, 2), _y.float()), TypeError, "integer class labels, got dtype torch.float32"),
        (lambda: accuracy(torch.zeros(4, 2), torch.tensor([True] * 4)), TypeError, "torch.bool"),
        (lambda: backward(forward(_X, _P)[1], _y.float(), _P), TypeError, "integer class labels, got dtype torch.float32"),
        (lambda: activation_forward(torch.zeros(2, dtype=torch.int64), "relu"), TypeError, "floating Tensor, got Tensor of dtype torch.int64"),
        (lambda: activation_derivative(torch.zeros(2), "softplus"), ValueError, "Unknown activation 'softplus'"),
        (lambda: accuracy(torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64)), ValueError, r"at least one example"),
        (lambda: train_gradient_descent(_X, _y, _P, lr=math.nan, num_epochs=1), ValueError, "Invalid learning rate: nan"),
        (lambda: train_gradient_descent(_X, _y, _P, lr=math.inf, num_epochs=1), ValueError, "Invalid learning rate: inf"),
        (lambda: train_gradient_descent(_X, _y, _P, lr="0.1", num_epochs=1), TypeError, "lr must be a float, got str"),
        (lambda: train_gradient_descent(_X, _y, _P, lr=0.1, num_epochs=True), TypeError, "num_epochs must be an int, got bool"),
        (lambda: train_gradient_descent(_X[:0], _y[:0], _P, lr=0.1, num_epochs=1), ValueError,
         r"expected at least one training example, got X of shape \(0, 3\)"),
        (lambda: train_gradient_descent(_X, _y, _P, lr=0.1, num_epochs=1, X_val=_X[:0], y_val=_y[:0]), ValueError,
         r"expected at least one validation example, got X_val of shape \(0, 3\)"),
        (lambda: train_gradient_descent(_X, _y, _P, lr=0.1, num_epochs=1, X_val=_X.float(), y_val=_y), TypeError,
         "one dtype"),
        (lambda: init_params(3, 2, 2, generator=torch.Generator(), dtype=torch.int64), TypeError,
         "dtype must be a floating torch.dtype, got torch.int64"),
        (lambda: init_params(3.0, 2, 2, generator=torch.Generator()), TypeError, "in_features must be an int, got float"),
        (lambda: BackpropLoss.apply(_X, _y.float(), *(_P[k] for k in NAMES), "relu"), TypeError, "integer class labels"),
    ],
)
def test_bad_input_raises_naming_expected_and_received(call, error, match):
    with pytest.raises(error, match=match):
        call()
