"""Tests for dlfoundations.data."""

from __future__ import annotations

import pytest
import torch

from dlfoundations.data import RegressionData, make_linear_regression
from dlfoundations.seed import make_generator


def test_shapes_and_types():
    data = make_linear_regression(n_samples=30, n_features=4, n_outputs=2, generator=make_generator(0))
    assert isinstance(data, RegressionData)
    assert data.X.shape == (30, 4)
    assert data.y.shape == (30, 2)
    assert data.weight.shape == (2, 4)
    assert data.bias.shape == (2,)
    assert data.X.dtype == data.y.dtype == torch.float32


def test_same_seed_gives_identical_data():
    a = make_linear_regression(50, 3, noise_std=0.3, generator=make_generator(7))
    b = make_linear_regression(50, 3, noise_std=0.3, generator=make_generator(7))
    for left, right in zip(a[:4], b[:4]):
        assert torch.equal(left, right)


def test_different_seed_gives_different_data():
    a = make_linear_regression(50, 3, generator=make_generator(7))
    b = make_linear_regression(50, 3, generator=make_generator(8))
    assert not torch.equal(a.X, b.X)
    assert not torch.equal(a.y, b.y)


def test_given_parameters_are_used_and_scalars_mean_one_output():
    data = make_linear_regression(20, 1, weight=2.0, bias=-1.0, generator=make_generator(0))
    torch.testing.assert_close(data.weight, torch.tensor([[2.0]]))
    torch.testing.assert_close(data.bias, torch.tensor([-1.0]))
    data = make_linear_regression(20, 3, weight=[1.0, 2.0, 3.0], generator=make_generator(0))
    assert data.weight.shape == (1, 3)
    assert data.y.shape == (20, 1)


def test_noise_free_data_is_exactly_linear():
    data = make_linear_regression(40, 2, noise_std=0.0, dtype=torch.float64, generator=make_generator(3))
    torch.testing.assert_close(data.y, data.X @ data.weight.T + data.bias)


@pytest.mark.parametrize("noise_std", [0.1, 0.5, 2.0])
def test_noise_std_is_respected(noise_std):
    data = make_linear_regression(
        20_000, 2, noise_std=noise_std, dtype=torch.float64, generator=make_generator(1)
    )
    residual = data.y - (data.X @ data.weight.T + data.bias)  # the noise, exactly
    # Standard error of a sample std is about sigma / sqrt(2N) < 0.5 %: 3 % is a safe margin.
    assert residual.std().item() == pytest.approx(noise_std, rel=0.03)
    assert abs(residual.mean().item()) < 0.05 * noise_std
    assert data.noise_std == noise_std


def test_x_range_is_respected():
    data = make_linear_regression(1000, 2, x_range=(2.0, 5.0), generator=make_generator(0))
    assert data.X.min().item() >= 2.0
    assert data.X.max().item() <= 5.0
    assert data.X.max().item() - data.X.min().item() > 2.5  # it fills the interval


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_samples": 0}, ValueError, "n_samples must be a positive int, got 0"),
        ({"n_samples": 2.5}, TypeError, "n_samples must be a positive int"),
        ({"n_features": True}, TypeError, "n_features must be a positive int"),
        ({"noise_std": -0.1}, ValueError, "noise_std must be a finite float >= 0, got -0.1"),
        ({"noise_std": "big"}, TypeError, "noise_std must be a float"),
        ({"x_range": (1.0, 1.0)}, ValueError, r"low < high"),
        ({"x_range": (1.0,)}, ValueError, r"x_range must be a pair"),
        ({"n_features": 2, "weight": [1.0, 2.0, 3.0]}, ValueError, r"expected weight of shape \(O, 2\), got \(1, 3\)"),
        ({"weight": [[1.0], [2.0]], "bias": [0.0, 1.0, 2.0]}, ValueError, r"expected bias of shape \(2,\), got \(3,\)"),
        ({"weight": "w"}, TypeError, "weight must be"),
        ({"dtype": torch.int64}, TypeError, "floating"),
        ({"generator": 0}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_invalid_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_linear_regression(**kwargs)


# --- NoisySine ---------------------------------------------------------------

from torch.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

from dlfoundations.data import (  # noqa: E402
    InMemoryLoader,
    NoisySine,
    measure_throughput,
    pad_collate,
    seed_worker,
)


def test_noisy_sine_is_a_dataset_with_len_and_shapes():
    data = NoisySine(n_samples=50, seed=0)
    assert isinstance(data, Dataset)
    assert len(data) == 50
    x, y = data[3]
    assert x.shape == y.shape == (1,)
    assert data.X.shape == data.y.shape == (50, 1)
    assert data.X.dtype == data.y.dtype == torch.float32
    assert torch.equal(x, data.X[3]) and torch.equal(y, data.y[3])


def test_noisy_sine_same_seed_identical_other_seed_different():
    a, b, c = NoisySine(100, seed=5), NoisySine(100, seed=5), NoisySine(100, seed=6)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    assert not torch.equal(a.X, c.X)
    # Its own generator: draws from the global generator in between change nothing.
    torch.rand(10)
    assert torch.equal(NoisySine(100, seed=5).y, a.y)


@pytest.mark.parametrize("noise_std", [0.0, 0.2, 1.0])
def test_noisy_sine_noise_std_and_range_are_respected(noise_std):
    data = NoisySine(20_000, noise_std=noise_std, x_range=(-1.0, 2.0), seed=1)
    residual = (data.y - torch.sin(data.X)).double()
    if noise_std == 0.0:
        assert residual.abs().max().item() == 0.0
    else:
        assert residual.std().item() == pytest.approx(noise_std, rel=0.03)
        assert abs(residual.mean().item()) < 0.05 * noise_std
    assert data.X.min().item() >= -1.0 and data.X.max().item() <= 2.0
    assert data.noise_std == noise_std


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_samples": 0}, ValueError, "n_samples must be a positive int, got 0"),
        ({"n_samples": 3.0}, TypeError, "n_samples must be a positive int"),
        ({"n_samples": 3, "noise_std": -1.0}, ValueError, "noise_std must be a finite float >= 0, got -1.0"),
        ({"n_samples": 3, "noise_std": None}, TypeError, "noise_std must be a float"),
        ({"n_samples": 3, "x_range": (2.0, 1.0)}, ValueError, "low < high"),
        ({"n_samples": 3, "seed": 1.5}, TypeError, "seed must be an int"),
        ({"n_samples": 3, "seed": -1}, ValueError, "seed must be in"),
    ],
)
def test_noisy_sine_invalid_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        NoisySine(**kwargs)


# --- InMemoryLoader ----------------------------------------------------------


def _xy(n=37, seed=0):
    g = make_generator(seed)
    return torch.randn(n, 3, generator=g, dtype=torch.float64), torch.randn(n, 1, generator=g, dtype=torch.float64)


def _assert_same_batches(ours, reference):
    ours, reference = list(ours), list(reference)
    assert len(ours) == len(reference)
    for (X_a, y_a), (X_b, y_b) in zip(ours, reference):
        assert torch.equal(X_a, X_b)
        assert torch.equal(y_a, y_b)


@pytest.mark.parametrize("batch_size", [1, 5, 8, 37, 64])
@pytest.mark.parametrize("drop_last", [False, True])
def test_in_memory_loader_equals_dataloader_without_shuffle(batch_size, drop_last):
    X, y = _xy()
    ours = InMemoryLoader(X, y, batch_size=batch_size, drop_last=drop_last)
    reference = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False, drop_last=drop_last)
    assert len(ours) == len(reference)
    _assert_same_batches(ours, reference)


@pytest.mark.parametrize("batch_size", [4, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_in_memory_loader_equals_dataloader_with_shuffle_and_same_seed(batch_size, drop_last):
    X, y = _xy()
    ours = InMemoryLoader(X, y, batch_size, shuffle=True, drop_last=drop_last, generator=make_generator(3))
    reference = DataLoader(
        TensorDataset(X, y), batch_size, shuffle=True, drop_last=drop_last, generator=make_generator(3)
    )
    for _ in range(3):  # three epochs: the generators stay in step
        _assert_same_batches(ours, reference)


def test_a_wrong_loader_is_caught_by_the_comparison():
    # Deliberately wrong: the last partial batch is lost (drop_last forgotten).
    X, y = _xy(n=37)
    wrong = [(X[i : i + 8], y[i : i + 8]) for i in range(0, 32, 8)]
    with pytest.raises(AssertionError):
        _assert_same_batches(wrong, DataLoader(TensorDataset(X, y), batch_size=8))


def test_in_memory_loader_len_is_ceil_or_floor():
    X, y = _xy(n=37)
    assert len(InMemoryLoader(X, y, batch_size=8)) == 5  # ceil(37 / 8)
    assert len(InMemoryLoader(X, y, batch_size=8, drop_last=True)) == 4  # floor(37 / 8)
    batches = list(InMemoryLoader(X, y, batch_size=8, drop_last=True))
    assert [len(Xb) for Xb, _ in batches] == [8, 8, 8, 8]
    assert [len(Xb) for Xb, _ in InMemoryLoader(X, y, batch_size=8)] == [8, 8, 8, 8, 5]


def test_shuffled_epoch_is_a_permutation_and_epochs_differ():
    N = 50
    X = torch.arange(N).reshape(N, 1)  # each sample is its own index
    loader = InMemoryLoader(X, X.clone(), batch_size=7, shuffle=True, generator=make_generator(0))
    epochs = [torch.cat([Xb for Xb, _ in loader]).flatten() for _ in range(3)]
    for order in epochs:
        assert torch.equal(order.sort().values, torch.arange(N))  # every sample exactly once
    assert not torch.equal(epochs[0], epochs[1])


def test_seeded_generator_reproduces_epoch_order():
    X = torch.arange(30).reshape(30, 1)
    def orders(seed):
        loader = InMemoryLoader(X, X, batch_size=4, shuffle=True, generator=make_generator(seed))
        return [torch.cat([Xb for Xb, _ in loader]) for _ in range(2)]
    first, again, other = orders(1), orders(1), orders(2)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])


def test_unshuffled_batches_are_views():
    X, y = _xy()
    Xb, _ = next(iter(InMemoryLoader(X, y, batch_size=8)))
    assert Xb.data_ptr() == X.data_ptr()


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([1.0], torch.zeros(1)), {}, TypeError, "X and y must be tensors, got list and Tensor"),
        ((torch.zeros(4, 2), torch.zeros(3, 1)), {}, ValueError, r"got X of shape \(4, 2\) and y of shape \(3, 1\)"),
        ((torch.zeros(0, 2), torch.zeros(0, 1)), {}, ValueError, "expected at least one sample"),
        ((torch.zeros(4, 2), torch.zeros(4, 1)), {"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
        ((torch.zeros(4, 2), torch.zeros(4, 1)), {"batch_size": 2.0}, TypeError, "batch_size must be a positive int"),
        ((torch.zeros(4, 2), torch.zeros(4, 1)), {"shuffle": 1}, TypeError, "shuffle must be a bool, got int"),
        ((torch.zeros(4, 2), torch.zeros(4, 1)), {"drop_last": "yes"}, TypeError, "drop_last must be a bool"),
        ((torch.zeros(4, 2), torch.zeros(4, 1)), {"generator": 0}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_in_memory_loader_invalid_arguments_raise(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        InMemoryLoader(*args, **kwargs)


# --- pad_collate -------------------------------------------------------------


def _sequences(lengths, feature_shape=(2,), seed=0):
    g = make_generator(seed)
    return [
        (torch.randn(T, *feature_shape, generator=g, dtype=torch.float64), torch.tensor(float(i), dtype=torch.float64))
        for i, T in enumerate(lengths)
    ]


@pytest.mark.parametrize("feature_shape", [(), (2,), (2, 3)])
@pytest.mark.parametrize("padding_value", [0.0, -1.5])
def test_pad_collate_equals_pad_sequence(feature_shape, padding_value):
    batch = _sequences([3, 1, 5, 0, 2], feature_shape)
    out = pad_collate(batch, padding_value=padding_value)
    reference = torch.nn.utils.rnn.pad_sequence([x for x, _ in batch], batch_first=True, padding_value=padding_value)
    torch.testing.assert_close(out["X"], reference, rtol=0, atol=0)
    assert out["X"].shape == (5, 5, *feature_shape)
    assert torch.equal(out["lengths"], torch.tensor([3, 1, 5, 0, 2]))
    torch.testing.assert_close(out["y"], torch.arange(5, dtype=torch.float64))


def test_pad_collate_comparison_catches_left_padding():
    # Deliberately wrong variant: padding in front of each sequence.
    batch = _sequences([3, 1, 4])
    reference = torch.nn.utils.rnn.pad_sequence([x for x, _ in batch], batch_first=True)
    left = torch.zeros_like(reference)
    for i, (x, _) in enumerate(batch):
        left[i, reference.shape[1] - len(x) :] = x
    torch.testing.assert_close(pad_collate(batch)["X"], reference)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(left, reference)


def test_pad_collate_in_a_dataloader():
    batch = _sequences([2, 4, 1, 3])
    loader = DataLoader(batch, batch_size=2, collate_fn=pad_collate)
    shapes = [tuple(b["X"].shape) for b in loader]
    assert shapes == [(2, 4, 2), (2, 3, 2)]


@pytest.mark.parametrize(
    ("batch", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, "batch is empty"),
        ("ab", {}, TypeError, "batch must be a sequence of"),
        ([(torch.zeros(2), 1.0)], {}, TypeError, r"expected batch\[0\] to be a pair \(x, y\) of tensors"),
        ([(torch.zeros(2, 3), torch.zeros(())), (torch.zeros(2, 4), torch.zeros(()))], {}, ValueError,
         r"expected x of shape \(T, 3\) at batch\[1\], got \(2, 4\)"),
        ([(torch.zeros(2), torch.zeros(())), (torch.zeros(2, dtype=torch.int64), torch.zeros(()))], {}, TypeError,
         r"expected x of dtype torch.float32 at batch\[1\], got torch.int64"),
        ([(torch.zeros(2), torch.zeros(1)), (torch.zeros(2), torch.zeros(2))], {}, ValueError,
         r"expected y of shape \(1,\) at batch\[1\], got \(2,\)"),
        ([(torch.zeros(()), torch.zeros(()))], {}, ValueError, "got a 0-d tensor"),
        ([(torch.zeros(2), torch.zeros(()))], {"padding_value": "0"}, TypeError, "padding_value must be a number"),
    ],
)
def test_pad_collate_invalid_input_raises(batch, kwargs, error, match):
    with pytest.raises(error, match=match):
        pad_collate(batch, **kwargs)


# --- seed_worker and workers -------------------------------------------------


def test_seed_worker_seeds_numpy_and_random_from_torch():
    import random

    import numpy as np

    torch.manual_seed(2**40 + 7)
    seed_worker(0)
    drawn = (np.random.rand(), random.random())
    expected_seed = (2**40 + 7) % 2**32
    assert drawn == (np.random.RandomState(expected_seed).rand(), random.Random(expected_seed).random())


@pytest.mark.parametrize(("worker_id", "error"), [(-1, ValueError), (1.0, TypeError), (True, TypeError)])
def test_seed_worker_invalid_id_raises(worker_id, error):
    with pytest.raises(error, match="worker_id must be"):
        seed_worker(worker_id)


class _NumpyNoise(Dataset):
    """Each sample is a NumPy draw: reproducible only if workers are seeded."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        import numpy as np

        return torch.tensor([float(index), np.random.rand()])


def test_workers_are_reproducible_with_a_seeded_generator():
    def run():
        loader = DataLoader(
            _NumpyNoise(), batch_size=2, shuffle=True, num_workers=2,
            worker_init_fn=seed_worker, generator=make_generator(4),
        )
        return torch.cat(list(loader))

    first, second = run(), run()
    assert torch.equal(first, second)
    # The order is the one of the main-process sampler: same as without workers.
    single = torch.cat(list(DataLoader(_NumpyNoise(), batch_size=2, shuffle=True, generator=make_generator(4))))
    assert torch.equal(first[:, 0], single[:, 0])
    assert first[:, 1].unique().numel() == 8  # the two workers draw different numbers


# --- measure_throughput ------------------------------------------------------


def test_measure_throughput_counts_samples(monkeypatch):
    import dlfoundations.data as data_module

    clock = iter([0.0, 2.0, 10.0, 11.0])  # two passes: 2 s, then 1 s
    monkeypatch.setattr(data_module.time, "perf_counter", lambda: next(clock))
    X, y = _xy(n=37)
    # 37 samples; the best pass took 1 s.
    assert measure_throughput(InMemoryLoader(X, y, batch_size=8), num_repeats=2) == pytest.approx(37.0)


def test_measure_throughput_errors():
    X, y = _xy(n=4)
    with pytest.raises(ValueError, match="num_repeats must be a positive int, got 0"):
        measure_throughput(InMemoryLoader(X, y), num_repeats=0)
    with pytest.raises(ValueError, match="yielded no sample"):
        measure_throughput([])
    with pytest.raises(TypeError, match="expected batches"):
        measure_throughput([1, 2])
