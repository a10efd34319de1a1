"""Device selection in one place: CUDA, then Apple's MPS, then the CPU.

Chapters and library code call :func:`get_device` instead of writing
``"cuda" if torch.cuda.is_available() else "cpu"`` in many places, so the
order of preference and the error messages live in one function.

Training on a device moves three things, each once or per batch as
:ref:`chap-devices` explains: the model (:func:`module_device` reads where it
is), the optimizer's state (:func:`move_optimizer_state_`) and every batch
(:func:`move_batch`).

Book sections: :ref:`sec-tensors-devices` in the Tensors chapter, and
:ref:`chap-devices`.
"""

from __future__ import annotations

import torch
from torch import nn

from dlfoundations._validation import check_module, check_optimizer

__all__ = ["available_devices", "get_device", "module_device", "move_batch", "move_optimizer_state_"]

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


def module_device(model: nn.Module) -> torch.device:
    """Return the device of ``model``'s first parameter (or buffer); the CPU if it has neither.

    A model split over several devices (model parallelism) answers the device
    of its first parameter; the book's models live on one device.

    Args:
        model (torch.nn.Module): the model.

    Returns:
        torch.device: where ``model``'s first parameter, or first buffer, lives.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.

    Book section: :ref:`sec-devices-what-moves`.
    """
    check_module(model)
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")  # nothing to place: a parameter-free model computes where its input is


def _check_batch_pair(batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"expected a batch (X, y), a pair of tensors, got {type(batch).__name__}")
    if not all(isinstance(t, torch.Tensor) for t in batch):
        raise TypeError(f"expected tensors X and y, got {type(batch[0]).__name__} and {type(batch[1]).__name__}")
    return batch[0], batch[1]


def move_batch(
    batch: tuple[torch.Tensor, torch.Tensor], device: str | torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the batch ``(X, y)`` on ``device``, copied without blocking the host where that is safe.

    A tensor already on ``device`` is returned as it is (no copy). A copy to
    an accelerator uses ``non_blocking=True``: from pinned (page-locked) host
    memory it is queued on the device's stream and the host goes on preparing
    the next batch; from ordinary (pageable) memory it is synchronous anyway.
    A copy *to the CPU* blocks, because the host could otherwise read the
    tensor before the copy has finished.

    Args:
        batch (tuple[Tensor, Tensor]): ``(X, y)``.
        device (str | torch.device): where the model lives.

    Shape:
        - unchanged: ``X`` of ``(N, ...)`` and ``y`` of ``(N, ...)``; dtypes unchanged.

    Returns:
        tuple[Tensor, Tensor]: ``(X, y)`` on ``device``.

    Raises:
        TypeError: if ``batch`` is not a pair of tensors.

    Reference: PyTorch, "A guide on good usage of non_blocking and pin_memory()";
    book section :ref:`sec-devices-data`.
    """
    X, y = _check_batch_pair(batch)
    device = torch.device(device)
    non_blocking = device.type != "cpu"  # host-to-device may overlap; device-to-host must not
    return X.to(device, non_blocking=non_blocking), y.to(device, non_blocking=non_blocking)


def move_optimizer_state_(optimizer: torch.optim.Optimizer) -> int:
    """Move ``optimizer``'s state tensors to their parameters' devices, in place; return how many moved.

    ``model.to(device)`` moves parameters in place (the optimizer keeps the
    same parameter objects), but not the optimizer's state: Adam's moments
    created by a step on the CPU stay there. Reloading the optimizer's own
    ``state_dict`` makes ``torch.optim.Optimizer.load_state_dict`` cast each
    state tensor to its parameter's device (and keeps Adam's ``step`` counter
    where PyTorch wants it). Nothing is copied when everything is in place.

    Args:
        optimizer (torch.optim.Optimizer): an optimizer whose parameters may have moved.

    Returns:
        int: the number of state tensors that were on another device than their parameter.

    Raises:
        TypeError: if ``optimizer`` is not a ``torch.optim.Optimizer``.

    Book section: :ref:`sec-devices-what-moves`.
    """
    check_optimizer(optimizer)
    # A state tensor is misplaced when it lives elsewhere than its parameter (the step counter may stay on the CPU).
    misplaced = sum(
        1
        for param, state in optimizer.state.items()
        for key, value in state.items()
        if isinstance(value, torch.Tensor) and key != "step" and value.device != param.device
    )
    if misplaced:
        optimizer.load_state_dict(optimizer.state_dict())  # casts every state tensor to its parameter's device
    return misplaced
