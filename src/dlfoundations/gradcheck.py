"""Finite-difference gradient checking: is autograd's (or a hand-written) gradient right?

A central difference estimates each partial derivative from two evaluations of
the function; comparing it with the analytic gradient catches a wrong backward
formula. It only works in float64: in float32 the round-off error of the
difference swamps the derivative.

Book section: {ref}`sec-autograd-gradcheck` in the Autograd chapter.
"""

from __future__ import annotations

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


def _scalar(out: object) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"expected fn to return a torch.Tensor, got {type(out).__name__}")
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
            (``eq-autograd-fd-error``).

    Shape:
        - inputs: any shapes.
        - Output: one tensor per input, of the same shape and dtype.

    Returns:
        tuple[torch.Tensor, ...]: the estimated gradient with respect to each input.

    Raises:
        TypeError: if an input is not a float64 tensor (the message names the
            dtype received and the one expected), or ``fn`` does not return a tensor.
        ValueError: if ``eps`` is not positive, or ``fn`` does not return a
            scalar (the message names the shape received).

    Reference: central differences, Nocedal & Wright (2006), *Numerical
    Optimization*, Sec. 8.1; book equation ``eq-autograd-central`` in
    {ref}`sec-autograd-gradcheck`.
    """
    inputs = _as_inputs(inputs)
    if not eps > 0:
        raise ValueError(f"expected eps > 0, got {eps}")
    point = [t.detach().clone() for t in inputs]
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
    ``backward``, including a custom :class:`torch.autograd.Function`'s); the
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
        float: the largest absolute difference between the two gradients.

    Raises:
        TypeError: if an input is not a float64 tensor, or ``fn`` does not
            return a tensor.
        ValueError: if ``eps`` is not positive, or ``fn`` does not return a scalar.

    Reference: the same test as :func:`torch.autograd.gradcheck`, which
    compares full Jacobians against a tolerance instead of returning the
    difference; book section {ref}`sec-autograd-gradcheck`.
    """
    inputs = _as_inputs(inputs)
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
    return max(diffs, default=0.0)
