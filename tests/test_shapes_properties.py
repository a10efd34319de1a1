"""Property-based tests for dlfoundations.shapes.broadcast_shape against torch.broadcast_shapes.

Shapes of up to four dimensions with sizes 0, 1, 2 and 3: empty dimensions, size-1
dimensions that stretch, scalars ``()``, and pairs that do not broadcast.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlfoundations.shapes import broadcast_shape
from test_shapes import _ours, _torch  # the two answers to compare, defined once

shapes = st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)


@given(a=shapes, b=shapes)
def test_equals_torch_broadcast_shapes_or_fails_with_it(a, b):
    assert _ours(a, b) == _torch(a, b)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=3))
def test_broadcastable_pairs_give_the_shape_of_an_actual_sum(shapes):
    a, b = shapes.input_shapes
    out = broadcast_shape(a, b)
    assert out == shapes.result_shape == tuple(torch.broadcast_shapes(a, b))
    assert out == tuple((torch.empty(a) + torch.empty(b)).shape)


@given(a=shapes, b=shapes)
def test_is_symmetric(a, b):
    assert _ours(a, b) == _ours(b, a)


@given(a=shapes, b=shapes)
def test_accepts_lists_torch_size_and_numpy_ints_alike(a, b):
    expected = _ours(a, b)
    assert _ours(list(a), torch.Size(b)) == expected
    assert _ours(tuple(np.int64(s) for s in a), tuple(np.int32(s) for s in b)) == expected
    if expected is not None:
        assert all(type(size) is int for size in broadcast_shape(tuple(np.int64(s) for s in a), b))


@given(n=st.integers(0, 4), b=shapes)
def test_an_int_is_a_one_dimensional_shape_like_in_torch(n, b):
    assert _ours(n, b) == _ours((n,), b) == _torch(n, b)


@given(a=shapes, b=shapes, position=st.integers(0, 3), size=st.integers(-5, -1))
def test_a_negative_size_is_a_value_error_naming_the_shape(a, b, position, size):
    bad = list(b) + [3]
    bad[min(position, len(bad) - 1)] = size
    with pytest.raises(ValueError, match=r"shape_b must contain sizes >= 0, got \("):
        broadcast_shape(a, tuple(bad))


@pytest.mark.parametrize("bad", [(np.bool_(True),), (1.5,), ("2",), (None,), (torch.tensor(1.5),), [[2]], {"a": 1}])
def test_non_int_sizes_are_type_errors(bad):
    with pytest.raises(TypeError, match="shape_a"):
        broadcast_shape(bad, (1,))
