"""Tests of dlfoundations.debug: hooks, update ratios, overfitting one batch, the LR range test, memory."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from dlfoundations.debug import (
    LayerStats,
    SavedTensorMeter,
    accumulate_gradients,
    lr_range_test,
    overfit_one_batch,
    snapshot_parameters,
    update_ratios,
)


def _mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3)).to(dtype)


def _data(n=20, seed=1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def test_layer_stats_match_manual_computation_and_remove_hooks():
    model, (X, y) = _mlp(), _data()
    with LayerStats(model) as stats:
        y_hat = model(X)
        F.cross_entropy(y_hat, y).backward()
    assert stats.names == ["1", "3"]
    A1 = model[1](model[0](X))  # (N, 8)
    assert stats.dead_fraction["1"] == pytest.approx((A1 == 0).all(0).double().mean().item())
    assert stats.activation_std["1"] == pytest.approx(A1.std(correction=0).item())
    # the gradient with respect to the ReLU output, from autograd directly
    A1 = A1.detach().requires_grad_(True)
    grad, = torch.autograd.grad(F.cross_entropy(model[2:](A1), y), A1)
    assert stats.grad_std["1"] == pytest.approx(grad.std(correction=0).item())
    # hooks gone: a new forward pass changes nothing
    stats.dead_fraction.clear()
    model(X)
    assert stats.dead_fraction == {}
    assert all(len(m._forward_hooks) == 0 and len(m._backward_hooks) == 0 for m in model)


def test_layer_stats_counts_a_dead_unit():
    model, (X, _) = _mlp(), _data()
    with torch.no_grad():
        model[0].bias[:4] = -1e6  # four of eight units never fire
    with LayerStats(model) as stats:
        model(X)
    assert stats.dead_fraction["1"] == pytest.approx(0.5, abs=0.125 + 1e-12) and stats.dead_fraction["1"] >= 0.5


def test_layer_stats_removes_hooks_after_error():
    model = _mlp()
    with pytest.raises(RuntimeError), LayerStats(model):
        model(torch.randn(2, 4, dtype=torch.float64))
    assert all(len(m._forward_hooks) == 0 for m in model)


def test_layer_stats_refuses_bad_input():
    with pytest.raises(TypeError, match="nn.Module"):
        LayerStats("model")
    with pytest.raises(ValueError, match="Tanh"):
        LayerStats(_mlp(), nn.Tanh)
    with pytest.raises(TypeError, match="activation_type"):
        LayerStats(_mlp(), int)


def test_update_ratios_equal_lr_times_grad_norm_over_param_norm():
    model, (X, y) = _mlp(), _data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = snapshot_parameters(model)
    F.cross_entropy(model(X), y).backward()
    expected = {n: (0.1 * p.grad.norm() / p.detach().norm()).item() for n, p in model.named_parameters()}
    opt.step()
    ratios = update_ratios(model, before)
    assert ratios.keys() == expected.keys()
    for n in expected:
        assert ratios[n] == pytest.approx(expected[n], rel=1e-10)


def test_update_ratios_refuses_mismatch():
    model = _mlp()
    with pytest.raises(ValueError, match="unknown name"):
        update_ratios(model, {"w": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"0.weight of shape \(8, 5\)"):
        update_ratios(model, {"0.weight": torch.zeros(2)})
    with pytest.raises(TypeError, match="dict"):
        update_ratios(model, [1])
    with pytest.raises(TypeError, match="nn.Module"):
        snapshot_parameters(3)


def test_overfit_one_batch_drives_loss_down_and_matches_manual_loop():
    X, y = _data(n=8)
    model, twin = _mlp(), _mlp()
    losses = overfit_one_batch(model, X, y, F.cross_entropy, torch.optim.Adam(model.parameters(), lr=0.05), 150)
    assert losses.shape == (150,) and losses.dtype == torch.float64
    assert losses[-1] < 0.05 * losses[0]
    opt = torch.optim.Adam(twin.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(twin(X), y).backward()
        opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q)


def test_overfit_one_batch_refuses_bad_input():
    model, (X, y) = _mlp(), _data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="same number of samples"):
        overfit_one_batch(model, X, y[:3], F.cross_entropy, opt, 2)
    with pytest.raises(ValueError, match="num_steps"):
        overfit_one_batch(model, X, y, F.cross_entropy, opt, 0)
    with pytest.raises(TypeError, match="optimizer"):
        overfit_one_batch(model, X, y, F.cross_entropy, "sgd", 2)
    with pytest.raises(TypeError, match="loss_fn"):
        overfit_one_batch(model, X, y, None, opt, 2)


def test_lr_range_test_geometric_rates_restores_state_and_stops_on_divergence():
    model, (X, y) = _mlp(), _data(n=40)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loader = [(X[:20], y[:20]), (X[20:], y[20:])]
    result = lr_range_test(model, loader, opt, F.cross_entropy, lr_min=1e-4, lr_max=1e4, num_steps=50)
    S = len(result.lrs)
    assert 2 <= S < 50  # a rate of 1e4 diverges
    expected = 1e-4 * (1e8 ** (1 / 49)) ** torch.arange(S, dtype=torch.float64)
    torch.testing.assert_close(result.lrs, expected)
    last = result.losses[-1]
    assert not math.isfinite(last) or last > 4 * result.losses[:-1].min()
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert opt.param_groups[0]["lr"] == 0.01 and opt.state_dict()["state"] == {}


def test_lr_range_test_refuses_bad_input():
    model, (X, y) = _mlp(), _data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr_max"):
        lr_range_test(model, [(X, y)], opt, F.cross_entropy, lr_min=1.0, lr_max=0.5)
    with pytest.raises(ValueError, match="lr_min"):
        lr_range_test(model, [(X, y)], opt, F.cross_entropy, lr_min=0.0)
    with pytest.raises(ValueError, match="num_steps"):
        lr_range_test(model, [(X, y)], opt, F.cross_entropy, num_steps=1)
    with pytest.raises(ValueError, match="at least one"):
        lr_range_test(model, [], opt, F.cross_entropy)


@pytest.mark.parametrize("micro_batch_size", [1, 3, 7, 20, 50])
def test_accumulate_gradients_equals_the_full_batch(micro_batch_size):
    model, twin, (X, y) = _mlp(), _mlp(), _data()
    loss = accumulate_gradients(model, X, y, F.cross_entropy, micro_batch_size)
    full = F.cross_entropy(twin(X), y)
    full.backward()
    assert loss == pytest.approx(full.item(), rel=1e-12)
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-14)


def test_accumulate_gradients_regression_and_zeroes_old_grads():
    model, twin = nn.Linear(5, 1).double(), nn.Linear(5, 1).double()
    twin.load_state_dict(model.state_dict())
    X, _ = _data()
    y = X.sum(1, keepdim=True)
    for p in model.parameters():
        p.grad = torch.full_like(p, 100.0)  # stale gradients must not leak in
    accumulate_gradients(model, X, y, F.mse_loss, 6)
    F.mse_loss(twin(X), y).backward()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_accumulate_gradients_refuses_bad_input():
    model, (X, y) = _mlp(), _data()
    with pytest.raises(ValueError, match="micro_batch_size"):
        accumulate_gradients(model, X, y, F.cross_entropy, 0)
    with pytest.raises(TypeError, match="tensors"):
        accumulate_gradients(model, X, [1], F.cross_entropy, 2)
    with pytest.raises(ValueError, match="non-empty"):
        accumulate_gradients(model, X[:0], y[:0], F.cross_entropy, 2)


def test_saved_tensor_meter_counts_activations_and_checkpointing_saves_less():
    torch.manual_seed(0)
    blocks = nn.ModuleList(nn.Sequential(nn.Linear(16, 16), nn.ReLU()) for _ in range(4))
    X = torch.randn(32, 16)
    params = list(blocks.parameters())

    def run(use_checkpoint):
        with SavedTensorMeter(exclude=params) as meter:
            A = X
            for block in blocks:
                A = checkpoint(block, A, use_reentrant=False) if use_checkpoint else block(A)
        A.sum().backward()
        return meter

    plain, ckpt = run(False), run(True)
    # plain: each Linear saves its input, each ReLU its output, which is the next Linear's input:
    # five distinct (32, 16) float32 storages (X and the four ReLU outputs)
    assert plain.saved_bytes == 5 * 32 * 16 * 4
    # checkpointed: only the inputs of the four blocks
    assert ckpt.saved_bytes == 4 * 32 * 16 * 4
    assert plain.num_saved > ckpt.num_saved


def test_saved_tensor_meter_counts_parameters_unless_excluded_and_refuses_non_tensors():
    w = torch.randn(3, requires_grad=True)
    with SavedTensorMeter() as meter:
        (w * w).sum()
    assert meter.saved_bytes == 3 * 4 and meter.num_saved == 2
    with SavedTensorMeter(exclude=[w]) as meter:
        (w * w).sum()
    assert meter.saved_bytes == 0
    with pytest.raises(TypeError, match="tensors"):
        SavedTensorMeter(exclude=[1.0])
