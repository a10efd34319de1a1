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


# ---------------------------------------------------------------- extended losses

from dlfoundations.activations import softmax_jacobian  # noqa: E402
from dlfoundations.losses import (  # noqa: E402
    bce_loss,
    bce_with_logits_loss,
    cross_entropy,
    cross_entropy_grad,
    huber_loss,
    l1_loss,
    log_softmax,
    nll_loss,
)

REDUCTIONS = ["mean", "sum", "none"]


def _pair(seed, shape=(12, 3)):
    g = make_generator(seed)
    return (
        torch.randn(shape, generator=g, dtype=torch.float64),
        torch.randn(shape, generator=g, dtype=torch.float64),
    )


def _classification(seed, N=10, K=5, scale=3.0):
    g = make_generator(seed)
    Z = scale * torch.randn(N, K, generator=g, dtype=torch.float64)
    y = torch.randint(0, K, (N,), generator=g)
    return Z, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_l1_loss_equals_pytorch(reduction):
    y_hat, y = _pair(3)
    torch.testing.assert_close(l1_loss(y_hat, y, reduction), F.l1_loss(y_hat, y, reduction=reduction))


def test_l1_loss_gradient_is_sign_over_n():
    y_hat, y = _pair(4)
    y_hat.requires_grad_(True)
    (grad,) = torch.autograd.grad(l1_loss(y_hat, y), y_hat)
    torch.testing.assert_close(grad, torch.sign(y_hat.detach() - y) / y.numel())
    # The MSE gradient is not sign/n: the comparison can fail.
    (mse_grad,) = torch.autograd.grad(mse_loss(y_hat, y), y_hat)
    assert not torch.allclose(mse_grad, grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_loss_equals_pytorch(reduction, delta):
    y_hat, y = _pair(5)
    y_hat = 2 * y_hat  # residuals on both sides of delta
    torch.testing.assert_close(
        huber_loss(y_hat, y, reduction, delta=delta), F.huber_loss(y_hat, y, reduction=reduction, delta=delta)
    )


def test_huber_loss_refuses_bad_delta():
    with pytest.raises(ValueError, match="positive finite delta, got -1.0"):
        huber_loss(torch.zeros(2), torch.zeros(2), delta=-1.0)
    with pytest.raises(TypeError, match="delta to be a float, got str"):
        huber_loss(torch.zeros(2), torch.zeros(2), delta="1")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_loss_equals_pytorch(reduction):
    g = make_generator(6)
    y_hat = torch.rand(20, 1, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
    y = torch.rand(20, 1, generator=g, dtype=torch.float64)  # soft labels too
    y[:10] = y[:10].round()
    torch.testing.assert_close(bce_loss(y_hat, y, reduction), F.binary_cross_entropy(y_hat, y, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_equals_pytorch_and_naive(reduction):
    g = make_generator(7)
    Z = 4 * torch.randn(20, 2, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (20, 2), generator=g).to(torch.float64)
    ours = bce_with_logits_loss(Z, y, reduction)
    torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(Z, y, reduction=reduction))
    # In float64 at moderate logits the naive sigmoid-then-log form agrees too.
    torch.testing.assert_close(ours, bce_loss(torch.sigmoid(Z), y, reduction))


def test_bce_with_logits_gradient_is_sigmoid_minus_y_over_n():
    g = make_generator(8)
    Z = torch.randn(9, 1, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 2, (9, 1), generator=g).to(torch.float64)
    (grad,) = torch.autograd.grad(bce_with_logits_loss(Z, y), Z)
    torch.testing.assert_close(grad, (torch.sigmoid(Z.detach()) - y) / 9)
    assert torch.autograd.gradcheck(lambda z: bce_with_logits_loss(z, y), (Z,))


@pytest.mark.parametrize("y_value", [0.0, 1.0])
def test_bce_with_logits_is_stable_where_naive_fails(y_value):
    Z = torch.tensor([-100.0, -40.0, 40.0, 100.0])  # float32
    y = torch.full_like(Z, y_value)
    exact = bce_with_logits_loss(Z.double(), y.double(), "none")  # float64 reference
    stable = bce_with_logits_loss(Z, y, "none")
    assert torch.isfinite(stable).all()
    torch.testing.assert_close(stable.double(), exact, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(stable, F.binary_cross_entropy_with_logits(Z, y, reduction="none"))
    naive = bce_loss(torch.sigmoid(Z), y, "none")
    # The naive form fails at z = -100, 40, 100 for either label: sigmoid rounds
    # to exactly 0 or 1 in float32, then log(0) = -inf (and 0 * -inf = nan).
    assert not torch.isfinite(naive[[0, 2, 3]]).any()
    assert torch.isfinite(naive[1])  # at z = -40 float32 still resolves sigmoid(z)


def test_pytorch_clamped_bce_is_finite_but_wrong():
    Z = torch.tensor([-200.0])
    y = torch.ones(1)
    clamped = F.binary_cross_entropy(torch.sigmoid(Z), y)  # log clamped at -100
    assert clamped.item() == pytest.approx(100.0)
    assert bce_with_logits_loss(Z, y).item() == pytest.approx(200.0)


def test_bce_loss_refuses_values_outside_unit_interval():
    with pytest.raises(ValueError, match=r"probabilities y_hat in \[0, 1\], got 1.5"):
        bce_loss(torch.tensor([0.5, 1.5]), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("fn", [l1_loss, huber_loss, bce_loss, bce_with_logits_loss])
def test_elementwise_losses_validate(fn):
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"^{name} expected y_hat and y of the same shape, got y_hat \(4, 1\) and y \(4,\)"):
        fn(torch.full((4, 1), 0.5), torch.zeros(4))
    with pytest.raises(TypeError, match=rf"{name} expected y_hat to be a floating tensor, got dtype torch.int64"):
        fn(torch.zeros(4, dtype=torch.int64), torch.zeros(4))
    with pytest.raises(TypeError, match=rf"{name} expected y to be a floating tensor, got dtype torch.int64"):
        fn(torch.full((4,), 0.5), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(TypeError, match="y_hat to be a torch.Tensor, got list"):
        fn([0.5], torch.zeros(1))
    with pytest.raises(ValueError, match="reduction must be one of .* got 'avg'"):
        fn(torch.full((4,), 0.5), torch.zeros(4), reduction="avg")


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax_equals_pytorch(dim):
    Z, _ = _classification(9, N=6, K=4)
    torch.testing.assert_close(log_softmax(Z, dim), F.log_softmax(Z, dim=dim))


def test_log_softmax_gradient_equals_pytorch():
    Z, _ = _classification(10)
    Z.requires_grad_(True)
    w = torch.randn(Z.shape, generator=make_generator(11), dtype=torch.float64)
    (ours,) = torch.autograd.grad((log_softmax(Z) * w).sum(), Z)
    (theirs,) = torch.autograd.grad((F.log_softmax(Z, dim=-1) * w).sum(), Z)
    torch.testing.assert_close(ours, theirs)


def test_log_softmax_is_stable_where_naive_fails():
    Z = torch.tensor([[120.0, 0.0, -120.0], [-120.0, -130.0, -240.0]])  # float32
    naive = torch.log(torch.exp(Z) / torch.exp(Z).sum(dim=1, keepdim=True))
    assert not torch.isfinite(naive).any()  # inf/inf and 0/0: all nan
    ours = log_softmax(Z)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, F.log_softmax(Z, dim=1))
    torch.testing.assert_close(ours.double(), F.log_softmax(Z.double(), dim=1), rtol=1e-6, atol=1e-5)


def test_log_softmax_validates():
    with pytest.raises(TypeError, match="floating tensor, got dtype torch.int64"):
        log_softmax(torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="at least 1 dimension, got a 0-d tensor"):
        log_softmax(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"dim in \[-2, 1\] for a 2-d Z, got 2"):
        log_softmax(torch.zeros(2, 3), dim=2)
    with pytest.raises(TypeError, match="dim to be an int, got float"):
        log_softmax(torch.zeros(2, 3), dim=1.0)
    with pytest.raises(TypeError, match="Z to be a torch.Tensor, got list"):
        log_softmax([1.0, 2.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_and_cross_entropy_equal_pytorch(reduction):
    Z, y = _classification(12)
    log_y_hat = F.log_softmax(Z, dim=1)
    torch.testing.assert_close(nll_loss(log_y_hat, y, reduction), F.nll_loss(log_y_hat, y, reduction=reduction))
    torch.testing.assert_close(cross_entropy(Z, y, reduction), F.cross_entropy(Z, y, reduction=reduction))


def test_cross_entropy_is_stable_at_extreme_logits():
    Z = torch.tensor([[200.0, 0.0, -200.0], [-300.0, -310.0, -400.0]])  # float32
    y = torch.tensor([2, 1])
    ours = cross_entropy(Z, y, "none")
    torch.testing.assert_close(ours, F.cross_entropy(Z, y, reduction="none"))
    torch.testing.assert_close(ours, torch.tensor([400.0, 10.0]), rtol=1e-6, atol=1e-3)
    naive = -torch.log(torch.exp(Z) / torch.exp(Z).sum(dim=1, keepdim=True))[torch.arange(2), y]
    assert not torch.isfinite(naive).any()


def test_module_pair_equals_cross_entropy_module():
    Z, y = _classification(13)
    pair = torch.nn.NLLLoss()(torch.nn.LogSoftmax(dim=1)(Z), y)
    torch.testing.assert_close(pair, torch.nn.CrossEntropyLoss()(Z, y))
    torch.testing.assert_close(pair, cross_entropy(Z, y))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", [14, 15, 16])
def test_cross_entropy_grad_equals_autograd(reduction, seed):
    Z, y = _classification(seed)
    Z.requires_grad_(True)
    (autograd,) = torch.autograd.grad(F.cross_entropy(Z, y, reduction=reduction), Z)
    torch.testing.assert_close(cross_entropy_grad(Z.detach(), y, reduction), autograd)
    assert torch.autograd.gradcheck(lambda z: cross_entropy(z, y, reduction), (Z,))


def test_cross_entropy_grad_catches_a_wrong_variant():
    # Forgetting the 1/N of the mean gives a gradient N times too large: the check must catch it.
    Z, y = _classification(17, N=8)
    Z.requires_grad_(True)
    (autograd,) = torch.autograd.grad(cross_entropy(Z, y), Z)
    wrong = cross_entropy_grad(Z.detach(), y, "sum")  # (Y_hat - Y) without / N
    with pytest.raises(AssertionError):
        torch.testing.assert_close(wrong, autograd)
    # A sign error is caught too.
    with pytest.raises(AssertionError):
        torch.testing.assert_close(-cross_entropy_grad(Z.detach(), y), autograd)


def test_cross_entropy_grad_via_softmax_jacobian():
    # The chain rule through the softmax Jacobian (eq-loss-chain) gives the same (Y_hat - Y) rows.
    Z, y = _classification(18, N=4, K=3)
    y_hat = torch.softmax(Z, dim=1)
    dL_dy_hat = -F.one_hot(y, 3).to(Z.dtype) / y_hat  # (N, K): d(-log y_hat_y)/d y_hat
    J = softmax_jacobian(Z)  # (N, K, K)
    chain = (J.transpose(1, 2) @ dL_dy_hat.unsqueeze(2)).squeeze(2)  # (N, K, K) @ (N, K, 1) -> (N, K)
    torch.testing.assert_close(chain, cross_entropy_grad(Z, y, "sum"))


def test_class_target_validation():
    Z = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"class indices in \[0, 4\) for K=4 classes, got 7 at index 1"):
        cross_entropy(Z, torch.tensor([0, 7, 1]))
    with pytest.raises(ValueError, match=r"class indices in \[0, 4\) for K=4 classes, got -1 at index 2"):
        nll_loss(Z, torch.tensor([0, 1, -1]))
    with pytest.raises(TypeError, match="class indices of dtype torch.int64, got dtype torch.float32"):
        cross_entropy(Z, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"expected y of shape \(3,\), got \(3, 1\)"):
        cross_entropy(Z, torch.tensor([[0], [1], [2]]))
    with pytest.raises(ValueError, match=r"cross_entropy expected Z of shape \(N, K\), got \(4,\)"):
        cross_entropy(torch.zeros(4), torch.tensor([1]))
    with pytest.raises(ValueError, match=r"nll_loss expected log_y_hat of shape \(N, K\), got \(2, 3, 4\)"):
        nll_loss(torch.zeros(2, 3, 4), torch.tensor([1, 0]))
    with pytest.raises(TypeError, match="cross_entropy expected Z to be a floating tensor, got dtype torch.int64"):
        cross_entropy(torch.zeros(3, 4, dtype=torch.int64), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="y to be a torch.Tensor, got list"):
        cross_entropy(Z, [0, 1, 2])
    with pytest.raises(ValueError, match="reduction must be one of"):
        cross_entropy(Z, torch.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="reduction 'mean' or 'sum', got 'none'"):
        cross_entropy_grad(Z, torch.tensor([0, 1, 2]), reduction="none")
