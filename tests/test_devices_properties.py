"""Property-based tests for dlfoundations.devices.get_device: any string either names a usable device
or is a ValueError that says so, never a RuntimeError from inside torch."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlfoundations.devices import available_devices, get_device

device_like = st.one_of(
    st.text(max_size=12),
    st.builds(lambda t, i: f"{t}:{i}", st.sampled_from(["cpu", "cuda", "mps", "meta", "xpu", "CPU", ""]),
              st.one_of(st.integers(-3, 20), st.text(max_size=3))),
    st.sampled_from(["cpu", "cuda", "mps", "meta", "cuda:0", "cpu:0", "cuda:-1", "cpu:", " cpu", "cpu:01"]),
)


@given(prefer=device_like)
def test_any_string_gives_a_usable_device_or_a_value_error(prefer):
    try:
        device = get_device(prefer)
    except ValueError as error:
        assert repr(prefer) in str(error) or "is not available" in str(error)  # names what arrived
        return
    assert device == torch.device(prefer)
    assert device.type in available_devices()
    assert torch.zeros(1, device=device).device.type == device.type


@given(prefer=device_like)
def test_a_torch_device_is_treated_like_its_string(prefer):
    try:
        device = torch.device(prefer)
    except RuntimeError:
        return
    try:
        expected = get_device(str(device))
    except ValueError:
        with pytest.raises(ValueError):
            get_device(device)
        return
    assert get_device(device) == expected


@pytest.mark.parametrize("prefer", [0, 1.5, b"cpu", ["cpu"], True, torch.ones(1)])
def test_non_string_preferences_are_type_errors_naming_the_type(prefer):
    with pytest.raises(TypeError, match=f"prefer must be None, a str or a torch.device, got {type(prefer).__name__}"):
        get_device(prefer)
