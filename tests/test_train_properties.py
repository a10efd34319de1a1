"""Property-based tests for dlfoundations.train: fit, evaluate and early stopping at the edges.

``fit`` is compared with the bare five-line loop of pytorch/examples, and ``evaluate`` with
``reduction="sum"`` divided by the number of samples, on Hypothesis-drawn data (entries with
0, tiny, huge, NaN and ±inf), batch sizes from 1 to more than the data, empty batches, a
step budget, float32 and float64. Early stopping is compared with its definition on loss
sequences with ties, NaN and ±inf.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import DTYPES, assert_same, finite_tensors, tensors
from torch import nn

from dlfoundations.train import EarlyStopping, History, evaluate, fit, train_one_epoch


@st.composite
def problems(draw, finite: bool = False):
    """A linear model and batches of (X, y), some of them empty, in float32 or float64."""
    dtype = draw(st.sampled_from(DTYPES))
    N = draw(st.integers(1, 10))
    D = draw(st.integers(1, 3))
    draw_tensor = finite_tensors if finite else tensors
    X = draw(draw_tensor(dtype, shape=(N, D)) if not finite else finite_tensors(dtype, bound=10.0, shape=(N, D)))
    y = draw(draw_tensor(dtype, shape=(N, 1)) if not finite else finite_tensors(dtype, bound=10.0, shape=(N, 1)))
    batch_size = draw(st.integers(1, N + 2))
    batches = [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, N, batch_size)]
    for _ in range(draw(st.integers(0, 2))):  # empty batches, anywhere
        batches.insert(draw(st.integers(0, len(batches))), (X[:0], y[:0]))
    model = nn.Linear(D, 1).to(dtype)
    with torch.no_grad():
        model.weight.copy_(draw(finite_tensors(dtype, bound=2.0, shape=(1, D))))
        model.bias.copy_(draw(finite_tensors(dtype, bound=2.0, shape=(1,))))
    return model, batches, dtype


OPTIMIZERS = st.sampled_from([
    (torch.optim.SGD, dict(lr=0.0)),
    (torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    (torch.optim.Adam, dict(lr=0.01)),
])


def _hand_loop(model, batches, optimizer, num_epochs, max_steps):
    """The bare loop: five lines per batch, over the batches that hold samples."""
    steps, losses = 0, []
    for _ in range(num_epochs):
        model.train()
        total, n = 0.0, 0
        for X, y in batches:
            if max_steps is not None and steps >= max_steps:
                break
            if len(X) == 0:
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(model(X), y)
            loss.backward()
            optimizer.step()
            total, n, steps = total + loss.item() * len(X), n + len(X), steps + 1
        losses.append(total / n)
        if max_steps is not None and steps >= max_steps:
            break
    return losses, steps


@settings(max_examples=40)
@given(problem=problems(), opt=OPTIMIZERS, num_epochs=st.integers(1, 3),
       max_steps=st.one_of(st.none(), st.integers(1, 6)))
def test_fit_equals_the_bare_loop_with_empty_batches_and_a_step_budget(problem, opt, num_epochs, max_steps):
    model, batches, dtype = problem
    twin = copy.deepcopy(model)
    cls, kwargs = opt
    history = fit(model, batches, cls(model.parameters(), **kwargs, foreach=False), nn.MSELoss(), num_epochs,
                  max_steps=max_steps)
    losses, steps = _hand_loop(twin, batches, cls(twin.parameters(), **kwargs, foreach=False), num_epochs, max_steps)
    assert history.num_steps == steps
    assert len(history.train_loss) == len(losses)
    assert_same(torch.tensor(history.train_loss, dtype=torch.float64), torch.tensor(losses, dtype=torch.float64),
                rtol=0.0, atol=0.0)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert p.dtype == dtype
        assert_same(p.detach(), q.detach(), rtol=0.0, atol=0.0)  # the same operations: the same bits
    if kwargs["lr"] == 0.0:  # lr = 0: the weights never move (finite or not)
        assert history.num_steps >= 1


@given(problem=problems())
def test_evaluate_equals_reduction_sum_over_n(problem):
    model, batches, dtype = problem
    value = evaluate(model, batches, nn.MSELoss())
    X = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    with torch.no_grad():
        expected = nn.functional.mse_loss(model(X), y, reduction="sum").item() / len(X)
    assert isinstance(value, float) and not model.training
    assert_same(torch.tensor(value), torch.tensor(expected), rtol=1e-4 if dtype == torch.float32 else 1e-10,
                atol=1e-30)


def _reference_early_stopping(losses, patience, min_delta):
    """Prechelt's rule as the docstring states it: (best epoch, stopping epoch or None)."""
    best, best_epoch, since = math.inf, None, 0
    for e, loss in enumerate(losses):
        if loss < best - min_delta:  # NaN compares False: it never improves
            best, best_epoch, since = loss, e, 0
        else:
            since += 1
            if patience is not None and since >= patience:
                return best_epoch, e
    return best_epoch, None


LOSSES = st.lists(st.one_of(st.sampled_from([0.0, 1.0, 1.0, 0.5, math.nan, math.inf, -math.inf]),
                            st.floats(0, 2)), min_size=1, max_size=12)


@given(losses=LOSSES, patience=st.one_of(st.none(), st.integers(1, 4)),
       min_delta=st.sampled_from([0.0, 1e-3, 0.5]))
def test_early_stopping_follows_its_definition_with_ties_nan_and_inf(losses, patience, min_delta):
    tracker = EarlyStopping(patience, min_delta, keep_best_state=False)
    stopped = None
    for e, loss in enumerate(losses):
        if tracker.step(loss, None, e):
            stopped = e
            break
    assert (tracker.best_epoch, stopped) == _reference_early_stopping(losses, patience, min_delta)


@settings(max_examples=30)
@given(problem=problems(finite=True), num_epochs=st.integers(1, 4))
def test_fit_restores_the_weights_of_the_first_lowest_validation_epoch(problem, num_epochs):
    model, batches, dtype = problem
    val = [b for b in batches if len(b[0])][:1]
    twin = copy.deepcopy(model)
    history = fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.05), nn.MSELoss(), num_epochs,
                  val_loader=val)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.05)
    states, val_losses = [], []
    for _ in range(num_epochs):
        _hand_loop(twin, batches, optimizer, 1, None)
        val_losses.append(evaluate(twin, val, nn.MSELoss()))
        states.append(copy.deepcopy(twin.state_dict()))
    assert history.val_loss == val_losses
    finite = [e for e, v in enumerate(val_losses) if not math.isnan(v)]
    if finite:
        best = min(finite, key=lambda e: (val_losses[e], e))
        assert history.best_epoch == best
        for key, value in model.state_dict().items():
            assert torch.equal(value, states[best][key])


# ---------------------------------------------------------------- bad input


def _setup(batches=None):
    """(model, loader, optimizer), in fit's and train_one_epoch's argument order."""
    model = nn.Linear(2, 1)
    batches = [(torch.zeros(3, 2), torch.zeros(3, 1))] if batches is None else batches
    return model, batches, torch.optim.SGD(model.parameters(), lr=0.1)


def _one_shot():
    model, batches, opt = _setup()
    return fit(model, iter(batches), opt, nn.MSELoss(), num_epochs=2)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: fit(*_setup([(torch.zeros(3, 2), torch.zeros(4, 1))]), nn.MSELoss(), 1), ValueError,
         r"same number of samples along dim 0, got X of shape \(3, 2\) and y of shape \(4, 1\)"),
        (lambda: evaluate(_setup()[0], [(torch.zeros(()), torch.zeros(()))], nn.MSELoss()), ValueError,
         r"got X of shape \(\) and y of shape \(\)"),
        (lambda: fit(*_setup(), nn.MSELoss(reduction="none"), 1), ValueError,
         r"expected loss_fn to return the batch's mean loss, a scalar, got shape \(3, 1\)"),
        (lambda: evaluate(*_setup()[:2], lambda y_hat, y: 0.5), TypeError,
         "expected loss_fn to return a tensor, got float"),
        (lambda: fit(*_setup(), nn.MSELoss(), 1, restore_best=1), TypeError, "restore_best must be a bool, got int"),
        (lambda: fit(*_setup(), nn.MSELoss(), 1, min_delta=-1.0), ValueError, "Invalid min_delta: -1.0"),
        (lambda: fit(*_setup(), nn.MSELoss(), 1, min_delta="0"), TypeError, "min_delta must be a float, got str"),
        (_one_shot, ValueError, "one-shot iterator, exhausted after one pass"),
        (lambda: fit(*_setup([(torch.zeros(0, 2), torch.zeros(0, 1))]), nn.MSELoss(), 1), ValueError,
         "training loader yielded no non-empty batch"),
        (lambda: evaluate(_setup()[0], [], nn.MSELoss()), ValueError, "evaluation loader yielded no non-empty batch"),
        (lambda: train_one_epoch(*_setup()[:2], "sgd", nn.MSELoss()), TypeError,
         "optimizer must be a torch.optim.Optimizer, got str"),
        (lambda: train_one_epoch(*_setup(), nn.MSELoss(), max_steps=0), ValueError, "Invalid max_steps: 0"),
        (lambda: train_one_epoch(*_setup(), None), TypeError, "loss_fn must be callable"),
        (lambda: evaluate(None, [], nn.MSELoss()), TypeError, "model must be an nn.Module, got NoneType"),
        (lambda: EarlyStopping(2, keep_best_state="yes"), TypeError, "keep_best_state must be a bool, got str"),
        (lambda: EarlyStopping(2).step("0.1", nn.Linear(1, 1), 0), TypeError, "val_loss must be a float, got str"),
        (lambda: EarlyStopping(2).step(0.1, None, 0), TypeError, "model must be an nn.Module, got NoneType"),
        (lambda: EarlyStopping(2).step(0.1, nn.Linear(1, 1), -1), ValueError, r"Invalid epoch: -1 \(expected >= 0\)"),
        (lambda: EarlyStopping(2).step(0.1, nn.Linear(1, 1), 1.0), TypeError, "epoch must be an int, got float"),
    ],
)
def test_bad_input_raises_naming_expected_and_received(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_empty_batches_are_skipped_as_documented():
    """Note in train_one_epoch: a batch with no samples takes no step (a bare loop would step with zero
    gradients, which still moves momentum and weight decay) and adds nothing to the mean."""
    model, batches, _ = _setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.5)
    before = copy.deepcopy(model.state_dict())
    empty = (torch.zeros(0, 2), torch.zeros(0, 1))
    with pytest.raises(ValueError):
        train_one_epoch(model, [empty, empty], optimizer, nn.MSELoss())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # nothing moved
    loss, steps = train_one_epoch(model, [empty, *batches, empty], optimizer, nn.MSELoss())
    assert steps == 1 and math.isfinite(loss)
    assert evaluate(model, [empty, *batches], nn.MSELoss()) == evaluate(model, batches, nn.MSELoss())
    assert isinstance(History().as_dict(), dict)


def test_a_tensor_or_numpy_val_loss_is_accepted_as_its_value():
    import numpy as np

    tracker = EarlyStopping(None, keep_best_state=False)
    tracker.step(torch.tensor(0.5), None, 0)
    assert tracker.best_loss == 0.5 and isinstance(tracker.best_loss, float)
    tracker.step(np.float32(0.25), None, 1)
    assert tracker.best_loss == 0.25 and tracker.best_epoch == 1 and isinstance(tracker.best_loss, float)
