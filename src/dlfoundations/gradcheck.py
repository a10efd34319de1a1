"""Finite-difference gradient checking: is autograd's (or a hand-written) gradient right?

A central difference estimates each partial derivative from two evaluations of
the function; comparing it with the analytic gradient catches a wrong backward
formula. It only works in float64: in float32 the round-off error of the
difference swamps the derivative.

Book section: :ref:`sec-autograd-gradcheck` in the Autograd chapter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

__all__ = ["numerical_grad", "check_grad"]


def _as_inputs(inputs: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    if not isinstance(inputs, Sequence) or len(inputs) == 0:
        raise TypeError(f"expected inputs to be a tensor or a non-empty sequence of tensors, got {inputs!r}")
    for i, t in enumerate(inputs):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"expected inputs[{i}] to be a torch.Tensor, got {type(t).__name__}")
        if t.dtype != torch.float64:
            raise TypeError(
                f"expected inputs[{i}] of dtype torch.float64, got {t.dtype}: "
                "finite differences in lower precision are dominated by round-off"
            )
    return tuple(inputs)


def _check_eps(eps: object) -> float:
    # bool is an int, and a float32 tensor step would be rounded: only a Python number is a clear step.
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(f"expected eps to be a float, got {type(eps).__name__}: {eps!r}")
    if not eps > 0:
        raise ValueError(f"expected eps > 0, got {eps}")
    if not math.isfinite(eps):
        raise ValueError(f"expected a finite eps, got {eps}")
    return float(eps)


def _check_args(fn: object, inputs: object, eps: object) -> tuple[tuple[torch.Tensor, ...], float]:
    """Check the arguments of :func:`numerical_grad` and :func:`check_grad`; return ``inputs`` as a tuple and ``eps``."""
    if not callable(fn):
        raise TypeError(f"expected fn to be callable, got {type(fn).__name__}")
    return _as_inputs(inputs), _check_eps(eps)


def _scalar(out: object) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"expected fn to return a torch.Tensor, got {type(out).__name__}")
    if out.is_complex():
        raise TypeError(f"expected fn to return a real tensor, got dtype {out.dtype}")
    if out.dim() != 0:
        raise ValueError(f"expected fn to return a scalar (shape ()), got shape {tuple(out.shape)}")
    return out


def numerical_grad(
    fn: Callable[..., torch.Tensor],
    inputs: torch.Tensor | Sequence[torch.Tensor],
    eps: float = 1e-6,
) -> tuple[torch.Tensor, ...]:
    r"""Estimate :math:`\partial f / \partial x_i \approx (f(x + \epsilon e_i) - f(x - \epsilon e_i)) / 2\epsilon` for every element.

    Central differences: two evaluations of ``fn`` per input element, each with
    one element moved by :math:`\pm\epsilon`. The truncation error is
    :math:`O(\epsilon^2)`; the round-off error grows like
    :math:`u\,|f| / \epsilon` (:math:`u \approx 1.1 \times 10^{-16}` in float64).

    Args:
        fn (Callable[..., torch.Tensor]): called as ``fn(*inputs)``; must
            return a scalar tensor (shape ``()``).
        inputs (torch.Tensor | Sequence[torch.Tensor]): the point to
            differentiate at; every tensor must be float64. Not modified.
        eps (float): the step :math:`\epsilon`. Default: ``1e-6``, within a
            decade of the step :math:`(3u|f|/|f'''|)^{1/3}` that balances the two
            errors in float64 for smooth functions of size ~1
            (:eq:`eq-autograd-fd-error`).

    Shape:
        - inputs: any shapes.
        - Output: one tensor per input, of the same shape and dtype.

    Returns:
        tuple[torch.Tensor, ...]: the estimated gradient with respect to each input.

    Raises:
        TypeError: if an input is not a float64 tensor (the message names the
            dtype received and the one expected), ``fn`` is not callable or
            does not return a real tensor, or ``eps`` is not a Python number.
        ValueError: if ``eps`` is not finite and positive, or ``fn`` does not
            return a scalar (the message names the shape received).

    Note:
        The step is absolute, as in ``torch.autograd.gradcheck``: where
        :math:`|x_i|` is so large that :math:`x_i \pm \epsilon` rounds back to
        :math:`x_i` the estimate is 0, and where ``fn`` is NaN or infinite nearby
        it is NaN. Inputs may have any strides (a transposed tensor is fine).

    Reference: central differences, Nocedal & Wright (2006), *Numerical
    Optimization*, Sec. 8.1; book equation :eq:`eq-autograd-central` in
    :ref:`sec-autograd-gradcheck`.
    """
    inputs, eps = _check_args(fn, inputs, eps)
    # Contiguous copies: .view(-1) below needs them (a transposed input is not).
    point = [t.detach().clone(memory_format=torch.contiguous_format) for t in inputs]
    grads = []
    with torch.no_grad():
        _scalar(fn(*point))  # fail early, before the element loop, if fn is not scalar
        for t in point:
            grad = torch.empty_like(t)
            flat, grad_flat = t.view(-1), grad.view(-1)  # (numel,) views share memory
            for i in range(flat.numel()):
                original = flat[i].item()
                flat[i] = original + eps
                f_plus = _scalar(fn(*point)).item()
                flat[i] = original - eps
                f_minus = _scalar(fn(*point)).item()
                flat[i] = original  # restore before moving to the next element
                grad_flat[i] = (f_plus - f_minus) / (2 * eps)
            grads.append(grad)
    return tuple(grads)


def check_grad(
    fn: Callable[..., torch.Tensor],
    inputs: torch.Tensor | Sequence[torch.Tensor],
    eps: float = 1e-6,
) -> float:
    r"""Return :math:`\max_i |g^{\text{autograd}}_i - g^{\text{numerical}}_i|` over every element of every input.

    The analytic gradient comes from ``torch.autograd.grad`` (so it runs every
    ``backward``, including a custom ``torch.autograd.Function``'s); the
    numerical one from :func:`numerical_grad`. For a correct backward on a smooth
    function the result is around ``1e-9`` or smaller; a wrong backward gives
    a difference the size of the gradient itself. An input ``fn`` does not use
    has gradient zero.

    Args:
        fn (Callable[..., torch.Tensor]): called as ``fn(*inputs)``; must
            return a scalar tensor (shape ``()``).
        inputs (torch.Tensor | Sequence[torch.Tensor]): float64 tensors; copies
            with ``requires_grad=True`` are differentiated, the originals are
            not modified.
        eps (float): finite-difference step. Default: ``1e-6``.

    Shape:
        - inputs: any shapes.
        - Output: a Python float.

    Returns:
        float: the largest absolute difference between the two gradients;
        NaN if any difference is NaN (a NaN gradient on either side), so that a
        check ``check_grad(...) < tol`` fails there.

    Raises:
        TypeError: if an input is not a float64 tensor, ``fn`` is not callable
            or does not return a real tensor, or ``eps`` is not a Python number.
        ValueError: if ``eps`` is not finite and positive, or ``fn`` does not return a scalar.

    Note:
        At a kink the two gradients differ on purpose: for ``relu`` at 0 the
        central difference gives the mean of the two one-sided slopes, 0.5,
        while autograd uses the subgradient 0, so ``check_grad`` reports 0.5
        there, and ``torch.autograd.gradcheck`` fails there too. Test
        gradients away from kinks.

    Reference: the same test as ``torch.autograd.gradcheck``, which
    compares full Jacobians against a tolerance instead of returning the
    difference; book section :ref:`sec-autograd-gradcheck`.
    """
    inputs, eps = _check_args(fn, inputs, eps)
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = _scalar(fn(*leaves))
    if out.requires_grad:
        analytic = torch.autograd.grad(out, leaves, allow_unused=True)
    else:  # fn ignores all of its inputs (or detached them): the gradient is zero
        analytic = (None,) * len(leaves)
    numeric = numerical_grad(fn, inputs, eps=eps)
    diffs = [
        ((torch.zeros_like(n) if a is None else a) - n).abs().max().item()
        for a, n in zip(analytic, numeric)
        if n.numel() > 0
    ]
    # Python's max() drops a NaN that is not first; a NaN anywhere must fail the check.
    return math.nan if any(math.isnan(d) for d in diffs) else max(diffs, default=0.0)
