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


def check_int(value: object, name: str, minimum: int) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``, nor a NumPy integer) of at least ``minimum``."""
    # bool is a subclass of int, but `num_epochs=True` is a mistake, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if value < minimum:
        raise ValueError(f"Invalid {name}: {value} (expected >= {minimum})")
    return value


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


def check_lr(lr: object) -> float:
    """Return the learning rate ``lr`` as a float if it is a finite number ``>= 0``.

    Note:
        ``lr = 0`` is accepted, as ``torch.optim`` accepts ``lr=0.0`` (the
        parameters stay put) and as :mod:`dlfoundations.optim` and
        :mod:`dlfoundations.schedules` do: one convention for the whole package.
        Unlike ``torch.optim``, ``inf`` and NaN are refused (``ValueError``), since
        they turn every parameter into ``inf`` or NaN at the first step.
    """
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"lr must be a float, got {type(lr).__name__}: {lr!r}")
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"Invalid learning rate: {lr} (expected a finite float >= 0)")
    return float(lr)


def check_int_sequence(values: object, name: str, length: int, minimum: int = 1) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a sequence of ``length`` ints, each at least ``minimum``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of {length} ints, got {type(values).__name__}")
    if len(values) != length:
        raise ValueError(f"expected {name} of length {length}, got {len(values)}: {list(values)}")
    return tuple(check_int(value, f"{name}[{i}]", minimum) for i, value in enumerate(values))
