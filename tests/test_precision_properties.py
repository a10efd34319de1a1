"""Property-based tests for dlfoundations.precision: the from-scratch scale rule equals PyTorch's update kernel
for any flags and factors, and decoding any float32 bit pattern gives PyTorch's value."""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from dlfoundations.precision import float_fields, float_from_fields, replay_scales, scaled_roundtrip
from test_precision import _kernel_scales  # PyTorch's own update kernel, stepped


@given(
    flags=st.lists(st.booleans(), max_size=40),
    init_scale=st.floats(min_value=1e-44, max_value=3.4e38),
    growth_factor=st.floats(min_value=1.0, max_value=1e6, exclude_min=True),
    backoff_factor=st.floats(min_value=0.0, max_value=1.0, exclude_min=True, exclude_max=True),
    growth_interval=st.integers(1, 6),
)
def test_replay_equals_the_update_kernel(flags, init_scale, growth_factor, backoff_factor, growth_interval):
    if torch.tensor(init_scale, dtype=torch.float64).float().item() == 0.0:
        init_scale = 1e-44  # GradScaler would store 0: not a scale anyone starts from
    ours = replay_scales(flags, init_scale, growth_factor, backoff_factor, growth_interval)
    assert ours == _kernel_scales(flags, init_scale, growth_factor, backoff_factor, growth_interval)


@given(bits=st.integers(-(2**31), 2**31 - 1))
def test_any_float32_pattern_decodes_to_pytorchs_value(bits):
    x = torch.tensor([bits], dtype=torch.int32).view(torch.float32)
    decoded = float_from_fields(*float_fields(x), torch.float32)
    expected = x.double()
    if math.isnan(expected.item()):
        assert math.isnan(decoded.item())
    else:
        assert decoded.item() == expected.item()
        assert math.copysign(1.0, decoded.item()) == math.copysign(1.0, expected.item())


@given(value=st.floats(min_value=-1e4, max_value=1e4, allow_subnormal=True),
       log2_scale=st.integers(-4, 20))
def test_scaled_roundtrip_is_the_cast_of_the_scaled_value(value, log2_scale):
    g = torch.tensor([value], dtype=torch.float64)
    S = 2.0**log2_scale
    expected = (g * S).to(torch.float16).double() / S  # a power-of-two scale: multiplying is exact
    torch.testing.assert_close(scaled_roundtrip(g, torch.float16, S), expected, rtol=0, atol=0, equal_nan=True)
