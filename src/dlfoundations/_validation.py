"""Argument checks shared by the package's modules (private: not part of the book's API).

Each raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a
value out of range, with a message that names the argument, what was expected
and what arrived, in PyTorch's style (``Invalid lr: -0.1``). A NumPy float
scalar is a float (``np.float32(0.1)``), as ``torch.optim`` accepts it; sizes and
counts must be Python ``int`` (``check_int``); a ``bool`` is never a number.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch


def check_int(value: object, name: str, minimum: int, *, numpy_ok: bool = False) -> int:
    """Return ``value`` as an ``int`` if it is an integer of at least ``minimum``.

    A ``bool`` is refused, and so, unless ``numpy_ok``, is a NumPy integer: sizes
    and counts are Python ints. A step or an epoch index may come from a NumPy
    array (``numpy_ok=True``), as ``torch.optim``'s schedulers accept it.
    """
    # bool is a subclass of int, but `num_epochs=True` is a mistake, not a 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if numpy_ok else int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if value < minimum:
        raise ValueError(f"Invalid {name}: {value} (expected >= {minimum})")
    return int(value)


def check_generator(generator: object) -> torch.Generator | None:
    """Return ``generator`` if it is ``None`` or a ``torch.Generator``."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``, nor a NumPy integer) of at least 1."""
    # bool is a subclass of int, but `n_samples=True` is a mistake, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__}: {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def check_number(value: object, name: str) -> float:
    """Return ``value`` as a ``float`` if it is a real number (a NumPy float scalar too, not a ``bool``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}: {value!r}")
    return float(value)


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 2**53 else repr(float(x))


def check_float(
    value: object,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    label: str | None = None,
) -> float:
    """Return ``value`` as a ``float`` if it is a finite number between ``low`` and ``high``.

    The bounds are included unless ``low_open``/``high_open``. The ``ValueError``
    reads ``Invalid <label>: <value> (expected a finite number >= 0 and < 1)``,
    ``label`` defaulting to ``name``; ``torch.optim``'s labels (``"momentum
    value"``, ``"beta parameter at index 0"``) keep its messages.
    """
    number = check_number(value, name)
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if not (math.isfinite(number) and above and below):
        bounds = []
        if low > -math.inf:
            bounds.append(f"{'>' if low_open else '>='} {_bound(low)}")
        if high < math.inf:
            bounds.append(f"{'<' if high_open else '<='} {_bound(high)}")
        expected = " ".join(["a finite number", " and ".join(bounds)]).strip()
        raise ValueError(f"Invalid {label or name}: {value} (expected {expected})")
    return number


def check_lr(lr: object) -> float:
    """Return the learning rate ``lr`` as a float if it is a finite number ``>= 0``.

    Note:
        ``lr = 0`` is accepted, as ``torch.optim`` accepts ``lr=0.0`` (the
        parameters stay put): one convention for the whole package, used by
        ``dlfoundations.optim``, ``dlfoundations.schedules``,
        ``dlfoundations.regression``, ``dlfoundations.studies`` and the rest.
        Unlike ``torch.optim``, ``inf`` and NaN are refused (``ValueError``), since
        they turn every parameter into ``inf`` or NaN at the first step.
    """
    return check_float(lr, "lr", low=0.0, label="learning rate")


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` if it is a ``bool`` (not 0 or 1, nor a NumPy ``bool_``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}: {value!r}")
    return value


def check_module(value: object, name: str = "model") -> torch.nn.Module:
    """Return ``value`` if it is a ``torch.nn.Module``."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be an nn.Module, got {type(value).__name__}")
    return value


def check_optimizer(value: object) -> torch.optim.Optimizer:
    """Return ``value`` if it is a ``torch.optim.Optimizer``."""
    if not isinstance(value, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(value).__name__}")
    return value


def check_floating_tensor(value: object, name: str) -> torch.Tensor:
    """Return ``value`` if it is a ``torch.Tensor`` of a floating dtype."""
    if not isinstance(value, torch.Tensor) or not value.dtype.is_floating_point:
        kind = f"Tensor of dtype {value.dtype}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise TypeError(f"{name} must be a floating Tensor, got {kind}")
    return value


def check_floating_dtype(dtype: object) -> torch.dtype:
    """Return ``dtype`` if it is a floating ``torch.dtype`` (the ``dtype=`` argument of a factory)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    return dtype


def check_dtype(
    value: torch.Tensor, name: str, dtype: torch.dtype, of: str, device: torch.device | None = None
) -> torch.Tensor:
    """Return ``value`` if it has ``dtype`` (and is on ``device``, if given); ``of`` names where they come from.

    Mixed dtypes raise a ``TypeError`` naming both (no silent casts: PyTorch's
    layers mix none); another device raises a ``ValueError`` naming both.
    """
    if value.dtype != dtype:
        raise TypeError(f"expected {name} of dtype {dtype} (the dtype of {of}), got {value.dtype}")
    if device is not None and value.device != device:
        raise ValueError(f"expected {name} on device {device} (the device of {of}), got {value.device}")
    return value


def check_int_sequence(values: object, name: str, length: int, minimum: int = 1) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a sequence of ``length`` ints, each at least ``minimum``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of {length} ints, got {type(values).__name__}")
    if len(values) != length:
        raise ValueError(f"expected {name} of length {length}, got {len(values)}: {list(values)}")
    return tuple(check_int(value, f"{name}[{i}]", minimum) for i, value in enumerate(values))


def check_label_vector(y: object, name: str = "y") -> torch.Tensor:
    """Return ``y`` if it is a 1-D tensor of integer class labels (any integer dtype, not ``bool``)."""
    if not isinstance(y, torch.Tensor) or y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of labels, got {type(y).__name__} {getattr(y, 'dtype', '')}")
    if y.ndim != 1:
        raise ValueError(f"expected {name} of shape (N,), got {tuple(y.shape)}")
    return y
