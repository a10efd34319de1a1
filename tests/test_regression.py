"""Tests for dlfoundations.regression."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dlfoundations.data import make_linear_regression
from dlfoundations.losses import mse_loss
from dlfoundations.regression import (
    FitResult,
    fit_autograd,
    fit_gradient_descent,
    least_squares,
    mse_gradients,
    predict,
)
from dlfoundations.seed import make_generator

SHAPES = [(1, 1, 1), (7, 1, 1), (50, 3, 1), (20, 4, 3), (5, 8, 2)]  # (N, D, O)


def _random_problem(n, d, o, seed=0):
    g = make_generator(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, o, generator=g, dtype=torch.float64)
    weight = torch.randn(o, d, generator=g, dtype=torch.float64)
    bias = torch.randn(o, generator=g, dtype=torch.float64)
    return X, y, weight, bias


def _lam_max(X):
    X_tilde = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)  # (N, D + 1)
    return torch.linalg.eigvalsh(2.0 / X.shape[0] * X_tilde.T @ X_tilde)[-1].item()


def _problem(seed=0, noise_std=0.3, dtype=torch.float64):
    data = make_linear_regression(
        80, 2, noise_std=noise_std, x_range=(-1.0, 2.0), dtype=dtype, generator=make_generator(seed)
    )
    return data, 1.0 / _lam_max(data.X)


@pytest.mark.parametrize(("n", "d", "o"), SHAPES)
def test_predict_equals_nn_linear(n, d, o):
    X, _, weight, bias = _random_problem(n, d, o)
    y_hat = predict(X, weight, bias)
    assert y_hat.shape == (n, o)
    torch.testing.assert_close(y_hat, F.linear(X, weight, bias))


@pytest.mark.parametrize(("n", "d", "o"), SHAPES)
def test_hand_gradient_equals_autograd(n, d, o):
    X, y, weight, bias = _random_problem(n, d, o, seed=n + d + o)
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    mse_loss(predict(X, weight, bias), y).backward()
    grad_weight, grad_bias = mse_gradients(X, y, weight.detach(), bias.detach())
    assert grad_weight.shape == (o, d)
    assert grad_bias.shape == (o,)
    torch.testing.assert_close(grad_weight, weight.grad)
    torch.testing.assert_close(grad_bias, bias.grad)


def test_hand_gradient_passes_gradcheck_of_the_loss():
    # Independent of mse_gradients' formula: finite differences of the loss itself.
    X, y, weight, bias = _random_problem(6, 2, 2, seed=3)
    assert torch.autograd.gradcheck(
        lambda w, b: mse_loss(predict(X, w, b), y),
        (weight.requires_grad_(True), bias.requires_grad_(True)),
    )


def test_gradient_is_zero_at_least_squares_solution():
    data, _ = _problem()
    weight, bias = least_squares(data.X, data.y)
    grad_weight, grad_bias = mse_gradients(data.X, data.y, weight, bias)
    torch.testing.assert_close(grad_weight, torch.zeros_like(grad_weight), atol=1e-10, rtol=0)
    torch.testing.assert_close(grad_bias, torch.zeros_like(grad_bias), atol=1e-10, rtol=0)


def test_least_squares_recovers_true_parameters_without_noise():
    g = make_generator(5)
    data = make_linear_regression(30, 3, n_outputs=2, noise_std=0.0, dtype=torch.float64, generator=g)
    weight, bias = least_squares(data.X, data.y)
    torch.testing.assert_close(weight, data.weight)
    torch.testing.assert_close(bias, data.bias)


def test_least_squares_solves_the_normal_equations():
    data, _ = _problem(seed=4)
    weight, bias = least_squares(data.X, data.y)
    X_tilde = torch.cat([data.X, torch.ones(data.X.shape[0], 1, dtype=data.X.dtype)], dim=1)
    theta = torch.linalg.solve(X_tilde.T @ X_tilde, X_tilde.T @ data.y)  # (D + 1, O)
    torch.testing.assert_close(weight, theta[:-1].T)
    torch.testing.assert_close(bias, theta[-1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_descent_matches_least_squares(seed):
    data, lr = _problem(seed)
    fit = fit_gradient_descent(data.X, data.y, lr=lr, num_epochs=400)
    weight, bias = least_squares(data.X, data.y)
    assert isinstance(fit, FitResult)
    assert len(fit.losses) == 400
    torch.testing.assert_close(fit.weight, weight, atol=1e-8, rtol=0)
    torch.testing.assert_close(fit.bias, bias, atol=1e-8, rtol=0)


def test_gradient_descent_matches_least_squares_in_float32_within_book_tolerance():
    # The chapter's setting: float32 data, 200 epochs, tolerance 1e-4.
    data = make_linear_regression(
        100, 1, weight=2.0, bias=-1.0, noise_std=0.5, x_range=(-1.0, 3.0), generator=make_generator(0)
    )
    fit = fit_gradient_descent(data.X, data.y, lr=1.0 / _lam_max(data.X), num_epochs=200)
    weight, bias = least_squares(data.X, data.y)
    torch.testing.assert_close(fit.weight, weight, atol=1e-4, rtol=0)
    torch.testing.assert_close(fit.bias, bias, atol=1e-4, rtol=0)


def test_loss_history_is_recorded_before_each_update_and_decreases():
    data, lr = _problem()
    fit = fit_gradient_descent(data.X, data.y, lr=lr, num_epochs=50)
    initial = mse_loss(predict(data.X, torch.zeros(1, 2, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)), data.y)
    assert fit.losses[0] == pytest.approx(initial.item())
    assert all(later <= earlier + 1e-12 for earlier, later in zip(fit.losses, fit.losses[1:]))


def test_learning_rate_above_the_limit_diverges():
    data, lr = _problem()
    fit = fit_gradient_descent(data.X, data.y, lr=2.1 * lr, num_epochs=100)  # 2.1 / lambda_max
    assert fit.losses[-1] > 1e3 * fit.losses[0]


def test_initial_parameters_are_used_and_not_modified():
    data, lr = _problem()
    weight0 = torch.ones(1, 2, dtype=torch.float64)
    bias0 = torch.ones(1, dtype=torch.float64)
    for fit_fn in (fit_gradient_descent, fit_autograd):
        fit = fit_fn(data.X, data.y, lr=lr, num_epochs=3, weight=weight0, bias=bias0)
        assert fit.losses[0] == pytest.approx(mse_loss(predict(data.X, weight0, bias0), data.y).item())
        assert torch.equal(weight0, torch.ones(1, 2, dtype=torch.float64))
        assert torch.equal(bias0, torch.ones(1, dtype=torch.float64))
        assert not fit.weight.requires_grad


def test_autograd_fit_equals_hand_written_fit():
    data, lr = _problem(seed=6)
    by_hand = fit_gradient_descent(data.X, data.y, lr=lr, num_epochs=60)
    auto = fit_autograd(data.X, data.y, lr=lr, num_epochs=60)
    torch.testing.assert_close(auto.weight, by_hand.weight)
    torch.testing.assert_close(auto.bias, by_hand.bias)
    torch.testing.assert_close(torch.tensor(auto.losses), torch.tensor(by_hand.losses))


def test_not_zeroing_gradients_gives_a_worse_trajectory():
    data, lr = _problem(seed=2)
    good = fit_autograd(data.X, data.y, lr=lr, num_epochs=200)
    bug = fit_autograd(data.X, data.y, lr=lr, num_epochs=200, zero_grad=False)
    # Same first step (nothing has accumulated yet), then the trajectories part.
    assert good.losses[:2] == pytest.approx(bug.losses[:2])
    assert not torch.allclose(torch.tensor(good.losses), torch.tensor(bug.losses))
    # Without the reset the loss oscillates, so compare its average over the last 50 epochs.
    assert sum(bug.losses[-50:]) / 50 > 2 * good.losses[-1]
    weight, _ = least_squares(data.X, data.y)
    assert (bug.weight - weight).abs().max() > 100 * (good.weight - weight).abs().max()


def test_not_zeroing_gradients_equals_summing_all_gradients_so_far():
    # The bug, spelled out: each step uses the running sum of the hand-written gradients.
    data, lr = _problem(seed=3)
    weight = torch.zeros(1, 2, dtype=torch.float64)
    bias = torch.zeros(1, dtype=torch.float64)
    sum_w, sum_b = torch.zeros_like(weight), torch.zeros_like(bias)
    for _ in range(10):
        grad_w, grad_b = mse_gradients(data.X, data.y, weight, bias)
        sum_w, sum_b = sum_w + grad_w, sum_b + grad_b
        weight, bias = weight - lr * sum_w, bias - lr * sum_b
    bug = fit_autograd(data.X, data.y, lr=lr, num_epochs=10, zero_grad=False)
    torch.testing.assert_close(bug.weight, weight)
    torch.testing.assert_close(bug.bias, bias)



def _theta_and_hessian(data):
    X_tilde = torch.cat([data.X, torch.ones(data.X.shape[0], 1, dtype=data.X.dtype)], dim=1)  # (N, D + 1)
    hessian = 2.0 / data.X.shape[0] * X_tilde.T @ X_tilde  # (D + 1, D + 1), eq-linreg-hessian
    weight, bias = least_squares(data.X, data.y)
    theta_star = torch.cat([weight.T, bias.unsqueeze(0)], dim=0)  # (D + 1, 1)
    return theta_star, hessian


def test_not_zeroing_gradients_is_an_undamped_oscillator():
    # eq-linreg-no-reset: e_{t+1} - 2 e_t + e_{t-1} = -lr H e_t, with e_t = Theta_t - Theta*.
    data, lr = _problem(seed=4)
    theta_star, hessian = _theta_and_hessian(data)

    def error_after(updates):
        fit = fit_autograd(data.X, data.y, lr=lr, num_epochs=updates, zero_grad=False)
        return torch.cat([fit.weight.T, fit.bias.unsqueeze(0)], dim=0) - theta_star  # (D + 1, 1)

    for t in (1, 5, 12):
        e_prev, e_t, e_next = error_after(t), error_after(t + 1), error_after(t + 2)
        torch.testing.assert_close(e_next - 2 * e_t + e_prev, -lr * hessian @ e_t)


@pytest.mark.parametrize("factor", [0.5, 1.0, 1.9])
def test_excess_loss_shrinks_by_rho_squared(factor):
    # Exercise ex-linreg-3: the error shrinks by rho = max |1 - lr lambda| per step, the excess loss by rho^2.
    data, _ = _problem(seed=5)
    theta_star, hessian = _theta_and_hessian(data)
    eigenvalues = torch.linalg.eigvalsh(hessian)
    lr = factor / eigenvalues[-1].item()
    rho = (1 - lr * eigenvalues).abs().max().item()
    loss_star = mse_loss(predict(data.X, theta_star[:-1].T, theta_star[-1]), data.y).item()
    num_epochs = round(math.log(1e-8) / math.log(rho**2))  # until the excess has shrunk by about 1e-8
    losses = fit_gradient_descent(data.X, data.y, lr=lr, num_epochs=num_epochs).losses
    excess = torch.tensor(losses, dtype=torch.float64) - loss_star
    assert excess[-1] / excess[-2] == pytest.approx(rho**2, rel=1e-3)


# ---------------------------------------------------------------- validation

X_OK = torch.zeros(4, 2)
Y_OK = torch.zeros(4, 1)


@pytest.mark.parametrize("fit_fn", [fit_gradient_descent, fit_autograd])
@pytest.mark.parametrize(
    ("lr", "error", "match"),
    [
        (-0.1, ValueError, r"^Invalid learning rate: -0.1\b"),
        (float("nan"), ValueError, r"^Invalid learning rate: nan\b"),
        (float("inf"), ValueError, r"^Invalid learning rate: inf\b"),
        ("0.1", TypeError, "lr must be a float"),
        (True, TypeError, "lr must be a float"),
    ],
)
def test_invalid_learning_rate(fit_fn, lr, error, match):
    with pytest.raises(error, match=match):
        fit_fn(X_OK, Y_OK, lr=lr, num_epochs=1)


@pytest.mark.parametrize("fit_fn", [fit_gradient_descent, fit_autograd])
def test_zero_learning_rate_keeps_the_start_like_torch_optim(fit_fn):
    # The package's convention (dlfoundations._validation.check_lr): lr = 0 is allowed, as in torch.optim.
    X, y, weight, bias = _random_problem(5, 2, 1)
    fit = fit_fn(X, y, lr=0.0, num_epochs=2, weight=weight, bias=bias)
    assert torch.equal(fit.weight, weight) and torch.equal(fit.bias, bias)
    assert fit.losses[0] == fit.losses[1]


@pytest.mark.parametrize("fit_fn", [fit_gradient_descent, fit_autograd])
@pytest.mark.parametrize(
    ("num_epochs", "error", "match"),
    [
        (0, ValueError, r"Invalid num_epochs: 0 \(expected >= 1\)"),
        (-3, ValueError, "Invalid num_epochs: -3"),
        (2.0, TypeError, "num_epochs must be an int, got float"),
    ],
)
def test_invalid_num_epochs(fit_fn, num_epochs, error, match):
    with pytest.raises(error, match=match):
        fit_fn(X_OK, Y_OK, lr=0.1, num_epochs=num_epochs)


@pytest.mark.parametrize("fit_fn", [fit_gradient_descent, fit_autograd, least_squares, mse_gradients])
@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (torch.zeros(4), Y_OK, ValueError, r"expected X of shape \(N, D\), got \(4,\)"),
        (X_OK, torch.zeros(4), ValueError, r"expected y of shape \(4, O\) to match X \(4, 2\), got \(4,\)"),
        (X_OK, torch.zeros(3, 1), ValueError, r"expected y of shape \(4, O\) to match X \(4, 2\), got \(3, 1\)"),
        ([[0.0, 0.0]], Y_OK, TypeError, "X must be a floating Tensor, got list"),
        (X_OK, [[0.0]], TypeError, "y must be a floating Tensor, got list"),
        (torch.zeros(4, 2, dtype=torch.int64), Y_OK, TypeError, "X must be a floating Tensor, got Tensor of dtype torch.int64"),
    ],
)
def test_invalid_data(fit_fn, X, y, error, match):
    with pytest.raises(error, match=match):
        if fit_fn is mse_gradients:
            fit_fn(X, y, torch.zeros(1, 2), torch.zeros(1))
        elif fit_fn is least_squares:
            fit_fn(X, y)
        else:
            fit_fn(X, y, lr=0.1, num_epochs=1)


@pytest.mark.parametrize(
    ("weight", "bias", "match"),
    [
        (torch.zeros(1, 3), torch.zeros(1), r"expected weight of shape \(1, 2\) for X \(4, 2\), got \(1, 3\)"),
        (torch.zeros(2), torch.zeros(1), r"expected weight of shape \(1, 2\) for X \(4, 2\), got \(2,\)"),
        (torch.zeros(2, 2), torch.zeros(2), r"expected weight of shape \(1, 2\) for X \(4, 2\), got \(2, 2\)"),
        (torch.zeros(1, 2), torch.zeros(2), r"expected bias of shape \(1,\), got \(2,\)"),
    ],
)
def test_invalid_parameters(weight, bias, match):
    with pytest.raises(ValueError, match=match):
        mse_gradients(X_OK, Y_OK, weight, bias)
    with pytest.raises(ValueError, match=match):
        fit_gradient_descent(X_OK, Y_OK, lr=0.1, num_epochs=1, weight=weight, bias=bias)


def test_predict_validates_shapes():
    with pytest.raises(ValueError, match=r"expected weight of shape \(O, 2\) for X \(4, 2\), got \(3,\)"):
        predict(X_OK, torch.zeros(3), torch.zeros(1))
    with pytest.raises(ValueError, match=r"expected bias of shape \(1,\), got \(1, 1\)"):
        predict(X_OK, torch.zeros(1, 2), torch.zeros(1, 1))
    with pytest.raises(TypeError, match="weight must be a floating Tensor, got float"):
        predict(X_OK, 1.0, torch.zeros(1))


def test_zero_grad_must_be_bool():
    with pytest.raises(TypeError, match="zero_grad must be a bool, got str"):
        fit_autograd(X_OK, Y_OK, lr=0.1, num_epochs=1, zero_grad="no")
