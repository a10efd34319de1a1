"""Property-based tests for dlfoundations.schedules against torch.optim.lr_scheduler at the edges.

Hyper-parameters include their edges (lr = 0, gamma 0 and 1, eta_min 0 and equal to lr,
start_factor 1, end_factor 0, T_max = 1, total_iters = 1), and every step from 0 through
several periods is compared, so step 0 and every boundary (multiples of ``step_size``,
``T_max``, ``total_iters``) are always covered.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from dlfoundations.schedules import cosine_annealing_lr, linear_lr, step_lr, warmup_cosine_lr

LRS = st.one_of(st.sampled_from([0.0, 1e-300, 1e-3, 0.1, 1.0, 10.0]), st.floats(0.0, 10.0))
FRACTIONS = st.one_of(st.sampled_from([0.0, 0.1, 0.5, 1.0]), st.floats(0.0, 1.0))


def _torch_lrs(make_scheduler, lr: float, num_steps: int) -> list[float]:
    """The learning rate torch uses at steps 0, 1, ..., num_steps - 1."""
    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation notes are not what is tested
        scheduler = make_scheduler(optimizer)
        lrs = []
        for _ in range(num_steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return lrs


def _assert_close_lists(ours: list[float], theirs: list[float], lr: float) -> None:
    assert all(isinstance(value, float) for value in ours)
    # The recursions of torch's schedulers accumulate round-off relative to the base rate.
    torch.testing.assert_close(torch.tensor(ours, dtype=torch.float64), torch.tensor(theirs, dtype=torch.float64),
                               rtol=1e-10, atol=1e-12 * lr + 1e-300)


@given(lr=LRS, step_size=st.integers(1, 12), gamma=st.one_of(st.sampled_from([0.0, 0.1, 0.5, 1.0]), st.floats(0, 1)))
def test_step_lr_equals_torch_from_step_zero_through_the_boundaries(lr, step_size, gamma):
    num_steps = 3 * step_size + 2
    ours = [step_lr(t, lr, step_size, gamma) for t in range(num_steps)]
    _assert_close_lists(ours, _torch_lrs(lambda o: lr_scheduler.StepLR(o, step_size, gamma), lr, num_steps), lr)
    assert ours[0] == lr  # step 0 is the base rate exactly, as in torch
    for k in range(3):
        assert ours[k * step_size] == pytest.approx(lr * gamma**k, rel=1e-12, abs=0.0)


@given(lr=LRS, T_max=st.integers(1, 15), fraction=FRACTIONS)
def test_cosine_annealing_lr_equals_torch_over_several_half_periods(lr, T_max, fraction):
    eta_min = fraction * lr
    num_steps = 3 * T_max + 2  # past T_max both continue the cosine
    ours = [cosine_annealing_lr(t, lr, T_max, eta_min) for t in range(num_steps)]
    theirs = _torch_lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max, eta_min), lr, num_steps)
    _assert_close_lists(ours, theirs, lr)
    assert ours[0] == lr  # exactly the base rate at step 0, as torch
    assert ours[T_max] == eta_min  # exactly eta_min at the boundary: cos(pi) = -1
    assert ours[2 * T_max] == lr  # and back at the peak after a full period
    assert all(eta_min <= value <= lr for value in ours)


@given(lr=LRS, start_factor=st.one_of(st.sampled_from([1e-8, 1.0 / 3, 1.0]), st.floats(1e-8, 1.0)),
       end_factor=FRACTIONS, total_iters=st.integers(1, 12))
def test_linear_lr_equals_torch_before_at_and_after_total_iters(lr, start_factor, end_factor, total_iters):
    num_steps = total_iters + 3
    ours = [linear_lr(t, lr, start_factor, end_factor, total_iters) for t in range(num_steps)]
    theirs = _torch_lrs(lambda o: lr_scheduler.LinearLR(o, start_factor, end_factor, total_iters), lr, num_steps)
    _assert_close_lists(ours, theirs, lr)
    assert ours[0] == lr * start_factor
    assert ours[total_iters] == ours[-1] == pytest.approx(lr * end_factor, rel=1e-12, abs=1e-300)


@given(lr=LRS, warmup_steps=st.integers(1, 8), decay_steps=st.integers(1, 12), fraction=FRACTIONS)
def test_warmup_cosine_equals_torch_sequential_and_then_holds(lr, warmup_steps, decay_steps, fraction):
    W, T_max, eta_min = warmup_steps, warmup_steps + decay_steps, fraction * lr

    def make(o):
        # Our ramp reaches the peak at t = W - 1, torch's LinearLR after total_iters steps: hence W - 1.
        warmup = lr_scheduler.LinearLR(o, start_factor=1.0 / W, end_factor=1.0, total_iters=max(W - 1, 1))
        cosine = lr_scheduler.CosineAnnealingLR(o, T_max=decay_steps, eta_min=eta_min)
        return lr_scheduler.SequentialLR(o, [warmup, cosine], milestones=[W])

    ours = [warmup_cosine_lr(t, lr, W, T_max, eta_min) for t in range(T_max + 5)]
    _assert_close_lists(ours[: T_max + 1], _torch_lrs(make, lr, T_max + 1), lr)
    assert ours[0] == lr * (1.0 / W) == theirs_first(lr, W)  # the first step never uses a zero rate
    assert ours[W - 1] == ours[W] == pytest.approx(lr, rel=1e-15)  # the peak, at the end of the warm-up
    assert ours[T_max:] == [eta_min] * 5  # then held at eta_min (torch's cosine would rise again)


def theirs_first(lr: float, W: int) -> float:
    return _torch_lrs(lambda o: lr_scheduler.LinearLR(o, start_factor=1.0 / W, total_iters=max(W - 1, 1)), lr, 1)[0]


@given(lr=LRS, warmup_steps=st.integers(2, 10), t=st.integers(0, 9))
def test_warmup_is_linear_lr_with_total_iters_one_less(lr, warmup_steps, t):
    """The docstring's claim: the warm-up is linear_lr with start_factor = 1/T_w and total_iters = T_w - 1."""
    t = min(t, warmup_steps - 1)
    expected = linear_lr(t, lr, start_factor=1.0 / warmup_steps, end_factor=1.0, total_iters=warmup_steps - 1)
    assert warmup_cosine_lr(t, lr, warmup_steps, warmup_steps + 5) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(
    ("call", "make_torch"),
    [
        (lambda: step_lr(3, 0.1, 1, gamma=2.0), lambda o: lr_scheduler.StepLR(o, 1, gamma=2.0)),
        (lambda: step_lr(3, 0.1, 1, gamma=-0.5), lambda o: lr_scheduler.StepLR(o, 1, gamma=-0.5)),
        (lambda: cosine_annealing_lr(3, 0.1, 10, eta_min=0.2), lambda o: lr_scheduler.CosineAnnealingLR(o, 10, 0.2)),
        (lambda: linear_lr(3, 0.1, total_iters=0), lambda o: lr_scheduler.LinearLR(o, total_iters=0)),
    ],
)
def test_documented_stricter_checks_than_torch(call, make_torch):
    """Note in the docstrings: torch builds these schedules (a growing or sign-flipping rate, a cosine
    that rises from lr to eta_min, a ramp of zero length that never ends); the book's functions raise."""
    _torch_lrs(make_torch, 0.1, 3)  # torch accepts
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: step_lr(True, 0.1, 10), TypeError, "step must be an int, got bool"),
        (lambda: step_lr(0, math.nan, 10), ValueError, "Invalid learning rate: nan"),
        (lambda: step_lr(0, math.inf, 10), ValueError, "Invalid learning rate: inf"),
        (lambda: step_lr(0, 0.1, 10, gamma=math.nan), ValueError, "Invalid gamma: nan"),
        (lambda: step_lr(0, 0.1, 10, gamma=None), TypeError, "gamma must be a float, got NoneType"),
        (lambda: step_lr(0, 0.1, 2.5), TypeError, "step_size must be an int, got float"),
        (lambda: cosine_annealing_lr(0, 0.1, T_max=10, eta_min=-0.01), ValueError, "Invalid eta_min: -0.01"),
        (lambda: cosine_annealing_lr(0, 0.1, T_max=10, eta_min=math.nan), ValueError, "Invalid eta_min: nan"),
        (lambda: cosine_annealing_lr(0, 0.1, T_max=-3), ValueError, "Invalid T_max: -3"),
        (lambda: linear_lr(0, 0.1, start_factor=math.nan), ValueError, "Invalid start_factor: nan"),
        (lambda: linear_lr(0, 0.1, start_factor=1.5), ValueError, "Invalid start_factor: 1.5"),
        (lambda: linear_lr(0, 0.1, end_factor=-0.5), ValueError, "Invalid end_factor: -0.5"),
        (lambda: linear_lr(-2, 0.1), ValueError, "Invalid step: -2"),
        (lambda: warmup_cosine_lr(0, 0.1, warmup_steps=2, T_max=1.5), TypeError, "T_max must be an int, got float"),
        (lambda: warmup_cosine_lr(0, 0.1, warmup_steps=2, T_max=10, eta_min=0.5), ValueError, "Invalid eta_min: 0.5"),
    ],
)
def test_bad_arguments_raise_naming_expected_and_received(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_numpy_scalars_are_numbers_as_in_torch():
    import numpy as np

    assert step_lr(np.int64(7), np.float32(0.5), np.int64(3), np.float64(0.5)) == step_lr(7, 0.5, 3, 0.5)
    assert isinstance(cosine_annealing_lr(np.int32(2), np.float64(0.1), 4), float)
