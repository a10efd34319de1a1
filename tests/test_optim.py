"""Tests for dlfoundations.optim: each optimizer against torch.optim, step by step."""

from __future__ import annotations

import pytest
import torch

from dlfoundations.optim import (
    SGD,
    Adam,
    AdamW,
    RMSprop,
    ill_conditioned_quadratic,
    rosenbrock,
    train_twins,
    trajectory,
)

NUM_STEPS = 25


def _assert_twins_equal(ours, reference, **kwargs):
    mine, theirs = train_twins(ours, reference, num_steps=NUM_STEPS, seed=3, **kwargs)
    assert len(mine) == len(theirs) == 4  # two Linear layers: weight and bias each
    for p, q in zip(mine, theirs):
        assert p.dtype == torch.float64
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def _max_diff(ours, reference, **kwargs):
    mine, theirs = train_twins(ours, reference, num_steps=NUM_STEPS, seed=3, **kwargs)
    return max((p - q).abs().max().item() for p, q in zip(mine, theirs))


# ---------------------------------------------------------------- equal to torch.optim


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=0.1),
        dict(lr=0.05, weight_decay=0.1),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.5, dampening=0.5),
        dict(lr=0.05, momentum=0.9, nesterov=True),
        dict(lr=0.02, momentum=0.99, nesterov=True, weight_decay=0.01),
        dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.05),
    ],
)
def test_sgd_equals_torch(kwargs):
    _assert_twins_equal(SGD, torch.optim.SGD, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=0.01),
        dict(lr=0.01, alpha=0.9, eps=1e-6),
        dict(lr=0.005, momentum=0.9),
        dict(lr=0.005, centered=True),
        dict(lr=0.002, alpha=0.95, momentum=0.5, centered=True, weight_decay=0.1),
        dict(lr=0.01, eps=0.1, weight_decay=0.01),
    ],
)
def test_rmsprop_equals_torch(kwargs):
    _assert_twins_equal(RMSprop, torch.optim.RMSprop, **kwargs)


ADAM_GRID = [
    dict(lr=0.01),
    dict(lr=0.05, betas=(0.8, 0.99)),
    dict(lr=0.01, betas=(0.0, 0.9), eps=1e-4),
    dict(lr=0.01, betas=(0.95, 0.999), eps=0.1),
    dict(lr=0.02, weight_decay=0.1),
    dict(lr=0.01, betas=(0.5, 0.5), weight_decay=0.5),
]


@pytest.mark.parametrize("kwargs", ADAM_GRID)
def test_adam_equals_torch(kwargs):
    _assert_twins_equal(Adam, torch.optim.Adam, **kwargs)


@pytest.mark.parametrize("kwargs", ADAM_GRID + [dict(lr=0.01)])
def test_adamw_equals_torch(kwargs):
    kwargs = {"weight_decay": 1e-2, **kwargs}  # the last case uses AdamW's default decay
    _assert_twins_equal(AdamW, torch.optim.AdamW, **kwargs)


def test_adam_and_adamw_differ_only_with_weight_decay():
    mine, theirs = train_twins(Adam, AdamW, num_steps=NUM_STEPS, lr=0.01, weight_decay=0.0)
    for p, q in zip(mine, theirs):
        torch.testing.assert_close(p, q)
    assert _max_diff(Adam, AdamW, lr=0.01, weight_decay=0.1) > 1e-4


# ---------------------------------------------------------------- wrong variants are caught


class AdamNoBiasCorrection(Adam):
    """Deliberately wrong: Adam without the bias corrections of Algorithm 1."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                m = state["exp_avg"].mul_(beta1).add_((1 - beta1) * p.grad)
                v = state["exp_avg_sq"].mul_(beta2).add_((1 - beta2) * p.grad**2)
                p -= lr * m / (v.sqrt() + eps)  # m, v not divided by (1 - beta^t)


class AdamEpsInsideSqrt(Adam):
    """Deliberately wrong: epsilon inside the square root, sqrt(v_hat + eps)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m = state["exp_avg"].mul_(beta1).add_((1 - beta1) * p.grad)
                v = state["exp_avg_sq"].mul_(beta2).add_((1 - beta2) * p.grad**2)
                p -= lr * (m / (1 - beta1**t)) / (v / (1 - beta2**t) + eps).sqrt()


class SGDDampedFirstStep(SGD):
    """Deliberately wrong: the first momentum buffer is (1 - dampening) g_1, not g_1."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            mu, tau = group["momentum"], group["dampening"]
            for p in group["params"]:
                buf = self.state[p].get("momentum_buffer", torch.zeros_like(p))
                buf = mu * buf + (1 - tau) * p.grad
                self.state[p]["momentum_buffer"] = buf
                p -= group["lr"] * buf


@pytest.mark.parametrize(
    ("wrong", "reference", "kwargs"),
    [
        (AdamNoBiasCorrection, torch.optim.Adam, dict(lr=0.01)),
        (AdamEpsInsideSqrt, torch.optim.Adam, dict(lr=0.01, eps=1e-4)),
        (SGDDampedFirstStep, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ],
)
def test_wrong_variant_is_caught(wrong, reference, kwargs):
    with pytest.raises(AssertionError):
        _assert_twins_equal(wrong, reference, **kwargs)
    assert _max_diff(wrong, reference, **kwargs) > 1e-4


def test_eps_inside_sqrt_is_caught_even_with_default_eps():
    # With eps=1e-8 inside the root the shift is sqrt(1e-8) = 1e-4 in the denominator: still visible.
    assert _max_diff(AdamEpsInsideSqrt, torch.optim.Adam, lr=0.01) > 1e-6


def test_sgd_momentum_equals_sutskever_formulation_at_constant_lr():
    """v_t = mu v_{t-1} - lr g_t, theta_t = theta_{t-1} + v_t gives the same iterates as b_t at constant lr."""
    lr, mu = 0.01, 0.9
    theta_book = torch.tensor([-1.0, 1.5], dtype=torch.float64, requires_grad=True)
    optimizer = SGD([theta_book], lr=lr, momentum=mu)
    theta = torch.tensor([-1.0, 1.5], dtype=torch.float64)
    v = torch.zeros(2, dtype=torch.float64)
    for _ in range(30):
        optimizer.zero_grad()
        ill_conditioned_quadratic(theta_book).backward()
        optimizer.step()
        g = torch.tensor([1.0, 25.0], dtype=torch.float64) * theta  # gradient of the quadratic
        v = mu * v - lr * g
        theta = theta + v
    torch.testing.assert_close(theta_book.detach(), theta)


# ---------------------------------------------------------------- behaviour


def test_step_returns_closure_loss_and_skips_params_without_grad():
    used = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    unused = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    for cls in (SGD, RMSprop, Adam, AdamW):
        optimizer = cls([used, unused], lr=0.1)

        def closure():
            optimizer.zero_grad()
            loss = (used**2).sum()
            loss.backward()
            return loss

        before = used.detach().clone()
        loss = optimizer.step(closure)
        assert loss.item() == pytest.approx((before**2).sum().item())
        assert not torch.equal(used.detach(), before)
        assert unused.item() == 3.0
        assert unused not in optimizer.state or not optimizer.state[unused]


def test_param_groups_use_their_own_lr():
    a = torch.ones(2, dtype=torch.float64, requires_grad=True)
    b = torch.ones(2, dtype=torch.float64, requires_grad=True)
    optimizer = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a.sum() + b.sum()).backward()
    optimizer.step()
    torch.testing.assert_close(a.detach(), torch.full((2,), 0.9, dtype=torch.float64))
    torch.testing.assert_close(b.detach(), torch.full((2,), 0.5, dtype=torch.float64))


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (SGD, dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
        (SGD, dict(lr="0.1"), TypeError, "lr must be a float, got str"),
        (SGD, dict(momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
        (SGD, dict(weight_decay=-1.0), ValueError, "Invalid weight_decay value: -1.0"),
        (SGD, dict(nesterov=True), ValueError, "Nesterov momentum requires a momentum and zero dampening"),
        (SGD, dict(momentum=0.9, dampening=0.1, nesterov=True), ValueError, "dampening=0.1"),
        (SGD, dict(nesterov=1), TypeError, "nesterov must be a bool, got int"),
        (RMSprop, dict(alpha=1.0), ValueError, r"Invalid alpha: 1.0 \(expected a finite number >= 0 and < 1\)"),
        (RMSprop, dict(eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
        (RMSprop, dict(lr=float("nan")), ValueError, "Invalid learning rate: nan"),
        (Adam, dict(betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
        (Adam, dict(betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
        (Adam, dict(betas=0.9), TypeError, "betas must be a tuple of two floats, got 0.9"),
        (Adam, dict(eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
        (AdamW, dict(weight_decay=-0.01), ValueError, "Invalid weight_decay value: -0.01"),
        (AdamW, dict(lr=True), TypeError, "lr must be a float, got bool"),
    ],
)
def test_invalid_hyperparameters_raise(cls, kwargs, error, match):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(error, match=match):
        cls([p], **kwargs)


# ---------------------------------------------------------------- test functions and helpers


def test_rosenbrock_minimum_and_gradient():
    xy = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    value = rosenbrock(xy)
    value.backward()
    assert value.item() == 0.0
    torch.testing.assert_close(xy.grad, torch.zeros(2, dtype=torch.float64))
    grid = torch.tensor([[0.0, 0.0], [-1.0, 1.0], [2.0, 3.0]], dtype=torch.float64)  # (3, 2)
    torch.testing.assert_close(rosenbrock(grid), torch.tensor([1.0, 4.0, 101.0], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expected xy of shape \(..., 2\), got \(3,\)"):
        rosenbrock(torch.zeros(3))
    with pytest.raises(TypeError, match="xy must be a floating Tensor, got list"):
        rosenbrock([1.0, 1.0])


def test_quadratic_and_gd_closed_form():
    lr, kappa, num_steps = 0.05, 10.0, 15
    path = trajectory(lambda xy: ill_conditioned_quadratic(xy, kappa), (2.0, 1.0), SGD, num_steps, lr=lr)
    assert path.shape == (num_steps + 1, 2)
    steps = torch.arange(num_steps + 1, dtype=torch.float64)
    # Gradient descent on diag(1, kappa): each coordinate shrinks by (1 - lr * curvature) per step.
    expected = torch.stack([2.0 * (1 - lr) ** steps, 1.0 * (1 - lr * kappa) ** steps], dim=1)  # (T + 1, 2)
    torch.testing.assert_close(path, expected)
    with pytest.raises(ValueError, match="Invalid kappa: 0.5"):
        ill_conditioned_quadratic(torch.zeros(2), kappa=0.5)


def test_trajectory_and_twins_validate_input():
    with pytest.raises(TypeError, match="optimizer_cls must be a torch.optim.Optimizer subclass"):
        trajectory(rosenbrock, (0.0, 0.0), "SGD", 5, lr=0.1)
    with pytest.raises(ValueError, match="Invalid num_steps: 0"):
        trajectory(rosenbrock, (0.0, 0.0), SGD, 0, lr=0.1)
    with pytest.raises(ValueError, match="expected start of length 2, got 3"):
        trajectory(rosenbrock, (0.0, 0.0, 0.0), SGD, 5, lr=0.1)
    with pytest.raises(TypeError, match="reference_cls must be a torch.optim.Optimizer subclass"):
        train_twins(SGD, torch.nn.Linear, lr=0.1)
    with pytest.raises(ValueError, match="Invalid num_steps: 0"):
        train_twins(SGD, torch.optim.SGD, num_steps=0, lr=0.1)


def test_train_twins_is_deterministic():
    first, _ = train_twins(Adam, torch.optim.Adam, num_steps=5, seed=7, lr=0.01)
    second, _ = train_twins(Adam, torch.optim.Adam, num_steps=5, seed=7, lr=0.01)
    other, _ = train_twins(Adam, torch.optim.Adam, num_steps=5, seed=8, lr=0.01)
    assert all(torch.equal(p, q) for p, q in zip(first, second))
    assert not torch.equal(first[0], other[0])
