"""Property tests: dlfoundations.plotting.draw_broadcast against torch.broadcast_shapes, and its bad input."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from dlfoundations.plotting import draw_broadcast

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple)


@pytest.fixture(scope="module")
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@settings(max_examples=20)  # each example re-seeds or redraws a figure: slow, and few edges
@given(a=shapes, b=shapes, numpy_ints=st.booleans())
def test_draw_broadcast_returns_torchs_shape_or_a_value_error(ax, a, b, numpy_ints):
    ax.clear()
    if numpy_ints:
        a = tuple(np.int64(s) for s in a)
    try:
        expected = tuple(torch.broadcast_shapes(tuple(map(int, a)), b))
    except RuntimeError:
        with pytest.raises(ValueError):
            draw_broadcast(ax, a, b)
        return
    assert draw_broadcast(ax, a, b) == expected


@pytest.mark.parametrize(
    "args, error, message",
    [
        (((True, 2), (2,)), TypeError, r"shape_a must be a sequence of ints, got bool True in \(True, 2\)"),
        (((2.0,), (2,)), TypeError, "shape_a must be a sequence of ints, got float"),
        (((2,), "22"), TypeError, "shape_b must be a sequence of ints, got str"),
        (((2,), (0,)), ValueError, r"1 or 2 positive int sizes to be drawn, got \(0,\)"),
        (((2,), (1, 1, 1)), ValueError, "1 or 2 positive int sizes"),
    ],
)
def test_bad_shapes_name_what_arrived(ax, args, error, message):
    with pytest.raises(error, match=message):
        draw_broadcast(ax, *args)


def test_ax_must_be_axes():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
        draw_broadcast(plt.figure(), (2,), (2,))
    plt.close("all")
