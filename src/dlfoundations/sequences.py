r"""Seeded sequence data: a noisy periodic series and the adding problem.

Both draw all of their randomness from an explicit ``torch.Generator``
(from :func:`dlfoundations.seed.make_generator`), so the same seed gives
``torch.equal`` tensors. Shapes are batch-first, ``(N, T, D)``, as
``nn.LSTM(batch_first=True)`` reads them.

- :func:`noisy_periodic_series`: :math:`s_t = \sum_q a_q \sin(2\pi t / p_q) + \varepsilon_t`.
- :func:`make_windows`: the series as (window of :math:`T` values → next value) pairs.
- :func:`adding_problem`: sequences of (value, marker) pairs whose target is
  the sum of the two marked values (Hochreiter & Schmidhuber, 1997).

Book chapter: :ref:`chap-rnn`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from dlfoundations._validation import (
    check_float,
    check_floating_dtype,
    check_floating_tensor,
    check_generator,
    check_int,
)

__all__ = ["adding_problem", "make_windows", "noisy_periodic_series"]


def _check_floats(values: object, name: str, positive: bool) -> tuple[float, ...]:
    if isinstance(values, np.ndarray) and values.ndim == 1:  # a 1-D NumPy array holds floats too
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of floats, got {type(values).__name__}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):  # NumPy scalars too
            raise TypeError(f"{name} must hold floats, got {type(v).__name__}: {v!r}")
        if not math.isfinite(v) or (positive and v <= 0):
            raise ValueError(f"{name} must hold finite{' positive' if positive else ''} floats, got {list(values)}")
        out.append(float(v))
    if not out:
        raise ValueError(f"{name} must hold at least one value, got {list(values)}")
    return tuple(out)


def _check_series_args(
    num_steps: object, periods: object, amplitudes: object, noise_std: object, dtype: object, generator: object
) -> tuple[int, tuple[float, ...], tuple[float, ...], float]:
    L = check_int(num_steps, "num_steps", 1)
    p = _check_floats(periods, "periods", positive=True)
    a = _check_floats(amplitudes, "amplitudes", positive=False)
    if len(p) != len(a):
        raise ValueError(f"expected one amplitude per period ({len(p)}), got {len(a)} amplitudes")
    noise_std = check_float(noise_std, "noise_std", low=0.0)
    check_floating_dtype(dtype)
    check_generator(generator)
    return L, p, a, noise_std


def noisy_periodic_series(
    num_steps: int,
    periods: Sequence[float] = (25.0, 9.0),
    amplitudes: Sequence[float] = (1.0, 0.5),
    noise_std: float = 0.1,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""A sum of sines plus Gaussian noise: :math:`s_t = \sum_q a_q \sin(2\pi t / p_q) + \varepsilon_t`, :math:`\varepsilon_t \sim \mathcal N(0, \sigma^2)`.

    The time index runs over :math:`t = 0, \dots, L-1`. The sines are computed
    in float64 and rounded to ``dtype`` once, so every ``dtype`` holds the
    correctly rounded clean series however long it is. Only the noise is
    random; it is drawn from ``generator`` in one call, in ``dtype``, so the
    same seed gives the same series.

    Args:
        num_steps (int): length :math:`L \ge 1` of the series.
        periods (Sequence[float]): periods :math:`p_q > 0`, in steps (a 1-D NumPy array will do). Default: ``(25.0, 9.0)``.
        amplitudes (Sequence[float]): amplitudes :math:`a_q`, one per period (or a 1-D NumPy array). Default: ``(1.0, 0.5)``.
        noise_std (float): :math:`\sigma \ge 0`. Default: 0.1.
        dtype (torch.dtype): floating dtype of the result. Default: ``torch.float32``.
        generator (torch.Generator | None): source of the noise. Default: ``None``
            (PyTorch's global generator).

    Shape:
        - Output: :math:`(L,)`.

    Returns:
        Tensor: the series.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if ``num_steps < 1``, a period is not positive, ``periods``
            and ``amplitudes`` differ in length, or ``noise_std`` is negative.

    Book section: :ref:`sec-rnn-forecast`.
    """
    L, p, a, noise_std = _check_series_args(num_steps, periods, amplitudes, noise_std, dtype, generator)
    # the time index and the sines in float64, rounded to dtype once at the end: a float16 or
    # bfloat16 arange repeats integers beyond 2048 or 256, and float32 phases drift for large t
    t = torch.arange(L, dtype=torch.float64)  # (L,)
    clean = sum(aq * torch.sin(2 * math.pi * t / pq) for aq, pq in zip(a, p)).to(dtype)  # (L,)
    return clean + noise_std * torch.randn(L, generator=generator, dtype=dtype)


def _check_windows_args(series: object, window: object) -> int:
    """Check the arguments of :func:`make_windows`; return the window length ``T``."""
    series = check_floating_tensor(series, "series")
    if series.ndim != 1:
        raise ValueError(f"expected series of shape (L,), got {tuple(series.shape)}")
    T, L = check_int(window, "window", 1), series.shape[0]
    if T >= L:
        raise ValueError(f"window must be shorter than the series (length {L}): expected window < {L}, got {T}")
    return T


def make_windows(series: Tensor, window: int) -> tuple[Tensor, Tensor]:
    r"""Cut a series into (window → next value) pairs: :math:`X_i = (s_i, \dots, s_{i+T-1})`, :math:`y_i = s_{i+T}`.

    Args:
        series (Tensor): a 1-D floating series of length :math:`L`.
        window (int): the window length :math:`T`, ``1 <= T < L``.

    Shape:
        - series: :math:`(L,)`.
        - X: :math:`(N, T, 1)` with :math:`N = L - T`; y: :math:`(N, 1)`.

    Returns:
        tuple[Tensor, Tensor]: ``(X, y)``; ``X`` is a copy, not a view of ``series``.

    Raises:
        TypeError: if ``series`` is not a floating tensor or ``window`` not an int.
        ValueError: if ``series`` is not 1-D or ``window`` is not in ``[1, L)``.

    Book section: :ref:`sec-rnn-forecast`.
    """
    T = _check_windows_args(series, window)
    X = series.unfold(0, T, 1)[:-1].clone()  # (L - T + 1, T) -> drop the last window: (N, T)
    y = series[T:].clone()  # (N,)
    return X.unsqueeze(-1), y.unsqueeze(-1)  # (N, T, 1), (N, 1)


def _check_adding_args(num_samples: object, seq_len: object, dtype: object, generator: object) -> tuple[int, int]:
    N, T = check_int(num_samples, "num_samples", 1), check_int(seq_len, "seq_len", 2)
    check_floating_dtype(dtype)
    check_generator(generator)
    return N, T


def adding_problem(
    num_samples: int,
    seq_len: int,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""The adding problem: :math:`y = \sum_{t=1}^{T} v_t m_t` for values :math:`v_t \sim \mathcal U(0, 1)` and exactly two markers :math:`m_t = 1`.

    Each sequence has :math:`T` steps of two features, a value and a marker.
    One marker sits at a uniformly drawn step of the first half
    :math:`\{1, \dots, \lfloor T/2 \rfloor\}`, the other in the second half, so
    the network has to carry the first marked value across about :math:`T/2`
    steps or more. The target, a sum of two uniform values, has mean 1 and
    variance :math:`1/6`: predicting 1.0 for every sequence gives MSE 1/6.

    Draws, in order: all values (``(N, T)``), then the first and the second
    marker positions.

    Args:
        num_samples (int): number of sequences :math:`N \ge 1`.
        seq_len (int): sequence length :math:`T \ge 2`.
        dtype (torch.dtype): floating dtype of ``X`` and ``y``. Default: ``torch.float32``.
        generator (torch.Generator | None): source of all randomness. Default: ``None``.

    Shape:
        - X: :math:`(N, T, 2)`; ``X[..., 0]`` the values, ``X[..., 1]`` the markers.
        - y: :math:`(N, 1)`.

    Returns:
        tuple[Tensor, Tensor]: ``(X, y)``.

    Raises:
        TypeError: if a size is not an int, ``dtype`` not floating or
            ``generator`` not a ``torch.Generator``.
        ValueError: if ``num_samples < 1`` or ``seq_len < 2``.

    Reference: Hochreiter & Schmidhuber (1997), section 5.4, experiment 4.
    There the values lie in :math:`[-1, 1]`, the first marker falls among the
    first ten steps and the second in the first half as well, the lengths vary
    and the target is rescaled; one marker per half, as here, follows later
    benchmarks. Book section :ref:`sec-rnn-adding`.
    """
    N, T = _check_adding_args(num_samples, seq_len, dtype, generator)
    values = torch.rand(N, T, generator=generator, dtype=dtype)  # (N, T)
    half = T // 2
    first = torch.randint(0, half, (N,), generator=generator)  # (N,) in [0, T/2)
    second = torch.randint(half, T, (N,), generator=generator)  # (N,) in [T/2, T)
    markers = torch.zeros(N, T, dtype=dtype)  # (N, T)
    rows = torch.arange(N)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = torch.stack([values, markers], dim=-1)  # (N, T, 2)
    y = (values * markers).sum(dim=1, keepdim=True)  # (N, 1)
    return X, y
