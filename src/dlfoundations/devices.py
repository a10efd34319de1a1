"""Device selection in one place: CUDA, then Apple's MPS, then the CPU.

Chapters and library code call :func:`get_device` instead of writing
``"cuda" if torch.cuda.is_available() else "cpu"`` in many places, so the
order of preference and the error messages live in one function.

Book section: :ref:`sec-tensors-devices` in the Tensors chapter.
"""

from __future__ import annotations

import torch

__all__ = ["available_devices", "get_device"]

_KNOWN = ("cuda", "mps", "cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Return the device types this machine can run tensors on, best first.

    Returns:
        list[str]: a sub-list of ``["cuda", "mps", "cpu"]``; ``"cpu"`` is always last.
    """
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def _check_device(prefer: object, available: list[str]) -> torch.device:
    """Return ``torch.device(prefer)`` if it names a device this machine has; raise naming the ones it has."""
    if not isinstance(prefer, (str, torch.device)):
        raise TypeError(f"prefer must be None, a str or a torch.device, got {type(prefer).__name__}")
    try:
        device = torch.device(prefer)
    except RuntimeError as error:
        raise ValueError(f"unknown device {prefer!r}; expected one of {list(_KNOWN)}") from error
    if device.type not in _KNOWN:
        raise ValueError(f"unknown device {str(prefer)!r} of type {device.type!r}; expected one of {list(_KNOWN)}")
    if device.type not in available:
        raise ValueError(f"device {str(device)!r} is not available on this machine; available: {available}")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"device {str(device)!r} requested, but this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return device


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on: ``prefer`` if given, else the best available.

    With ``prefer=None`` the order is CUDA (``cuda:0``), then MPS, then CPU.

    Args:
        prefer (str | torch.device | None): a device such as ``"cpu"``,
            ``"cuda"``, ``"cuda:1"`` or ``"mps"``, or ``None`` to choose
            automatically. Default: ``None``.

    Returns:
        torch.device: a device on which ``torch.zeros(1, device=...)`` works.

    Raises:
        TypeError: if ``prefer`` is neither ``None``, a ``str`` nor a ``torch.device``.
        ValueError: if ``prefer`` names an unknown device type, or one this
            machine does not have (the message lists the available ones), or a
            CUDA index beyond the number of GPUs.
    """
    if prefer is not None:
        return _check_device(prefer, available_devices())  # the device asked for, if this machine has it
    best = available_devices()[0]  # CUDA, then MPS, then the CPU
    return torch.device("cuda:0" if best == "cuda" else best)
