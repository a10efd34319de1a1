"""Property-based tests of the metrics against scikit-learn: absent classes, zero division, a single
sample, all one class, every integer label dtype (mixed), and the documented differences.

The metrics take integer labels, so there are no gradients to compare; the references are
``sklearn.metrics.confusion_matrix``, ``accuracy_score`` and ``precision_recall_fscore_support`` with
``labels=range(K)``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from dlfoundations.metrics import accuracy, confusion_matrix, precision_recall_f1

LABEL_DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint16, torch.uint32,
                torch.uint64]
AVERAGES = [None, "macro", "micro", "weighted"]


@st.composite
def label_pairs(draw, max_n=25, max_k=9):
    """(y_true, y_pred, K): labels in [0, K), often from a few classes only (absent classes, one class),
    sometimes a single sample, each tensor of its own integer dtype."""
    K = draw(st.integers(1, max_k))
    N = draw(st.sampled_from([1, 1, 2, draw(st.integers(1, max_n))]))
    true_classes = draw(st.lists(st.integers(0, K - 1), min_size=1, max_size=K, unique=True))
    pred_classes = draw(st.sampled_from([true_classes, list(range(K)),
                                         draw(st.lists(st.integers(0, K - 1), min_size=1, max_size=K, unique=True))]))
    y_true = draw(st.lists(st.sampled_from(true_classes), min_size=N, max_size=N))
    y_pred = draw(st.one_of(st.just(y_true), st.lists(st.sampled_from(pred_classes), min_size=N, max_size=N)))
    dtypes = draw(st.tuples(st.sampled_from(LABEL_DTYPES), st.sampled_from(LABEL_DTYPES)))
    return torch.tensor(y_true).to(dtypes[0]), torch.tensor(y_pred).to(dtypes[1]), K


def np_labels(t):
    return t.to(torch.int64).numpy()


def sklearn_prf(y_true, y_pred, K, average, zero_division):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numeric zero_division must not warn: nothing to hide here
        p, r, f, _ = skm.precision_recall_fscore_support(np_labels(y_true), np_labels(y_pred), labels=list(range(K)),
                                                         average=average, zero_division=zero_division)
    return [torch.as_tensor(v, dtype=torch.float64) for v in (p, r, f)]


@given(pair=label_pairs())
def test_confusion_matrix_equals_sklearn(pair):
    y_true, y_pred, K = pair
    M = confusion_matrix(y_true, y_pred, K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "a single label was found": labels= is given
        expected = skm.confusion_matrix(np_labels(y_true), np_labels(y_pred), labels=list(range(K)))
    assert M.dtype == torch.int64 and M.shape == (K, K)
    assert torch.equal(M, torch.as_tensor(expected, dtype=torch.int64))
    assert int(M.sum()) == len(y_true)


@given(pair=label_pairs())
def test_accuracy_equals_sklearn_and_the_trace(pair):
    y_true, y_pred, K = pair
    acc = accuracy(y_true, y_pred)
    assert isinstance(acc, float)
    assert acc == pytest.approx(skm.accuracy_score(np_labels(y_true), np_labels(y_pred)), rel=1e-15, abs=0)
    assert acc == pytest.approx(confusion_matrix(y_true, y_pred, K).trace().item() / len(y_true), rel=1e-15)


@given(pair=label_pairs(), average=st.sampled_from(AVERAGES), zero_division=st.sampled_from([0.0, 1.0, math.nan]))
def test_precision_recall_f1_equal_sklearn(pair, average, zero_division):
    y_true, y_pred, K = pair
    ours = precision_recall_f1(y_true, y_pred, K, average=average, zero_division=zero_division)
    expected = sklearn_prf(y_true, y_pred, K, average, zero_division)
    for mine, theirs in zip(ours[:3], expected):
        assert mine.dtype == torch.float64 and mine.shape == ((K,) if average is None else ())
        torch.testing.assert_close(mine, theirs, rtol=1e-12, atol=1e-15, equal_nan=True)
    assert torch.equal(ours.support, torch.bincount(y_true.to(torch.int64), minlength=K))


@settings(max_examples=30)
@given(pair=label_pairs(), average=st.sampled_from(AVERAGES), zero_division=st.floats(0.0, 1.0))
def test_zero_division_between_0_and_1_interpolates_sklearns_two_ends(pair, average, zero_division):
    # Documented in the Note: any value in [0, 1] is accepted (scikit-learn takes only 0 and 1), and
    # an undefined ratio takes that value, so every result lies on the line between the two ends.
    y_true, y_pred, K = pair
    ours = precision_recall_f1(y_true, y_pred, K, average=average, zero_division=zero_division)
    at_0 = sklearn_prf(y_true, y_pred, K, average, 0.0)
    at_1 = sklearn_prf(y_true, y_pred, K, average, 1.0)
    for mine, lo, hi in zip(ours[:3], at_0, at_1):
        torch.testing.assert_close(mine, lo + zero_division * (hi - lo), rtol=1e-12, atol=1e-15)


@given(pair=label_pairs())
def test_micro_average_is_the_accuracy(pair):
    y_true, y_pred, K = pair
    micro = precision_recall_f1(y_true, y_pred, K, average="micro", zero_division=math.nan)
    acc = accuracy(y_true, y_pred)
    for value in micro[:3]:
        assert value.item() == pytest.approx(acc, rel=1e-15)


@given(pair=label_pairs())
def test_absent_classes_take_zero_division_exactly_where_the_ratio_is_undefined(pair):
    y_true, y_pred, K = pair
    support = torch.bincount(y_true.to(torch.int64), minlength=K)
    predicted = torch.bincount(y_pred.to(torch.int64), minlength=K)
    out = precision_recall_f1(y_true, y_pred, K, zero_division=math.nan)
    assert torch.equal(out.precision.isnan(), predicted == 0)
    assert torch.equal(out.recall.isnan(), support == 0)
    assert torch.equal(out.f1.isnan(), (predicted + support) == 0)
    finite = ~out.f1.isnan()
    assert ((out.f1[finite] >= 0) & (out.f1[finite] <= 1)).all()


@settings(max_examples=30)
@given(k=st.integers(1, 6), n=st.integers(1, 10), cls=st.data(), average=st.sampled_from(AVERAGES),
       zero_division=st.sampled_from([0.0, 1.0, math.nan]))
def test_all_one_class(k, n, cls, average, zero_division):
    c = cls.draw(st.integers(0, k - 1))
    y = torch.full((n,), c)
    ours = precision_recall_f1(y, y, k, average=average, zero_division=zero_division)
    for mine, theirs in zip(ours[:3], sklearn_prf(y, y, k, average, zero_division)):
        torch.testing.assert_close(mine, theirs, equal_nan=True)
    assert accuracy(y, y) == 1.0
    assert confusion_matrix(y, y, k)[c, c] == n and confusion_matrix(y, y, k).sum() == n


def test_every_average_with_nan_zero_division_when_all_classes_are_undefined():
    # K = 1, one sample of class 0 predicted 0: nothing undefined; K = 2 with class 1 absent: recall nan for it.
    y = torch.tensor([0])
    out = precision_recall_f1(y, y, 2, average=None, zero_division=math.nan)
    assert out.precision[0] == 1 and out.precision[1].isnan() and out.recall[1].isnan() and out.f1[1].isnan()
    assert precision_recall_f1(y, y, 2, average="macro", zero_division=math.nan).f1.item() == 1.0


@pytest.mark.parametrize("fn", ["accuracy", "confusion_matrix", "precision_recall_f1"])
def test_empty_input_is_a_clear_error(fn):
    empty = torch.zeros(0, dtype=torch.int64)
    call = {"accuracy": lambda: accuracy(empty, empty),
            "confusion_matrix": lambda: confusion_matrix(empty, empty, 3),
            "precision_recall_f1": lambda: precision_recall_f1(empty, empty, 3)}[fn]
    with pytest.raises(ValueError, match=r"expected at least one sample, got y_true and y_pred of shape \(0,\)"):
        call()


@pytest.mark.parametrize("dtype", LABEL_DTYPES)
def test_every_integer_dtype_out_of_range_is_named(dtype):
    y_true = torch.tensor([0, 1, 2]).to(dtype)
    with pytest.raises(ValueError, match=r"y_pred labels in \[0, 3\), got label 7 at position 2"):
        confusion_matrix(y_true, torch.tensor([0, 1, 7]).to(dtype), 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_classes": np.int64(3)}, None, None),  # NumPy integers are integers
        ({"num_classes": 3.0}, TypeError, "num_classes must be an int, got float"),
        ({"num_classes": torch.tensor(3)}, TypeError, "num_classes must be an int, got Tensor"),
        ({"num_classes": 2**31}, ValueError, r"num_classes must be in \[1, 2147483647\], got 2147483648"),
        ({"num_classes": -1}, ValueError, r"num_classes must be in \[1, 2147483647\], got -1"),
        ({"zero_division": np.float32(1.0)}, None, None),
        ({"zero_division": "warn"}, TypeError, "zero_division must be a float in \\[0, 1\\] or nan, got str: 'warn'"),
        ({"zero_division": None}, TypeError, "zero_division must be a float .* got NoneType"),
        ({"zero_division": True}, TypeError, "zero_division must be a float .* got bool"),
        ({"zero_division": -0.1}, ValueError, r"zero_division must be in \[0, 1\] or nan, got -0.1"),
        ({"zero_division": math.inf}, ValueError, r"zero_division must be in \[0, 1\] or nan, got inf"),
        ({"average": "binary"}, ValueError, "average must be one of .* got 'binary'"),
        ({"average": ["macro"]}, ValueError, r"average must be one of .* got \['macro'\]"),
        ({"average": "Macro"}, ValueError, "average must be one of .* got 'Macro'"),
        ({"y_pred": torch.tensor([0, 1, 2], device="meta")}, ValueError,
         "expected y_true and y_pred on one device, got cpu and meta"),
        ({"y_pred": torch.tensor([0, 1, 2]).to(torch.complex64)}, TypeError, "y_pred of an integer dtype"),
        ({"y_true": np.array([0, 1, 2])}, TypeError, "expected y_true to be a torch.Tensor of class labels, got ndarray"),
        ({"y_true": torch.tensor(1)}, ValueError, r"expected y_true of shape \(N,\), got \(\)"),
    ],
)
def test_precision_recall_f1_arguments(kwargs, error, match):
    args = {"y_true": torch.tensor([0, 1, 2]), "y_pred": torch.tensor([0, 2, 2]), "num_classes": 3} | kwargs
    if error is None:
        out = precision_recall_f1(**args)
        assert out.precision.shape == (3,)
        return
    with pytest.raises(error, match=match):
        precision_recall_f1(**args)


def test_a_huge_num_classes_is_a_clear_error_not_a_crash():
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="cannot allocate a confusion matrix of 2000000000 x 2000000000"):
        confusion_matrix(y, y, 2_000_000_000)
