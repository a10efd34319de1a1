"""Tests for dlfoundations.losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dlfoundations.losses import check_same_shape, mse_loss
from dlfoundations.seed import make_generator


@pytest.mark.parametrize("shape", [(1,), (17, 1), (8, 3), (2, 3, 4)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_equals_pytorch(shape, reduction):
    g = make_generator(0)
    y_hat = torch.randn(shape, generator=g, dtype=torch.float64)
    y = torch.randn(shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close(mse_loss(y_hat, y, reduction), F.mse_loss(y_hat, y, reduction=reduction))


def test_mse_loss_gradient_equals_pytorch():
    g = make_generator(1)
    y_hat = torch.randn(10, 2, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(10, 2, generator=g, dtype=torch.float64)
    (ours,) = torch.autograd.grad(mse_loss(y_hat, y), y_hat)
    (theirs,) = torch.autograd.grad(F.mse_loss(y_hat, y), y_hat)
    torch.testing.assert_close(ours, theirs)
    assert torch.autograd.gradcheck(lambda t: mse_loss(t, y), (y_hat,))


def test_mse_loss_refuses_the_broadcast_bug():
    y_hat = torch.zeros(5, 1)
    y = torch.zeros(5)
    with pytest.raises(ValueError, match=r"got y_hat \(5, 1\) and y \(5,\)"):
        mse_loss(y_hat, y)
    with pytest.raises(ValueError, match=r"got y_hat \(5,\) and y \(5, 1\)"):
        mse_loss(y, y_hat)


def test_broadcast_bug_really_gives_a_wrong_number():
    # The reason mse_loss refuses: the broadcast difference is (N, N) and its mean differs.
    g = make_generator(2)
    y_hat = torch.randn(6, 1, generator=g, dtype=torch.float64)
    y = torch.randn(6, 1, generator=g, dtype=torch.float64)
    broadcast = (y_hat - y.squeeze(1)) ** 2
    assert broadcast.shape == (6, 6)
    assert not torch.isclose(broadcast.mean(), mse_loss(y_hat, y))


def test_mse_loss_refuses_non_tensors():
    with pytest.raises(TypeError, match="y_hat to be a torch.Tensor, got list"):
        mse_loss([1.0, 2.0], torch.zeros(2))
    with pytest.raises(TypeError, match="y to be a torch.Tensor, got ndarray"):
        import numpy as np

        mse_loss(torch.zeros(2), np.zeros(2))


def test_mse_loss_refuses_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        mse_loss(torch.zeros(2), torch.zeros(2), reduction="avg")


def test_check_same_shape_uses_the_callers_name():
    with pytest.raises(ValueError, match=r"^my_loss expected"):
        check_same_shape(torch.zeros(2, 1), torch.zeros(2), "my_loss")
    check_same_shape(torch.zeros(2, 1), torch.ones(2, 1))  # equal shapes pass silently
