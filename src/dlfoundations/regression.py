r"""Linear regression from scratch: the model, its MSE gradient, and three ways to fit it.

The model is the one ``torch.nn.Linear`` computes, batch-first:
:math:`\hat Y = X W^\top + \mathbf 1 b^\top` with ``X`` of shape ``(N, D)``,
``W`` of shape ``(O, D)`` and ``b`` of shape ``(O,)``. It is fitted to the mean
squared error by gradient descent with hand-written gradients
(:func:`fit_gradient_descent`), by gradient descent with autograd
(:func:`fit_autograd`), and in closed form (:func:`least_squares`).

Book section: :ref:`chap-linear-regression`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from dlfoundations._validation import check_bool, check_dtype, check_floating_tensor, check_int, check_lr
from dlfoundations.losses import mse_loss

__all__ = [
    "FitResult",
    "predict",
    "mse_gradients",
    "fit_gradient_descent",
    "fit_autograd",
    "least_squares",
]


class FitResult(NamedTuple):
    """Parameters found by a fit, and the loss recorded at every epoch."""

    #: Fitted weight, shape ``(O, D)``.
    weight: Tensor
    #: Fitted bias, shape ``(O,)``.
    bias: Tensor
    #: ``losses[k]`` is the training MSE of the parameters after ``k`` updates, so ``losses[0]`` is the loss at the
    #: initial parameters; one entry per epoch.
    losses: list[float]


# ---------------------------------------------------------------- validation


def _check_data(X: object, y: object | None = None) -> None:
    check_floating_tensor(X, "X")
    if X.ndim != 2:
        raise ValueError(f"expected X of shape (N, D), got {tuple(X.shape)}")
    if y is None:
        return
    check_floating_tensor(y, "y")
    if y.ndim != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(f"expected y of shape ({X.shape[0]}, O) to match X {tuple(X.shape)}, got {tuple(y.shape)}")
    # No silent casts: mixed dtypes would make the result's dtype depend on the argument order.
    check_dtype(y, "y", X.dtype, "X", X.device)


def _check_params(X: Tensor, weight: object, bias: object, O: int | None = None) -> None:  # noqa: E741
    check_floating_tensor(weight, "weight")
    check_floating_tensor(bias, "bias")
    O = weight.shape[0] if O is None and weight.ndim == 2 else O  # noqa: E741
    D = X.shape[1]
    if weight.ndim != 2 or weight.shape[1] != D or (O is not None and weight.shape[0] != O):
        expected = f"({'O' if O is None else O}, {D})"
        raise ValueError(f"expected weight of shape {expected} for X {tuple(X.shape)}, got {tuple(weight.shape)}")
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"expected bias of shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    check_dtype(weight, "weight", X.dtype, "X", X.device)
    check_dtype(bias, "bias", X.dtype, "X", X.device)


def _check_model_args(X: object, weight: object, bias: object, y: object | None = None) -> None:
    """Check the data (and targets) and the parameters of :func:`predict` and :func:`mse_gradients`."""
    _check_data(X, y)
    _check_params(X, weight, bias, None if y is None else y.shape[1])


def _check_fit_args(X: object, y: object, lr: object, num_epochs: object, zero_grad: object = True) -> float:
    """Check the arguments of the two gradient-descent fits; return ``lr`` as a float."""
    _check_data(X, y)
    check_int(num_epochs, "num_epochs", 1)
    check_bool(zero_grad, "zero_grad")
    return check_lr(lr)


def _check_least_squares_args(X: object, y: object) -> None:
    _check_data(X, y)
    if X.dtype not in (torch.float32, torch.float64):  # the SVD has no half-precision kernels
        raise TypeError(f"least_squares needs X and y of dtype torch.float32 or torch.float64, got {X.dtype}")


def _initial_params(X: Tensor, y: Tensor, weight: Tensor | None, bias: Tensor | None) -> tuple[Tensor, Tensor]:
    O, D = y.shape[1], X.shape[1]  # noqa: E741
    # Zeros by default: deterministic, and the MSE is convex, so any start reaches its minimum value.
    weight = torch.zeros(O, D, dtype=X.dtype, device=X.device) if weight is None else weight.detach().clone()
    bias = torch.zeros(O, dtype=X.dtype, device=X.device) if bias is None else bias.detach().clone()
    _check_params(X, weight, bias, O)
    return weight, bias


# ---------------------------------------------------------------- the model


def predict(X: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    r"""Linear model, batch-first like ``torch.nn.Linear``: :math:`\hat Y = X W^\top + b`.

    Args:
        X (Tensor): inputs, one sample per row.
        weight (Tensor): the weight :math:`W`.
        bias (Tensor): the bias :math:`b`, added to every row.

    Shape:
        - X: :math:`(N, D)`
        - weight: :math:`(O, D)`, bias: :math:`(O,)`
        - Output: :math:`(N, O)`

    Returns:
        Tensor: the predictions ``y_hat``; equal to
        ``torch.nn.functional.linear(X, weight, bias)``.

    Raises:
        TypeError: if an argument is not a floating tensor, or ``weight`` or ``bias``
            has another dtype than ``X`` (the message names both; no silent casts,
            like ``torch.nn.functional.linear``).
        ValueError: if the shapes do not fit together (expected and received shapes in the message).

    Book section: :ref:`chap-linear-regression`, equation :eq:`eq-linreg-model`.
    """
    _check_model_args(X, weight, bias)
    return X @ weight.T + bias  # (N, D) @ (D, O) + (O,) -> (N, O)


def mse_gradients(X: Tensor, y: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    r"""Gradient of the MSE of :func:`predict`, by hand: :math:`\nabla_W \mathcal L = \frac{2}{NO} R^\top X`.

    With residuals :math:`R = \hat Y - Y` and :math:`\mathcal L` the mean over
    all :math:`N O` squared residuals,

    .. math::
        \nabla_W \mathcal L = \tfrac{2}{NO} R^\top X, \qquad
        \nabla_b \mathcal L = \tfrac{2}{NO} R^\top \mathbf 1 .

    Plain tensor operations, no autograd; equal to what ``loss.backward()``
    gives for ``mse_loss(predict(X, weight, bias), y)``, at the edges too: NaN
    and infinities propagate as there, and an empty batch (:math:`N = 0`, whose
    loss is NaN) gives zero gradients.

    Args:
        X (Tensor): inputs.
        y (Tensor): targets.
        weight (Tensor): current weight :math:`W`.
        bias (Tensor): current bias :math:`b`.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N, O)`
        - weight: :math:`(O, D)`, bias: :math:`(O,)`
        - Output: ``(grad_weight, grad_bias)`` of shapes :math:`(O, D)` and :math:`(O,)`

    Returns:
        tuple[Tensor, Tensor]: ``(grad_weight, grad_bias)``, the same shapes as the parameters.

    Raises:
        TypeError: if an argument is not a floating tensor, or ``y``, ``weight`` or
            ``bias`` has another dtype than ``X`` (the message names both).
        ValueError: if the shapes do not fit together.

    Book section: :ref:`chap-linear-regression`, equations :eq:`eq-linreg-grad-w` and :eq:`eq-linreg-grad-b`.
    """
    _check_model_args(X, weight, bias, y)
    residual = X @ weight.T + bias - y  # (N, O): R = Y_hat - Y
    # dL/dY_hat = 2 R / (N O): the MSE averages over every element. Scaling R before the
    # product, as autograd does, keeps huge values and empty batches (N O = 0) like it.
    grad_y_hat = 2.0 * residual / max(residual.numel(), 1)  # (N, O)
    grad_weight = grad_y_hat.T @ X  # (O, N) @ (N, D) -> (O, D)
    grad_bias = grad_y_hat.sum(dim=0)  # (O,)
    return grad_weight, grad_bias


# ---------------------------------------------------------------- fitting


def fit_gradient_descent(
    X: Tensor,
    y: Tensor,
    lr: float,
    num_epochs: int,
    *,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
) -> FitResult:
    r"""Full-batch gradient descent with hand-written gradients: :math:`\theta \leftarrow \theta - \eta \nabla_\theta \mathcal L`.

    Each epoch computes the MSE and its gradient (:func:`mse_gradients`) on the
    whole data set, records the loss, then takes one step of size ``lr``.

    Args:
        X (Tensor): inputs.
        y (Tensor): targets. Both are used detached: no gradient reaches them.
        lr (float): learning rate :math:`\eta \ge 0` (0 leaves the parameters
            where they start, as in ``torch.optim``). Gradient descent on the MSE
            converges only if :math:`\eta < 2 / \lambda_{\max}` of the Hessian.
        num_epochs (int): number of updates, a positive int.
        weight (Tensor | None): initial weight; copied, not modified. Default: zeros.
        bias (Tensor | None): initial bias; copied, not modified. Default: zeros.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N, O)`
        - weight: :math:`(O, D)`, bias: :math:`(O,)` (initial and returned)

    Returns:
        FitResult: ``(weight, bias, losses)`` with ``num_epochs`` losses,
        ``losses[k]`` measured after ``k`` updates.

    Raises:
        TypeError: if an argument has the wrong type, or ``y`` or the initial
            parameters have another dtype than ``X`` (the message names both).
        ValueError: ``Invalid learning rate: -0.1 ...`` if ``lr < 0`` or not
            finite; ``Invalid num_epochs: 0 ...`` if ``num_epochs < 1``; or a
            message naming expected and received shapes.

    Book section: :ref:`chap-linear-regression`, equation :eq:`eq-linreg-gd`.
    """
    lr = _check_fit_args(X, y, lr, num_epochs)
    X, y = X.detach(), y.detach()  # constants of the fit: no graph through them, no .grad into the caller's
    weight, bias = _initial_params(X, y, weight, bias)
    losses = []
    for _ in range(num_epochs):
        losses.append(mse_loss(predict(X, weight, bias), y).item())
        grad_weight, grad_bias = mse_gradients(X, y, weight, bias)
        weight = weight - lr * grad_weight  # (O, D)
        bias = bias - lr * grad_bias  # (O,)
    return FitResult(weight, bias, losses)


def fit_autograd(
    X: Tensor,
    y: Tensor,
    lr: float,
    num_epochs: int,
    *,
    zero_grad: bool = True,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
) -> FitResult:
    r"""Full-batch gradient descent with autograd: ``loss.backward()``, then :math:`\theta \leftarrow \theta - \eta\, \theta.\mathrm{grad}`.

    The same algorithm as :func:`fit_gradient_descent`, but autograd computes
    the gradient. The update runs under ``torch.no_grad`` (it must not
    itself be recorded in the graph), and the gradients are then reset,
    because ``backward()`` *adds* into ``.grad`` rather than overwriting it.

    Args:
        X (Tensor): inputs.
        y (Tensor): targets. Both are used detached: no gradient reaches them.
        lr (float): learning rate :math:`\eta \ge 0`.
        num_epochs (int): number of updates, a positive int.
        zero_grad (bool): reset ``.grad`` after every update. ``False``
            reproduces the classic bug: each step then uses the *sum* of all
            gradients so far, heavy-ball momentum with coefficient 1, whose
            error oscillates without damping (:eq:`eq-linreg-no-reset`).
            Default: ``True``.
        weight (Tensor | None): initial weight; copied, not modified. Default: zeros.
        bias (Tensor | None): initial bias; copied, not modified. Default: zeros.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N, O)`
        - weight: :math:`(O, D)`, bias: :math:`(O,)` (initial and returned)

    Returns:
        FitResult: ``(weight, bias, losses)``, detached from the graph, with
        ``num_epochs`` losses, ``losses[k]`` measured after ``k`` updates.

    Raises:
        TypeError: if an argument has the wrong type (``zero_grad`` must be a bool),
            or ``y`` or the initial parameters have another dtype than ``X``.
        ValueError: ``Invalid learning rate: -0.1 ...`` if ``lr < 0`` or not
            finite; ``Invalid num_epochs: 0 ...`` if ``num_epochs < 1``; or a
            message naming expected and received shapes.

    Book section: :ref:`chap-linear-regression`.
    """
    lr = _check_fit_args(X, y, lr, num_epochs, zero_grad)
    X, y = X.detach(), y.detach()  # constants of the fit: no graph through them, no .grad into the caller's
    weight, bias = _initial_params(X, y, weight, bias)
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    losses = []
    for _ in range(num_epochs):
        loss = mse_loss(predict(X, weight, bias), y)
        losses.append(loss.item())
        loss.backward()  # adds dL/dW into weight.grad and dL/db into bias.grad
        with torch.no_grad():  # the update is not part of the model: do not record it
            weight -= lr * weight.grad
            bias -= lr * bias.grad
        if zero_grad:
            weight.grad = None  # like optimizer.zero_grad(set_to_none=True)
            bias.grad = None
    return FitResult(weight.detach(), bias.detach(), losses)


def least_squares(X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    r"""Closed-form MSE minimiser of least norm: :math:`\Theta = \tilde X^+ Y` with :math:`\tilde X = [X, \mathbf 1]`.

    Appends a column of ones to ``X`` so the bias is one more weight, and
    multiplies ``y`` by the Moore-Penrose pseudo-inverse
    :math:`\tilde X^+` (``torch.linalg.pinv``, computed from the singular
    value decomposition of :math:`\tilde X`). That solves the normal equations
    :math:`\tilde X^\top \tilde X\, \Theta = \tilde X^\top Y` without forming
    :math:`\tilde X^\top \tilde X` (which would square the condition number),
    and when the columns are collinear, so that many :math:`\Theta` reach the
    minimum, it returns the one of least norm: the same answer as
    ``numpy.linalg.lstsq`` on :math:`\tilde X`, on every call. Singular values
    below :math:`\epsilon \max(N, D + 1)\, \sigma_{\max}` count as zero, as
    in ``numpy.linalg.lstsq(rcond=None)``.

    Args:
        X (Tensor): inputs.
        y (Tensor): targets, the dtype and device of ``X``.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N, O)`
        - Output: ``(weight, bias)`` of shapes :math:`(O, D)` and :math:`(O,)`

    Returns:
        tuple[Tensor, Tensor]: ``(weight, bias)`` minimising
        ``mse_loss(predict(X, weight, bias), y)``, of least norm
        :math:`\lVert W \rVert_F^2 + \lVert b \rVert^2` among the minimisers;
        differentiable with respect to ``X`` and ``y``.

    Raises:
        TypeError: if ``X`` or ``y`` is not a float32 or float64 tensor, or their
            dtypes differ (the message names both).
        ValueError: if ``X`` is not ``(N, D)`` or ``y`` not ``(N, O)`` with the same ``N``.

    Note:
        A NaN or infinity in ``X`` makes every entry of the result NaN (no
        minimiser exists); ``numpy.linalg.lstsq`` raises ``LinAlgError`` and
        scikit-learn a ``ValueError`` there. NaN and infinities in ``y``
        propagate as through any product. With no samples (:math:`N = 0`) the
        result is zero, the least-norm choice. scikit-learn's
        ``LinearRegression`` centres the data and leaves the intercept out of the
        norm, so its weights differ from these only when a combination of the
        columns of ``X`` is constant; its predictions are the same.

    Book section: :ref:`chap-linear-regression`, equation :eq:`eq-linreg-normal`;
    Golub and Van Loan, *Matrix Computations*, ch. 5.5 (rank-deficient least squares).
    """
    _check_least_squares_args(X, y)
    ones = torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)  # (N, 1)
    X_tilde = torch.cat([X, ones], dim=1)  # (N, D + 1)
    finite = torch.isfinite(X_tilde).all()  # the SVD fails on NaN and gives zeros for inf
    theta = torch.linalg.pinv(torch.where(finite, X_tilde, 0.0)) @ y  # (D + 1, N) @ (N, O) -> (D + 1, O)
    theta = torch.where(finite, theta, torch.nan)
    weight = theta[:-1].T.contiguous()  # (D, O) -> (O, D)
    bias = theta[-1].clone()  # (O,)
    return weight, bias
