"""Broadcasting, spelled out: the rule PyTorch applies before element-wise ops.

Book section: :ref:`sec-broadcasting` in the Tensors chapter.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["broadcast_shape"]


def _check_shape(shape: object, name: str) -> tuple[int, ...]:
    if isinstance(shape, torch.Size):
        return tuple(shape)
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)  # like torch.broadcast_shapes: an int n is the shape (n,)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise TypeError(f"{name} must be a tuple of ints or torch.Size, got {type(shape).__name__}")
    sizes = []
    for size in shape:
        # operator.index accepts Python and NumPy integers, and refuses floats; bools are refused
        # too, because (True, 3) is a mistake rather than the shape (1, 3).
        try:
            if isinstance(size, (bool, np.bool_)):
                raise TypeError
            sizes.append(operator.index(size))
        except TypeError:
            raise TypeError(f"{name} must contain ints, got {tuple(shape)!r}") from None
    if any(size < 0 for size in sizes):
        raise ValueError(f"{name} must contain sizes >= 0, got {tuple(sizes)}")
    return tuple(sizes)


def broadcast_shape(shape_a: Sequence[int] | int, shape_b: Sequence[int] | int) -> tuple[int, ...]:
    r"""Return the shape that ``a op b`` has when ``a`` and ``b`` broadcast.

    The rule (NumPy's, which PyTorch follows): align the two shapes on their
    last dimension, pad the shorter one with size-1 dimensions on the left,
    then, dimension by dimension, the sizes must be equal or one of them 1; the
    result takes the larger size. A size-1 dimension is *stretched* without
    copying memory.

    Args:
        shape_a (Sequence[int] | torch.Size | int): the first operand's shape.
        shape_b (Sequence[int] | torch.Size | int): the second operand's shape.

    Returns:
        tuple[int, ...]: the broadcast shape; equal to
        ``tuple(torch.broadcast_shapes(shape_a, shape_b))``.

    Raises:
        TypeError: if a shape is not an int or a sequence of ints (NumPy
            integers count as ints; ``bool`` does not).
        ValueError: if a size is negative, or the shapes do not broadcast. The
            message names both shapes and the first dimension that clashes,
            e.g. ``shapes (3, 2) and (3,) do not broadcast: dimension -1 has
            sizes 2 and 3``.

    Note:
        Like ``torch.broadcast_shapes``, an int ``n`` stands for the shape
        ``(n,)`` and a size 0 broadcasts with 1 (giving 0) but not with any
        other size. Unlike it, ``True`` is refused rather than read as 1, and a
        NumPy integer size is accepted (PyTorch raises an ``AssertionError``).

    Example:
        >>> broadcast_shape((4, 1), (3,))
        (4, 3)
    """
    a, b = _check_shape(shape_a, "shape_a"), _check_shape(shape_b, "shape_b")
    ndim = max(len(a), len(b))
    a_padded = (1,) * (ndim - len(a)) + a  # pad on the left: align on the right
    b_padded = (1,) * (ndim - len(b)) + b
    out = []
    for dim, (size_a, size_b) in enumerate(zip(a_padded, b_padded)):
        if size_a == size_b or size_b == 1:
            out.append(size_a)
        elif size_a == 1:
            out.append(size_b)
        else:
            raise ValueError(
                f"shapes {a} and {b} do not broadcast: dimension {dim - ndim} "
                f"has sizes {size_a} and {size_b} (each pair must be equal or contain a 1)"
            )
    return tuple(out)
