"""Property tests: dlfoundations.debug at the edges.

Gradient accumulation equals the full batch's gradient (values to round-off, float64) for every batch
size and micro-batch size, including micro-batches of one sample, a last micro-batch of one sample and
micro-batches larger than the batch, with cross-entropy and with MSE; update ratios equal
||lr * g|| / ||theta|| for SGD, including parameters that do not move; the dead fraction counts exactly
the units that are zero for every sample.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch import nn

from dlfoundations.debug import LayerStats, accumulate_gradients, snapshot_parameters, update_ratios


def _pair(seed: int, D: int, H: int, O: int):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, O)).double()
    twin = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, O)).double()
    twin.load_state_dict(model.state_dict())
    return model, twin


@settings(max_examples=30, deadline=None)
@given(N=st.integers(1, 17), micro=st.integers(1, 20), seed=st.integers(0, 2**16), regression=st.booleans())
def test_accumulation_equals_full_batch(N, micro, seed, regression):
    model, twin = _pair(seed, 3, 5, 1 if regression else 4)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N, 3, generator=g, dtype=torch.float64)
    if regression:
        y, loss_fn = torch.randn(N, 1, generator=g, dtype=torch.float64), F.mse_loss
    else:
        y, loss_fn = torch.randint(0, 4, (N,), generator=g), F.cross_entropy
    loss = accumulate_gradients(model, X, y, loss_fn, micro)
    full = loss_fn(twin(X), y)
    full.backward()
    assert math.isclose(loss, full.item(), rel_tol=1e-12, abs_tol=1e-15)
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-6, 10.0), seed=st.integers(0, 2**16), freeze_bias=st.booleans())
def test_update_ratios_match_sgd_formula(lr, seed, freeze_bias):
    model, _ = _pair(seed, 3, 5, 2)
    if freeze_bias:
        with torch.no_grad():
            model[2].bias.zero_()  # a parameter of norm zero
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    before = snapshot_parameters(model)
    X = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    F.cross_entropy(model(X), torch.zeros(6, dtype=torch.int64)).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    optimizer.step()
    ratios = update_ratios(model, before)
    for name, old in before.items():
        step, norm = (lr * grads[name]).norm().item(), old.norm().item()
        if norm == 0:
            assert math.isinf(ratios[name]) or math.isnan(ratios[name])
        else:
            assert ratios[name] == pytest.approx(step / norm, rel=1e-9, abs=1e-300)


@settings(max_examples=25, deadline=None)
@given(N=st.integers(1, 9), H=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_dead_fraction_counts_units_zero_on_every_sample(N, H, seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, H), nn.ReLU(), nn.Linear(H, 1)).double()
    X = torch.randn(N, 2, dtype=torch.float64)
    with LayerStats(model) as stats:
        A = model[1](model[0](X))
    expected = sum(bool((A[:, j] == 0).all()) for j in range(H)) / H
    assert stats.dead_fraction["1"] == pytest.approx(expected)
