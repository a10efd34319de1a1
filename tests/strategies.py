"""Hypothesis strategies shared by the property-based tests: tensors that reach the edges.

Random normal inputs almost never hit the places where a hand-written formula parts
from PyTorch's: exact zeros (ReLU's kink, sigmoid's symmetric point), signed zeros,
NaN and ±inf, magnitudes near the limits of float32, empty batches, size-1
dimensions, rank-deficient and ill-conditioned matrices. These strategies draw
such values on purpose, mixed with ordinary ones, so that every property test
reaches them without writing them out by hand.

Use them as ``@given(X=tensors(dtype=torch.float64))`` and compare against the
reference with :func:`assert_same` (values and NaN positions) and
:func:`grads` (autograd gradients).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

DTYPES = (torch.float32, torch.float64)
_NP = {torch.float32: np.float32, torch.float64: np.float64}


def edge_values(dtype: torch.dtype, allow_nan: bool = True, allow_infinity: bool = True) -> list[float]:
    """The values where formulas usually break, for one float dtype."""
    info = torch.finfo(dtype)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, info.tiny, -info.tiny, info.eps, info.max, -info.max,
            math.log(info.max), -math.log(info.max), 1e-30 if dtype == torch.float64 else 1e-20]
    if allow_nan:
        vals.append(math.nan)
    if allow_infinity:
        vals += [math.inf, -math.inf]
    return vals


def scalars(dtype: torch.dtype = torch.float64, *, allow_nan: bool = True, allow_infinity: bool = True,
            min_value: float | None = None, max_value: float | None = None) -> st.SearchStrategy[float]:
    """One float of ``dtype``: an edge value one time in three, else any representable float.

    With ``min_value``/``max_value`` the draws (edges included) stay in that closed range,
    and NaN and infinities are only drawn if allowed and in range.
    """
    width = 32 if dtype == torch.float32 else 64
    if width == 32:  # Hypothesis wants bounds that float32 represents exactly: round them inward
        if min_value is not None and float(np.float32(min_value)) < min_value:
            min_value = float(np.nextafter(np.float32(min_value), np.float32(np.inf)))
        elif min_value is not None:
            min_value = float(np.float32(min_value))
        if max_value is not None and float(np.float32(max_value)) > max_value:
            max_value = float(np.nextafter(np.float32(max_value), np.float32(-np.inf)))
        elif max_value is not None:
            max_value = float(np.float32(max_value))
    lo = -math.inf if min_value is None else min_value
    hi = math.inf if max_value is None else max_value
    bounded = min_value is not None or max_value is not None
    # NaN only without bounds (it lies in no range); infinities only where the range reaches them.
    edges = [v for v in edge_values(dtype, allow_nan and not bounded, allow_infinity)
             if math.isnan(v) or lo <= v <= hi]
    ordinary = st.floats(min_value=min_value, max_value=max_value, allow_nan=None if allow_nan else False,
                         allow_infinity=None if allow_infinity else False, width=width, allow_subnormal=True)
    return st.one_of(st.sampled_from(edges), ordinary, ordinary)


def tensors(dtype: torch.dtype = torch.float64, *, shape: tuple[int, ...] | None = None, min_dims: int = 1,
            max_dims: int = 2, min_side: int = 0, max_side: int = 5, allow_nan: bool = True,
            allow_infinity: bool = True, min_value: float | None = None,
            max_value: float | None = None) -> st.SearchStrategy[torch.Tensor]:
    """A tensor of ``dtype`` whose entries are drawn by :func:`scalars` (so zeros, kinks, NaN, ±inf and
    huge and tiny magnitudes appear), of a fixed ``shape`` or of a drawn shape whose sides may be 0
    (empty batches) or 1.
    """
    shapes = st.just(shape) if shape is not None else hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    elements = scalars(dtype, allow_nan=allow_nan, allow_infinity=allow_infinity, min_value=min_value,
                       max_value=max_value)
    return hnp.arrays(_NP[dtype], shapes, elements=elements).map(lambda a: torch.from_numpy(a.copy()))


def finite_tensors(dtype: torch.dtype = torch.float64, *, bound: float = 1e3, **kwargs) -> st.SearchStrategy[torch.Tensor]:
    """Like :func:`tensors` with finite entries in ``[-bound, bound]`` (still zeros, ±1, tiny values)."""
    return tensors(dtype, allow_nan=False, allow_infinity=False, min_value=-bound, max_value=bound, **kwargs)


@st.composite
def rank_deficient_matrices(draw, dtype: torch.dtype = torch.float64, max_rows: int = 8,
                            max_cols: int = 5) -> torch.Tensor:
    """An ``(N, D)`` matrix of rank below ``min(N, D)``: collinear or repeated columns, zero columns,
    or a product of thin factors."""
    N = draw(st.integers(2, max_rows))
    D = draw(st.integers(2, max_cols))
    rank = draw(st.integers(0, min(N, D) - 1))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    kind = draw(st.sampled_from(["factors", "collinear", "zero-column"]))
    if kind == "factors" or rank == 0:
        A = torch.randn(N, max(rank, 1), generator=g, dtype=torch.float64)
        B = torch.randn(max(rank, 1), D, generator=g, dtype=torch.float64)
        M = A @ B if rank > 0 else torch.zeros(N, D, dtype=torch.float64)
    else:
        N = max(N, D)  # a tall matrix: one collinear or zero column then lowers its rank
        M = torch.randn(N, D, generator=g, dtype=torch.float64)
        j, k = draw(st.integers(0, D - 1)), draw(st.integers(0, D - 1))
        if kind == "collinear":
            k = (j + 1) % D if k == j else k
            M[:, k] = draw(st.sampled_from([1.0, -2.0, 0.5, 3.0])) * M[:, j]
        else:
            M[:, j] = 0.0
    return M.to(dtype)


def assert_same(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float | None = None,
                atol: float | None = None) -> None:
    """``assert_close`` that also requires NaN in the same places and equal dtypes and shapes."""
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def grads(fn, *inputs: torch.Tensor, grad_output: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """Autograd gradients of ``fn(*inputs)`` (summed, or weighted by ``grad_output``) with respect to
    every input: fresh leaf copies are made, so the caller's tensors are untouched."""
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*leaves)
    if grad_output is None:
        grad_output = torch.ones_like(out)
    got = torch.autograd.grad(out, leaves, grad_outputs=grad_output, allow_unused=True)
    return tuple(torch.zeros_like(x) if g is None else g for x, g in zip(leaves, got))
