"""One place that seeds every random generator the book uses.

Chapters call :func:`seed_everything` once at the top, and pass the
``torch.Generator`` it returns (or one from :func:`make_generator`) to
anything that draws random numbers, so a clean rebuild prints the same numbers.
"""

from __future__ import annotations

import numbers
import random

import numpy as np
import torch

__all__ = ["DEFAULT_SEED", "make_generator", "seed_everything"]

#: The seed chapters use unless they say otherwise.
DEFAULT_SEED = 0


def _check_seed(seed: object) -> int:
    # bool is a subclass of int, but `seed=True` is almost certainly a mistake. NumPy's
    # integers (np.int64 from an array of seeds) are whole numbers like int, so they are accepted.
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    return seed


def make_generator(seed: int = DEFAULT_SEED) -> torch.Generator:
    """Return a new CPU ``torch.Generator`` seeded with ``seed``.

    A local generator makes a function's randomness independent of whatever
    else ran before it, unlike the global generator.

    Args:
        seed (int): a non-negative integer below ``2**63`` (a NumPy integer is accepted). Default: 0.

    Returns:
        torch.Generator: a CPU generator, in the state of
        ``torch.Generator().manual_seed(seed)``; ``torch.randn(3, generator=g)`` draws from it.

    Raises:
        TypeError: if ``seed`` is not an ``int`` (a ``bool`` or ``float`` is refused).
        ValueError: if ``seed`` is negative or not below ``2**63``.

    Note:
        ``torch.Generator.manual_seed`` also takes negative seeds and seeds up to
        ``2**64 - 1`` (wrapping them modulo :math:`2^{64}`) and floats such as
        ``3.0``; here only ``[0, 2**63)`` is accepted, a range every library the
        book seeds can take, so two different seeds never give one generator.
    """
    return torch.Generator().manual_seed(_check_seed(seed))


def seed_everything(seed: int = DEFAULT_SEED) -> torch.Generator:
    """Seed Python's ``random``, NumPy's and PyTorch's global generators.

    Also asks PyTorch for deterministic algorithms where it has them
    (``torch.use_deterministic_algorithms(True, warn_only=True)``).

    Args:
        seed (int): a non-negative integer below ``2**63``. Default: 0.

    Returns:
        torch.Generator: a fresh CPU generator seeded with ``seed``, for code
        that takes an explicit ``generator=`` argument.

    Raises:
        TypeError: if ``seed`` is not an ``int``.
        ValueError: if ``seed`` is out of range.
    """
    seed = _check_seed(seed)
    random.seed(seed)
    # NumPy's legacy global seed only takes 32-bit values.
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return make_generator(seed)
