"""Property tests: dlfoundations.studies' summaries against NumPy and SciPy at the edges.

NaN and infinite runs, huge and tiny values, equal values (zero spread), curves that diverge,
the paired t-interval against scipy.stats.ttest_rel, including zero variance of the differences.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, strategies as st
from scipy import stats

from dlfoundations import studies
from dlfoundations.train import EarlyStopping
from strategies import DTYPES, assert_same, tensors

runs = st.sampled_from(DTYPES).flatmap(lambda dt: tensors(dt, min_dims=1, max_dims=2, min_side=2, max_side=5))


def _numpy(fn, *args, **kwargs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@given(values=runs)
def test_mean_std_and_standard_error_equal_numpy_ddof1(values):
    a = values.double().numpy()
    mean, std = studies.mean_std(values)
    assert mean.dtype == std.dtype == torch.float64  # documented: float64 summaries
    expected_mean = torch.from_numpy(np.asarray(_numpy(np.mean, a, axis=0)))
    expected_std = torch.from_numpy(np.asarray(_numpy(np.std, a, axis=0, ddof=1)))
    assert_same(mean, expected_mean, rtol=1e-12, atol=1e-300)
    # the spread of runs near ±max overflows to inf in both; else it agrees to round-off
    finite = torch.isfinite(expected_std) & torch.isfinite(std)
    assert torch.equal(torch.isnan(std), torch.isnan(expected_std))
    assert_same(std[finite], expected_std[finite], rtol=1e-9, atol=1e-300)
    se = studies.standard_error(values)
    expected_se = torch.from_numpy(np.asarray(_numpy(stats.sem, a, axis=0, ddof=1)))
    assert torch.equal(torch.isnan(se), torch.isnan(expected_se))
    ok = torch.isfinite(se) & torch.isfinite(expected_se)
    assert_same(se[ok], expected_se[ok], rtol=1e-9, atol=1e-300)


@given(values=st.sampled_from(DTYPES).flatmap(lambda dt: tensors(dt, min_dims=1, max_dims=1, min_side=2)),
       digits=st.integers(0, 6))
def test_format_mean_std_prints_numpys_numbers(values, digits):
    a = values.double().numpy()
    mean, std = _numpy(np.mean, a), _numpy(np.std, a, ddof=1)
    if np.isfinite(a[0]) and (a == a[0]).all():
        # Equal runs: their value and a spread of exactly 0 (test_equal_runs_have_zero_spread),
        # also where NumPy's sum overflows, e.g. for two copies of the largest float64.
        mean, std = float(a[0]) + 0.0, 0.0  # + 0.0: a mean of -0.0 runs prints as 0
    text = studies.format_mean_std(values, digits)
    got = [float(part) for part in text.split(" ± ")]
    assert len(got) == 2 and all(f"{g:.{digits}f}" in text for g in got)
    for g, expected in zip(got, (mean, std)):
        if not np.isfinite(expected):
            assert g == expected or (np.isnan(g) and np.isnan(expected))
        else:
            # The two sums may round differently in the last printed digit.
            assert abs(g - expected) <= 10.0**-digits + 1e-12 * abs(expected)


@given(value=st.floats(allow_nan=False, allow_infinity=False), R=st.integers(2, 10))
def test_equal_runs_have_zero_spread(value, R):
    mean, std = studies.mean_std([value] * R)
    assert mean.item() == pytest.approx(value, rel=1e-15) or not math.isfinite(mean.item())
    assert std.item() == 0.0 or not math.isfinite(R * value)


differences = st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=12)


@given(a=differences, shift=st.floats(-1e3, 1e3), confidence=st.floats(0.5, 0.999))
def test_paired_difference_equals_scipy_ttest_rel(a, shift, confidence):
    b = [x - shift for x in reversed(a)]  # any second list of the same length
    got = studies.paired_difference(a, b, confidence)
    result = _numpy(stats.ttest_rel, a, b)
    low, high = _numpy(result.confidence_interval, confidence)
    d = np.subtract(a, b)
    assert got.n == len(a)
    assert got.mean == pytest.approx(np.mean(d), rel=1e-12, abs=1e-9)
    assert got.std == pytest.approx(np.std(d, ddof=1), rel=1e-9, abs=1e-9)
    assert got.low == pytest.approx(low, rel=1e-9, abs=1e-9)
    assert got.high == pytest.approx(high, rel=1e-9, abs=1e-9)
    assert got.low <= got.mean <= got.high


@given(d=st.floats(-1e6, 1e6), base=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=8),
       confidence=st.floats(0.5, 0.999))
def test_paired_difference_with_zero_variance_is_a_degenerate_interval(d, base, confidence):
    # Note in the docstring: every difference equal gives the point interval [d, d], as SciPy
    a = torch.tensor(base, dtype=torch.float64)
    b = a - d
    diffs = a - b
    assume(bool((diffs == diffs[0]).all()))  # exactly equal differences after rounding
    got = studies.paired_difference(a, b, confidence)
    assert got.std == 0.0
    assert got.low == got.mean == got.high == pytest.approx(diffs[0].item())
    assert got.positive == (got.mean > 0) and got.negative == (got.mean < 0)
    low, high = _numpy(_numpy(stats.ttest_rel, a.numpy(), b.numpy()).confidence_interval, confidence)
    assert low == pytest.approx(got.low) and high == pytest.approx(got.high)


@given(a=st.lists(st.floats(-1e300, 1e300), min_size=1, max_size=5),
       bad=st.sampled_from([math.nan, math.inf, -math.inf, 1.7e308, -1.7e308]), where=st.integers(0, 5))
def test_paired_difference_refuses_non_finite_results(a, bad, where):
    a = a[:where] + [bad] + a[where:]
    b = [-1.7e308 if bad == 1.7e308 else 1.7e308 if bad == -1.7e308 else 1.0 for _ in a]  # overflow to ±inf
    with pytest.raises(ValueError, match="expected finite results"):
        studies.paired_difference(a, b)


def _replay(column, patience):
    # the rule of fit(): the best epoch, or the epoch it stopped at when nothing improved
    tracker = EarlyStopping(patience, keep_best_state=False)
    epoch = 0
    for epoch, loss in enumerate(column):
        if tracker.step(loss, None, epoch):
            break
    return tracker.best_epoch if tracker.best_epoch is not None else epoch


@given(curve=tensors(torch.float64, min_dims=2, max_dims=2, min_side=1, max_side=6), patience=st.integers(1, 4))
def test_early_stopping_epoch_on_nan_and_inf_curves(curve, patience):
    got = studies.early_stopping_epoch(curve, patience)
    assert got.dtype == torch.int64 and got.shape == (curve.shape[1],)
    for r in range(curve.shape[1]):
        column = curve[:, r].tolist()
        assert got[r].item() == _replay(column, patience)
        finite = [e for e, v in enumerate(column) if not math.isnan(v)]
        if got[r].item() in finite and column[got[r]] != math.inf:
            # the restored epoch is never NaN, and never worse than an earlier epoch
            assert all(column[got[r]] <= column[e] for e in finite if e <= got[r])


def test_early_stopping_epoch_when_nothing_improves_is_where_fit_stops():
    curve = torch.tensor([[math.nan, math.inf], [math.nan, math.inf], [math.nan, math.inf], [0.0, 0.0]])
    # nothing improves in the first 2 epochs: fit stops after epoch 1 and keeps those weights
    assert studies.early_stopping_epoch(curve, 2).tolist() == [1, 1]
    assert studies.early_stopping_epoch(curve, 5).tolist() == [3, 3]  # never stops: epoch 3 improves


@given(curve=tensors(torch.float64, min_dims=2, max_dims=2, min_side=1, max_side=6),
       threshold=st.floats(-1e3, 1e3))
def test_epochs_to_reach_equals_a_loop_and_nan_never_reaches(curve, threshold):
    got = studies.epochs_to_reach(curve, threshold)
    assert got.dtype == torch.float64
    for r in range(curve.shape[1]):
        hits = [e + 1 for e, v in enumerate(curve[:, r].tolist()) if v <= threshold]  # NaN <= t is False
        if hits:
            assert got[r].item() == hits[0]
        else:
            assert math.isnan(got[r].item())


@pytest.mark.parametrize("holds, ok", [(np.bool_(True), True), (np.all([1, 2]), True), (np.bool_(False), False)])
def test_check_claim_accepts_numpy_bools(holds, ok):
    if ok:
        studies.check_claim(holds, "numpy says so")
    else:
        with pytest.raises(studies.ClaimError, match="numpy says so"):
            studies.check_claim(holds, "numpy says so")


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: studies.mean_std(torch.tensor([1 + 1j, 2 + 0j])), TypeError, "real numbers, got .*complex"),
        (lambda: studies.mean_std([1.0]), ValueError, r"R >= 2 runs, got shape \(1,\)"),
        (lambda: studies.mean_std([[1.0], [2.0, 3.0]]), TypeError, "values must be numbers"),
        (lambda: studies.standard_error("12"), TypeError, "got str"),
        (lambda: studies.format_mean_std([1.0, 2.0], digits=-1), ValueError, r"Invalid digits: -1 \(expected >= 0\)"),
        (lambda: studies.format_mean_std([1.0, 2.0], digits=1.0), TypeError, "digits must be an int, got float"),
        (lambda: studies.paired_difference([1.0, 2.0], [1.0, math.nan]), ValueError, "expected finite results"),
        (lambda: studies.paired_difference([1.0, 2.0], [1.0, 2.0], 1.0), ValueError, r"Invalid confidence: 1.0 \(expected a finite number > 0 and < 1\)"),
        (lambda: studies.paired_difference([1.0, 2.0], [1.0, 2.0], math.nan), ValueError, "Invalid confidence"),
        (lambda: studies.paired_difference([1.0, 2.0], [1.0, 2.0], "0.9"), TypeError, "confidence must be a float"),
        (lambda: studies.paired_difference([1.0, 2.0], [1.0, 2.0, 3.0]), ValueError, r"\(2,\) and \(3,\)"),
        (lambda: studies.epochs_to_reach(torch.ones(2, 2), math.nan), ValueError, r"Invalid threshold: nan \(expected a finite number\)"),
        (lambda: studies.epochs_to_reach(torch.ones(2, 2, dtype=torch.complex64), 1.0), TypeError,
         "real losses, got dtype torch.complex64"),
        (lambda: studies.epochs_to_reach(torch.ones(0, 2), 1.0), ValueError, r"E >= 1, got \(0, 2\)"),
        (lambda: studies.early_stopping_epoch(torch.ones(3), 1), ValueError, r"\(E, R\) with E >= 1, got \(3,\)"),
        (lambda: studies.early_stopping_epoch(torch.ones(3, 0), 0), ValueError, "patience"),
        (lambda: studies.early_stopping_epoch([[1.0]], 1), TypeError, "got list"),
        (lambda: studies.check_claim(np.float64(1.0), "x"), TypeError, "holds must be a bool, got float64"),
    ],
)
def test_bad_input_names_expected_and_received(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_numbers_are_accepted_where_python_numbers_are():
    assert studies.run_seeds(lambda s: np.float32(s), np.arange(3).tolist()).tolist() == [0.0, 1.0, 2.0]
    assert studies.run_seeds(lambda s: float(s), [np.int64(4), np.int64(5)]).tolist() == [4.0, 5.0]
    assert studies.epochs_to_reach(torch.tensor([[1.0], [0.1]]), np.float32(0.5)).tolist() == [2.0]
    assert studies.paired_difference([1.0, 2.0], [0.0, 0.5], np.float64(0.9)).n == 2
