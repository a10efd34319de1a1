"""Tests for dlfoundations.models."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlfoundations.models import (
    ACTIVATION_NAMES,
    MLP,
    count_linear_parameters,
    count_parameters,
    make_activation,
    mlp_sequential,
    one_hot,
)
from dlfoundations.seed import make_generator


def _X(N: int, D: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(N, D, generator=make_generator(seed), dtype=torch.float64)


# ---------------------------------------------------------------- counting


@pytest.mark.parametrize("sizes", [[3, 1], [4, 8, 3], [10, 32, 32, 2], [784, 256, 128, 10], [5, 1, 1, 1, 5]])
def test_count_linear_parameters_matches_numel(sizes):
    model = mlp_sequential(sizes[0], sizes[1:-1], sizes[-1])
    expected = sum(p.numel() for p in model.parameters())
    assert count_linear_parameters(sizes) == expected
    assert count_parameters(model) == expected


def test_count_linear_parameters_by_hand():
    assert count_linear_parameters([4, 8, 3]) == 8 * 5 + 3 * 9
    # A formula without the bias, n * m, is caught.
    assert count_linear_parameters([4, 8, 3]) != 8 * 4 + 3 * 8


def test_count_parameters_skips_frozen_and_buffers():
    model = MLP(4, [8], 2, batch_norm=True)
    total = count_parameters(model)
    assert total == count_linear_parameters([4, 8, 2]) + 2 * 8  # BatchNorm's weight and bias
    model.net[0].weight.requires_grad_(False)
    assert count_parameters(model) == total - 8 * 4
    # Running mean/var are buffers: in the state_dict, not in the count.
    assert "net.1.running_mean" in model.state_dict()


def test_counting_validation():
    with pytest.raises(ValueError, match=r"at least 2 sizes, got 1: \[4\]"):
        count_linear_parameters([4])
    with pytest.raises(ValueError, match=r"layer_sizes\[1\] must be a positive int, got 0"):
        count_linear_parameters([4, 0, 2])
    with pytest.raises(TypeError, match="layer_sizes must be a sequence of positive ints, got int"):
        count_linear_parameters(4)
    with pytest.raises(TypeError, match="model must be an nn.Module, got list"):
        count_parameters([nn.Linear(2, 2)])


# ---------------------------------------------------------------- MLP and Sequential


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_mlp_and_sequential_agree_with_shared_weights(activation):
    torch.manual_seed(0)
    seq = mlp_sequential(5, [7, 6], 3, activation).double()
    mlp = MLP(5, [7, 6], 3, activation).double()
    assert list(mlp.state_dict()) == [f"net.{k}" for k in seq.state_dict()]
    mlp.net.load_state_dict(seq.state_dict())
    X = _X(11, 5)
    out = mlp(X)
    assert out.shape == (11, 3)
    assert torch.equal(out, seq(X))


def test_mlp_layer_order():
    model = MLP(4, [8, 6], 2, activation="tanh", dropout=0.5, batch_norm=True)
    kinds = [type(m) for m in model.net]
    assert kinds == [
        nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout,
        nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout,
        nn.Linear,
    ]  # fmt: skip
    assert isinstance(model.net, nn.Sequential)
    assert model.net[3].p == 0.5
    assert (model.net[0].in_features, model.net[0].out_features) == (4, 8)
    assert (model.net[-1].in_features, model.net[-1].out_features) == (6, 2)


def test_mlp_without_hidden_layers_is_linear():
    model = MLP(3, [], 2).double()
    X = _X(5, 3)
    assert len(model.net) == 1
    torch.testing.assert_close(model(X), X @ model.net[0].weight.T + model.net[0].bias)


def test_mlp_forward_equals_formula():
    model = MLP(3, [4], 2, activation="relu").double()
    X = _X(6, 3)
    W1, b1, W2, b2 = (p.detach() for p in model.parameters())
    expected = torch.relu(X @ W1.T + b1) @ W2.T + b2  # (N, H) @ (H, O) -> (N, O)
    torch.testing.assert_close(model(X), expected)


def test_mlp_dropout_only_in_train_mode():
    torch.manual_seed(1)
    model = MLP(4, [64], 1, dropout=0.5)
    X = torch.randn(8, 4)
    model.eval()
    assert torch.equal(model(X), model(X))
    model.train()
    assert not torch.equal(model(X), model(X))


def test_mlp_forward_validation():
    model = MLP(4, [8], 2)
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 4\), got \(4,\)"):
        model(torch.zeros(4))
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 4\), got \(3, 5\)"):
        model(torch.zeros(3, 5))
    with pytest.raises(TypeError, match="expected X to be a torch.Tensor, got list"):
        model([[0.0] * 4])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"in_features": 0}, ValueError, "in_features must be a positive int, got 0"),
        ({"in_features": 2.0}, TypeError, "in_features must be a positive int, got float"),
        ({"out_features": -1}, ValueError, "out_features must be a positive int, got -1"),
        ({"hidden_sizes": [8, 0]}, ValueError, r"hidden_sizes\[1\] must be a positive int, got 0"),
        ({"hidden_sizes": 8}, TypeError, "hidden_sizes must be a sequence of positive ints, got int"),
        ({"activation": "swish"}, ValueError, r"Unknown activation 'swish'; expected one of \('relu'"),
        ({"activation": nn.ReLU}, TypeError, "activation must be a str"),
        ({"dropout": 1.0}, ValueError, r"dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": -0.1}, ValueError, r"dropout must be in \[0, 1\), got -0.1"),
        ({"dropout": "0.5"}, TypeError, "dropout must be a float in"),
        ({"batch_norm": 1}, TypeError, "batch_norm must be a bool, got int"),
    ],
)
def test_mlp_constructor_validation(kwargs, error, message):
    args = {"in_features": 4, "hidden_sizes": [8], "out_features": 2} | kwargs
    with pytest.raises(error, match=message):
        MLP(**args)


def test_mlp_sequential_validation():
    with pytest.raises(ValueError, match="Unknown activation 'softmax'"):
        mlp_sequential(4, [8], 2, activation="softmax")


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_make_activation_matches_functional(name):
    x = _X(4, 5)
    reference = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "leaky_relu": F.leaky_relu,
        "gelu": F.gelu,
        "identity": lambda t: t,
    }[name]
    module = make_activation(name)
    torch.testing.assert_close(module(x), reference(x))
    assert count_parameters(module) == 0


def test_mlp_is_deterministic_under_a_seed():
    torch.manual_seed(3)
    a = MLP(4, [8], 2)
    torch.manual_seed(3)
    b = MLP(4, [8], 2)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


# ---------------------------------------------------------------- one-hot


@pytest.mark.parametrize(("N", "K"), [(1, 1), (10, 3), (50, 7)])
def test_one_hot_equals_pytorch(N, K):
    y = torch.randint(0, K, (N,), generator=make_generator(N + K))
    out = one_hot(y, K)
    assert out.dtype == torch.int64
    assert torch.equal(out, F.one_hot(y, K))
    assert torch.equal(out.argmax(dim=1), y)


def test_one_hot_validation():
    with pytest.raises(ValueError, match=r"expected labels in \[0, 3\), got label 3 at position 2"):
        one_hot(torch.tensor([0, 1, 3, 2]), 3)
    with pytest.raises(ValueError, match=r"got label -1 at position 0"):
        one_hot(torch.tensor([-1, 1]), 3)
    with pytest.raises(TypeError, match="expected y of dtype torch.int64, got torch.float32"):
        one_hot(torch.tensor([0.0, 1.0]), 2)
    with pytest.raises(TypeError, match="expected y of dtype torch.int64, got torch.int32"):
        one_hot(torch.tensor([0, 1], dtype=torch.int32), 2)
    with pytest.raises(ValueError, match=r"expected y of shape \(N,\), got \(2, 1\)"):
        one_hot(torch.tensor([[0], [1]]), 2)
    with pytest.raises(ValueError, match="num_classes must be a positive int, got 0"):
        one_hot(torch.tensor([0]), 0)
    with pytest.raises(TypeError, match="expected y to be a torch.Tensor, got list"):
        one_hot([0, 1], 2)



def test_reset_linear_parameters_depends_on_the_seed_alone():
    from dlfoundations.models import reset_linear_parameters_
    from dlfoundations.seed import make_generator

    a = reset_linear_parameters_(MLP(3, [5], 2), make_generator(4))
    torch.randn(100)  # draws from the global generator must not matter
    b = reset_linear_parameters_(MLP(3, [5], 2), make_generator(4))
    c = reset_linear_parameters_(MLP(3, [5], 2), make_generator(5))
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(a.net[0].weight, c.net[0].weight)
    bound = 1 / 3**0.5
    assert a.net[0].weight.abs().max() <= bound and a.net[0].bias.abs().max() <= bound


def test_reset_linear_parameters_needs_a_generator():
    from dlfoundations.models import reset_linear_parameters_

    with pytest.raises(TypeError, match="generator must be a torch.Generator, got int"):
        reset_linear_parameters_(MLP(3, [5], 2), 0)
