import pytest
import torch

from dlfoundations.digits import DigitsDataset, Standardizer, load_digits_tensors, stratified_split


@pytest.fixture(scope="module")
def digits():
    return load_digits_tensors()


def test_loads_the_bundled_digits(digits):
    X, y = digits
    assert X.shape == (1797, 64) and X.dtype == torch.float32
    assert y.shape == (1797,) and y.dtype == torch.int64
    assert set(y.tolist()) == set(range(10))
    assert 0.0 <= X.min() and X.max() <= 16.0


def test_split_is_disjoint_complete_and_stratified(digits):
    _, y = digits
    split = stratified_split(y, 0.15, 0.15, seed=0)
    all_idx = torch.cat([split.train, split.val, split.test])
    assert len(all_idx) == len(y) and len(torch.unique(all_idx)) == len(y)
    overall = torch.bincount(y, minlength=10).double() / len(y)
    for part in split:
        share = torch.bincount(y[part], minlength=10).double() / len(part)
        assert (share - overall).abs().max() < 0.02
    assert len(split.test) == pytest.approx(0.15 * len(y), abs=2)
    assert len(split.val) == pytest.approx(0.15 * len(y), abs=2)


def test_split_is_seeded(digits):
    _, y = digits
    a, b, c = stratified_split(y, seed=1), stratified_split(y, seed=1), stratified_split(y, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(a.test, c.test)


@pytest.mark.parametrize(("val", "test", "match"), [(0.0, 0.1, "val_fraction"), (0.5, 0.5, "below 1"), (0.1, 1.2, "test_fraction")])
def test_split_rejects_bad_fractions(digits, val, test, match):
    with pytest.raises(ValueError, match=match):
        stratified_split(digits[1], val, test)


def test_split_rejects_float_labels():
    with pytest.raises(TypeError, match="integer tensor"):
        stratified_split(torch.zeros(10))


def test_standardizer_uses_train_statistics_only():
    X_train = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    X_test = torch.tensor([[100.0, 5.0]])
    scaler = Standardizer().fit(X_train)
    Z = scaler.transform(X_train)
    torch.testing.assert_close(Z.mean(0), torch.zeros(2))
    torch.testing.assert_close(Z[:, 0].std(), torch.tensor(1.0))
    # constant feature: centred, not divided by zero
    torch.testing.assert_close(scaler.transform(X_test), torch.tensor([[(100.0 - 2.0) / 2.0, 4.0]]))


def test_standardizer_round_trips_its_state():
    a = Standardizer().fit(torch.randn(20, 3))
    b = Standardizer()
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 3)
    torch.testing.assert_close(a.transform(x), b.transform(x))


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"expected X with 2 features, got \(1, 3\)"):
        Standardizer().fit(torch.randn(5, 2)).transform(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"expected X of shape \(N, D\), got \(5,\)"):
        Standardizer().fit(torch.zeros(5))
    with pytest.raises(ValueError, match="keys"):
        Standardizer().load_state_dict({"mean": torch.zeros(2)})


def test_dataset_flat_and_image_views(digits):
    X, y = digits
    flat, images = DigitsDataset(X, y), DigitsDataset(X, y, as_images=True)
    assert len(flat) == 1797
    assert flat[5][0].shape == (64,) and images[5][0].shape == (1, 8, 8)
    torch.testing.assert_close(images[5][0].reshape(64), flat[5][0])
    assert int(flat[5][1]) == int(y[5])


def test_dataset_validates(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 64\), got \(1797, 63\)"):
        DigitsDataset(X[:, :63], y)
    with pytest.raises(TypeError, match="torch.int64"):
        DigitsDataset(X, y.float())
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\), got 12"):
        DigitsDataset(X[:2], torch.tensor([1, 12]))


def test_the_bundled_digits_are_ucis_test_part_by_13_writers():
    # The module docstring and the chapter rest on scikit-learn's own description of the data.
    from sklearn.datasets import load_digits

    descr = " ".join(load_digits().DESCR.split())
    assert "This is a copy of the test set of the UCI ML hand-written digits datasets" in descr
    assert "From a total of 43 people, 30 contributed to the training set and different 13 to the test set" in descr
    assert ":Number of Instances: 1797" in descr
