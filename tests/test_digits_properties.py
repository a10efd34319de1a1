"""Property-based tests of the digits helpers: stratified splits of small and tiny classes against
scikit-learn, the standardiser against NumPy (values and autograd gradients, float32 and float64,
constant columns, NaN and ±inf) and scikit-learn, and bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from strategies import DTYPES, assert_same, finite_tensors, grads, tensors

from dlfoundations.digits import DigitsDataset, Standardizer, stratified_split

# --- stratified_split ---------------------------------------------------------------------------------

FRACTIONS = st.sampled_from([0.1, 0.15, 0.2, 0.25, 1 / 3, 0.4])


@st.composite
def label_vectors(draw):
    """Labels of 1 to 6 classes (arbitrary, even negative, values) with 1 to 12 samples each: tiny classes."""
    classes = draw(st.lists(st.integers(-5, 200), min_size=1, max_size=6, unique=True))
    counts = draw(st.lists(st.integers(1, 12), min_size=len(classes), max_size=len(classes)))
    y = [c for c, n in zip(classes, counts) for _ in range(n)]
    order = draw(st.permutations(range(len(y))))
    dtype = draw(st.sampled_from([torch.int64, torch.int32, torch.int16, torch.uint8]))
    assume(dtype != torch.uint8 or min(classes) >= 0)
    return torch.tensor([y[i] for i in order]).to(dtype)


def sklearn_reference(y, val_fraction, test_fraction, seed):
    """What stratified_split promises: scikit-learn's train_test_split, test first, then validation."""
    labels = y.to(torch.int64).numpy()
    indices = np.arange(len(y))
    rest, test = train_test_split(indices, test_size=test_fraction, stratify=labels, random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), stratify=labels[rest],
                                  random_state=seed)
    return [np.sort(a) for a in (train, val, test)]


@settings(max_examples=80)
@given(y=label_vectors(), val_fraction=FRACTIONS, test_fraction=FRACTIONS, seed=st.integers(0, 2**32 - 1))
def test_split_equals_sklearn_or_says_which_split_is_impossible(y, val_fraction, test_fraction, seed):
    try:
        expected = sklearn_reference(y, val_fraction, test_fraction, seed)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="a stratified split needs at least 2 samples of every class|"
                                             "cannot take the stratified (test|validation) split"):
            stratified_split(y, val_fraction, test_fraction, seed)
        return
    split = stratified_split(y, val_fraction, test_fraction, seed)
    for part, ref in zip(split, expected):
        assert part.dtype == torch.int64 and torch.equal(part, torch.as_tensor(ref, dtype=torch.int64))
        assert torch.equal(part, part.sort().values)
    together = torch.cat(list(split))
    assert torch.equal(together.sort().values, torch.arange(len(y)))  # disjoint and complete
    # Stratified: each class's share of the test split is within one sample of its share of the whole.
    n_test = len(split.test)
    for c in torch.unique(y):
        n_c = int((y == c).sum())
        assert abs(int((y[split.test] == c).sum()) - n_c * n_test / len(y)) < 1 + 1e-9


@given(y=label_vectors())
def test_a_class_with_one_sample_is_named(y):
    lonely = int(y.max()) + 1 if y.dtype != torch.uint8 or int(y.max()) < 255 else None
    assume(lonely is not None)
    y = torch.cat([y, torch.tensor([lonely], dtype=y.dtype)])
    with pytest.raises(ValueError, match=rf"at least 2 samples of every class, got \(class, count\) .*\({lonely}, 1\)"):
        stratified_split(y)


def test_too_few_samples_for_the_classes_names_the_split():
    y = torch.tensor([0, 0, 1, 1, 2, 2, 2, 2, 2, 2])
    with pytest.raises(ValueError, match=r"cannot take the stratified test split \(0.15 of 10 samples of 3 classes\)"):
        stratified_split(y)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y": [0, 1, 0, 1]}, TypeError, "y must be an integer tensor of labels, got list"),
        ({"y": torch.zeros(10)}, TypeError, "y must be an integer tensor of labels, got Tensor torch.float32"),
        ({"y": torch.zeros(10, dtype=torch.bool)}, TypeError, "integer tensor"),
        ({"y": torch.zeros(10, dtype=torch.complex64)}, TypeError, "integer tensor"),
        ({"y": torch.zeros(2, 5, dtype=torch.int64)}, ValueError, r"expected y of shape \(N,\), got \(2, 5\)"),
        ({"y": torch.zeros(0, dtype=torch.int64)}, ValueError, "cannot take the stratified test split"),
        ({"val_fraction": "0.1"}, TypeError, "val_fraction must be a float in \\(0, 1\\), got str"),
        ({"test_fraction": None}, TypeError, "test_fraction must be a float in \\(0, 1\\), got NoneType"),
        ({"test_fraction": True}, TypeError, "test_fraction must be a float .* got bool"),
        ({"val_fraction": math.nan}, ValueError, r"val_fraction must be in \(0, 1\), got nan"),
        ({"val_fraction": 0.0}, ValueError, r"val_fraction must be in \(0, 1\), got 0.0"),
        ({"test_fraction": 1.0}, ValueError, r"test_fraction must be in \(0, 1\), got 1.0"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, ValueError, "must be below 1, got 1.0"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*32 - 1\] \(NumPy's seeds\), got -1"),
        ({"seed": 2**32}, ValueError, r"seed must be in \[0, 2\*\*32 - 1\]"),
        ({"seed": 1.0}, TypeError, "seed must be an int, got float"),
        ({"seed": np.int64(3)}, None, None),
        ({"val_fraction": np.float32(0.2)}, None, None),
    ],
)
def test_split_arguments(kwargs, error, match):
    args = {"y": torch.arange(40) % 2, "val_fraction": 0.15, "test_fraction": 0.15, "seed": 0} | kwargs
    if error is None:
        split = stratified_split(**args)
        assert sum(len(p) for p in split) == len(args["y"])
        return
    with pytest.raises(error, match=match):
        stratified_split(**args)


# --- Standardizer -------------------------------------------------------------------------------------

def numpy_reference(X: np.ndarray):
    """The documented statistics: mean and sample std per column; a column of equal values gets its value
    and std 1. Computed in float64."""
    X64 = X.astype(np.float64)
    with np.errstate(all="ignore"):
        mean = X64.mean(axis=0)
        std = X64.std(axis=0, ddof=1)
    constant = (X64.max(axis=0, initial=-np.inf) == X64.min(axis=0, initial=np.inf)) & ~np.isnan(X64).any(axis=0)
    mean = np.where(constant, X64[0], mean)
    std = np.where(constant, 1.0, std)
    return mean, std


@given(dtype=st.sampled_from(DTYPES), data=st.data())
def test_standardizer_statistics_equal_numpy_at_the_edges(dtype, data):
    X = data.draw(tensors(dtype, min_dims=2, max_dims=2, min_side=2, max_side=6, allow_nan=True))
    scaler = Standardizer().fit(X)
    mean, std = numpy_reference(X.numpy())
    assert scaler.mean.dtype == dtype and scaler.std.dtype == dtype
    # float32 sums overflow where float64 ones do not: compare where the float64 result fits float32.
    fits = np.isfinite(mean.astype(X.numpy().dtype)) | ~np.isfinite(mean)
    tol = {torch.float32: dict(rtol=1e-4, atol=1e-6), torch.float64: dict(rtol=1e-9, atol=1e-12)}[dtype]
    expected_mean = torch.from_numpy(mean).to(dtype)
    assert_same(scaler.mean[torch.from_numpy(fits)], expected_mean[torch.from_numpy(fits)], **tol)
    constant = torch.from_numpy((std == 1.0) & (X.numpy().max(0) == X.numpy().min(0)))
    assert (scaler.std[constant] == 1).all() and torch.equal(scaler.mean[constant], X[0][constant])
    finite = constant & X[0].isfinite()
    assert (scaler.transform(X)[:, finite] == 0).all()  # a finite constant column is centred exactly


@given(dtype=st.sampled_from(DTYPES), value=st.floats(-1e6, 1e6, width=32), n=st.integers(2, 200))
def test_a_constant_column_is_only_centred_however_its_mean_rounds(dtype, value, n):
    # Without the exact test, 7 float32 copies of 0.1 get a std of about 8e-9 and a column of 0.2 at
    # transform time becomes about 1e7.
    X = torch.full((n, 2), value, dtype=dtype)
    X[:, 1] = torch.arange(n, dtype=dtype)
    scaler = Standardizer().fit(X)
    assert scaler.std[0] == 1 and scaler.mean[0] == X[0, 0]
    Z = scaler.transform(torch.tensor([[value + 1.0, 0.0]], dtype=dtype))
    assert Z[0, 0] == (X[0, 0] + 1.0) - X[0, 0]


@given(dtype=st.sampled_from(DTYPES), data=st.data())
def test_standardizer_transform_values_and_gradients_equal_torch(dtype, data):
    X = data.draw(finite_tensors(dtype, bound=1e3, shape=(data.draw(st.integers(2, 6)), data.draw(st.integers(0, 4)))))
    Z = data.draw(finite_tensors(dtype, bound=1e3, shape=(data.draw(st.integers(0, 4)), X.shape[1])))
    scaler = Standardizer().fit(X)
    reference = lambda x: (x - scaler.mean) / scaler.std  # noqa: E731
    assert_same(scaler.transform(Z), reference(Z))
    assert_same(grads(scaler.transform, Z)[0], grads(reference, Z)[0])
    assert_same(grads(scaler.transform, Z)[0], (1 / scaler.std).expand_as(Z))


@given(dtype=st.sampled_from(DTYPES), data=st.data())
def test_nan_and_inf_propagate_as_in_torch(dtype, data):
    X = data.draw(tensors(dtype, min_dims=2, max_dims=2, min_side=2, max_side=5))
    scaler = Standardizer().fit(X)
    nan_columns = X.isnan().any(dim=0)
    assert scaler.mean[nan_columns].isnan().all() and scaler.std[nan_columns].isnan().all()
    Z = scaler.transform(X)
    assert Z[:, nan_columns].isnan().all()
    assert_same(Z, (X - scaler.mean) / scaler.std)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 30), d=st.integers(1, 5))
def test_standardizer_against_sklearn_standard_scaler(seed, n, d):
    # Documented in the Note: scikit-learn divides by N, the package by N - 1.
    X = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 3 + 1
    X[:, 0] = 2.5  # one constant column
    ours = Standardizer().fit(X)
    theirs = StandardScaler().fit(X.numpy())
    torch.testing.assert_close(ours.mean, torch.from_numpy(theirs.mean_))
    expected_std = torch.from_numpy(theirs.scale_) * math.sqrt(n / (n - 1))
    expected_std[0] = 1.0
    torch.testing.assert_close(ours.std, expected_std)
    torch.testing.assert_close(ours.transform(X)[:, 1:] * math.sqrt(n / (n - 1)),
                               torch.from_numpy(theirs.transform(X.numpy()))[:, 1:])


@pytest.mark.parametrize(("fit_dtype", "x_dtype"), [(torch.float32, torch.float64), (torch.float64, torch.float32),
                                                     (torch.float32, torch.float16), (torch.float16, torch.bfloat16)])
def test_transform_follows_torch_type_promotion(fit_dtype, x_dtype):
    scaler = Standardizer().fit(torch.tensor([[0.0, 1.0], [2.0, 5.0]], dtype=fit_dtype))
    X = torch.tensor([[1.0, 2.0]], dtype=x_dtype)
    assert scaler.transform(X).dtype == torch.promote_types(fit_dtype, x_dtype)


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        (None, TypeError, "expected a dict with keys 'mean' and 'std', got NoneType"),
        ({"mean": [0.0], "std": [1.0]}, TypeError, "expected mean to be a floating tensor, got list"),
        ({"mean": torch.zeros(2, dtype=torch.int64), "std": torch.ones(2)}, TypeError, "mean to be a floating tensor"),
        ({"mean": torch.zeros(2)}, ValueError, r"expected keys \{'mean', 'std'\}, got \['mean'\]"),
        ({"mean": torch.zeros(2), "std": torch.ones(3)}, ValueError, r"one shape \(D,\) and dtype, got \(2,\)"),
        ({"mean": torch.zeros(2), "std": torch.ones(2, dtype=torch.float64)}, ValueError, "one shape .* and dtype"),
        ({"mean": torch.zeros(2), "std": torch.tensor([1.0, 0.0])}, ValueError, "expected std > 0 .* got 0.0"),
        ({"mean": torch.zeros(2), "std": torch.tensor([1.0, -2.0])}, ValueError, "expected std > 0"),
    ],
)
def test_load_state_dict_rejects_bad_state_and_changes_nothing(state, error, match):
    scaler = Standardizer().fit(torch.tensor([[0.0, 1.0], [2.0, 5.0]]))
    mean, std = scaler.mean.clone(), scaler.std.clone()
    with pytest.raises(error, match=match):
        scaler.load_state_dict(state)
    assert torch.equal(scaler.mean, mean) and torch.equal(scaler.std, std)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (torch.zeros(1, 3), ValueError, r"need at least 2 samples to fit, got X of shape \(1, 3\)"),
        (torch.zeros(0, 3), ValueError, r"need at least 2 samples to fit, got X of shape \(0, 3\)"),
        (torch.zeros(3, 2, dtype=torch.int64), TypeError, "expected a floating tensor X, got Tensor torch.int64"),
        (np.zeros((3, 2)), TypeError, "expected a floating tensor X, got ndarray"),
        (torch.zeros(3, 2, 1), ValueError, r"expected X of shape \(N, D\), got \(3, 2, 1\)"),
    ],
)
def test_fit_rejects_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        Standardizer().fit(X)


# --- DigitsDataset ------------------------------------------------------------------------------------

@given(n=st.integers(0, 5), as_images=st.booleans(), data=st.data())
def test_dataset_items_are_the_rows(n, as_images, data):
    X = data.draw(tensors(torch.float32, shape=(n, 64)))
    y = torch.tensor(data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=torch.int64)
    ds = DigitsDataset(X, y, as_images=as_images)
    assert len(ds) == n
    for i in range(n):
        x, label = ds[i]
        assert_same(x.reshape(64), X[i])
        assert x.shape == ((1, 8, 8) if as_images else (64,)) and label.item() == y[i].item()


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "error", "match"),
    [
        ([[0.0] * 64], torch.tensor([1]), {}, TypeError, "expected X to be a tensor of shape \\(N, 64\\), got list"),
        (torch.zeros(64), torch.tensor([1]), {}, ValueError, r"expected X of shape \(N, 64\), got \(64,\)"),
        (torch.zeros(1, 64), [1], {}, TypeError, "expected y of dtype torch.int64, got list"),
        (torch.zeros(1, 64), torch.tensor([1], dtype=torch.int32), {}, TypeError, "torch.int64, got torch.int32"),
        (torch.zeros(2, 64), torch.tensor([1]), {}, ValueError, r"expected y of shape \(2,\), got \(1,\)"),
        (torch.zeros(1, 64), torch.tensor([-1]), {}, ValueError, r"labels must be in \[0, 10\), got -1"),
        (torch.zeros(1, 64), torch.tensor([1]), {"as_images": "yes"}, TypeError, "as_images must be a bool, got str"),
    ],
)
def test_dataset_rejects_bad_input(X, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        DigitsDataset(X, y, **kwargs)
