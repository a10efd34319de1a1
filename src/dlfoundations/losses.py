r"""Loss functions written from their formulas, refusing mismatched shapes.

PyTorch's element-wise losses broadcast their two arguments: a prediction of
shape ``(N, 1)`` against a target of shape ``(N,)`` silently becomes an
``(N, N)`` matrix of every prediction against every target, and the loss is a
wrong number with no error (``torch.nn.functional.mse_loss`` only warns). The
losses here raise instead.

Regression losses (:func:`mse_loss`, :func:`l1_loss`, :func:`huber_loss`),
binary cross-entropy on probabilities (:func:`bce_loss`) and, stably, on logits
(:func:`bce_with_logits_loss`), and softmax cross-entropy
(:func:`log_softmax`, :func:`nll_loss`, :func:`cross_entropy`, with its
gradient :func:`cross_entropy_grad`, which :mod:`dlfoundations.backprop` uses
too). The tests check each against its
``torch.nn.functional`` counterpart, on values and autograd gradients, at the
edges too (zeros, kinks, NaN, infinities, empty batches).

NaN and infinities propagate as in PyTorch. Two floating arguments of
different dtypes follow PyTorch's type promotion (float32 with float64 gives
float64); a pair whose promotion would be a third dtype (float16 with
bfloat16 gives float32) is refused with a ``TypeError`` naming both.
PyTorch's own losses disagree among themselves here: ``mse_loss`` and
``l1_loss`` promote, ``huber_loss`` and ``binary_cross_entropy`` raise a
``RuntimeError``, and ``binary_cross_entropy_with_logits`` returns the
target's dtype.

Book sections: :ref:`chap-linear-regression` (MSE) and
:ref:`chap-loss-functions` (everything else).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dlfoundations.activations import softmax

__all__ = [
    "check_same_shape",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "bce_loss",
    "bce_with_logits_loss",
    "log_softmax",
    "nll_loss",
    "cross_entropy",
    "cross_entropy_grad",
]

_REDUCTIONS = ("mean", "sum", "none")


def check_same_shape(y_hat: object, y: object, name: str = "loss") -> None:
    """Raise unless ``y_hat`` and ``y`` are tensors of exactly the same shape.

    Args:
        y_hat (Tensor): predictions.
        y (Tensor): targets.
        name (str): the caller's name, used in the messages. Default: ``"loss"``.

    Raises:
        TypeError: if either argument is not a ``torch.Tensor``.
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
        TypeError: if ``y_hat`` or ``y`` is not a floating tensor, or their
            dtypes promote to a third one.
        ValueError: if their shapes differ (unlike PyTorch, no broadcasting:
            the message names both shapes), or ``reduction`` is unknown.

    Book section: :ref:`chap-linear-regression`, equation :eq:`eq-linreg-mse`;
    :ref:`sec-loss-likelihood` derives it as the Gaussian negative
    log-likelihood, equation :eq:`eq-loss-nll-gaussian`.
    """
    y_hat, y = _check_pair(y_hat, y, "mse_loss", reduction)  # check_same_shape, floating dtypes, a known reduction
    residual = y_hat - y  # same shape as y: no broadcasting possible here
    squared_error = residual * residual  # not residual**2, whose backward forms 2r: inf for |r| > max/2
    if reduction == "mean":
        return squared_error.mean()
    if reduction == "sum":
        return squared_error.sum()
    return squared_error


# ---------------------------------------------------------------- helpers


def _check_reduction(reduction: object) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction  # type: ignore[return-value]


def _check_floating(t: Tensor, arg_name: str, name: str) -> None:
    if not t.dtype.is_floating_point:
        raise TypeError(f"{name} expected {arg_name} to be a floating tensor, got dtype {t.dtype}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_pair(y_hat: object, y: object, name: str, reduction: object) -> tuple[Tensor, Tensor]:
    """Validate a (prediction, target) pair and return both in their promoted dtype."""
    check_same_shape(y_hat, y, name)
    _check_floating(y_hat, "y_hat", name)  # type: ignore[arg-type]
    _check_floating(y, "y", name)  # type: ignore[arg-type]
    promoted = torch.result_type(y_hat, y)  # type: ignore[arg-type]
    if promoted not in (y_hat.dtype, y.dtype):  # type: ignore[union-attr]
        raise TypeError(
            f"{name} expected y_hat and y of the same dtype, or dtypes that promote to one of them, got "
            f"y_hat {y_hat.dtype} and y {y.dtype} (they would promote to {promoted})"  # type: ignore[union-attr]
        )
    _check_reduction(reduction)
    # Every step in the wider dtype (a float16 log loses digits a float32 loss would keep); autograd
    # returns each gradient in its argument's own dtype.
    return y_hat.to(promoted), y.to(promoted)  # type: ignore[union-attr]


def _check_logits_dim(Z: object, dim: object, name: str) -> None:
    if not isinstance(Z, Tensor):
        raise TypeError(f"{name} expected Z to be a torch.Tensor, got {type(Z).__name__}")
    _check_floating(Z, "Z", name)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{name} expected dim to be an int, got {type(dim).__name__}: {dim!r}")
    if Z.ndim == 0:
        raise ValueError(f"{name} expected Z with at least 1 dimension, got a 0-d tensor")
    if not -Z.ndim <= dim < Z.ndim:
        raise ValueError(f"{name} expected dim in [{-Z.ndim}, {Z.ndim - 1}] for a {Z.ndim}-d Z, got {dim}")


def _check_logits_2d(Z: object, arg_name: str, name: str) -> Tensor:
    if not isinstance(Z, Tensor):
        raise TypeError(f"{name} expected {arg_name} to be a torch.Tensor, got {type(Z).__name__}")
    _check_floating(Z, arg_name, name)
    if Z.ndim != 2:
        raise ValueError(f"{name} expected {arg_name} of shape (N, K), got {tuple(Z.shape)}")
    return Z


def _check_class_targets(y: object, N: int, K: int, name: str) -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"{name} expected y to be a torch.Tensor, got {type(y).__name__}")
    if y.dtype != torch.int64:
        raise TypeError(f"{name} expected y to hold class indices of dtype torch.int64, got dtype {y.dtype}")
    if y.shape != (N,):
        raise ValueError(f"{name} expected y of shape ({N},), got {tuple(y.shape)}")
    bad = ((y < 0) | (y >= K)).nonzero()
    if bad.numel() > 0:
        i = int(bad[0, 0])
        raise ValueError(f"{name} expected class indices in [0, {K}) for K={K} classes, got {int(y[i])} at index {i}")
    return y


def _check_classification(
    scores: object, y: object, reduction: object, name: str, scores_name: str = "Z",
    reductions: tuple[str, ...] = _REDUCTIONS,
) -> None:
    """The checks of the class-index losses: ``scores`` of shape ``(N, K)``, ``y`` of class indices, a known reduction."""
    _check_logits_2d(scores, scores_name, name)
    _check_class_targets(y, *scores.shape, name)  # type: ignore[union-attr]
    if reductions == _REDUCTIONS:
        _check_reduction(reduction)
    elif reduction not in reductions:  # a gradient needs a scalar loss: no "none"
        raise ValueError(f"{name} expected reduction {' or '.join(map(repr, reductions))}, got {reduction!r}")


def _check_huber(y_hat: object, y: object, reduction: object, delta: object) -> tuple[Tensor, Tensor]:
    """The checks of :func:`huber_loss`: those of the pair, and a positive finite ``delta``."""
    y_hat, y = _check_pair(y_hat, y, "huber_loss", reduction)
    if isinstance(delta, bool) or not isinstance(delta, (int, float)):
        raise TypeError(f"huber_loss expected delta to be a float, got {type(delta).__name__}")
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"huber_loss expected a positive finite delta, got {delta}")
    return y_hat, y


def _check_probabilities(y_hat: object, y: object, reduction: object) -> tuple[Tensor, Tensor]:
    """The checks of :func:`bce_loss`: those of the pair, and every ``y_hat`` in ``[0, 1]``."""
    y_hat, y = _check_pair(y_hat, y, "bce_loss", reduction)
    outside = ((y_hat < 0) | (y_hat > 1)).nonzero()
    if outside.numel() > 0:
        bad = y_hat[tuple(outside[0])].item()
        raise ValueError(f"bce_loss expected probabilities y_hat in [0, 1], got {bad} (pass logits to bce_with_logits_loss)")
    return y_hat, y


# ---------------------------------------------------------------- regression


def l1_loss(y_hat: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    r"""Mean absolute error: :math:`\mathcal L = \frac{1}{n} \sum_k |\hat y_k - y_k|`.

    Its gradient is :math:`\mathrm{sign}(\hat y_k - y_k) / n`: every residual
    pulls with the same strength, however large, which makes L1 robust to
    outliers. At a zero residual the derivative does not exist; like
    autograd, the gradient there is 0.

    Args:
        y_hat (Tensor): predictions, floating.
        y (Tensor): targets, floating, the same shape as ``y_hat``.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: ``"mean"``.

    Shape:
        - y_hat, y: any shape, the same for both.
        - Output: a scalar, or the input shape if ``reduction="none"``.

    Returns:
        Tensor: equal to ``torch.nn.functional.l1_loss(y_hat, y, reduction=reduction)``.

    Raises:
        TypeError: if an argument is not a floating tensor, or the dtypes
            promote to a third one.
        ValueError: if the shapes differ or ``reduction`` is unknown.

    Reference: Goodfellow et al. (2016), section 6.2.1.2. Book: equation
    :eq:`eq-loss-l1` in :ref:`sec-loss-regression`; the Laplace negative
    log-likelihood, equation :eq:`eq-loss-nll-laplace`, in :ref:`sec-loss-likelihood`.
    """
    y_hat, y = _check_pair(y_hat, y, "l1_loss", reduction)
    return _reduce((y_hat - y).abs(), reduction)


def huber_loss(y_hat: Tensor, y: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    r"""Huber loss: :math:`\frac12 r^2` for :math:`|r| \le \delta`, else :math:`\delta(|r| - \frac12\delta)`, with :math:`r = \hat y - y`.

    Quadratic (like MSE) for small residuals, linear (like L1) for large ones;
    value and slope are continuous at :math:`|r| = \delta`, where the slope
    is :math:`\pm\delta` from either side (autograd takes the quadratic
    branch there, as PyTorch does).

    Args:
        y_hat (Tensor): predictions, floating.
        y (Tensor): targets, floating, the same shape as ``y_hat``.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: ``"mean"``.
        delta (float): where the quadratic part turns linear, positive. Default: 1.0.

    Shape:
        - y_hat, y: any shape, the same for both.
        - Output: a scalar, or the input shape if ``reduction="none"``.

    Returns:
        Tensor: equal to ``torch.nn.functional.huber_loss(y_hat, y, reduction=reduction, delta=delta)``.

    Raises:
        TypeError: if an argument is not a floating tensor, the dtypes promote
            to a third one, or ``delta`` is not a number.
        ValueError: if the shapes differ, ``reduction`` is unknown or ``delta`` is not positive and finite.

    Reference: Huber (1964), equation (9). Book: equation :eq:`eq-loss-huber`
    in :ref:`sec-loss-regression`.
    """
    y_hat, y = _check_huber(y_hat, y, reduction, delta)
    diff = y_hat - y  # r
    large = diff.abs() > delta  # NaN is not large: the quadratic branch gives it a NaN gradient, as PyTorch does
    # The quadratic branch squares a safe input: where |r| = inf, r**2 would send autograd
    # 0 * inf = nan through the branch that torch.where discards.
    diff_small = torch.where(large, torch.zeros_like(diff), diff)
    loss = torch.where(large, delta * (diff.abs() - 0.5 * delta), 0.5 * diff_small * diff_small)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- binary cross-entropy


def bce_loss(y_hat: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy on probabilities: :math:`\ell = -[y \log \hat y + (1 - y) \log(1 - \hat y)]`.

    The naive form: it takes probabilities :math:`\hat y = \sigma(z)`, so for
    large :math:`|z|` the sigmoid has already rounded to exactly 0 or 1 and a
    logarithm returns ``-inf`` (or ``0 * -inf = nan``). Use
    :func:`bce_with_logits_loss` on logits instead.

    Note:
        ``torch.nn.functional.binary_cross_entropy`` clamps each logarithm at
        :math:`-100`, so where this function returns ``inf`` or ``nan``
        PyTorch returns a finite number, which is still wrong when the true
        loss exceeds 100, and its gradient divides by
        :math:`\max(\hat y (1 - \hat y), 10^{-12})`. The two agree where
        :math:`\hat y \ge e^{-100}` and :math:`1 - \hat y \ge e^{-100}`
        (values) and :math:`\hat y (1 - \hat y) \ge 10^{-12}`
        (gradients); elsewhere this loss is the larger, and its gradient too.
        A NaN in ``y_hat`` gives NaN here, where PyTorch raises a
        ``RuntimeError``.

    Args:
        y_hat (Tensor): predicted probabilities, floating, in :math:`[0, 1]`.
        y (Tensor): targets in :math:`[0, 1]` (0/1 labels or soft labels),
            floating, the same shape as ``y_hat``.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: ``"mean"``.

    Shape:
        - y_hat, y: any shape, the same for both, e.g. :math:`(N, 1)`.
        - Output: a scalar, or the input shape if ``reduction="none"``.

    Returns:
        Tensor: equal to ``torch.nn.functional.binary_cross_entropy`` for
        ``y_hat`` inside :math:`[e^{-100}, 1 - e^{-100}]` (see the Note).

    Raises:
        TypeError: if an argument is not a floating tensor, or the dtypes
            promote to a third one.
        ValueError: if the shapes differ, ``reduction`` is unknown, or some
            ``y_hat`` lies outside :math:`[0, 1]`.

    Reference: Goodfellow et al. (2016), section 6.2.2.2. Book: equation
    :eq:`eq-loss-bce` in :ref:`sec-loss-bce`; the Bernoulli negative
    log-likelihood, equation :eq:`eq-loss-nll-bernoulli`, in :ref:`sec-loss-likelihood`.
    """
    y_hat, y = _check_probabilities(y_hat, y, reduction)
    loss = -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat))
    return _reduce(loss, reduction)


def bce_with_logits_loss(Z: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy on logits, stably: :math:`\ell = \max(z, 0) - z y + \log(1 + e^{-|z|})`.

    Equal to :math:`-[y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))]` but
    never forms :math:`\sigma(z)`: the exponent :math:`-|z|` is never positive,
    so nothing overflows, and ``log1p`` keeps :math:`\log(1 + e^{-|z|})` exact
    when :math:`e^{-|z|}` is tiny. The code writes :math:`\max(z, 0) - z y`
    as the equal :math:`(1 - y) z + \max(-z, 0)`, which gives PyTorch's
    values at :math:`z = \pm\infty`.

    Args:
        Z (Tensor): logits :math:`z` (the pre-sigmoid outputs), floating.
        y (Tensor): targets in :math:`[0, 1]`, floating, the same shape as ``Z``.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: ``"mean"``.

    Shape:
        - Z, y: any shape, the same for both, e.g. :math:`(N, 1)`.
        - Output: a scalar, or the input shape if ``reduction="none"``.

    Returns:
        Tensor: equal to ``torch.nn.functional.binary_cross_entropy_with_logits(Z, y, reduction=reduction)``;
        its gradient is :math:`(\sigma(z) - y)/n`, also at :math:`z = 0`.

    Raises:
        TypeError: if an argument is not a floating tensor, or the dtypes
            promote to a third one.
        ValueError: if the shapes differ or ``reduction`` is unknown.

    Reference: Goodfellow et al. (2016), section 6.2.2.2 (equation 6.33 writes
    the loss as a softplus). Book: equation :eq:`eq-loss-bce-stable` in
    :ref:`sec-loss-bce`.
    """
    Z, y = _check_pair(Z, y, "bce_with_logits_loss", reduction)
    # max(-z, 0) and -|z| both take the z >= 0 branch at z = 0, so autograd differentiates one
    # smooth formula there and gets sigma(0) - y; clamp and abs give 1 - y at z = 0.
    positive = Z >= 0
    hinge = torch.where(positive, torch.zeros_like(Z), -Z)  # max(-z, 0)
    minus_abs = torch.where(positive, -Z, Z)  # -|z| <= 0: exp cannot overflow
    loss = (1 - y) * Z + hinge + torch.log1p(torch.exp(minus_abs))
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- softmax cross-entropy


def log_softmax(Z: Tensor, dim: int = -1) -> Tensor:
    r"""Log-softmax via log-sum-exp: :math:`\log \mathrm{softmax}(\mathbf z)_k = z_k - m - \log \sum_j e^{z_j - m}`, :math:`m = \max_j z_j`.

    Shifting by the maximum changes nothing mathematically and keeps every
    exponent at most 0, so nothing overflows; the largest term is
    :math:`e^0 = 1`, so the sum is at least 1 and its logarithm is finite.

    Args:
        Z (Tensor): logits, floating, at least 1-D.
        dim (int): the dimension to normalise over. Default: -1.

    Shape:
        - Input: any shape with at least one dimension, e.g. :math:`(N, K)`.
        - Output: the same shape.

    Returns:
        Tensor: equal to ``torch.nn.functional.log_softmax(Z, dim)``; a NaN or
        :math:`+\infty` makes its whole slice NaN, as in PyTorch, and an empty
        ``dim`` gives an empty result.

    Raises:
        TypeError: if ``Z`` is not a floating tensor or ``dim`` not an int.
        ValueError: if ``Z`` is 0-d or ``dim`` is out of range.

    Reference: Bridle (1990) for softmax; Goodfellow et al. (2016), section
    4.1 for the shift. Book: equations :eq:`eq-loss-logsumexp` and
    :eq:`eq-loss-log-softmax` in :ref:`sec-loss-softmax`.
    """
    _check_logits_dim(Z, dim, "log_softmax")
    if Z.shape[dim] == 0:  # no classes: nothing to normalise (and amax refuses an empty dimension)
        return Z.clone()
    m = Z.amax(dim=dim, keepdim=True).detach()  # (N, 1) for (N, K); a constant shift, so no gradient needed
    shifted = Z - m  # (N, K), every entry <= 0
    # z - logsumexp(z) = (z - m) - log sum exp(z - m): subtracting m first keeps the log-sum,
    # which m + log(...) would round away when |m| is huge (m + log 2 == m in float32 from 2^24 on).
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))  # (N, K)


def nll_loss(log_y_hat: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of class indices: :math:`\mathcal L = -\frac1N \sum_i \log \hat Y_{i, y_i}`.

    Picks, in each row, the log-probability of the true class.

    Args:
        log_y_hat (Tensor): log-probabilities :math:`\log \hat Y`, floating,
            e.g. the output of :func:`log_softmax`.
        y (Tensor): class indices, ``torch.int64``, each in :math:`[0, K)`.
        reduction (str): ``"mean"`` (divide by :math:`N`), ``"sum"`` or
            ``"none"``. Default: ``"mean"``.

    Shape:
        - log_y_hat: :math:`(N, K)`.
        - y: :math:`(N,)`.
        - Output: a scalar, or :math:`(N,)` if ``reduction="none"``.

    Returns:
        Tensor: equal to ``torch.nn.functional.nll_loss(log_y_hat, y, reduction=reduction)``.

    Raises:
        TypeError: if ``log_y_hat`` is not a floating tensor or ``y`` not int64.
        ValueError: if ``log_y_hat`` is not 2-D, ``y`` is not of shape
            :math:`(N,)`, a class index is outside :math:`[0, K)` (the message
            names the value and :math:`K`), or ``reduction`` is unknown.

    Note:
        PyTorch's ``nll_loss`` skips targets equal to ``ignore_index``
        (:math:`-100` by default); this one has no ``ignore_index`` and
        refuses :math:`-100` like any index outside :math:`[0, K)`.

    Reference: Goodfellow et al. (2016), section 6.2.1.1. Book: equation
    :eq:`eq-loss-ce` in :ref:`sec-loss-softmax`.
    """
    _check_classification(log_y_hat, y, reduction, "nll_loss", "log_y_hat")
    picked = log_y_hat.gather(1, y.unsqueeze(1)).squeeze(1)  # (N, K) -> (N, 1) -> (N,)
    return _reduce(-picked, reduction)


def cross_entropy(Z: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    r"""Softmax cross-entropy on logits: :math:`\mathcal L = \frac1N \sum_i \big(\log \sum_j e^{Z_{ij}} - Z_{i, y_i}\big)`.

    Exactly ``nll_loss(log_softmax(Z), y)``: the log-sum-exp shift of
    :func:`log_softmax` makes it finite for any finite logits.

    Args:
        Z (Tensor): logits, floating.
        y (Tensor): class indices, ``torch.int64``, each in :math:`[0, K)`.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: ``"mean"``.

    Shape:
        - Z: :math:`(N, K)`.
        - y: :math:`(N,)`.
        - Output: a scalar, or :math:`(N,)` if ``reduction="none"``.

    Returns:
        Tensor: equal to ``torch.nn.functional.cross_entropy(Z, y, reduction=reduction)``.

    Raises:
        TypeError: if ``Z`` is not a floating tensor or ``y`` not int64.
        ValueError: as :func:`nll_loss`.

    Note:
        PyTorch's ``cross_entropy`` also accepts class probabilities as
        targets, class weights and label smoothing; this one takes class
        indices only. It has no ``ignore_index`` either: a target of
        :math:`-100`, which PyTorch skips by default, is refused with a
        ``ValueError`` like any index outside :math:`[0, K)`.

    Reference: Bridle (1990); Goodfellow et al. (2016), section 6.2.2.3.
    Book: equation :eq:`eq-loss-ce` in :ref:`sec-loss-softmax`; the categorical
    negative log-likelihood, equation :eq:`eq-loss-nll-categorical`, in
    :ref:`sec-loss-likelihood`.
    """
    _check_classification(Z, y, reduction, "cross_entropy")  # here, so that the messages name cross_entropy
    return nll_loss(log_softmax(Z, dim=1), y, reduction)


def cross_entropy_grad(Z: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    r"""Gradient of :func:`cross_entropy` with respect to the logits: :math:`\nabla_Z \mathcal L = (\hat Y - Y) / N`.

    :math:`\hat Y = \mathrm{softmax}(Z)` row by row and :math:`Y` is the one-hot
    encoding of ``y``. Without the division by :math:`N` for
    ``reduction="sum"``.

    Args:
        Z (Tensor): logits, floating.
        y (Tensor): class indices, ``torch.int64``, each in :math:`[0, K)`.
        reduction (str): ``"mean"`` or ``"sum"``, the reduction of the loss
            being differentiated. Default: ``"mean"``.

    Shape:
        - Z: :math:`(N, K)`. y: :math:`(N,)`.
        - Output: :math:`(N, K)`, like ``Z``.

    Returns:
        Tensor: equal to ``torch.autograd.grad(cross_entropy(Z, y, reduction), Z)``.

    Raises:
        TypeError: if ``Z`` is not a floating tensor or ``y`` not int64.
        ValueError: if shapes or class indices are invalid, or ``reduction``
            is not ``"mean"`` or ``"sum"`` (``"none"`` gives no scalar to differentiate).

    Reference: Bridle (1990); Goodfellow et al. (2016), section 6.2.2.3.
    Book: equation :eq:`eq-loss-ce-grad` in :ref:`sec-loss-ce-gradient`.
    """
    _check_classification(Z, y, reduction, "cross_entropy_grad", reductions=("mean", "sum"))
    N, K = Z.shape
    Y_hat = softmax(Z, dim=1)  # (N, K), rows sum to 1
    Y = (y.unsqueeze(1) == torch.arange(K, device=y.device)).to(Z.dtype)  # (N, 1) == (K,) -> (N, K), one-hot
    grad = Y_hat - Y  # (N, K)
    return grad / N if reduction == "mean" else grad
