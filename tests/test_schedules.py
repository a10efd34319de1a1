"""Tests for dlfoundations.schedules: each schedule against torch.optim.lr_scheduler."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler

from dlfoundations.schedules import cosine_annealing_lr, linear_lr, step_lr, warmup_cosine_lr

LR = 0.1
NUM_STEPS = 300


def _torch_lrs(make_scheduler, num_steps=NUM_STEPS):
    """The learning rate torch uses at steps 0, 1, ..., num_steps - 1."""
    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=LR)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(num_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return torch.tensor(lrs, dtype=torch.float64)


def _ours(fn, num_steps=NUM_STEPS, **kwargs):
    return torch.tensor([fn(t, LR, **kwargs) for t in range(num_steps)], dtype=torch.float64)


@pytest.mark.parametrize(("step_size", "gamma"), [(1, 0.9), (7, 0.5), (30, 0.1), (100, 1.0), (50, 0.0)])
def test_step_lr_equals_torch(step_size, gamma):
    expected = _torch_lrs(lambda o: lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma))
    torch.testing.assert_close(_ours(step_lr, step_size=step_size, gamma=gamma), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("T_max", "eta_min"), [(1, 0.0), (10, 0.0), (50, 0.001), (300, 0.01), (120, 0.1)])
def test_cosine_annealing_lr_equals_torch(T_max, eta_min):
    # Past T_max both continue the cosine: the comparison covers several half-periods.
    expected = _torch_lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min))
    torch.testing.assert_close(
        _ours(cosine_annealing_lr, T_max=T_max, eta_min=eta_min), expected, rtol=1e-10, atol=1e-13
    )


@pytest.mark.parametrize(
    ("start_factor", "end_factor", "total_iters"),
    [(1.0 / 3, 1.0, 5), (0.01, 1.0, 100), (1.0, 0.1, 40), (0.5, 0.5, 10), (1.0, 0.0, 300)],
)
def test_linear_lr_equals_torch(start_factor, end_factor, total_iters):
    expected = _torch_lrs(
        lambda o: lr_scheduler.LinearLR(o, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)
    )
    ours = _ours(linear_lr, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("warmup_steps", "T_max"), [(1, 50), (10, 100), (25, 300)])
def test_warmup_cosine_equals_torch_sequential(warmup_steps, T_max):
    W = warmup_steps

    def make(o):
        # torch's LinearLR reaches its end after total_iters steps, ours after W - 1 (t + 1 = W): hence W - 1.
        warmup = lr_scheduler.LinearLR(o, start_factor=1.0 / W, end_factor=1.0, total_iters=max(W - 1, 1))
        cosine = lr_scheduler.CosineAnnealingLR(o, T_max=T_max - W)
        return lr_scheduler.SequentialLR(o, [warmup, cosine], milestones=[W])

    expected = _torch_lrs(make, num_steps=T_max + 1)  # torch's cosine would rise again after T_max
    torch.testing.assert_close(_ours(warmup_cosine_lr, T_max + 1, warmup_steps=W, T_max=T_max), expected)


def test_warmup_cosine_shape():
    lrs = [warmup_cosine_lr(t, 1.0, warmup_steps=4, T_max=20, eta_min=0.1) for t in range(30)]
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lrs[4] == pytest.approx(1.0)  # the cosine starts at the peak
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))  # non-increasing after the warm-up
    assert lrs[20] == pytest.approx(0.1) and lrs[29] == pytest.approx(0.1)  # held at eta_min
    mid = 4 + 8  # halfway through the cosine: the mean of the peak and eta_min
    assert lrs[mid] == pytest.approx(0.55)


def test_cosine_values_from_the_equation():
    assert cosine_annealing_lr(0, 2.0, T_max=10) == 2.0
    assert cosine_annealing_lr(5, 2.0, T_max=10) == pytest.approx(1.0)
    assert cosine_annealing_lr(10, 2.0, T_max=10, eta_min=0.5) == pytest.approx(0.5)
    assert cosine_annealing_lr(3, 2.0, T_max=10) == pytest.approx(1.0 * (1 + math.cos(0.3 * math.pi)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: step_lr(-1, 0.1, 10), ValueError, r"Invalid step: -1 \(expected >= 0\)"),
        (lambda: step_lr(1.5, 0.1, 10), TypeError, "step must be an int, got float"),
        (lambda: step_lr(0, -0.1, 10), ValueError, "Invalid learning rate: -0.1"),
        (lambda: step_lr(0, 0.1, 0), ValueError, r"Invalid step_size: 0 \(expected >= 1\)"),
        (lambda: step_lr(0, 0.1, 10, gamma=2.0), ValueError, "Invalid gamma: 2.0"),
        (lambda: cosine_annealing_lr(0, 0.1, T_max=0), ValueError, "Invalid T_max: 0"),
        (lambda: cosine_annealing_lr(0, 0.1, T_max=10, eta_min=0.2), ValueError, "Invalid eta_min: 0.2"),
        (lambda: cosine_annealing_lr(0, "0.1", T_max=10), TypeError, "lr must be a float, got str"),
        (lambda: linear_lr(0, 0.1, start_factor=0.0), ValueError, r"Invalid start_factor: 0.0 \(expected a finite number > 0 and <= 1\)"),
        (lambda: linear_lr(0, 0.1, end_factor=1.5), ValueError, "Invalid end_factor: 1.5"),
        (lambda: linear_lr(0, 0.1, total_iters=2.0), TypeError, "total_iters must be an int, got float"),
        (lambda: warmup_cosine_lr(0, 0.1, warmup_steps=10, T_max=10), ValueError, "Invalid T_max: 10 .*warmup_steps = 10"),
        (lambda: warmup_cosine_lr(0, 0.1, warmup_steps=0, T_max=10), ValueError, "Invalid warmup_steps: 0"),
    ],
)
def test_invalid_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()
