r"""Classification metrics from their definitions: accuracy, the confusion matrix, precision, recall and F1.

Every metric here is a count over the confusion matrix :math:`M`, where
:math:`M_{jk}` is the number of samples of true class :math:`j` predicted as
class :math:`k`. The functions take label tensors (not logits) and agree with
``sklearn.metrics`` (``confusion_matrix``, ``accuracy_score``,
``precision_recall_fscore_support`` with ``labels=range(K)`` and a numeric
``zero_division``), which the tests check with Hypothesis, absent classes,
single samples and every integer label dtype included.

Book chapter: :ref:`chap-digits-project`, section :ref:`sec-digits-metrics`.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["PrecisionRecallF1", "accuracy", "confusion_matrix", "precision_recall_f1"]

_AVERAGES = (None, "macro", "micro", "weighted")
#: The largest K for which a (K, K) confusion matrix is built: 2**31 - 1 keeps the flat index j * K + k in int64.
_MAX_CLASSES = 2**31 - 1


def _check_num_classes(num_classes: object) -> int:
    # bool is a subclass of int, but `num_classes=True` is a mistake, not a 1. NumPy integers are Integral.
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}: {num_classes!r}")
    if not 1 <= num_classes <= _MAX_CLASSES:
        raise ValueError(f"num_classes must be in [1, {_MAX_CLASSES}], got {num_classes}")
    return int(num_classes)


def _check_labels(y_true: object, y_pred: object, num_classes: int | None) -> tuple[Tensor, Tensor]:
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if not isinstance(labels, Tensor):
            raise TypeError(f"expected {name} to be a torch.Tensor of class labels, got {type(labels).__name__}")
        if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
            raise TypeError(
                f"expected {name} of an integer dtype (class labels, e.g. logits.argmax(dim=1)), got {labels.dtype}"
            )
        if labels.ndim != 1:
            raise ValueError(f"expected {name} of shape (N,), got {tuple(labels.shape)}")
    if y_true.device != y_pred.device:
        raise ValueError(f"expected y_true and y_pred on one device, got {y_true.device} and {y_pred.device}")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"expected y_true and y_pred of the same shape (N,), got {tuple(y_true.shape)} and {tuple(y_pred.shape)}"
        )
    if len(y_true) == 0:
        raise ValueError("expected at least one sample, got y_true and y_pred of shape (0,)")
    # Labels of any integer dtype, mixed: int64 holds them all (uint16/32/64 lack the comparisons below).
    y_true, y_pred = y_true.to(torch.int64), y_pred.to(torch.int64)
    if num_classes is not None:
        for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
            bad = (labels < 0) | (labels >= num_classes)
            if bad.any():
                i = int(bad.nonzero()[0, 0])
                raise ValueError(
                    f"expected {name} labels in [0, {num_classes}), got label {int(labels[i])} at position {i}"
                )
    return y_true, y_pred


def _check_confusion(y_true: object, y_pred: object, num_classes: object) -> tuple[int, Tensor, Tensor]:
    """The checks of :func:`confusion_matrix`; return ``K`` and both label tensors as int64."""
    K = _check_num_classes(num_classes)
    return (K, *_check_labels(y_true, y_pred, K))


def accuracy(y_true: Tensor, y_pred: Tensor) -> float:
    r"""Fraction of correct predictions: :math:`\frac{1}{N} \sum_{i=1}^{N} \mathbb 1[\hat y_i = y_i]`.

    Args:
        y_true (Tensor): true class labels, integer dtype.
        y_pred (Tensor): predicted class labels, integer dtype (e.g. ``logits.argmax(dim=1)``).

    Shape:
        - y_true, y_pred: :math:`(N,)`.

    Returns:
        float: the accuracy in :math:`[0, 1]`; the trace of the confusion matrix divided by :math:`N`.

    Raises:
        TypeError: if an argument is not an integer tensor.
        ValueError: if the shapes are not both ``(N,)`` with :math:`N \ge 1` (as scikit-learn's
            ``accuracy_score`` refuses empty input), or on different devices.

    Book section: :ref:`sec-digits-metrics`, equation :eq:`eq-digits-accuracy`.
    """
    y_true, y_pred = _check_labels(y_true, y_pred, None)
    return (y_true == y_pred).double().mean().item()


def confusion_matrix(y_true: Tensor, y_pred: Tensor, num_classes: int) -> Tensor:
    r"""Counts of (true, predicted) class pairs: :math:`M_{jk} = \sum_{i=1}^{N} \mathbb 1[y_i = j]\, \mathbb 1[\hat y_i = k]`.

    Row :math:`j` holds the samples of true class :math:`j`, column :math:`k`
    those predicted as :math:`k` (scikit-learn's convention), so the diagonal
    counts the correct predictions and a row sums to the class's support.

    Args:
        y_true (Tensor): true class labels in ``[0, num_classes)``, integer dtype.
        y_pred (Tensor): predicted class labels in ``[0, num_classes)``, integer dtype.
        num_classes (int): the number of classes :math:`K`; classes that never
            occur get a row and column of zeros.

    Shape:
        - y_true, y_pred: :math:`(N,)`.
        - Output: :math:`(K, K)`, ``torch.int64``.

    Returns:
        Tensor: :math:`M`, equal to ``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(K))``.

    Raises:
        TypeError: if a label tensor is not of an integer dtype or ``num_classes`` not an int.
        ValueError: if the shapes differ or are not ``(N,)``, :math:`N = 0`, the tensors are on
            different devices, ``num_classes`` is not in ``[1, 2**31 - 1]`` (or the matrix cannot
            be allocated), or a label is outside ``[0, num_classes)`` (the message names it and its position).

    Book section: :ref:`sec-digits-metrics`, equation :eq:`eq-digits-confusion`.
    """
    K, y_true, y_pred = _check_confusion(y_true, y_pred, num_classes)  # labels as int64
    # Pair (j, k) gets the flat index j * K + k; counting the indices counts the pairs.
    try:
        counts = torch.bincount(y_true * K + y_pred, minlength=K * K)  # (K * K,)
    except RuntimeError as err:  # out of memory for a huge K
        raise ValueError(f"cannot allocate a confusion matrix of {K} x {K} int64 counts ({err})") from None
    return counts.reshape(K, K)  # (K * K,) -> (K, K): row = true class, column = prediction


class PrecisionRecallF1(NamedTuple):
    """Per-class (or averaged) precision, recall and F1, and each class's support.

    With ``average=None`` the first three are ``(K,)`` float64 tensors; with
    ``average="macro"``, ``"micro"`` or ``"weighted"`` they are 0-d tensors. ``support`` is always the ``(K,)``
    int64 count of true samples per class.
    """

    precision: Tensor
    recall: Tensor
    f1: Tensor
    support: Tensor


def _safe_divide(numerator: Tensor, denominator: Tensor, zero_division: float) -> Tensor:
    # 0/0 happens for a class never predicted (precision) or never present (recall).
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, numerator / safe, torch.full_like(numerator, zero_division))


def _average(values: Tensor, weights: Tensor | None) -> Tensor:
    """Mean of ``values`` (weighted by ``weights``) over its non-NaN entries, as scikit-learn's ``_nanaverage``."""
    keep = ~values.isnan()  # (K,): NaN only where zero_division=nan filled a 0/0
    if not keep.any():
        return values.new_tensor(math.nan)
    values = values[keep]
    if weights is None or weights[keep].sum() == 0:
        return values.mean()
    weights = weights[keep]
    return (values * weights).sum() / weights.sum()


def _check_averaging(average: object, zero_division: object) -> float:
    """The checks of :func:`precision_recall_f1` beyond the labels; return ``zero_division`` as a float."""
    if not (average is None or isinstance(average, str) and average in _AVERAGES):
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    return _check_zero_division(zero_division)


def _check_zero_division(zero_division: object) -> float:
    if isinstance(zero_division, bool) or not isinstance(zero_division, numbers.Real):
        raise TypeError(
            f"zero_division must be a float in [0, 1] or nan, got {type(zero_division).__name__}: {zero_division!r}"
        )
    zero_division = float(zero_division)
    if not (0.0 <= zero_division <= 1.0 or math.isnan(zero_division)):
        raise ValueError(f"zero_division must be in [0, 1] or nan, got {zero_division}")
    return zero_division


def precision_recall_f1(
    y_true: Tensor,
    y_pred: Tensor,
    num_classes: int,
    average: str | None = None,
    zero_division: float = 0.0,
) -> PrecisionRecallF1:
    r"""Per-class precision :math:`P_k = M_{kk} / \sum_j M_{jk}`, recall :math:`R_k = M_{kk} / \sum_j M_{kj}` and :math:`F_{1,k} = 2 P_k R_k / (P_k + R_k)`.

    All three are read off the confusion matrix :math:`M` of
    :func:`confusion_matrix`: precision divides the correct predictions of class
    :math:`k` by everything predicted as :math:`k` (a column sum), recall by
    every sample that truly is :math:`k` (a row sum, the *support*). The macro
    average is the unweighted mean over classes, :math:`\frac{1}{K}\sum_k P_k`
    and likewise for :math:`R` and :math:`F_1` (the mean of the per-class
    :math:`F_1`, as scikit-learn computes it, not the :math:`F_1` of the means).

    Args:
        y_true (Tensor): true class labels in ``[0, num_classes)``, integer dtype.
        y_pred (Tensor): predicted class labels in ``[0, num_classes)``, integer dtype.
        num_classes (int): the number of classes :math:`K`.
        average (str | None): ``None`` for per-class values, ``"macro"`` for
            their unweighted mean, ``"weighted"`` for their mean weighted by
            support, ``"micro"`` for the ratios of the counts summed over
            classes (all three equal the accuracy). Default: ``None``.
        zero_division (float): the value of a ratio whose denominator is 0
            (a class never predicted, or never present), in ``[0, 1]``, or
            ``nan``, which the averages then skip. Default: 0.

    Shape:
        - y_true, y_pred: :math:`(N,)`.
        - Output: ``precision``, ``recall``, ``f1`` of :math:`(K,)` (``average=None``)
          or :math:`()` (averaged), float64; ``support`` of :math:`(K,)`, int64.

    Returns:
        PrecisionRecallF1: equal to ``sklearn.metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(K), average=average, zero_division=zero_division)``
        (whose ``support`` is ``None`` when averaged).

    Raises:
        TypeError: if a label tensor is not of an integer dtype, ``num_classes``
            not an int or ``zero_division`` not a number.
        ValueError: as :func:`confusion_matrix`, or if ``average`` is not one of
            ``None``, ``"macro"``, ``"micro"``, ``"weighted"``, or
            ``zero_division`` is outside ``[0, 1]`` and not ``nan``.

    Note:
        scikit-learn takes ``zero_division`` in ``{0.0, 1.0, nan, "warn"}``.
        Here any value in ``[0, 1]`` is accepted (the result is the same
        formula), and ``"warn"`` (scikit-learn's default: 0 with a warning) is
        not: the default here is 0, silently. With ``nan``, as in
        scikit-learn, the undefined ratios are ``nan`` per class and the
        averages skip them (``nan`` if all are). The labels are ``range(K)``,
        so a label outside it is an error, where scikit-learn with
        ``labels=range(K)`` would ignore it.

    Reference: van Rijsbergen, *Information Retrieval* (1979), chapter 7 (the
    F-measure with :math:`\beta = 1`). Book section :ref:`sec-digits-metrics`,
    equations :eq:`eq-digits-precision-recall` and :eq:`eq-digits-macro`.
    """
    zero_division = _check_averaging(average, zero_division)  # confusion_matrix checks the labels
    M = confusion_matrix(y_true, y_pred, num_classes).double()  # (K, K)
    true_positives = M.diagonal()  # (K,)
    predicted = M.sum(dim=0)  # (K,): column sums, everything predicted as k
    support = M.sum(dim=1)  # (K,): row sums, every sample of true class k
    if average == "micro":  # pool the counts of all classes first: one ratio each
        true_positives, predicted, support_pooled = true_positives.sum(), predicted.sum(), support.sum()
    else:
        support_pooled = support
    precision = _safe_divide(true_positives, predicted, zero_division)
    recall = _safe_divide(true_positives, support_pooled, zero_division)
    # F1 = 2PR / (P + R) = 2 TP / (predicted + support): the second form has no 0/0 when TP = 0 < support.
    f1 = _safe_divide(2 * true_positives, predicted + support_pooled, zero_division)
    if average in ("macro", "weighted"):
        weights = support if average == "weighted" else None
        precision, recall, f1 = (_average(v, weights) for v in (precision, recall, f1))
    return PrecisionRecallF1(precision, recall, f1, support.to(torch.int64))
