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
