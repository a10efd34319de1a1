"""Property-based tests (Hypothesis) for dlfoundations.transfer: freezing, heads, parameter groups and
the data helpers, at the edges (classes with fewer samples than asked, absent classes, labels outside
the label dtype, every freezing pattern, float32 and float64 models, empty batches)."""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

from dlfoundations.conv import DigitCNN
from dlfoundations.transfer import (
    count_trainable,
    few_label_subset,
    freeze,
    param_groups,
    replace_head,
    select_classes,
    unfreeze,
)
from strategies import DTYPES

LABEL_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.int64]




@st.composite
def labels(draw, min_size: int = 0, max_size: int = 30):
    """1-D integer labels of a drawn dtype; few distinct values, so classes are small or absent."""
    dtype = draw(st.sampled_from(LABEL_DTYPES))
    info = np.iinfo(dtype)
    values = st.sampled_from([v for v in (0, 1, 2, 5, 9, -1, -7, 255) if info.min <= v <= info.max])
    y = draw(hnp.arrays(dtype, draw(st.integers(min_size, max_size)), elements=values))
    return torch.from_numpy(y.copy())


def _small_model(dtype=torch.float32, seed=0):
    return DigitCNN(conv="torch", num_classes=3, hidden_channels=(2, 3), generator=torch.Generator().manual_seed(seed)).to(dtype)


# ---------------------------------------------------------------- data helpers


@given(y=labels(min_size=1), m=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_few_label_subset_is_balanced_seeded_nested_or_names_the_small_class(y, m, seed):
    classes, counts = np.unique(y.numpy(), return_counts=True)  # only the classes present in y
    small = [(int(c), int(n)) for c, n in zip(classes, counts) if n < m]
    if small:
        c, n = small[0]
        with pytest.raises(ValueError, match=rf"class {c} has {n} samples, expected at least num_per_class={m}"):
            few_label_subset(y, m, generator=torch.Generator().manual_seed(seed))
        return
    idx = few_label_subset(y, m, generator=torch.Generator().manual_seed(seed))
    assert idx.dtype == torch.int64 and idx.shape == (m * len(classes),)
    assert torch.equal(idx, idx.sort().values) and len(torch.unique(idx)) == len(idx)
    assert bool(((idx >= 0) & (idx < len(y))).all())
    picked, picked_counts = np.unique(y[idx].numpy(), return_counts=True)
    assert picked.tolist() == classes.tolist() and set(picked_counts.tolist()) == {m}
    assert torch.equal(idx, few_label_subset(y, m, generator=torch.Generator().manual_seed(seed)))
    if m > 1:  # the same seed with a smaller budget gives a subset
        smaller = few_label_subset(y, m - 1, generator=torch.Generator().manual_seed(seed))
        assert set(smaller.tolist()) <= set(idx.tolist())


@pytest.mark.parametrize(
    ("y", "m", "generator", "error", "match"),
    [
        (torch.tensor([], dtype=torch.int64), 1, None, ValueError, "y is empty: expected at least one label"),
        (torch.tensor([0.0, 1.0]), 1, None, TypeError, r"y must be an integer tensor of labels, got Tensor torch.float32"),
        (torch.tensor([True, False]), 1, None, TypeError, r"got Tensor torch.bool"),
        ([0, 1], 1, None, TypeError, r"got list"),
        (torch.tensor([[0, 1]]), 1, None, ValueError, r"expected y of shape \(N,\), got \(1, 2\)"),
        (torch.tensor([0, 1]), 1.0, None, TypeError, r"num_per_class must be an int, got float"),
        (torch.tensor([0, 1]), True, None, TypeError, r"num_per_class must be an int, got bool"),
        (torch.tensor([0, 1]), 0, None, ValueError, r"Invalid num_per_class: 0 \(expected >= 1\)"),
        (torch.tensor([0, 1]), 1, 5, TypeError, r"generator must be a torch.Generator or None, got int"),
    ],
)
def test_few_label_subset_rejects_bad_input(y, m, generator, error, match):
    with pytest.raises(error, match=match):
        few_label_subset(y, m, generator=generator)


@given(y=labels(), classes=st.lists(st.sampled_from([0, 1, 2, 3, 5, 9, -1, 255, 300, -7]), min_size=1,
                                    max_size=4, unique=True), width=st.integers(1, 3))
def test_select_classes_equals_a_numpy_reference(y, classes, width):
    X = torch.arange(len(y) * width, dtype=torch.float64).reshape(len(y), width)
    y_np = y.numpy().astype(np.int64)  # labels compared as integers, never wrapped to y's dtype
    keep = np.isin(y_np, classes)
    if not keep.any():
        with pytest.raises(ValueError, match=re.escape(f"no sample has a label in {classes}")):
            select_classes(X, y, classes)
        return
    X_sub, y_sub = select_classes(X, y, classes)
    expected = np.array([classes.index(int(v)) for v in y_np[keep]], dtype=np.int64)
    assert y_sub.dtype == torch.int64 and y_sub.tolist() == expected.tolist()
    assert torch.equal(X_sub, X[torch.from_numpy(keep)])  # kept rows, in their original order


@pytest.mark.parametrize(
    ("X", "y", "classes", "error", "match"),
    [
        (torch.zeros(2, 1), torch.tensor([0, 1]), [2**64], ValueError, r"classes must fit in int64, got \[18446744073709551616\]"),
        (torch.zeros(2, 1), torch.tensor([0, 1]), "01", TypeError, r"classes must be a sequence of ints, got str"),
        (torch.zeros(2, 1), torch.tensor([0, 1]), [True], TypeError, r"classes must hold ints, got bool"),
        ([[0.0], [1.0]], torch.tensor([0, 1]), [0], TypeError, r"X must be a tensor, got list"),
        (torch.tensor(1.0), torch.tensor([0]), [0], ValueError, r"same first dimension N, got X of shape \(\)"),
    ],
)
def test_select_classes_rejects_bad_input(X, y, classes, error, match):
    with pytest.raises(error, match=match):
        select_classes(X, y, classes)


def test_select_classes_does_not_wrap_a_negative_label_into_the_dtype():
    # -1 as uint8 would be 255: a uint8 label 255 must not be selected by class -1.
    y = torch.tensor([255, 1, 255], dtype=torch.uint8)
    X_sub, y_sub = select_classes(torch.arange(3.0).unsqueeze(1), y, [1, -1])
    assert X_sub.flatten().tolist() == [1.0] and y_sub.tolist() == [0]


# ---------------------------------------------------------------- freezing and groups


@given(pattern=st.lists(st.booleans(), min_size=6, max_size=6), backbone_lr=st.floats(1e-6, 1.0),
       head_lr=st.floats(1e-6, 1.0))
def test_count_trainable_and_param_groups_follow_any_freezing_pattern(pattern, backbone_lr, head_lr):
    model = _small_model()
    named = list(model.named_parameters())
    for (_, p), trainable in zip(named, pattern):
        p.requires_grad_(trainable)
    trainable = [(n, p) for n, p in named if p.requires_grad]
    assert count_trainable(model) == (sum(p.numel() for _, p in trainable), sum(p.numel() for _, p in named))
    if not trainable:
        with pytest.raises(ValueError, match="no trainable parameter"):
            param_groups(model, backbone_lr, head_lr)
        return
    groups = param_groups(model, backbone_lr, head_lr)
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for _, p in trainable)  # every trainable parameter exactly once
    expected = []  # (lr, ids) of the backbone then the head, a group left empty dropped
    for lr, part in ((backbone_lr, "features."), (head_lr, "head.")):
        members = [id(p) for n, p in trainable if n.startswith(part)]
        if members:
            expected.append((float(lr), members))
    assert [(g["lr"], [id(p) for p in g["params"]]) for g in groups] == expected
    assert all(set(g) == {"params", "lr"} and type(g["lr"]) is float for g in groups)  # torch.optim's format


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@settings(max_examples=30)  # each example builds a model: fewer suffice
@given(seed=st.integers(0, 2**31 - 1), N=st.integers(0, 3))
def test_freezing_leaves_the_other_gradients_unchanged(dtype, seed, N):
    model = _small_model(dtype, seed)
    X = torch.randn(N, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    ref = copy.deepcopy(model)
    assert freeze(model.features) is model.features
    model(X).square().sum().backward()
    ref(X).square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        if name.startswith("features."):
            assert p.grad is None and not p.requires_grad
        else:
            torch.testing.assert_close(p.grad, q.grad, msg=name)  # the head's gradient is the same
    assert unfreeze(model.features) is model.features
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize(
    ("backbone_lr", "head_lr", "error", "match"),
    [
        (-1e-3, 1e-2, ValueError, r"Invalid backbone_lr: -0.001 \(expected a finite number >= 0\)"),
        (1e-3, math.inf, ValueError, r"Invalid head_lr: inf"),
        (-math.inf, 1e-2, ValueError, r"Invalid backbone_lr: -inf"),
        (True, 1e-2, TypeError, r"backbone_lr must be a float, got bool"),
        (None, 1e-2, TypeError, r"backbone_lr must be a float, got NoneType"),
        (1e-3, torch.tensor(0.1), TypeError, r"head_lr must be a float, got Tensor"),
    ],
)
def test_param_groups_rejects_bad_rates(backbone_lr, head_lr, error, match):
    with pytest.raises(error, match=match):
        param_groups(_small_model(), backbone_lr, head_lr)


def test_param_groups_accepts_a_rate_of_zero_as_torch_optim_does():
    # lr = 0 means the same everywhere in the package (_validation.check_lr): that group stays put.
    model = _small_model()
    before = [p.detach().clone() for p in model.features.parameters()]
    optimizer = torch.optim.SGD(param_groups(model, 0.0, 1e-1))
    assert [g["lr"] for g in optimizer.param_groups] == [0.0, 0.1]
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(torch.ones(2, 1, 8, 8)), torch.tensor([0, 1])).backward()
    optimizer.step()
    assert all(torch.equal(p, q) for p, q in zip(model.features.parameters(), before))


def test_param_groups_accepts_numpy_rates_as_floats():
    groups = param_groups(_small_model(), np.float32(1e-3), np.float64(1e-2))
    assert [type(g["lr"]) for g in groups] == [float, float]


@pytest.mark.parametrize("fn", [freeze, unfreeze, count_trainable], ids=lambda f: f.__name__)
def test_module_helpers_reject_non_modules(fn):
    with pytest.raises(TypeError, match=r"must be an nn.Module, got list"):
        fn([nn.Linear(1, 1)])


# ---------------------------------------------------------------- model and heads


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@settings(max_examples=30)  # each example builds a model: fewer suffice
@given(seed=st.integers(0, 2**31 - 1), num_classes=st.integers(1, 12), bias=st.booleans())
def test_replace_head_keeps_width_dtype_and_draws_as_nn_linear(dtype, seed, num_classes, bias):
    model = _small_model(dtype)
    with torch.random.fork_rng():  # without a generator: the draws of nn.Linear(..., dtype=dtype) too
        torch.manual_seed(seed)
        unseeded = replace_head(copy.deepcopy(model), num_classes).head
        torch.manual_seed(seed)
        assert torch.equal(unseeded.weight, nn.Linear(model.head.in_features, num_classes, dtype=dtype).weight)
    if not bias:
        model.head = nn.Linear(model.head.in_features, 3, bias=False, dtype=dtype)
    freeze(model)
    backbone = [p.detach().clone() for p in model.features.parameters()]
    assert replace_head(model, num_classes, generator=torch.Generator().manual_seed(seed)) is model
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref = nn.Linear(model.head.in_features, num_classes, bias=bias, dtype=dtype)
    assert model.head.weight.dtype == dtype and model.head.in_features == 3 * 16
    assert (model.head.bias is None) == (not bias)
    for p, q in zip(model.head.parameters(), ref.parameters()):
        assert torch.equal(p, q) and p.requires_grad
    assert all(torch.equal(p, q) for p, q in zip(model.features.parameters(), backbone))
    assert model(torch.zeros(2, 1, 8, 8, dtype=dtype)).shape == (2, num_classes)


@pytest.mark.parametrize(
    ("model", "num_classes", "generator", "error", "match"),
    [
        (None, 3, None, TypeError, r"model must be an nn.Module, got NoneType"),
        ("cnn", 3.0, None, TypeError, r"num_classes must be an int, got float"),
        ("cnn", -2, None, ValueError, r"Invalid num_classes: -2 \(expected >= 1\)"),
        ("cnn", 3, "seed", TypeError, r"generator must be a torch.Generator or None, got str"),
        (nn.Sequential(), 3, None, TypeError, r"expected model.head to be an nn.Linear, got NoneType"),
    ],
)
def test_replace_head_rejects_bad_input(model, num_classes, generator, error, match):
    model = _small_model() if model == "cnn" else model
    with pytest.raises(error, match=match):
        replace_head(model, num_classes, generator=generator)
