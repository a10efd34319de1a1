"""Property-based tests for dlfoundations.sequences: the generators and the windowing at the edges.

The clean series is compared with a NumPy float64 reference rounded to each dtype, to within one
unit (series of length 1, long series where a low-precision time index would repeat, tiny and
huge periods);
the windows with NumPy's ``sliding_window_view`` and their autograd gradients with those of a
slicing reference (empty series, window 1, window as long as the series or longer, NaN and inf
entries); the adding problem with its definition. Every generator is deterministic in its seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlfoundations.seed import make_generator
from dlfoundations.sequences import adding_problem, make_windows, noisy_periodic_series
from strategies import DTYPES, assert_same, grads, tensors

ALL_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _reference_series(L: int, periods, amplitudes) -> np.ndarray:
    t = np.arange(L, dtype=np.float64)
    return sum(a * np.sin(2 * np.pi * t / p) for a, p in zip(amplitudes, periods))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@given(
    L=st.one_of(st.integers(1, 40), st.sampled_from([257, 2049, 70_001])),
    terms=st.lists(st.tuples(st.floats(1e-3, 1e6), st.floats(-1e3, 1e3)), min_size=1, max_size=3),
)
def test_clean_series_is_the_float64_sum_of_sines_rounded_once(dtype, L, terms) -> None:
    periods, amplitudes = [p for p, _ in terms], [a for _, a in terms]
    s = noisy_periodic_series(L, periods=periods, amplitudes=amplitudes, noise_std=0.0, dtype=dtype)
    expected = torch.from_numpy(_reference_series(L, periods, amplitudes)).to(dtype)
    assert s.shape == (L,) and s.dtype == dtype
    # NumPy's and PyTorch's float64 sines may differ in the last bit, which can move a rounding
    # to dtype by one unit: allow one unit of dtype (and a few of float64 on the amplitudes' scale)
    scale = sum(abs(a) for a in amplitudes)
    eps = torch.finfo(dtype).eps
    assert_same(s, expected, rtol=eps, atol=max(eps, 4 * torch.finfo(torch.float64).eps) * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@given(L=st.integers(1, 60), seed=st.integers(0, 2**31 - 1), noise_std=st.floats(0.0, 10.0))
def test_series_is_deterministic_and_its_noise_is_the_scaled_normal_draw(dtype, L, seed, noise_std) -> None:
    a = noisy_periodic_series(L, noise_std=noise_std, dtype=dtype, generator=make_generator(seed))
    b = noisy_periodic_series(L, noise_std=noise_std, dtype=dtype, generator=make_generator(seed))
    assert torch.equal(a, b)
    clean = noisy_periodic_series(L, noise_std=0.0, dtype=dtype)
    noise = torch.randn(L, generator=make_generator(seed), dtype=dtype)
    assert_same(a, clean + noise_std * noise, rtol=0.0, atol=0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@given(series=tensors(torch.float64, min_dims=1, max_dims=1, min_side=0, max_side=9), window=st.integers(1, 11))
def test_windows_equal_sliding_window_view_values_and_grads(dtype, series, window) -> None:
    series = series.to(dtype)
    L = series.shape[0]
    if window >= L:  # no (window -> next value) pair exists
        with pytest.raises(ValueError, match=f"expected window < {L}, got {window}"):
            make_windows(series, window)
        return
    X, y = make_windows(series, window)
    N = L - window
    assert X.shape == (N, window, 1) and y.shape == (N, 1) and X.dtype == y.dtype == dtype
    views = np.lib.stride_tricks.sliding_window_view(series.numpy(), window)  # (L - T + 1, T)
    assert_same(X[..., 0], torch.from_numpy(views[:-1].copy()), rtol=0.0, atol=0.0)
    assert_same(y[:, 0], series[window:], rtol=0.0, atol=0.0)
    assert X.data_ptr() != series.data_ptr()  # a copy, not a view

    def ours(s):
        X_, y_ = make_windows(s, window)
        return torch.cat([X_.reshape(-1), y_.reshape(-1)])

    def reference(s):
        rows = [s[i:i + window] for i in range(N)]
        return torch.cat(rows + [s[window:]])

    weights = torch.arange(1.0, N * (window + 1) + 1, dtype=dtype)  # a different weight per output
    assert_same(grads(ours, series, grad_output=weights)[0], grads(reference, series, grad_output=weights)[0])


@pytest.mark.parametrize("dtype", DTYPES)
@given(N=st.integers(1, 4), T=st.integers(2, 9), seed=st.integers(0, 2**31 - 1))
def test_adding_problem_follows_its_definition_and_its_seed(dtype, N, T, seed) -> None:
    X, y = adding_problem(N, T, dtype=dtype, generator=make_generator(seed))
    X2, y2 = adding_problem(N, T, dtype=dtype, generator=make_generator(seed))
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert X.shape == (N, T, 2) and y.shape == (N, 1) and X.dtype == y.dtype == dtype
    values, markers = X[..., 0], X[..., 1]
    assert bool(((values >= 0) & (values < 1)).all())
    assert bool(((markers == 0) | (markers == 1)).all())
    half = T // 2
    assert torch.equal(markers[:, :half].sum(1), torch.ones(N, dtype=dtype))  # one marker in the first half
    assert torch.equal(markers[:, half:].sum(1), torch.ones(N, dtype=dtype))  # and one in the second
    assert_same(y[:, 0], (values * markers).sum(1), rtol=0.0, atol=0.0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: make_windows(torch.zeros(0), 1), ValueError, r"expected window < 0, got 1"),
        (lambda: make_windows(torch.zeros(5), 0), ValueError, r"Invalid window: 0 \(expected >= 1\)"),
        (lambda: make_windows(torch.zeros(5), 5), ValueError, r"expected window < 5, got 5"),
        (lambda: make_windows(torch.zeros(5), 2.0), TypeError, "window must be an int, got float"),
        (lambda: make_windows(torch.arange(5), 2), TypeError, "series must be a floating Tensor, got Tensor of dtype torch.int64"),
        (lambda: make_windows([0.0, 1.0, 2.0], 1), TypeError, "series must be a floating Tensor, got list"),
        (lambda: noisy_periodic_series(0), ValueError, r"Invalid num_steps: 0 \(expected >= 1\)"),
        (lambda: noisy_periodic_series(5, periods=(0.0,), amplitudes=(1.0,)), ValueError, "periods must hold finite positive"),
        (lambda: noisy_periodic_series(5, periods=(math.inf,), amplitudes=(1.0,)), ValueError, "periods must hold finite positive"),
        (lambda: noisy_periodic_series(5, amplitudes=(math.nan, 1.0)), ValueError, "amplitudes must hold finite floats"),
        (lambda: noisy_periodic_series(5, noise_std=math.nan), ValueError, r"Invalid noise_std: nan \(expected a finite number >= 0\)"),
        (lambda: noisy_periodic_series(5, dtype=torch.int32), TypeError, "dtype must be a floating torch.dtype, got torch.int32"),
        (lambda: adding_problem(0, 4), ValueError, r"Invalid num_samples: 0 \(expected >= 1\)"),
        (lambda: adding_problem(2, 1), ValueError, r"Invalid seq_len: 1 \(expected >= 2\)"),
        (lambda: adding_problem(2, 4, generator=1), TypeError, "generator must be a torch.Generator or None, got int"),
    ],
)
def test_bad_input_raises_named_errors(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_numpy_scalars_are_accepted_as_numbers() -> None:
    kwargs = {"periods": (4.0,), "amplitudes": (1.0,), "noise_std": 0.0, "dtype": torch.float64}
    expected = noisy_periodic_series(9, **kwargs)
    got = noisy_periodic_series(9, periods=(np.float32(4.0),), amplitudes=(np.int64(1),), noise_std=np.float32(0.0),
                                dtype=torch.float64)
    assert torch.equal(got, expected)
    assert torch.equal(noisy_periodic_series(9, periods=np.array([4.0]), amplitudes=np.array([1.0]), noise_std=0.0,
                                             dtype=torch.float64), expected)
