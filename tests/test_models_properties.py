"""Property-based tests for dlfoundations.models against torch.nn and F.one_hot at the edges.

Sizes include 1 and (where torch allows it) 0, hidden stacks may be empty, inputs
include 0, tiny, ±max, NaN and ±inf, batches may be empty or a single example, in
float32 and float64; values and autograd gradients of the MLP are compared with the
same layers applied by hand.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import DTYPES, assert_same, tensors
from torch import nn

from dlfoundations.models import (
    ACTIVATION_NAMES,
    MLP,
    count_linear_parameters,
    count_parameters,
    make_activation,
    mlp_sequential,
    one_hot,
    reset_linear_parameters_,
)

FUNCTIONAL = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "leaky_relu": F.leaky_relu,
              "gelu": F.gelu, "identity": lambda Z: Z}
SIZES = st.integers(1, 4)


@given(D=SIZES, hidden=st.lists(SIZES, max_size=3), O=SIZES)
def test_count_linear_parameters_equals_numel_of_the_built_networks(D, hidden, O):  # noqa: E741
    expected = count_linear_parameters([D, *hidden, O])
    assert count_parameters(mlp_sequential(D, hidden, O)) == expected
    assert count_parameters(MLP(D, hidden, O)) == expected
    assert sum(p.numel() for p in MLP(D, hidden, O).parameters()) == expected


@settings(max_examples=40)
@given(dtype=st.sampled_from(DTYPES), D=SIZES, hidden=st.lists(SIZES, max_size=2), O=SIZES,
       activation=st.sampled_from(ACTIVATION_NAMES), N=st.integers(0, 3), data=st.data())
def test_mlp_equals_its_layers_by_hand_on_values_and_gradients(dtype, D, hidden, O, activation, N, data):  # noqa: E741
    model = MLP(D, hidden, O, activation).to(dtype)
    sequential = mlp_sequential(D, hidden, O, activation).to(dtype)
    sequential.load_state_dict(model.net.state_dict())  # the same keys, the same layers
    X = data.draw(tensors(dtype, shape=(N, D)))
    f = FUNCTIONAL[activation]
    linears = [m for m in model.net if isinstance(m, nn.Linear)]

    def by_hand(X):
        A = X
        for i, layer in enumerate(linears):
            A = F.linear(A, layer.weight, layer.bias)  # (N, fan_in) -> (N, fan_out)
            if i < len(linears) - 1:
                A = f(A)
        return A

    out = model(X)
    assert out.dtype == dtype and out.shape == (N, O)
    assert_same(out, by_hand(X))  # NaN and inf where the layers put them
    assert_same(sequential(X), out)
    leaf = X.clone().requires_grad_(True)
    (g_model,) = torch.autograd.grad(model(leaf).sum(), leaf)
    leaf2 = X.clone().requires_grad_(True)
    (g_hand,) = torch.autograd.grad(by_hand(leaf2).sum(), leaf2)
    assert_same(g_model, g_hand)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@given(Z=tensors(torch.float64))
def test_make_activation_equals_the_functional_form(name, Z):
    assert_same(make_activation(name)(Z), FUNCTIONAL[name](Z))


@given(N=st.integers(0, 6), K=st.integers(1, 5), data=st.data())
def test_one_hot_equals_torch_with_absent_classes_and_empty_batches(N, K, data):
    y = torch.tensor(data.draw(st.lists(st.integers(0, K - 1), min_size=N, max_size=N)), dtype=torch.int64)
    Y = one_hot(y, K)
    expected = F.one_hot(y, K)
    assert Y.dtype == torch.int64 and Y.shape == (N, K)  # K columns even when the largest class is absent
    assert torch.equal(Y, expected)


@given(y=st.lists(st.integers(-3, 6), min_size=1, max_size=5), K=st.integers(1, 4))
def test_one_hot_rejects_out_of_range_labels_as_documented(y, K):
    """Note in the docstring: ValueError naming the first bad label and its position (F.one_hot: RuntimeError)."""
    y = torch.tensor(y)
    bad = [(i, v) for i, v in enumerate(y.tolist()) if not 0 <= v < K]
    if not bad:
        assert torch.equal(one_hot(y, K), F.one_hot(y, K))
        return
    i, v = bad[0]
    with pytest.raises(ValueError, match=rf"got label {v} at position {i}"):
        one_hot(y, K)
    with pytest.raises(RuntimeError):
        F.one_hot(y, K)


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
@given(seed=st.integers(0, 2**31 - 1), in_features=st.integers(0, 5), out_features=st.integers(0, 3),
       bias=st.booleans(), dtype=st.sampled_from(DTYPES))
def test_reset_linear_parameters_equals_linear_reset_parameters(seed, in_features, out_features, bias, dtype):
    """The same draws as nn.Linear.reset_parameters from an equally seeded generator, for every size,
    including in_features = 0 (a zero bias, no ZeroDivisionError) and empty layers."""
    ours = nn.Linear(in_features, out_features, bias=bias, dtype=dtype)
    theirs = nn.Linear(in_features, out_features, bias=bias, dtype=dtype)
    generator = torch.Generator().manual_seed(seed)
    reset_linear_parameters_(nn.Sequential(ours), generator)
    state = torch.get_rng_state()
    try:
        torch.manual_seed(seed)
        theirs.reset_parameters()
        assert torch.equal(generator.get_state(), torch.get_rng_state())  # as many draws
    finally:
        torch.set_rng_state(state)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p, q)


# ---------------------------------------------------------------- bad input and mixed dtypes


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: MLP(3, [4], 2)(torch.zeros(2, 3, dtype=torch.float64)), TypeError,
         r"expected X of dtype torch.float32 \(the model's\), got torch.float64"),
        (lambda: MLP(3, [4], 2).double()(torch.zeros(2, 3)), TypeError,
         r"expected X of dtype torch.float64 \(the model's\), got torch.float32"),
        (lambda: MLP(3, [], 2)(torch.zeros(2, 3, dtype=torch.int64)), TypeError, "got torch.int64"),
        (lambda: MLP(3, [4], 2)(torch.zeros(2, 3, 1)), ValueError, r"expected X of shape \(N, 3\), got \(2, 3, 1\)"),
        (lambda: MLP(3, [4], 2)([[0.0] * 3]), TypeError, "expected X to be a torch.Tensor, got list"),
        (lambda: MLP(3, [4], 2, dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
        (lambda: MLP(3, [4], 2, dropout=math.nan), ValueError, r"dropout must be in \[0, 1\), got nan"),
        (lambda: MLP(3, [4], 2, batch_norm=1), TypeError, "batch_norm must be a bool, got int"),
        (lambda: MLP(3, "44", 2), TypeError, "hidden_sizes must be a sequence of positive ints, got str"),
        (lambda: MLP(3, [4, 0], 2), ValueError, r"hidden_sizes\[1\] must be a positive int, got 0"),
        (lambda: MLP(3, [4.0], 2), TypeError, r"hidden_sizes\[0\] must be a positive int, got float"),
        (lambda: MLP(0, [4], 2), ValueError, "in_features must be a positive int, got 0"),
        (lambda: mlp_sequential(3, [4], True), TypeError, "out_features must be a positive int, got bool"),
        (lambda: make_activation("swish"), ValueError, "Unknown activation 'swish'; expected one of"),
        (lambda: make_activation(None), TypeError, "activation must be a str"),
        (lambda: count_linear_parameters([3]), ValueError, "layer_sizes must have at least 2 sizes, got 1"),
        (lambda: count_parameters("model"), TypeError, "model must be an nn.Module, got str"),
        (lambda: one_hot(torch.tensor([0, 1], dtype=torch.int32), 2), TypeError,
         "expected y of dtype torch.int64, got torch.int32"),
        (lambda: one_hot(torch.tensor([[0, 1]]), 2), ValueError, r"expected y of shape \(N,\), got \(1, 2\)"),
        (lambda: one_hot(torch.tensor([0, 1]), -1), ValueError, "num_classes must be a positive int, got -1"),
        (lambda: reset_linear_parameters_(nn.Linear(2, 2), 0), TypeError, "generator must be a torch.Generator, got int"),
    ],
)
def test_bad_input_raises_naming_expected_and_received(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_dropout_one_is_accepted_by_torch_and_refused_as_documented():
    nn.Dropout(1.0)  # torch accepts
    with pytest.raises(ValueError):
        MLP(2, [2], 1, dropout=1.0)
