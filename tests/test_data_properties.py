"""Property tests: dlfoundations.data against torch.utils.data.DataLoader and pad_sequence at the edges.

Batch sizes larger than N, N = 1, drop_last with no full batch, shuffling with a seeded generator
(same batches and the same generator state afterwards), empty sequences, NaN and ±inf values,
mixed dtypes.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, strategies as st
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, TensorDataset

from dlfoundations import data
from strategies import DTYPES, assert_same, tensors


@given(N=st.integers(1, 40), B=st.integers(1, 45), shuffle=st.booleans(), drop_last=st.booleans(),
       seed=st.integers(0, 2**63 - 1), epochs=st.integers(1, 3))
def test_in_memory_loader_is_seeded_visits_every_sample_once_and_batches_correctly(N, B, shuffle, drop_last, seed,
                                                                                  epochs):
    """The loader on its own terms, with no reference to DataLoader."""
    X = torch.arange(N)  # each sample is its own index
    y = -X  # the targets must stay with their inputs
    loader = data.InMemoryLoader(X, y, B, shuffle=shuffle, drop_last=drop_last,
                                 generator=torch.Generator().manual_seed(seed))
    twin = data.InMemoryLoader(X, y, B, shuffle=shuffle, drop_last=drop_last,
                               generator=torch.Generator().manual_seed(seed))
    sizes = [B] * (N // B) + ([N % B] if N % B and not drop_last else [])  # full batches, then the rest
    for _ in range(epochs):
        batches, again = list(loader), list(twin)
        assert [len(xb) for xb, _ in batches] == sizes and len(batches) == len(loader)
        assert all(torch.equal(yb, -xb) for xb, yb in batches)
        assert all(torch.equal(a, b) for (a, _), (b, _) in zip(batches, again))  # the same seed, the same epoch
        seen = torch.cat([xb for xb, _ in batches]) if batches else X[:0]
        assert len(set(seen.tolist())) == len(seen)  # no sample twice in an epoch
        if not drop_last:
            assert torch.equal(seen.sort().values, X)  # every sample exactly once
        if not shuffle:
            assert torch.equal(seen, X[: len(seen)])  # in order


# Caveat: DataLoader's draws from its generator (a base seed for its workers, a permutation its
# RandomSampler discards at the end of an epoch) are private behaviour, not an API. This test pins
# them for the PyTorch version in requirements.txt; if a new version draws differently it fails, and
# InMemoryLoader's Note and the data-pipelines chapter (sec-data-throughput) must change with it.
@given(N=st.integers(1, 12), B=st.integers(1, 15), shuffle=st.booleans(), drop_last=st.booleans(),
       seed=st.integers(0, 2**32), epochs=st.integers(1, 3), dtype=st.sampled_from(DTYPES),
       extra=st.sampled_from([(), (1,), (2, 3)]))
def test_in_memory_loader_equals_dataloader(N, B, shuffle, drop_last, seed, epochs, dtype, extra):
    X = torch.arange(N * math.prod(extra), dtype=dtype).reshape(N, *extra)
    X[0].fill_(math.nan)  # NaN is data too: it is batched, not dropped
    y = torch.arange(N)
    g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    ours = data.InMemoryLoader(X, y, B, shuffle=shuffle, drop_last=drop_last, generator=g1)
    ref = DataLoader(TensorDataset(X, y), B, shuffle=shuffle, drop_last=drop_last, generator=g2)
    assert len(ours) == len(ref)
    for _ in range(epochs):
        got, expected = list(ours), list(ref)
        assert len(got) == len(expected)
        for (xa, ya), (xb, yb) in zip(got, expected):
            assert_same(xa, xb)
            assert torch.equal(ya, yb)
        assert torch.equal(g1.get_state(), g2.get_state())  # the same draws: the next epoch is the same too


def test_unshuffled_loader_without_generator_leaves_the_global_stream():
    # Note in the docstring: DataLoader would draw its base seed from the global generator
    state = torch.get_rng_state()
    list(data.InMemoryLoader(torch.zeros(5), torch.zeros(5), 2))
    assert torch.equal(torch.get_rng_state(), state)


def _pairs(draw_lengths, feature, dtype):
    return [(torch.arange(T * math.prod(feature), dtype=dtype).reshape(T, *feature), torch.tensor(i))
            for i, T in enumerate(draw_lengths)]


@given(lengths=st.lists(st.integers(0, 5), min_size=1, max_size=5), feature=st.sampled_from([(), (1,), (2, 3)]),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]),
       padding=st.sampled_from([0.0, -1.0, 7.0, math.nan, math.inf]))
def test_pad_collate_equals_pad_sequence(lengths, feature, dtype, padding):
    batch = _pairs(lengths, feature, dtype)
    if not dtype.is_floating_point and not math.isfinite(padding):
        with pytest.raises(ValueError, match=f"padding_value {padding} cannot be stored in x of dtype {dtype}"):
            data.pad_collate(batch, padding)
        return
    got = data.pad_collate(batch, padding)
    expected = pad_sequence([x for x, _ in batch], batch_first=True, padding_value=padding)
    assert_same(got["X"], expected)
    assert torch.equal(got["lengths"], torch.tensor(lengths))
    assert torch.equal(got["y"], torch.arange(len(lengths)))
    mask = torch.arange(got["X"].shape[1])[None, :] < got["lengths"][:, None]  # (N, T): the real steps
    assert not mask.any() or torch.isfinite(got["X"][mask]).all()


@given(x=tensors(torch.float64, min_dims=1, max_dims=3, min_side=0, max_side=4), n=st.integers(1, 3))
def test_pad_collate_keeps_nan_and_inf_of_the_sequences(x, n):
    batch = [(x[: max(len(x) - i, 0)], torch.zeros(())) for i in range(n)]
    got = data.pad_collate(batch, padding_value=-3.0)
    assert_same(got["X"], pad_sequence([b for b, _ in batch], batch_first=True, padding_value=-3.0))


def test_pad_collate_mixed_y_dtypes_follow_promotion():
    got = data.pad_collate([(torch.zeros(1), torch.tensor(1)), (torch.zeros(2), torch.tensor(0.5))])
    assert got["y"].dtype == torch.promote_types(torch.int64, torch.float32)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: data.pad_collate([(torch.zeros(2, dtype=torch.int64), torch.zeros(()))], 0.5), ValueError,
         "padding_value 0.5 cannot be stored in x of dtype torch.int64"),
        (lambda: data.pad_collate([(torch.zeros(2, dtype=torch.bool), torch.zeros(()))], 2), ValueError,
         "cannot be stored in x of dtype torch.bool"),
        (lambda: data.pad_collate([(torch.zeros(1), torch.zeros(())), (torch.zeros(1, dtype=torch.float64),
                                   torch.zeros(()))]), TypeError,
         r"expected x of dtype torch.float32 at batch\[1\], got torch.float64"),
        (lambda: data.InMemoryLoader(torch.zeros(0, 2), torch.zeros(0)), ValueError, "empty"),
        (lambda: data.InMemoryLoader(torch.zeros(3, 2), torch.zeros(2)), ValueError,
         r"X of shape \(3, 2\) and y of shape \(2,\)"),
        (lambda: data.InMemoryLoader(torch.zeros(3), torch.zeros(3), batch_size=0), ValueError, "batch_size"),
        (lambda: data.InMemoryLoader(torch.zeros(3), torch.zeros(3), batch_size=2.0), TypeError,
         "batch_size must be a positive int, got float"),
        (lambda: data.InMemoryLoader(torch.zeros(3), torch.zeros(3), drop_last=1), TypeError,
         "drop_last must be a bool, got int"),
        (lambda: data.make_linear_regression(0), ValueError, "n_samples must be a positive int, got 0"),
        (lambda: data.make_linear_regression(3, noise_std=math.nan), ValueError, "noise_std must be a finite"),
        (lambda: data.make_linear_regression(3, x_range=(1.0, 1.0)), ValueError, "low < high"),
        (lambda: data.make_linear_regression(3, dtype=torch.int64), TypeError, "dtype must be a floating"),
        (lambda: data.NoisySine(3, x_range=(0.0, math.inf)), ValueError, "finite values"),
        (lambda: data.measure_throughput([], 1), ValueError, "the loader yielded no sample"),
        (lambda: data.measure_throughput([("a", 1)], 1), TypeError, "tensor X first"),
        (lambda: data.seed_worker(-1), ValueError, "worker_id must be >= 0, got -1"),
    ],
)
def test_bad_input_names_expected_and_received(call, error, message):
    with pytest.raises(error, match=message):
        call()


@given(N=st.integers(1, 30), D=st.integers(1, 4), seed=st.integers(0, 2**32), dtype=st.sampled_from(DTYPES),
       noise=st.sampled_from([0.0, 0.1, 1.0]))
def test_make_linear_regression_is_the_linear_model_plus_noise(N, D, seed, dtype, noise):
    out = data.make_linear_regression(N, D, noise_std=noise, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    assert out.X.dtype == out.y.dtype == out.weight.dtype == out.bias.dtype == dtype
    assert out.X.shape == (N, D) and out.y.shape == (N, 1)
    assert ((out.X >= -1) & (out.X <= 1)).all()
    if noise == 0.0:
        assert_same(out.y, out.X @ out.weight.T + out.bias)


def test_measure_throughput_of_an_instant_pass_is_finite():
    rate = data.measure_throughput([(torch.zeros(5),)], num_repeats=2)
    assert math.isfinite(rate) and rate > 0
