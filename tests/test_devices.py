import pytest
import torch

from dlfoundations.devices import available_devices, get_device


def test_cpu_is_always_available_and_last():
    devices = available_devices()
    assert devices[-1] == "cpu"
    assert set(devices) <= {"cuda", "mps", "cpu"}


def test_default_is_the_best_available_and_usable():
    device = get_device()
    assert device.type == available_devices()[0]
    assert torch.zeros(2, device=device).device.type == device.type


def test_explicit_cpu():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")


def test_prefers_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda:0")


def test_missing_device_lists_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"'cuda' is not available on this machine; available: \[.*'cpu'\]"):
        get_device("cuda")


def test_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"'cuda:3' requested, but this machine has 1 CUDA device"):
        get_device("cuda:3")


def test_unknown_device_name():
    with pytest.raises(ValueError, match="unknown device"):
        get_device("tpu")


def test_wrong_type():
    with pytest.raises(TypeError, match="got int"):
        get_device(0)
