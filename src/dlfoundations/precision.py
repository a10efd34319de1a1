r"""Floating-point formats and mixed-precision training: fp32, fp16, bf16, autocast and loss scaling.

A binary floating-point format stores a sign bit :math:`s`, :math:`E` exponent
bits read as an unsigned integer :math:`e`, and :math:`M` mantissa (fraction)
bits read as an integer :math:`m`; a normal number is
:math:`(-1)^s\, 2^{e - b} (1 + m / 2^M)` with bias :math:`b = 2^{E-1} - 1`
(IEEE 754). The formats differ only in :math:`E` and :math:`M`
(:data:`FLOAT_LAYOUTS`), and everything else follows from them:

- :class:`FloatFormat`, :func:`float_format`: bias, range and epsilon of a
  format from its bit counts, equal to ``torch.finfo``.
- :func:`float_fields`, :func:`float_from_fields`: the three fields of a
  number's bit pattern, and the value the fields encode.
- :func:`scaled_roundtrip`: what is left of values after they are multiplied by
  a loss scale :math:`S`, stored in a lower-precision format and divided by
  :math:`S` again.
- :func:`autocast_output_dtypes`: the dtype each operation returns under
  ``torch.amp.autocast``.
- :func:`found_inf`, :func:`update_scale`, :func:`replay_scales`: the dynamic
  loss-scale rule of ``torch.amp.GradScaler``, written from scratch and tested
  equal to it.
- :class:`AmpStep`, :func:`amp_step`: one training step with autocast and an
  optional ``GradScaler``.

References: IEEE Std 754-2019; Micikevicius et al. (2018), "Mixed Precision
Training"; Kalamkar et al. (2019), "A Study of BFLOAT16 for Deep Learning
Training"; PyTorch's automatic mixed precision documentation (``torch.amp``).

Book chapter: :ref:`chap-amp`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from dlfoundations._validation import (
    check_bool,
    check_float,
    check_floating_tensor,
    check_int,
    check_module,
    check_optimizer,
)

__all__ = [
    "FLOAT_LAYOUTS",
    "AmpStep",
    "FloatFormat",
    "amp_step",
    "autocast_output_dtypes",
    "float_fields",
    "float_format",
    "float_from_fields",
    "found_inf",
    "replay_scales",
    "scaled_roundtrip",
    "update_scale",
]

#: Exponent bits :math:`E` and mantissa bits :math:`M` of each floating dtype
#: (IEEE 754 binary64, binary32 and binary16; bfloat16 keeps binary32's
#: exponent and the first 7 of its 23 mantissa bits).
FLOAT_LAYOUTS: dict[torch.dtype, tuple[int, int]] = {
    torch.float64: (11, 52),
    torch.float32: (8, 23),
    torch.float16: (5, 10),
    torch.bfloat16: (8, 7),
}

# Signed integer dtypes of the same width, to read a float's bit pattern with ``Tensor.view``.
_INT_OF_WIDTH = {64: torch.int64, 32: torch.int32, 16: torch.int16}


def _layout(dtype: object) -> tuple[int, int]:
    """Return ``(E, M)`` for a dtype of :data:`FLOAT_LAYOUTS`; raise naming the ones known."""
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {type(dtype).__name__}: {dtype!r}")
    if dtype not in FLOAT_LAYOUTS:
        raise ValueError(f"expected one of the dtypes {list(FLOAT_LAYOUTS)}, got {dtype}")
    return FLOAT_LAYOUTS[dtype]


class FloatFormat(NamedTuple):
    """What :func:`float_format` returns: a format's layout and range, all as Python numbers."""

    #: The dtype described.
    dtype: torch.dtype
    #: Total width :math:`1 + E + M` in bits.
    bits: int
    #: Exponent bits :math:`E`.
    exponent_bits: int
    #: Mantissa (fraction) bits :math:`M`, not counting the implicit leading 1.
    mantissa_bits: int
    #: Exponent bias :math:`b = 2^{E-1} - 1`.
    bias: int
    #: Largest finite value :math:`(2 - 2^{-M})\, 2^{b}` (``torch.finfo(dtype).max``).
    max: float
    #: Smallest positive normal value :math:`2^{1-b}` (``torch.finfo(dtype).smallest_normal``).
    smallest_normal: float
    #: Smallest positive subnormal value :math:`2^{1-b-M}`.
    smallest_subnormal: float
    #: Machine epsilon :math:`2^{-M}`, the gap between 1 and the next larger value (``torch.finfo(dtype).eps``).
    eps: float


def float_format(dtype: torch.dtype) -> FloatFormat:
    r"""Layout, range and epsilon of a floating dtype, derived from its bit counts: :math:`b = 2^{E-1}-1`, :math:`x_{\max} = (2 - 2^{-M}) 2^{b}`, :math:`\epsilon = 2^{-M}`.

    The stored exponent :math:`e` runs over :math:`0, \dots, 2^E - 1`; the two
    ends are reserved (:math:`e = 0` for zero and the subnormals,
    :math:`e = 2^E - 1` for infinities and NaN), so normal numbers have
    :math:`1 \le e \le 2^E - 2`, exponents :math:`1 - b` to :math:`b`.

    Args:
        dtype (torch.dtype): one of :data:`FLOAT_LAYOUTS`: ``torch.float64``,
            ``torch.float32``, ``torch.float16`` or ``torch.bfloat16``.

    Returns:
        FloatFormat: the bit counts, the bias, the largest finite value, the
        smallest normal and subnormal values and the machine epsilon. The
        values equal ``torch.finfo(dtype)``'s ``max``, ``smallest_normal`` and
        ``eps`` (tested), and the smallest subnormal equals
        ``torch.nextafter(0, 1)`` in that dtype.

    Raises:
        TypeError: if ``dtype`` is not a ``torch.dtype``.
        ValueError: if it is not one of :data:`FLOAT_LAYOUTS`.

    Reference: IEEE Std 754-2019, section 3.4. Book section
    :ref:`sec-amp-formats`, equations :eq:`eq-amp-normal` and :eq:`eq-amp-range`.
    """
    E, M = _layout(dtype)  # exponent and mantissa bits
    bias = 2 ** (E - 1) - 1
    e_max = (2**E - 2) - bias  # the largest stored exponent, 2^E - 1, means inf or NaN
    return FloatFormat(
        dtype=dtype,
        bits=1 + E + M,
        exponent_bits=E,
        mantissa_bits=M,
        bias=bias,
        max=math.ldexp(2 - 2.0**-M, e_max),  # mantissa all ones: (1.11...1)_2 x 2^e_max
        smallest_normal=math.ldexp(1.0, 1 - bias),  # (1.00...0)_2 x 2^(1 - b)
        smallest_subnormal=math.ldexp(1.0, 1 - bias - M),  # (0.00...1)_2 x 2^(1 - b)
        eps=2.0**-M,  # 1 + 2^-M is the next number after 1
    )


def float_fields(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""The sign, exponent and mantissa fields of each element's bit pattern: :math:`x \mapsto (s, e, m)`.

    Reads the bits with ``Tensor.view`` as an integer of the same width, so no
    value is rounded: the leading bit is the sign :math:`s`, the next :math:`E`
    bits the stored exponent :math:`e`, the last :math:`M` bits the mantissa
    :math:`m`. :func:`float_from_fields` turns them back into the value.

    Args:
        x (Tensor): a tensor of a dtype in :data:`FLOAT_LAYOUTS`.

    Shape:
        - Input: any shape. Output: three ``int64`` tensors of the same shape.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``(sign, exponent, mantissa)`` with
        :math:`s \in \{0, 1\}`, :math:`0 \le e < 2^E` and :math:`0 \le m < 2^M`.

    Raises:
        TypeError: if ``x`` is not a floating tensor.
        ValueError: if its dtype is not one of :data:`FLOAT_LAYOUTS`.

    Reference: IEEE Std 754-2019, section 3.4. Book section :ref:`sec-amp-formats`.
    """
    E, M = _layout(check_floating_tensor(x, "x").dtype)
    raw = x.view(_INT_OF_WIDTH[1 + E + M]).to(torch.int64)  # the same bits, read as a signed integer
    sign = (raw < 0).to(torch.int64)  # the sign bit is the integer's sign bit
    exponent = (raw >> M) & (2**E - 1)  # the E bits after the sign
    mantissa = raw & (2**M - 1)  # the last M bits
    return sign, exponent, mantissa


def _check_fields(sign: object, exponent: object, mantissa: object, dtype: object) -> tuple[int, int]:
    E, M = _layout(dtype)
    for name, field, top in (("sign", sign, 2), ("exponent", exponent, 2**E), ("mantissa", mantissa, 2**M)):
        if not isinstance(field, Tensor) or field.dtype.is_floating_point or field.dtype.is_complex:
            kind = f"Tensor of dtype {field.dtype}" if isinstance(field, Tensor) else type(field).__name__
            raise TypeError(f"{name} must be an integer Tensor, got {kind}")
        if field.numel() and (field.min() < 0 or field.max() >= top):
            raise ValueError(f"expected {name} in [0, {top - 1}] for {dtype}, got values in "
                             f"[{field.min().item()}, {field.max().item()}]")
    return E, M


def float_from_fields(sign: Tensor, exponent: Tensor, mantissa: Tensor, dtype: torch.dtype) -> Tensor:
    r"""The value that the fields :math:`(s, e, m)` encode in ``dtype``: :math:`(-1)^s\, 2^{e-b} (1 + m/2^M)` for a normal number.

    Evaluates the IEEE 754 equations in ``float64`` (exactly, for every format
    of :data:`FLOAT_LAYOUTS`): :math:`e = 0` encodes zero and the subnormals
    :math:`(-1)^s\, 2^{1-b} (m / 2^M)`, and :math:`e = 2^E - 1` encodes
    :math:`\pm\infty` (:math:`m = 0`) or NaN (:math:`m \ne 0`).

    Args:
        sign (Tensor): integer tensor of sign bits, 0 or 1.
        exponent (Tensor): integer tensor of stored exponents, :math:`0 \le e < 2^E`.
        mantissa (Tensor): integer tensor of mantissas, :math:`0 \le m < 2^M`.
        dtype (torch.dtype): the format the fields belong to, one of :data:`FLOAT_LAYOUTS`.

    Shape:
        - sign, exponent, mantissa: broadcastable shapes. Output: their broadcast shape, ``float64``.

    Returns:
        Tensor: the encoded values; ``float_from_fields(*float_fields(x), x.dtype)``
        equals ``x.double()`` for every bit pattern (tested exhaustively for
        ``float16`` and ``bfloat16``).

    Raises:
        TypeError: if a field is not an integer tensor or ``dtype`` not a ``torch.dtype``.
        ValueError: if a field is out of its range or ``dtype`` not one of :data:`FLOAT_LAYOUTS`.

    Reference: IEEE Std 754-2019, section 3.4. Book section :ref:`sec-amp-formats`,
    equations :eq:`eq-amp-normal` and :eq:`eq-amp-subnormal`.
    """
    E, M = _check_fields(sign, exponent, mantissa, dtype)
    sign, exponent, mantissa = torch.broadcast_tensors(sign, exponent, mantissa)
    bias = 2 ** (E - 1) - 1
    fraction = mantissa.to(torch.float64) / 2**M  # 0.m in binary, in [0, 1)
    normal = torch.ldexp(1 + fraction, exponent - bias)  # eq-amp-normal: (1.m) x 2^(e - b)
    subnormal = torch.ldexp(fraction, torch.full_like(exponent, 1 - bias))  # eq-amp-subnormal: (0.m) x 2^(1 - b)
    value = torch.where(exponent == 0, subnormal, normal)
    special = torch.where(mantissa == 0, math.inf, math.nan)  # the all-ones exponent
    value = torch.where(exponent == 2**E - 1, special, value)
    return torch.where(sign == 1, -value, value)  # -0.0 for s = 1, m = e = 0, as IEEE 754 has


def _check_roundtrip(values: object, dtype: object, scale: object) -> float:
    check_floating_tensor(values, "values")
    _layout(dtype)
    return check_float(scale, "scale", low=0.0, low_open=True)


def scaled_roundtrip(values: Tensor, dtype: torch.dtype, scale: float = 1.0) -> Tensor:
    r"""Multiply by a loss scale, store in ``dtype``, divide again: :math:`\mathrm{fl}_{\mathrm{dtype}}(S\, g) / S`.

    With :math:`S = 1` this is plain rounding to ``dtype``; a value below half
    the smallest subnormal of ``dtype`` becomes 0 (it *underflows*). A
    larger :math:`S` moves small values into the format's range before they are
    rounded, so they survive; a value with :math:`S |g|` above the format's
    largest value becomes infinite (it *overflows*).

    Args:
        values (Tensor): floating tensor, e.g. ``float32`` gradients.
        dtype (torch.dtype): the storage format, one of :data:`FLOAT_LAYOUTS`.
        scale (float): the loss scale :math:`S > 0`. Default: 1.

    Shape:
        - Input: any shape. Output: the same shape and dtype as ``values``.

    Returns:
        Tensor: what is left of ``values``, in their own dtype.

    Raises:
        TypeError: if ``values`` is not a floating tensor, ``dtype`` not a ``torch.dtype``
            or ``scale`` not a number.
        ValueError: if ``scale`` is not a finite positive number, or ``dtype``
            not one of :data:`FLOAT_LAYOUTS`.

    Reference: Micikevicius et al. (2018), section 3.2. Book section
    :ref:`sec-amp-underflow`, equation :eq:`eq-amp-scaled`.
    """
    scale = _check_roundtrip(values, dtype, scale)
    return (values * scale).to(dtype).to(values.dtype) / scale


def _check_autocast_args(ops: object, x: object, device_type: object, dtype: object) -> None:
    if not isinstance(ops, Mapping) or not all(isinstance(k, str) and callable(f) for k, f in ops.items()):
        raise TypeError(f"ops must be a mapping of names to callables, got {type(ops).__name__}")
    check_floating_tensor(x, "x")
    if not isinstance(device_type, str):
        raise TypeError(f"device_type must be a str such as 'cpu' or 'cuda', got {type(device_type).__name__}")
    if dtype not in (torch.float16, torch.bfloat16):
        raise ValueError(f"expected dtype torch.float16 or torch.bfloat16, got {dtype!r}")


def autocast_output_dtypes(
    ops: Mapping[str, Callable[[Tensor], Tensor]],
    x: Tensor,
    device_type: str = "cpu",
    dtype: torch.dtype = torch.bfloat16,
) -> dict[str, torch.dtype]:
    r"""Run each operation on ``x`` under ``torch.amp.autocast`` and return the dtype of its output.

    Autocast sorts operations into three kinds: those that run in the lower
    precision whatever their input (matrix products, convolutions), those that
    run in ``float32`` whatever their input (on the CPU: the losses, among
    others), and the rest, which run in the dtype of their inputs (the widest
    of them, for several). Calling this with a ``float32`` and with a lower-precision
    ``x`` tells the three kinds apart.

    Args:
        ops (Mapping[str, Callable[[Tensor], Tensor]]): named operations of one tensor.
        x (Tensor): the input, a floating tensor on a device of ``device_type``.
        device_type (str): autocast's device type, ``"cpu"`` or ``"cuda"``. Default: ``"cpu"``.
        dtype (torch.dtype): the lower precision, ``torch.bfloat16`` or
            ``torch.float16``. Default: ``torch.bfloat16``.

    Returns:
        dict[str, torch.dtype]: the output dtype of each operation, in the order of ``ops``.

    Raises:
        TypeError: if ``ops`` is not a mapping of names to callables, ``x`` not
            a floating tensor or ``device_type`` not a string.
        ValueError: if ``dtype`` is neither ``torch.float16`` nor ``torch.bfloat16``.

    Reference: PyTorch documentation, "Automatic Mixed Precision package -
    torch.amp", op eligibility. Book section :ref:`sec-amp-autocast`.
    """
    _check_autocast_args(ops, x, device_type, dtype)
    with torch.amp.autocast(device_type, dtype=dtype):
        return {name: op(x).dtype for name, op in ops.items()}


def found_inf(parameters: Iterable[Tensor]) -> bool:
    r"""Whether any gradient holds an infinite or NaN entry: :math:`\exists\, i: g_i \notin \mathbb R`.

    This is the test ``torch.amp.GradScaler`` makes while unscaling the
    gradients, to decide whether to skip the optimizer step. Parameters
    without a gradient are ignored.

    Args:
        parameters (Iterable[Tensor]): e.g. ``model.parameters()``.

    Returns:
        bool: ``True`` if some ``p.grad`` is not finite.

    Raises:
        TypeError: if an element of ``parameters`` is not a tensor.

    Book section: :ref:`sec-amp-gradscaler`.
    """
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters must be tensors, got {type(p).__name__}")
        if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
            return True
    return False


def _to_float32(value: float) -> float:
    """``value`` rounded to the nearest ``float32`` (``inf`` beyond its range), as a Python float."""
    return torch.tensor(value, dtype=torch.float64).to(torch.float32).item()


def _check_scale_args(
    scale: object, growth_tracker: object, found: object, growth_factor: object, backoff_factor: object,
    growth_interval: object,
) -> None:
    check_float(scale, "scale", low=0.0)  # 0 is reachable: backing off below float32's subnormals
    check_int(growth_tracker, "growth_tracker", 0)
    check_bool(found, "found_inf")
    check_float(growth_factor, "growth_factor", low=1.0, low_open=True)
    check_float(backoff_factor, "backoff_factor", low=0.0, high=1.0, low_open=True, high_open=True)
    check_int(growth_interval, "growth_interval", 1)


def update_scale(
    scale: float,
    growth_tracker: int,
    found_inf: bool,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[float, int]:
    r"""One step of dynamic loss scaling: :math:`S \leftarrow \beta S` after an overflow, :math:`S \leftarrow \gamma S` after :math:`I` clean steps in a row.

    The rule of ``torch.amp.GradScaler.update`` (its CPU and CUDA kernels
    ``_amp_update_scale_``), with growth factor :math:`\gamma`, backoff factor
    :math:`\beta` and growth interval :math:`I`, and a counter :math:`k` of
    consecutive steps without inf or NaN:

    - inf or NaN found (the step was skipped): :math:`S \leftarrow \beta S`, :math:`k \leftarrow 0`;
    - otherwise, if :math:`k + 1 = I`: :math:`S \leftarrow \gamma S` (unless that
      overflows ``float32``, when :math:`S` stays), :math:`k \leftarrow 0`;
    - otherwise :math:`k \leftarrow k + 1`.

    Note:
        ``GradScaler`` keeps :math:`S` in a ``float32`` tensor and multiplies in
        double precision before rounding back, so the returned scale is rounded
        to the nearest ``float32`` the same way; with the default factors (powers
        of 2) no rounding happens. Like the kernel, growth happens when
        :math:`k + 1` *equals* :math:`I`. A scale that backs off below
        ``float32``'s smallest subnormal becomes 0 and stays 0, as in the kernel.

    Args:
        scale (float): the current scale :math:`S \ge 0`.
        growth_tracker (int): the current counter :math:`k \ge 0`.
        found_inf (bool): whether this step's gradients held inf or NaN (:func:`found_inf`).
        growth_factor (float): :math:`\gamma > 1`. Default: 2 (``GradScaler``'s default).
        backoff_factor (float): :math:`\beta \in (0, 1)`. Default: 0.5.
        growth_interval (int): :math:`I \ge 1`. Default: 2000.

    Returns:
        tuple[float, int]: the new scale and the new counter.

    Raises:
        TypeError: if an argument has the wrong type (``found_inf`` must be a ``bool``).
        ValueError: if ``scale`` is negative or not finite, ``growth_tracker``
            negative, ``growth_factor`` not above 1, ``backoff_factor`` not in
            :math:`(0, 1)`, or ``growth_interval`` below 1.

    Reference: Micikevicius et al. (2018), section 3.2 (dynamic loss scaling);
    PyTorch's ``aten/src/ATen/native/cpu/AmpGradScalerKernels.cpp``. Book
    section :ref:`sec-amp-gradscaler`, equation :eq:`eq-amp-update`.
    """
    _check_scale_args(scale, growth_tracker, found_inf, growth_factor, backoff_factor, growth_interval)
    if found_inf:  # the step was skipped: shrink the scale and start counting again
        return _to_float32(scale * backoff_factor), 0
    if growth_tracker + 1 == growth_interval:  # I clean steps in a row: try a larger scale
        grown = _to_float32(scale * growth_factor)
        return (grown if math.isfinite(grown) else scale), 0  # never grow to inf
    return scale, growth_tracker + 1


def replay_scales(
    found_infs: Sequence[bool],
    init_scale: float = 2.0**16,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> list[float]:
    r"""The scale after each step, :math:`S_1, \dots, S_T`, for a sequence of overflow flags, by :func:`update_scale`.

    What ``GradScaler(init_scale=..., growth_factor=..., backoff_factor=...,
    growth_interval=...).get_scale()`` returns after each of :math:`T` steps
    whose gradients overflowed where ``found_infs`` is ``True``.

    Args:
        found_infs (Sequence[bool]): one flag per step.
        init_scale (float): the scale :math:`S_0 > 0`, rounded to ``float32`` as
            ``GradScaler`` stores it. Default: :math:`2^{16}` (``GradScaler``'s default).
        growth_factor (float): as for :func:`update_scale`. Default: 2.
        backoff_factor (float): as for :func:`update_scale`. Default: 0.5.
        growth_interval (int): as for :func:`update_scale`. Default: 2000.

    Returns:
        list[float]: :math:`T` scales, the one in force after each step's ``update()``.

    Raises:
        TypeError: if ``found_infs`` is not a sequence of bools, or an argument has the wrong type.
        ValueError: as :func:`update_scale` raises, or if ``init_scale`` is not positive and finite.

    Book section: :ref:`sec-amp-gradscaler`.
    """
    if isinstance(found_infs, (str, bytes)) or not isinstance(found_infs, Sequence):
        raise TypeError(f"found_infs must be a sequence of bools, got {type(found_infs).__name__}")
    scale = _to_float32(check_float(init_scale, "init_scale", low=0.0, low_open=True))
    tracker, scales = 0, []
    for found in found_infs:
        scale, tracker = update_scale(scale, tracker, found, growth_factor, backoff_factor, growth_interval)
        scales.append(scale)
    return scales


class AmpStep(NamedTuple):
    """What :func:`amp_step` returns."""

    #: The batch loss before the step (unscaled), as a Python float.
    loss: float
    #: Whether the optimizer step was skipped because a scaled gradient held inf or NaN.
    skipped: bool


def _check_amp_args(model: object, optimizer: object, scaler: object, dtype: object) -> None:
    check_module(model)
    check_optimizer(optimizer)
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(f"scaler must be a torch.amp.GradScaler or None, got {type(scaler).__name__}")
    if dtype not in (None, torch.float16, torch.bfloat16):
        raise ValueError(f"expected dtype None (no autocast), torch.float16 or torch.bfloat16, got {dtype!r}")


def amp_step(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    X: Tensor,
    y: Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None = None,
    dtype: torch.dtype | None = torch.bfloat16,
    device_type: str = "cpu",
) -> AmpStep:
    r"""One training step with the forward pass under autocast and, with a ``scaler``, loss scaling: :math:`\theta \leftarrow \theta - \eta\, \nabla(S\mathcal L) / S`.

    The recipe of PyTorch's AMP examples: the forward pass and the loss run
    under ``torch.amp.autocast`` (so matrix products run in ``dtype`` while the
    parameters, their gradients and the optimizer state stay ``float32``);
    with a ``GradScaler`` the loss is multiplied by its scale :math:`S` before
    ``backward()``, ``scaler.step`` divides the gradients by :math:`S` and skips
    the step if any is inf or NaN, and ``scaler.update`` adapts :math:`S`
    (:func:`update_scale`). Without a scaler it is the plain five-step loop.

    Args:
        model (torch.nn.Module): the model, with ``float32`` parameters.
        loss_fn (Callable[[Tensor, Tensor], Tensor]): ``loss_fn(y_hat, y)``, a batch mean.
        X (Tensor): the inputs of one batch.
        y (Tensor): the targets.
        optimizer (torch.optim.Optimizer): built over ``model.parameters()``.
        scaler (torch.amp.GradScaler | None): the loss scaler (needed with
            ``float16``; ``bfloat16`` has ``float32``'s range and does without). Default: ``None``.
        dtype (torch.dtype | None): autocast's lower precision, ``torch.bfloat16``
            or ``torch.float16``, or ``None`` to train in ``float32`` without
            autocast. Default: ``torch.bfloat16``.
        device_type (str): autocast's device type, ``"cpu"`` or ``"cuda"``. Default: ``"cpu"``.

    Shape:
        - ``X``: what ``model`` takes, e.g. :math:`(N, D)`; ``y``: what ``loss_fn`` takes with the output.

    Returns:
        AmpStep: the loss and whether the step was skipped.

    Raises:
        TypeError: if ``model``, ``optimizer`` or ``scaler`` has the wrong type.
        ValueError: if ``dtype`` is not ``None``, ``torch.float16`` or ``torch.bfloat16``.

    Reference: Micikevicius et al. (2018); PyTorch's "Automatic Mixed Precision
    examples". Book section :ref:`sec-amp-training`.
    """
    _check_amp_args(model, optimizer, scaler, dtype)
    optimizer.zero_grad(set_to_none=True)
    with torch.amp.autocast(device_type, dtype=dtype, enabled=dtype is not None):
        loss = loss_fn(model(X), y)  # matmuls in dtype; autocast runs the losses in float32
    if scaler is None:
        loss.backward()
        optimizer.step()
        return AmpStep(loss.item(), False)
    scaler.scale(loss).backward()  # the gradients of S L: small ones no longer underflow
    skipped = found_inf(model.parameters())  # the test scaler.step makes before stepping
    scaler.step(optimizer)  # divide by S, then step, unless a gradient is inf or NaN
    scaler.update()  # eq-amp-update: back off after an overflow, grow after I clean steps
    return AmpStep(loss.item(), skipped)
