"""Loss functions that refuse mismatched shapes instead of broadcasting them.

PyTorch's element-wise losses broadcast their two arguments: a prediction of
shape ``(N, 1)`` against a target of shape ``(N,)`` silently becomes an
``(N, N)`` matrix of every prediction against every target, and the loss is a
wrong number with no error (``torch.nn.functional.mse_loss`` only warns). The
losses here raise instead.

Book section: {ref}`chap-linear-regression`.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["check_same_shape", "mse_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def check_same_shape(y_hat: object, y: object, name: str = "loss") -> None:
    """Raise unless ``y_hat`` and ``y`` are tensors of exactly the same shape.

    Args:
        y_hat (Tensor): predictions.
        y (Tensor): targets.
        name (str): the caller's name, used in the messages. Default: ``"loss"``.

    Raises:
        TypeError: if either argument is not a :class:`torch.Tensor`.
        ValueError: if the shapes differ; the message names both, e.g.
            ``mse_loss expected y_hat and y of the same shape, got y_hat (8, 1) and y (8,)``.
    """
    for arg_name, arg in (("y_hat", y_hat), ("y", y)):
        if not isinstance(arg, Tensor):
            raise TypeError(f"{name} expected {arg_name} to be a torch.Tensor, got {type(arg).__name__}")
    if y_hat.shape != y.shape:  # type: ignore[union-attr]
        raise ValueError(
            f"{name} expected y_hat and y of the same shape, got y_hat {tuple(y_hat.shape)} "  # type: ignore[union-attr]
            f"and y {tuple(y.shape)}; broadcasting them would compare every prediction "  # type: ignore[union-attr]
            "with every target"
        )


def mse_loss(y_hat: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    r"""Mean squared error: :math:`\mathcal L = \frac{1}{n} \sum_k (\hat y_k - y_k)^2`.

    The sum runs over all :math:`n` elements (for ``(N, O)`` tensors,
    :math:`n = N O`). Equals ``torch.nn.functional.mse_loss(y_hat, y,
    reduction=reduction)`` whenever the shapes match.

    Args:
        y_hat (Tensor): predictions.
        y (Tensor): targets, the same shape as ``y_hat``.
        reduction (str): ``"mean"`` (divide the sum by the number of
            elements), ``"sum"`` or ``"none"`` (the element-wise squared
            errors). Default: ``"mean"``.

    Shape:
        - y_hat, y: any shape, but the same for both, e.g. :math:`(N, O)`.
        - Output: a scalar, or the input shape if ``reduction="none"``.

    Returns:
        Tensor: the loss, differentiable with respect to both arguments.

    Raises:
        TypeError: if ``y_hat`` or ``y`` is not a tensor.
        ValueError: if their shapes differ (unlike PyTorch, no broadcasting:
            the message names both shapes), or ``reduction`` is unknown.

    Book section: {ref}`chap-linear-regression`, equation ``eq-linreg-mse``.
    """
    check_same_shape(y_hat, y, "mse_loss")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    squared_error = (y_hat - y) ** 2  # same shape as y: no broadcasting possible here
    if reduction == "mean":
        return squared_error.mean()
    if reduction == "sum":
        return squared_error.sum()
    return squared_error
