"""Tests for dlfoundations.sequences: the noisy periodic series, windows and the adding problem."""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from dlfoundations.seed import make_generator
from dlfoundations.sequences import adding_problem, make_windows, noisy_periodic_series

# ---------------------------------------------------------------- noisy_periodic_series


def test_series_without_noise_is_the_sum_of_sines() -> None:
    s = noisy_periodic_series(50, periods=(10.0, 4.0), amplitudes=(2.0, 0.5), noise_std=0.0, dtype=torch.float64)
    t = torch.arange(50, dtype=torch.float64)
    expected = 2.0 * torch.sin(2 * math.pi * t / 10.0) + 0.5 * torch.sin(2 * math.pi * t / 4.0)
    assert s.shape == (50,)
    assert_close(s, expected)


def test_series_is_deterministic_and_noise_has_the_requested_std() -> None:
    a = noisy_periodic_series(20_000, noise_std=0.3, generator=make_generator(1))
    b = noisy_periodic_series(20_000, noise_std=0.3, generator=make_generator(1))
    c = noisy_periodic_series(20_000, noise_std=0.3, generator=make_generator(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    clean = noisy_periodic_series(20_000, noise_std=0.0)
    assert abs((a - clean).std().item() - 0.3) < 0.01
    assert a.dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_steps": 0}, ValueError, r"Invalid num_steps: 0 \(expected >= 1\)"),
        ({"num_steps": 2.0}, TypeError, "num_steps must be an int"),
        ({"num_steps": 5, "periods": (1.0,), "amplitudes": (1.0, 2.0)}, ValueError, r"one amplitude per period \(1\), got 2"),
        ({"num_steps": 5, "periods": (0.0,), "amplitudes": (1.0,)}, ValueError, "periods must hold finite positive"),
        ({"num_steps": 5, "periods": "ab"}, TypeError, "periods must be a sequence"),
        ({"num_steps": 5, "noise_std": -0.1}, ValueError, r"Invalid noise_std: -0.1 \(expected a finite number >= 0\)"),
        ({"num_steps": 5, "dtype": torch.int64}, TypeError, "dtype must be a floating"),
        ({"num_steps": 5, "generator": 3}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_series_rejects_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        noisy_periodic_series(**kwargs)


# ---------------------------------------------------------------- make_windows


def test_windows_hold_the_window_and_the_next_value() -> None:
    series = torch.arange(10.0)
    X, y = make_windows(series, 3)
    assert X.shape == (7, 3, 1)
    assert y.shape == (7, 1)
    for i in range(7):
        assert_close(X[i, :, 0], series[i : i + 3])
        assert y[i, 0].item() == series[i + 3].item()
    X[0, 0, 0] = -1.0  # a copy: the series must not change
    assert series[0].item() == 0.0


@pytest.mark.parametrize(
    ("series", "window", "error", "match"),
    [
        (torch.arange(10.0).reshape(2, 5), 2, ValueError, r"expected series of shape \(L,\), got \(2, 5\)"),
        (torch.arange(5.0), 5, ValueError, "expected window < 5, got 5"),
        (torch.arange(5.0), 0, ValueError, "Invalid window: 0"),
        (torch.arange(5), 2, TypeError, "series must be a floating Tensor"),
        ([1.0, 2.0, 3.0], 1, TypeError, "series must be a floating Tensor, got list"),
    ],
)
def test_windows_reject_bad_input(series: object, window: int, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make_windows(series, window)


# ---------------------------------------------------------------- adding_problem


def test_adding_problem_markers_and_targets() -> None:
    N, T = 500, 11
    X, y = adding_problem(N, T, dtype=torch.float64, generator=make_generator(0))
    assert X.shape == (N, T, 2)
    assert y.shape == (N, 1)
    values, markers = X[..., 0], X[..., 1]
    assert torch.all((values >= 0) & (values < 1))
    assert torch.equal(markers.sum(dim=1), torch.full((N,), 2.0, dtype=torch.float64))
    half = T // 2
    assert torch.equal(markers[:, :half].sum(dim=1), torch.ones(N, dtype=torch.float64))  # one in the first half
    assert torch.equal(markers[:, half:].sum(dim=1), torch.ones(N, dtype=torch.float64))  # one in the second half
    expected = torch.stack([values[n][markers[n] == 1].sum() for n in range(N)]).unsqueeze(1)
    assert_close(y, expected)


def test_adding_problem_is_deterministic_and_has_the_stated_moments() -> None:
    X1, y1 = adding_problem(20_000, 6, generator=make_generator(3))
    X2, y2 = adding_problem(20_000, 6, generator=make_generator(3))
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    # the sum of two U(0, 1): mean 1, variance 1/6, so predicting 1.0 has MSE 1/6
    assert abs(y1.mean().item() - 1.0) < 0.01
    assert abs(((y1 - 1.0) ** 2).mean().item() - 1 / 6) < 0.005


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0, 5), {}, ValueError, r"Invalid num_samples: 0 \(expected >= 1\)"),
        ((4, 1), {}, ValueError, r"Invalid seq_len: 1 \(expected >= 2\)"),
        ((4, True), {}, TypeError, "seq_len must be an int, got bool"),
        ((4, 5), {"dtype": torch.int32}, TypeError, "dtype must be a floating"),
        ((4, 5), {"generator": "0"}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_adding_problem_rejects_bad_arguments(args: tuple, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        adding_problem(*args, **kwargs)
