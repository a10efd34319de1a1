"""Property tests: the package's shared argument checks (dlfoundations._validation).

One convention for the learning rate everywhere: ``lr = 0`` is accepted, as ``torch.optim`` accepts
``lr=0.0``; negative, NaN and infinite rates raise ``ValueError``, non-numbers ``TypeError``.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, strategies as st

from dlfoundations import _validation as v
from dlfoundations import optim, schedules


@given(lr=st.one_of(st.floats(), st.integers(-10**6, 10**6)))
def test_check_lr_accepts_what_torch_optim_accepts_and_refuses_non_finite(lr):
    try:
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        torch_ok = True
    except ValueError:
        torch_ok = False
    if math.isfinite(lr) and lr >= 0:
        assert torch_ok
        assert v.check_lr(lr) == float(lr) and isinstance(v.check_lr(lr), float)
        optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)  # the optim helper's convention is the same
        assert schedules.step_lr(0, lr, 1) == pytest.approx(float(lr))
    else:
        # negative: torch.optim refuses too; inf: torch.optim accepts, the package refuses on purpose
        with pytest.raises(ValueError, match=re.escape(f"Invalid learning rate: {lr} ")):
            v.check_lr(lr)


def test_lr_zero_leaves_parameters_where_they_are():
    p = torch.ones(3, requires_grad=True)
    p.grad = torch.ones(3)
    opt = torch.optim.SGD([p], lr=v.check_lr(0))
    opt.step()
    assert torch.equal(p.detach(), torch.ones(3))


@pytest.mark.parametrize("bad", [True, "0.1", None, torch.tensor(0.1), [0.1]])
def test_check_lr_type_error_names_the_type(bad):
    with pytest.raises(TypeError, match=f"lr must be a float, got {type(bad).__name__}"):
        v.check_lr(bad)


@given(value=st.one_of(st.integers(-5, 5), st.booleans(), st.floats(-5, 5)), minimum=st.integers(-2, 2))
def test_check_int_and_positive_int(value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        with pytest.raises(TypeError, match=f"n must be .*int, got {type(value).__name__}"):
            v.check_int(value, "n", minimum)
        with pytest.raises(TypeError, match=f"got {type(value).__name__}"):
            v.check_positive_int(value, "n")
        return
    if value >= minimum:
        assert v.check_int(value, "n", minimum) == value
    else:
        with pytest.raises(ValueError, match=f"Invalid n: {value} \\(expected >= {minimum}\\)"):
            v.check_int(value, "n", minimum)
    if value >= 1:
        assert v.check_positive_int(value, "n") == value
    else:
        with pytest.raises(ValueError, match=f"n must be a positive int, got {value}"):
            v.check_positive_int(value, "n")


@given(values=st.lists(st.integers(-2, 4), max_size=4), length=st.integers(0, 4))
def test_check_int_sequence(values, length):
    if len(values) != length:
        with pytest.raises(ValueError, match=f"expected k of length {length}, got {len(values)}"):
            v.check_int_sequence(values, "k", length)
    elif any(x < 1 for x in values):
        with pytest.raises(ValueError, match=r"Invalid k\[\d\]"):
            v.check_int_sequence(values, "k", length)
    else:
        assert v.check_int_sequence(values, "k", length) == tuple(values)


@pytest.mark.parametrize("bad", ["ab", 3, None, {1: 2}])
def test_check_int_sequence_type_error(bad):
    with pytest.raises(TypeError, match=f"k must be a sequence of 2 ints, got {type(bad).__name__}"):
        v.check_int_sequence(bad, "k", 2)


def test_check_generator():
    g = torch.Generator()
    assert v.check_generator(g) is g and v.check_generator(None) is None
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None, got int"):
        v.check_generator(0)


def test_numpy_scalars_floats_are_numbers_ints_are_not_sizes():
    import numpy as np

    assert v.check_lr(np.float32(0.5)) == 0.5 and isinstance(v.check_lr(np.float32(0.5)), float)
    with pytest.raises(TypeError, match="lr must be a float, got bool"):
        v.check_lr(np.bool_(True))
    with pytest.raises(TypeError, match="n must be an int, got int64"):  # sizes are Python ints (conv pins it too)
        v.check_int(np.int64(3), "n", 1)
