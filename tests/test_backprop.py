"""Tests for dlfoundations.backprop: hand-written backprop against autograd."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dlfoundations import activations, backprop
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
from dlfoundations.seed import make_generator



TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
SIZES = [(1, 1, 1, 2), (5, 3, 4, 2), (16, 7, 6, 3), (33, 4, 9, 5)]  # (N, D, H, O)


def make_problem(N, D, H, O, seed, activation="tanh"):  # noqa: E741
    """Random float64 data and parameters; ReLU pre-activations kept away from 0."""
    g = make_generator(seed)
    X = torch.randn(N, D, generator=g, dtype=torch.float64)
    y = torch.randint(0, O, (N,), generator=g)
    params = init_params(D, H, O, generator=g, dtype=torch.float64)
    params["W2"] = params["W2"] * 3.0  # larger logits: the softmax is not near uniform
    if activation == "relu":
        # Shift b1 so that no |Z1| is below 0.1: gradcheck's finite differences must not cross the kink.
        Z1 = X @ params["W1"].T + params["b1"]  # (N, H)
        close = Z1.abs() < 0.1
        while close.any():
            params["b1"] = params["b1"] + 0.25 * close.any(dim=0)
            Z1 = X @ params["W1"].T + params["b1"]
            close = Z1.abs() < 0.1
    return X, y, params


def autograd_grads(X, y, params, activation):
    """The same graph built from PyTorch's own functions, differentiated by autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    f = TORCH_ACTIVATIONS[activation]
    Z2 = f(X @ leaves["W1"].T + leaves["b1"]) @ leaves["W2"].T + leaves["b2"]  # (N, K)
    loss = F.cross_entropy(Z2, y)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return loss.detach(), dict(zip(leaves, grads))


# ---------------------------------------------------------------- forward pieces equal PyTorch


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_activations_and_derivatives_equal_pytorch(activation):
    Z = torch.randn(50, 4, generator=make_generator(0), dtype=torch.float64) * 3
    Z = Z[Z.abs() > 1e-3].reshape(-1)  # away from ReLU's kink
    torch.testing.assert_close(activation_forward(Z, activation), TORCH_ACTIVATIONS[activation](Z))
    leaf = Z.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(TORCH_ACTIVATIONS[activation](leaf).sum(), leaf)
    torch.testing.assert_close(activation_derivative(Z, activation), expected)


def test_the_network_uses_the_packages_one_implementation_of_each_piece():
    # One implementation per concept: backprop pairs the functions of dlfoundations.activations and
    # takes its softmax, loss, loss gradient and accuracy from the modules that define them.
    assert ACTIVATIONS == {
        "sigmoid": (activations.sigmoid, activations.sigmoid_grad),
        "tanh": (activations.tanh, activations.tanh_grad),
        "relu": (activations.relu, activations.relu_grad),
    }
    assert backprop.softmax is activations.softmax
    assert backprop.cross_entropy is cross_entropy and backprop.cross_entropy_grad is cross_entropy_grad
    for removed in ("softmax", "log_softmax", "cross_entropy_loss", "cross_entropy_grad"):
        assert removed not in backprop.__all__


def test_activations_do_not_overflow():
    Z = torch.tensor([-1000.0, 0.0, 1000.0], dtype=torch.float64)
    torch.testing.assert_close(activation_forward(Z, "sigmoid"), torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    torch.testing.assert_close(activation_forward(Z, "tanh"), torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(activation_derivative(Z, "tanh"), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))


def test_softmax_log_softmax_and_loss_equal_pytorch():
    # The pieces forward and backward use, row by row (dim=1) as the network uses them.
    g = make_generator(1)
    Z = torch.randn(12, 5, generator=g, dtype=torch.float64) * 4
    y = torch.randint(0, 5, (12,), generator=g)
    torch.testing.assert_close(softmax(Z, dim=1), torch.softmax(Z, dim=1))
    torch.testing.assert_close(log_softmax(Z, dim=1), torch.log_softmax(Z, dim=1))
    torch.testing.assert_close(cross_entropy(Z, y), F.cross_entropy(Z, y))


def test_softmax_is_stable_for_huge_logits():
    Z = torch.tensor([[1000.0, 0.0], [-1000.0, -1001.0]], dtype=torch.float64)
    naive = torch.exp(Z) / torch.exp(Z).sum(dim=1, keepdim=True)
    assert torch.isnan(naive).any()  # the reason for subtracting the row max
    torch.testing.assert_close(softmax(Z, dim=1), torch.softmax(Z, dim=1))
    y = torch.tensor([1, 1])
    assert torch.isfinite(cross_entropy(Z, y))
    torch.testing.assert_close(cross_entropy(Z, y), F.cross_entropy(Z, y))


def test_cross_entropy_grad_equals_autograd():
    g = make_generator(2)
    Z = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 4, (9,), generator=g)
    (expected,) = torch.autograd.grad(F.cross_entropy(Z, y), Z)
    torch.testing.assert_close(cross_entropy_grad(Z.detach(), y), expected)


# ---------------------------------------------------------------- backward equals autograd


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("sizes", SIZES)
def test_backward_equals_autograd(activation, sizes):
    X, y, params = make_problem(*sizes, seed=sum(sizes), activation=activation)
    Y_hat, cache = forward(X, params, activation)
    grads = backward(cache, y, params, activation)
    loss, expected = autograd_grads(X, y, params, activation)
    torch.testing.assert_close(cross_entropy(cache["Z2"], y), loss)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for name in grads:
        assert grads[name].shape == params[name].shape
        torch.testing.assert_close(grads[name], expected[name])


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradcheck_of_hand_written_backward(activation):
    X, y, params = make_problem(6, 3, 4, 3, seed=3, activation=activation)
    leaves = tuple(params[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2"))
    assert torch.autograd.gradcheck(lambda *p: BackpropLoss.apply(X, y, *p, activation), leaves)


def test_forward_and_backward_record_nothing_for_autograd():
    X, y, params = make_problem(5, 3, 4, 2, seed=4)
    params = {k: v.requires_grad_(True) for k, v in params.items()}
    Y_hat, cache = forward(X, params, "tanh")
    grads = backward(cache, y, params, "tanh")
    for t in [Y_hat, *cache.values(), *grads.values()]:
        assert not t.requires_grad and t.grad_fn is None


# ---------------------------------------------------------------- wrong backwards are caught


def _caught(X, y, params, activation):
    """True if a comparison with autograd, and gradcheck, both reject the current backward."""
    _, cache = forward(X, params, activation)
    grads = backward(cache, y, params, activation)
    _, expected = autograd_grads(X, y, params, activation)
    with pytest.raises(AssertionError):
        for name in grads:
            torch.testing.assert_close(grads[name], expected[name])
    leaves = tuple(params[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2"))
    ok = torch.autograd.gradcheck(lambda *p: BackpropLoss.apply(X, y, *p, activation), leaves, raise_exception=False)
    return not ok


def test_forgetting_one_over_n_is_caught(monkeypatch):
    X, y, params = make_problem(8, 3, 4, 3, seed=5)

    def grad_without_mean(Z, y, reduction="mean"):
        Y = F.one_hot(y, Z.shape[1]).to(Z.dtype)
        return torch.softmax(Z, dim=1) - Y  # bug: the 1/N of the mean is missing

    monkeypatch.setattr(backprop, "cross_entropy_grad", grad_without_mean)
    assert _caught(X, y, params, "tanh")


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_missing_activation_derivative_is_caught(monkeypatch, activation):
    X, y, params = make_problem(8, 3, 4, 3, seed=6, activation=activation)
    f, _ = ACTIVATIONS[activation]
    # bug: dZ1 = dA1, as if f'(Z1) were 1 everywhere
    monkeypatch.setitem(ACTIVATIONS, activation, (f, torch.ones_like))
    assert _caught(X, y, params, activation)


def test_caught_helper_accepts_the_correct_backward():
    # The helper above must fail for a correct backward, or "caught" would mean nothing.
    X, y, params = make_problem(8, 3, 4, 3, seed=7)
    with pytest.raises(pytest.fail.Exception):
        _caught(X, y, params, "tanh")


# ---------------------------------------------------------------- initialisation, training


def test_init_params_shapes_bounds_and_determinism():
    p = init_params(30, 16, 2, generator=make_generator(0))
    q = init_params(30, 16, 2, generator=make_generator(0))
    r = init_params(30, 16, 2, generator=make_generator(1))
    assert {k: tuple(v.shape) for k, v in p.items()} == {"W1": (16, 30), "b1": (16,), "W2": (2, 16), "b2": (2,)}
    assert all(torch.equal(p[k], q[k]) for k in p)
    assert not torch.equal(p["W1"], r["W1"])
    assert p["W1"].abs().max() <= 30**-0.5 and p["W2"].abs().max() <= 16**-0.5
    assert p["W1"].dtype == torch.float32 and not p["W1"].requires_grad


def test_train_gradient_descent_matches_autograd_descent():
    X, y, params = make_problem(20, 4, 5, 3, seed=8)
    lr, num_epochs = 0.5, 5
    result = train_gradient_descent(X, y, params, lr, num_epochs, "tanh", X_val=X[:6], y_val=y[:6])
    ref = {k: v.clone() for k, v in params.items()}
    for _ in range(num_epochs):
        _, grads = autograd_grads(X, y, ref, "tanh")
        ref = {k: ref[k] - lr * grads[k] for k in ref}
    for k in ref:
        torch.testing.assert_close(result.params[k], ref[k])
    h = result.history
    assert set(h) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == num_epochs + 1 for v in h.values())
    assert h["train_loss"][-1] < h["train_loss"][0]
    torch.testing.assert_close(params["W1"], make_problem(20, 4, 5, 3, seed=8)[2]["W1"])  # input not modified


def test_training_learns_a_separable_problem():
    g = make_generator(9)
    X = torch.randn(200, 2, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    params = init_params(2, 8, 2, generator=g)
    result = train_gradient_descent(X, y, params, lr=1.0, num_epochs=100, activation="relu")
    assert "val_loss" not in result.history
    assert result.best_epoch is None and result.best_params is None
    assert result.history["train_accuracy"][-1] > 0.95


def test_best_epoch_and_params_are_those_of_the_lowest_validation_loss():
    g = make_generator(10)
    X = torch.randn(60, 3, generator=g, dtype=torch.float64)
    y = (X[:, 0] - X[:, 1] + 0.8 * torch.randn(60, generator=g, dtype=torch.float64) > 0).long()
    params = init_params(3, 16, 2, generator=g, dtype=torch.float64)
    X_train, y_train, X_val, y_val = X[:20], y[:20], X[20:], y[20:]
    num_epochs = 200
    result = train_gradient_descent(X_train, y_train, params, 2.0, num_epochs, "tanh", X_val=X_val, y_val=y_val)
    val = result.history["val_loss"]
    assert result.best_epoch == min(range(num_epochs + 1), key=val.__getitem__)
    # The kept parameters are those after best_epoch updates: retraining for that many steps gives them back.
    if result.best_epoch > 0:
        again = train_gradient_descent(X_train, y_train, params, 2.0, result.best_epoch, "tanh")
        for k in again.params:
            torch.testing.assert_close(result.best_params[k], again.params[k], rtol=0, atol=0)
    else:
        for k in params:
            torch.testing.assert_close(result.best_params[k], params[k], rtol=0, atol=0)


def test_accuracy():
    Y_hat = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert accuracy(Y_hat, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)


# ---------------------------------------------------------------- validation


def test_unknown_activation_is_refused():
    X, y, params = make_problem(4, 3, 2, 2, seed=0)
    with pytest.raises(ValueError, match=r"Unknown activation 'gelu', expected one of \('sigmoid', 'tanh', 'relu'\)"):
        forward(X, params, "gelu")
    with pytest.raises(TypeError, match="activation must be a str, got NoneType"):
        activation_forward(X, None)


def test_shape_mismatches_are_refused():
    X, y, params = make_problem(4, 3, 2, 2, seed=0)
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 3\) to match W1 \(2, 3\), got \(4, 5\)"):
        forward(torch.zeros(4, 5, dtype=torch.float64), params)
    with pytest.raises(ValueError, match=r"expected X of shape \(N, D\), got \(4,\)"):
        forward(torch.zeros(4, dtype=torch.float64), params)
    bad = dict(params, b1=torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expected b1 of shape \(2,\), got \(3,\)"):
        forward(X, bad)
    bad = dict(params, W2=torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expected W2 of shape \(K, 2\), got \(2, 5\)"):
        forward(X, bad)
    with pytest.raises(ValueError, match=r"missing \('b2',\)"):
        forward(X, {k: v for k, v in params.items() if k != "b2"})
    with pytest.raises(TypeError, match="one dtype"):
        forward(X.float(), params)
    _, cache = forward(X, params)
    with pytest.raises(ValueError, match=r"expected y of shape \(4,\), got \(4, 1\)"):
        backward(cache, y.unsqueeze(1), params)
    with pytest.raises(ValueError, match="expected the cache returned by forward"):
        backward({"X": X}, y, params)


def test_labels_are_checked():
    Z = torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"expected labels y in \[0, 1\] for K = 2 classes, got values in \[0, 2\]"):
        accuracy(Z, torch.tensor([0, 1, 2]))
    X, y, params = make_problem(3, 2, 2, 2, seed=0)
    _, cache = forward(X, params)
    with pytest.raises(ValueError, match=r"got values in \[-1, 1\]"):
        backward(cache, torch.tensor([-1, 1, 0]), params)
    with pytest.raises(TypeError, match="integer class labels, got dtype torch.float32"):
        backward(cache, torch.tensor([0.0, 1.0, 1.0]), params)
    with pytest.raises(TypeError, match="y must be a torch.Tensor of class labels, got list"):
        accuracy(Z, [0, 1, 1])


def test_training_arguments_are_checked():
    X, y, params = make_problem(4, 3, 2, 2, seed=0)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        train_gradient_descent(X, y, params, lr=-0.1, num_epochs=1)
    with pytest.raises(ValueError, match=r"Invalid num_epochs: 0 \(expected >= 1\)"):
        train_gradient_descent(X, y, params, lr=0.1, num_epochs=0)
    with pytest.raises(ValueError, match="give both X_val and y_val"):
        train_gradient_descent(X, y, params, lr=0.1, num_epochs=1, X_val=X)
    with pytest.raises(TypeError, match="generator must be a torch.Generator, got int"):
        init_params(3, 2, 2, generator=0)
    with pytest.raises(ValueError, match=r"Invalid hidden_size: 0"):
        init_params(3, 0, 2, generator=make_generator(0))
    with pytest.raises(TypeError, match="X must be a floating Tensor, got list"):
        forward([[1.0]], params)
