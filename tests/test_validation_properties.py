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


@given(value=st.one_of(st.floats(), st.integers(-10, 10), st.booleans(), st.text(max_size=2), st.none()),
       low=st.sampled_from([-math.inf, -1.0, 0.0]), high=st.sampled_from([math.inf, 0.5, 1.0]),
       low_open=st.booleans(), high_open=st.booleans())
def test_check_float_accepts_exactly_the_finite_numbers_in_the_interval(value, low, high, low_open, high_open):
    kwargs = dict(low=low, high=high, low_open=low_open, high_open=high_open)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        with pytest.raises(TypeError, match=f"x must be a float, got {type(value).__name__}"):
            v.check_float(value, "x", **kwargs)
        return
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if math.isfinite(value) and above and below:
        assert v.check_float(value, "x", **kwargs) == float(value)
        assert isinstance(v.check_float(value, "x", **kwargs), float)
    else:
        with pytest.raises(ValueError, match=re.escape(f"Invalid x: {value} (expected a finite number")):
            v.check_float(value, "x", **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "Invalid x: nan (expected a finite number)"),
    ({"low": 0.0}, "Invalid x: nan (expected a finite number >= 0)"),
    ({"low": 0.0, "low_open": True, "high": 1.0}, "Invalid x: nan (expected a finite number > 0 and <= 1)"),
    ({"low": 0.0, "high": 0.25, "high_open": True}, "Invalid x: nan (expected a finite number >= 0 and < 0.25)"),
    ({"low": 0.0, "label": "momentum value"}, "Invalid momentum value: nan (expected a finite number >= 0)"),
])
def test_check_float_message_names_the_interval(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        v.check_float(math.nan, "x", **kwargs)


def test_check_number_and_check_bool():
    import numpy as np

    assert v.check_number(np.float32(0.5), "x") == 0.5 and v.check_number(3, "x") == 3.0
    assert v.check_number(math.inf, "x") == math.inf  # finiteness is check_float's business
    for bad in (True, np.bool_(False), "1", None, torch.tensor(1.0)):
        with pytest.raises(TypeError, match=f"x must be a float, got {type(bad).__name__}"):
            v.check_number(bad, "x")
    assert v.check_bool(True, "flag") is True and v.check_bool(False, "flag") is False
    for bad in (0, 1, np.bool_(True), "yes", None):
        with pytest.raises(TypeError, match=f"flag must be a bool, got {type(bad).__name__}"):
            v.check_bool(bad, "flag")


def test_check_int_numpy_ok_accepts_numpy_integers_as_python_ints():
    import numpy as np

    assert v.check_int(np.int64(3), "step", 0, numpy_ok=True) == 3
    assert type(v.check_int(np.int32(3), "step", 0, numpy_ok=True)) is int
    with pytest.raises(ValueError, match=r"Invalid step: -1 \(expected >= 0\)"):
        v.check_int(np.int64(-1), "step", 0, numpy_ok=True)
    for bad in (True, 2.0, np.float64(2.0), "2"):
        with pytest.raises(TypeError, match=f"step must be an int, got {type(bad).__name__}"):
            v.check_int(bad, "step", 0, numpy_ok=True)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_floating_tensor_dtype_and_device_checks(dtype):
    x = torch.zeros(2, dtype=dtype)
    assert v.check_floating_tensor(x, "x") is x
    assert v.check_floating_dtype(dtype) is dtype
    assert v.check_dtype(x, "h", dtype, "x", x.device) is x
    other = torch.float64 if dtype != torch.float64 else torch.float32
    with pytest.raises(TypeError, match=rf"expected h of dtype {other} \(the dtype of x\), got {dtype}"):
        v.check_dtype(x, "h", other, "x")
    with pytest.raises(ValueError, match=r"expected h on device meta \(the device of x\), got cpu"):
        v.check_dtype(x, "h", dtype, "x", torch.device("meta"))


@pytest.mark.parametrize(("bad", "kind"), [
    (torch.zeros(2, dtype=torch.int64), "Tensor of dtype torch.int64"),
    (torch.zeros(2, dtype=torch.bool), "Tensor of dtype torch.bool"),
    (torch.zeros(2, dtype=torch.complex64), "Tensor of dtype torch.complex64"),
    ([0.0, 1.0], "list"),
    (None, "NoneType"),
])
def test_check_floating_tensor_names_what_arrived(bad, kind):
    with pytest.raises(TypeError, match=re.escape(f"x must be a floating Tensor, got {kind}")):
        v.check_floating_tensor(bad, "x")
    if isinstance(bad, torch.Tensor):
        with pytest.raises(TypeError, match=re.escape(f"dtype must be a floating torch.dtype, got {bad.dtype}")):
            v.check_floating_dtype(bad.dtype)
