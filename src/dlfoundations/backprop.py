r"""Backpropagation from scratch for a two-layer network, with no autograd.

The network is batch-first, as in ``torch.nn.Linear``:

.. math::
    Z_1 = X W_1^\top + \mathbf b_1,\quad A_1 = f(Z_1),\quad
    Z_2 = A_1 W_2^\top + \mathbf b_2,\quad \hat Y = \operatorname{softmax}(Z_2),

with ``X`` of shape ``(N, D)``, ``Z1, A1`` of shape ``(N, H)`` and ``Z2, Y_hat``
of shape ``(N, K)``, trained on the mean cross-entropy. :func:`forward` keeps
the intermediates in a cache, :func:`backward` turns them into the gradients by
the chain rule, layer by layer from the loss back to the input, and
:func:`train_gradient_descent` uses both for full-batch gradient descent. Every
function here is plain tensor arithmetic run under ``torch.no_grad()``:
nothing is recorded for autograd. :class:`BackpropLoss` wraps the hand-written
backward in a ``torch.autograd.Function`` so that
``torch.autograd.gradcheck`` can test it.

The pieces are the package's own, each implemented once: the activations and
their derivatives come from :mod:`dlfoundations.activations`, the softmax from
:func:`dlfoundations.activations.softmax`, the loss and its gradient with
respect to the logits from :func:`dlfoundations.losses.cross_entropy` and
:func:`dlfoundations.losses.cross_entropy_grad`, and the accuracy from
:func:`dlfoundations.metrics.accuracy`. This module adds the layers, the chain
rule that connects them, and the training loop.

Book section: :ref:`chap-backprop`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor
from dlfoundations._validation import check_floating_dtype, check_floating_tensor, check_int, check_lr as _check_lr
from dlfoundations.activations import relu, relu_grad, sigmoid, sigmoid_grad, softmax, tanh, tanh_grad
from dlfoundations.losses import cross_entropy, cross_entropy_grad
from dlfoundations.metrics import accuracy as _label_accuracy

__all__ = [
    "ACTIVATIONS",
    "BackpropLoss",
    "TrainResult",
    "accuracy",
    "activation_derivative",
    "activation_forward",
    "backward",
    "forward",
    "init_params",
    "train_gradient_descent",
]

PARAM_NAMES = ("W1", "b1", "W2", "b2")
CACHE_KEYS = ("X", "Z1", "A1", "Z2", "Y_hat")

#: The hidden activations by name, each the pair (f, f') of functions of dlfoundations.activations.
ACTIVATIONS: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
}


# ---------------------------------------------------------------- validation


def _check_activation(activation: object) -> str:
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a str, got {type(activation).__name__}: {activation!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}, expected one of {tuple(ACTIVATIONS)}")
    return activation


def _check_X(X: object) -> Tensor:
    X = check_floating_tensor(X, "X")
    if X.ndim != 2:
        raise ValueError(f"expected X of shape (N, D), got {tuple(X.shape)}")
    return X


def _check_params(params: object, X: Tensor | None = None) -> tuple[int, int, int]:
    """Check the four parameters and return ``(D, H, K)``."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict with keys {PARAM_NAMES}, got {type(params).__name__}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params must have keys {PARAM_NAMES}, missing {tuple(missing)}")
    W1, b1, W2, b2 = (check_floating_tensor(params[k], k) for k in PARAM_NAMES)
    if W1.ndim != 2:
        raise ValueError(f"expected W1 of shape (H, D), got {tuple(W1.shape)}")
    H, D = W1.shape
    if X is not None and X.shape[1] != D:
        raise ValueError(f"expected X of shape (N, {D}) to match W1 {tuple(W1.shape)}, got {tuple(X.shape)}")
    if W2.ndim != 2 or W2.shape[1] != H:
        raise ValueError(f"expected W2 of shape (K, {H}), got {tuple(W2.shape)}")
    K = W2.shape[0]  # the number of classes
    for name, b, size in (("b1", b1, H), ("b2", b2, K)):
        if b.shape != (size,):
            raise ValueError(f"expected {name} of shape ({size},), got {tuple(b.shape)}")
    dtypes = {t.dtype for t in (W1, b1, W2, b2)} | ({X.dtype} if X is not None else set())
    if len(dtypes) != 1:
        raise TypeError(f"expected X and all parameters of one dtype, got {sorted(map(str, dtypes))}")
    return D, H, K


def _check_labels(y: object, N: int, K: int) -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"y must be a torch.Tensor of class labels, got {type(y).__name__}")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (N,):
        raise ValueError(f"expected y of shape ({N},), got {tuple(y.shape)}")
    if N > 0 and (int(y.min()) < 0 or int(y.max()) >= K):
        raise ValueError(f"expected labels y in [0, {K - 1}] for K = {K} classes, got values in [{int(y.min())}, {int(y.max())}]")
    return y.long()


def _check_logits(Z: object, name: str = "Z") -> Tensor:
    Z = check_floating_tensor(Z, name)
    if Z.ndim != 2 or Z.shape[1] == 0:
        raise ValueError(f"expected {name} of shape (N, K) with K >= 1, got {tuple(Z.shape)}")
    return Z


def _check_cache(cache: object) -> dict[str, Tensor]:
    if not isinstance(cache, dict) or any(k not in cache for k in CACHE_KEYS):
        keys = tuple(cache) if isinstance(cache, dict) else type(cache).__name__
        raise ValueError(f"expected the cache returned by forward, with keys {CACHE_KEYS}, got {keys}")
    return cache


def _check_activation_input(Z: object, activation: object) -> None:
    """The checks of :func:`activation_forward` and :func:`activation_derivative`."""
    _check_activation(activation)
    check_floating_tensor(Z, "Z")


def _check_network(X: object, params: object, activation: object) -> None:
    """The checks of :func:`forward`: ``X`` and the parameters fit together, and ``activation`` is known."""
    X = _check_X(X)
    _check_params(params, X)
    _check_activation(activation)


def _check_backward(cache: object, y: object, params: object, activation: object) -> Tensor:
    """The checks of :func:`backward`; return the labels ``y`` as int64."""
    cache = _check_cache(cache)
    X = _check_X(cache["X"])
    _, _, K = _check_params(params, X)
    _check_activation(activation)
    return _check_labels(y, X.shape[0], K)


def _check_loss(X: object, y: object, params: object, activation: object) -> Tensor:
    """The checks of :class:`BackpropLoss`: those of :func:`forward`, and the labels; return ``y`` as int64."""
    _check_network(X, params, activation)
    return _check_labels(y, X.shape[0], params["W2"].shape[0])  # type: ignore[union-attr, index]


def _check_accuracy(Y_hat: object, y: object) -> Tensor:
    """The checks of :func:`accuracy`; return the labels ``y`` as int64."""
    Y_hat = _check_logits(Y_hat, "Y_hat")
    if Y_hat.shape[0] == 0:
        raise ValueError("expected at least one example, got Y_hat of shape (0, K)")
    return _check_labels(y, *Y_hat.shape)


def _check_init(
    in_features: object, hidden_size: object, out_features: object, generator: object, dtype: object
) -> tuple[int, int, int]:
    """The checks of :func:`init_params`; return ``(D, H, K)``."""
    D = check_int(in_features, "in_features", 1)
    H = check_int(hidden_size, "hidden_size", 1)
    K = check_int(out_features, "out_features", 1)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    check_floating_dtype(dtype)
    return D, H, K


def _check_training(
    X: object, y: object, params: object, lr: object, num_epochs: object, activation: object,
    X_val: object, y_val: object,
) -> tuple[Tensor, Tensor | None, float]:
    """The checks of :func:`train_gradient_descent`; return ``y`` and ``y_val`` as int64, and ``lr`` as a float."""
    X = _check_X(X)
    _, _, K = _check_params(params, X)
    y = _check_labels(y, X.shape[0], K)
    if X.shape[0] == 0:
        raise ValueError(f"expected at least one training example, got X of shape {tuple(X.shape)}")
    lr = _check_lr(lr)
    check_int(num_epochs, "num_epochs", 1)
    _check_activation(activation)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        X_val = _check_X(X_val)
        _check_params(params, X_val)
        y_val = _check_labels(y_val, X_val.shape[0], K)
        if X_val.shape[0] == 0:
            raise ValueError(f"expected at least one validation example, got X_val of shape {tuple(X_val.shape)}")
    return y, y_val, lr


# ---------------------------------------------------------------- building blocks


def activation_forward(Z: Tensor, activation: str) -> Tensor:
    r"""Apply the hidden activation element-wise: :math:`A = f(Z)`.

    ``"sigmoid"``: :math:`\sigma(z) = 1 / (1 + e^{-z})`
    (:func:`dlfoundations.activations.sigmoid`);
    ``"tanh"``: :math:`\tanh z = (e^{z} - e^{-z}) / (e^{z} + e^{-z})`
    (:func:`dlfoundations.activations.tanh`);
    ``"relu"``: :math:`\max(z, 0)` (:func:`dlfoundations.activations.relu`).

    Args:
        Z (Tensor): pre-activations.
        activation (str): ``"sigmoid"``, ``"tanh"`` or ``"relu"``.

    Shape:
        - Z: any shape, e.g. :math:`(N, H)`; Output: the same shape.

    Returns:
        Tensor: :math:`f(Z)`, equal to ``torch.sigmoid``, ``torch.tanh`` or ``torch.relu``.

    Raises:
        TypeError: if ``Z`` is not a floating tensor or ``activation`` not a str.
        ValueError: ``Unknown activation 'gelu', expected one of (...)``.

    Note:
        Runs under ``torch.no_grad()``, unlike ``torch.tanh``: the output never
        requires grad, even for an input that does; the gradients of this
        module come from :func:`backward` (or :class:`BackpropLoss`).
        NaN and :math:`\pm\infty` give what PyTorch's functions give (``relu(nan)``
        is NaN), and tanh keeps full relative precision for tiny :math:`z`
        (see :func:`dlfoundations.activations.tanh`); the sigmoid differs from
        ``torch.sigmoid`` only below float32's underflow threshold (see
        :func:`dlfoundations.activations.sigmoid`).

    Book section: :ref:`chap-backprop`, equation :eq:`eq-backprop-activations`.
    """
    _check_activation_input(Z, activation)
    f, _ = ACTIVATIONS[activation]
    with torch.no_grad():
        return f(Z)


def activation_derivative(Z: Tensor, activation: str) -> Tensor:
    r"""The derivative of the hidden activation, element-wise: :math:`f'(Z)`.

    ``"sigmoid"``: :math:`\sigma(z)(1 - \sigma(z))`; ``"tanh"``:
    :math:`1 - \tanh^2 z`; ``"relu"``: :math:`1` if :math:`z > 0` else :math:`0`
    (:func:`dlfoundations.activations.sigmoid_grad`,
    :func:`dlfoundations.activations.tanh_grad`,
    :func:`dlfoundations.activations.relu_grad`).

    Args:
        Z (Tensor): pre-activations (not the activations).
        activation (str): ``"sigmoid"``, ``"tanh"`` or ``"relu"``.

    Shape:
        - Z: any shape, e.g. :math:`(N, H)`; Output: the same shape.

    Returns:
        Tensor: :math:`f'(Z)`.

    Raises:
        TypeError: if ``Z`` is not a floating tensor or ``activation`` not a str.
        ValueError: if ``activation`` is unknown.

    Note:
        ReLU is not differentiable at 0; like PyTorch we use 0 there. At NaN
        the ReLU derivative is 1, as in PyTorch's ReLU backward, which passes
        the gradient wherever :math:`z \le 0` is false. Each derivative
        equals what autograd gives through ``torch.sigmoid``, ``torch.tanh``
        or ``torch.relu``; the function itself runs under ``torch.no_grad()``.

    Book section: :ref:`chap-backprop`, equation :eq:`eq-backprop-activations`.
    """
    _check_activation_input(Z, activation)
    _, f_prime = ACTIVATIONS[activation]
    with torch.no_grad():
        return f_prime(Z)


# ---------------------------------------------------------------- the network


def init_params(
    in_features: int,
    hidden_size: int,
    out_features: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> dict[str, Tensor]:
    r"""Draw the parameters of the two-layer network: :math:`W_\ell, \mathbf b_\ell \sim \mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`.

    The same distribution as ``torch.nn.Linear``'s default
    initialisation, drawn in the fixed order ``W1, b1, W2, b2`` from
    ``generator``, so one seed gives ``torch.equal`` parameters.

    Args:
        in_features (int): input features ``D``.
        hidden_size (int): hidden units ``H``.
        out_features (int): outputs, one per class: ``K``.
        generator (torch.Generator): the source of randomness (keyword only, required).
        dtype (torch.dtype): a floating dtype. Default: ``torch.float32``.

    Shape:
        - W1: :math:`(H, D)`, b1: :math:`(H,)`, W2: :math:`(K, H)`, b2: :math:`(K,)`.

    Returns:
        dict[str, Tensor]: ``{"W1", "b1", "W2", "b2"}``, plain tensors
        (``requires_grad=False``).

    Raises:
        TypeError: if a size is not an int, ``generator`` is not a
            ``torch.Generator`` or ``dtype`` is not floating.
        ValueError: if a size is not positive.

    Reference: the bound of ``torch.nn.Linear.reset_parameters``; book section :ref:`chap-backprop`.
    """
    D, H, K = _check_init(in_features, hidden_size, out_features, generator, dtype)

    def uniform(*shape: int, fan_in: int) -> Tensor:
        bound = 1.0 / math.sqrt(fan_in)
        return (2.0 * torch.rand(*shape, generator=generator, dtype=dtype) - 1.0) * bound  # U(-bound, bound)

    return {
        "W1": uniform(H, D, fan_in=D),  # (H, D)
        "b1": uniform(H, fan_in=D),  # (H,)
        "W2": uniform(K, H, fan_in=H),  # (K, H)
        "b2": uniform(K, fan_in=H),  # (K,)
    }


def forward(X: Tensor, params: dict[str, Tensor], activation: str = "relu") -> tuple[Tensor, dict[str, Tensor]]:
    r"""Forward pass of the two-layer network: :math:`\hat Y = \operatorname{softmax}(f(X W_1^\top + \mathbf b_1) W_2^\top + \mathbf b_2)`.

    Args:
        X (Tensor): inputs, one example per row.
        params (dict[str, Tensor]): ``W1, b1, W2, b2`` as from :func:`init_params`.
        activation (str): hidden activation ``"sigmoid"``, ``"tanh"`` or ``"relu"``. Default: ``"relu"``.

    Shape:
        - X: :math:`(N, D)`; W1: :math:`(H, D)`, b1: :math:`(H,)`, W2: :math:`(K, H)`, b2: :math:`(K,)`
        - Output: ``Y_hat`` :math:`(N, K)` and the cache with ``X`` :math:`(N, D)`,
          ``Z1, A1`` :math:`(N, H)`, ``Z2, Y_hat`` :math:`(N, K)`.

    Returns:
        tuple[Tensor, dict[str, Tensor]]: ``(Y_hat, cache)``; the cache holds
        every intermediate :func:`backward` needs. Nothing is recorded for
        autograd, even when the parameters have ``requires_grad=True``.

    Raises:
        TypeError: if an argument is not a floating tensor, or dtypes differ.
        ValueError: if shapes do not fit (expected and received shapes in the
            message) or ``activation`` is unknown.

    Book section: :ref:`chap-backprop`, equations :eq:`eq-backprop-z1` to :eq:`eq-backprop-yhat`.
    """
    _check_network(X, params, activation)
    f, _ = ACTIVATIONS[activation]
    W1, b1, W2, b2 = (params[k] for k in PARAM_NAMES)
    with torch.no_grad():
        Z1 = X @ W1.T + b1  # (N, D) @ (D, H) + (H,) -> (N, H)
        A1 = f(Z1)  # (N, H)
        Z2 = A1 @ W2.T + b2  # (N, H) @ (H, K) + (K,) -> (N, K)
        Y_hat = softmax(Z2, dim=1)  # (N, K): each row a distribution over the classes
    return Y_hat, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "Y_hat": Y_hat}


def backward(
    cache: dict[str, Tensor], y: Tensor, params: dict[str, Tensor], activation: str = "relu"
) -> dict[str, Tensor]:
    r"""Backward pass by the chain rule: :math:`\partial\mathcal L/\partial Z_2 = (\hat Y - Y)/N`, then back through each layer.

    The first step is :func:`dlfoundations.losses.cross_entropy_grad` of the
    cached logits ``Z2``; each later step is one line of the code.

    .. math::
        \Delta_2 = (\hat Y - Y)/N,\quad
        \nabla_{W_2} = \Delta_2^\top A_1,\quad \nabla_{\mathbf b_2} = \Delta_2^\top \mathbf 1,\quad
        \Delta_1 = (\Delta_2 W_2) \odot f'(Z_1),\quad
        \nabla_{W_1} = \Delta_1^\top X,\quad \nabla_{\mathbf b_1} = \Delta_1^\top \mathbf 1 .

    Args:
        cache (dict[str, Tensor]): the cache :func:`forward` returned.
        y (Tensor): integer class labels in ``[0, K - 1]``.
        params (dict[str, Tensor]): the parameters the forward pass used
            (only ``W2`` is read, to send the gradient back through layer 2).
        activation (str): the activation the forward pass used. Default: ``"relu"``.

    Shape:
        - y: :math:`(N,)`; cache and params as in :func:`forward`.
        - Output: gradients of the same shapes as the parameters:
          W1 :math:`(H, D)`, b1 :math:`(H,)`, W2 :math:`(K, H)`, b2 :math:`(K,)`.

    Returns:
        dict[str, Tensor]: ``{"W1", "b1", "W2", "b2"}``, the gradient of the
        mean cross-entropy :func:`dlfoundations.losses.cross_entropy` with respect to each parameter.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if ``cache`` is not a forward cache, shapes disagree, a
            label is out of range or ``activation`` is unknown.

    Note:
        Equal to autograd through the same graph built from ``torch.relu``,
        ``torch.tanh`` or ``torch.sigmoid`` and ``F.cross_entropy``, including
        pre-activations exactly at ReLU's kink (derivative 0), a single
        example, and an empty batch (all gradients 0, as autograd gives for
        the NaN loss of no examples). One deliberate difference: the line
        :math:`\Delta_1 = (\Delta_2 W_2) \odot f'(Z_1)` *multiplies* by ReLU's
        :math:`f' \in \{0, 1\}`, while PyTorch's ReLU backward *selects*; where the
        incoming gradient is already NaN or :math:`\pm\infty` at an inactive unit
        (only when the loss itself is NaN), this gives NaN and PyTorch 0.
        Wherever autograd has NaN, so does this function.

    Reference: Rumelhart, Hinton & Williams (1986), *Learning representations
    by back-propagating errors*, eqs. 4-7 (there per example, with the squared
    error); book section :ref:`chap-backprop`, equations :eq:`eq-backprop-dz2` to :eq:`eq-backprop-db1`.
    """
    y = _check_backward(cache, y, params, activation)
    _, f_prime = ACTIVATIONS[activation]
    X, Z1, A1, Z2 = (cache[k] for k in ("X", "Z1", "A1", "Z2"))
    W2 = params["W2"]
    with torch.no_grad():
        dZ2 = cross_entropy_grad(Z2, y)  # (N, K): (Y_hat - Y) / N
        dW2 = dZ2.T @ A1  # (K, N) @ (N, H) -> (K, H)
        db2 = dZ2.sum(dim=0)  # (K,): b2 was added to every row
        dA1 = dZ2 @ W2  # (N, K) @ (K, H) -> (N, H)
        dZ1 = dA1 * f_prime(Z1)  # (N, H), element-wise: f acts element-wise
        dW1 = dZ1.T @ X  # (H, N) @ (N, D) -> (H, D)
        db1 = dZ1.sum(dim=0)  # (H,)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


class BackpropLoss(torch.autograd.Function):
    r"""The network's loss as an autograd function whose backward is the hand-written :func:`backward`.

    ``BackpropLoss.apply(X, y, W1, b1, W2, b2, activation)`` returns the mean
    cross-entropy :math:`\mathcal L` of :func:`forward`; calling
    ``.backward()`` on it (or ``torch.autograd.gradcheck``) runs
    :func:`backward` and scales its gradients by the incoming gradient. This
    lets PyTorch's own gradient checker test the hand-written backward.
    Gradients flow to the four parameters only, not to ``X`` or ``y``.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N,)`; parameters as in :func:`forward`.
        - Output: a scalar.

    Raises:
        TypeError: as :func:`forward` and :func:`backward`.
        ValueError: as :func:`forward` and :func:`backward`.

    Book section: :ref:`chap-backprop`.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, X: Tensor, y: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, activation: str
    ) -> Tensor:
        """Return the mean cross-entropy of :func:`forward`, saving what :meth:`backward` needs."""
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        y = _check_loss(X, y, params, activation)
        _, cache = forward(X, params, activation)
        loss = cross_entropy(cache["Z2"], y)  # the mean cross-entropy
        ctx.save_for_backward(X, y, W1, b1, W2, b2)
        ctx.activation = activation
        return loss

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        """Return the hand-written gradients of the four parameters, scaled by ``grad_output``; none for the rest."""
        X, y, W1, b1, W2, b2 = ctx.saved_tensors
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        _, cache = forward(X, params, ctx.activation)  # recompute rather than save the intermediates
        grads = backward(cache, y, params, ctx.activation)
        return (None, None, *(grad_output * grads[k] for k in PARAM_NAMES), None)


# ---------------------------------------------------------------- training


def accuracy(Y_hat: Tensor, y: Tensor) -> float:
    r"""Fraction of correct predictions: :math:`\frac{1}{N}\sum_i [\arg\max_k \hat Y_{ik} = y_i]`.

    Args:
        Y_hat (Tensor): class scores or probabilities.
        y (Tensor): integer class labels.

    Shape:
        - Y_hat: :math:`(N, K)`, y: :math:`(N,)`.

    Returns:
        float: accuracy in :math:`[0, 1]`.

    Raises:
        TypeError: if ``Y_hat`` is not a floating tensor or ``y`` not an integer tensor.
        ValueError: if the shapes disagree, a label is out of range, or ``N = 0``.

    Book section: :ref:`chap-backprop`; the accuracy itself is
    :func:`dlfoundations.metrics.accuracy` of the predicted labels.
    """
    y = _check_accuracy(Y_hat, y)
    return _label_accuracy(y, Y_hat.argmax(dim=1))  # predicted class: the largest score of each row


class TrainResult(NamedTuple):
    """Parameters after training, and what was measured at every epoch (the fields below)."""

    #: The final ``W1, b1, W2, b2``.
    params: dict[str, Tensor]
    #: ``"train_loss"``, ``"train_accuracy"`` and, when validation data were
    #: given, ``"val_loss"``, ``"val_accuracy"``; entry ``k`` is measured after
    #: ``k`` updates, so entry 0 is at the initial parameters. Each list has
    #: ``num_epochs + 1`` entries.
    history: dict[str, list[float]]
    #: The number of updates ``k`` with the lowest validation loss (the first
    #: such ``k``), or ``None`` without validation data.
    best_epoch: int | None = None
    #: The parameters after ``best_epoch`` updates, or ``None`` without validation data.
    best_params: dict[str, Tensor] | None = None


def train_gradient_descent(
    X: Tensor,
    y: Tensor,
    params: dict[str, Tensor],
    lr: float,
    num_epochs: int,
    activation: str = "relu",
    *,
    X_val: Tensor | None = None,
    y_val: Tensor | None = None,
) -> TrainResult:
    r"""Full-batch gradient descent with hand-written gradients: :math:`\theta \leftarrow \theta - \eta\, \nabla_\theta \mathcal L`.

    Each epoch runs :func:`forward` and :func:`backward` on the whole training
    set and updates all four parameters. Losses and accuracies are recorded
    before the first update and after every update. With validation data, the
    parameters at the epoch of lowest validation loss are kept as well, so the
    epoch can be chosen on validation and the test split touched once, with
    those parameters.

    Args:
        X (Tensor): training inputs.
        y (Tensor): training labels in ``[0, K - 1]``.
        params (dict[str, Tensor]): initial parameters (copied, not modified).
        lr (float): learning rate :math:`\eta \ge 0` (0 leaves the parameters
            where they are, as in ``torch.optim.SGD``).
        num_epochs (int): number of updates, a positive int.
        activation (str): ``"sigmoid"``, ``"tanh"`` or ``"relu"``. Default: ``"relu"``.
        X_val (Tensor | None): validation inputs, only evaluated.
        y_val (Tensor | None): validation labels; give both or neither.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N,)`; X_val: :math:`(M, D)`, y_val: :math:`(M,)`.
        - params as in :func:`forward`.

    Returns:
        TrainResult: ``(params, history, best_epoch, best_params)``.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: ``Invalid learning rate: -0.1`` if ``lr < 0`` or not finite;
            ``Invalid num_epochs: 0 ...``; mismatched shapes or labels out of range;
            an empty ``X`` or ``X_val`` (no loss or accuracy to record);
            only one of ``X_val``, ``y_val`` given.

    Book section: :ref:`sec-backprop-training`, equation :eq:`eq-backprop-gd`.
    """
    y, y_val, lr = _check_training(X, y, params, lr, num_epochs, activation, X_val, y_val)
    params = {k: params[k].detach().clone() for k in PARAM_NAMES}
    history: dict[str, list[float]] = {"train_loss": [], "train_accuracy": []}
    if X_val is not None:
        history.update(val_loss=[], val_accuracy=[])
    best: dict[str, object] = {"epoch": None, "params": None}

    def record(cache: dict[str, Tensor]) -> None:
        history["train_loss"].append(cross_entropy(cache["Z2"], y).item())
        history["train_accuracy"].append(accuracy(cache["Y_hat"], y))
        if X_val is not None:
            Y_hat_val, cache_val = forward(X_val, params, activation)
            history["val_loss"].append(cross_entropy(cache_val["Z2"], y_val).item())
            history["val_accuracy"].append(accuracy(Y_hat_val, y_val))
            if best["epoch"] is None or history["val_loss"][-1] < min(history["val_loss"][:-1]):
                best.update(epoch=len(history["val_loss"]) - 1, params=dict(params))  # tensors are never modified in place

    for _ in range(num_epochs):
        _, cache = forward(X, params, activation)
        record(cache)
        grads = backward(cache, y, params, activation)
        with torch.no_grad():
            params = {k: params[k] - lr * grads[k] for k in PARAM_NAMES}  # one step for every parameter
    _, cache = forward(X, params, activation)
    record(cache)  # after the last update
    return TrainResult(params, history, best["epoch"], best["params"])
