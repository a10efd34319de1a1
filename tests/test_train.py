import pytest
import torch
from torch import nn

from dlfoundations.seed import make_generator
from dlfoundations.train import EarlyStopping, History, evaluate, fit, train_one_epoch


def _data(n=64, seed=0):
    g = make_generator(seed)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(n, 1, generator=g)
    return X, y


def _batches(X, y, batch_size):
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(X), batch_size)]


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def test_fit_matches_a_bare_hand_written_loop():
    X, y = _data()
    loader = _batches(X, y, 16)
    model_a, model_b = _model(), _model()
    opt_a = torch.optim.SGD(model_a.parameters(), lr=0.1)
    opt_b = torch.optim.SGD(model_b.parameters(), lr=0.1)
    history = fit(model_a, loader, opt_a, nn.MSELoss(), num_epochs=3)
    for _ in range(3):
        for Xb, yb in loader:
            opt_b.zero_grad()
            nn.functional.mse_loss(model_b(Xb), yb).backward()
            opt_b.step()
    for p, q in zip(model_a.parameters(), model_b.parameters()):
        torch.testing.assert_close(p, q)
    assert len(history.train_loss) == 3 and history.num_steps == 3 * 4


def test_training_reduces_the_loss():
    X, y = _data()
    model = _model()
    history = fit(model, _batches(X, y, 16), torch.optim.Adam(model.parameters(), lr=0.05), nn.MSELoss(), num_epochs=30)
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]


def test_evaluate_weights_a_short_last_batch_correctly():
    X, y = _data(n=10)
    model = _model()
    uneven = evaluate(model, _batches(X, y, 4), nn.MSELoss())  # batches of 4, 4, 2
    whole = evaluate(model, [(X, y)], nn.MSELoss())
    assert uneven == pytest.approx(whole, rel=1e-6)
    assert not model.training


def test_smoke_two_steps_on_a_tiny_noisy_sine():
    from dlfoundations.data import NoisySine

    data = NoisySine(n_samples=32, noise_std=0.1, seed=0)
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    before = [p.detach().clone() for p in model.parameters()]
    history = fit(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), num_epochs=5, max_steps=2)
    assert history.num_steps == 2
    assert len(history.train_loss) == 1
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = _data(n=32)
    X_val, y_val = _data(n=32, seed=1)
    model = _model()
    # A learning rate this large makes validation loss rise after the first epochs.
    history = fit(
        model, _batches(X, y, 8), torch.optim.SGD(model.parameters(), lr=0.9), nn.MSELoss(), num_epochs=50,
        val_loader=[(X_val, y_val)], patience=3,
    )
    assert history.stopped_early
    assert len(history.val_loss) == history.best_epoch + 1 + 3
    best = min(history.val_loss)
    assert history.val_loss[history.best_epoch] == best
    assert evaluate(model, [(X_val, y_val)], nn.MSELoss()) == pytest.approx(best, rel=1e-5)


def test_without_patience_best_weights_are_still_restored():
    X, y = _data(n=32)
    X_val, y_val = _data(n=32, seed=1)
    model = _model()
    history = fit(model, _batches(X, y, 8), torch.optim.SGD(model.parameters(), lr=0.9), nn.MSELoss(), num_epochs=8,
                  val_loader=[(X_val, y_val)])
    assert not history.stopped_early and len(history.val_loss) == 8
    assert evaluate(model, [(X_val, y_val)], nn.MSELoss()) == pytest.approx(min(history.val_loss), rel=1e-5)


def test_history_as_dict_is_plain():
    h = History(train_loss=[1.0], val_loss=[2.0], best_epoch=0, stopped_early=False, num_steps=3)
    assert h.as_dict() == {"train_loss": [1.0], "val_loss": [2.0], "best_epoch": 0, "stopped_early": False, "num_steps": 3}


def test_empty_loader_is_refused():
    model = _model()
    with pytest.raises(ValueError, match="training loader yielded no non-empty batch"):
        fit(model, [], torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), num_epochs=1)
    with pytest.raises(ValueError, match="evaluation loader yielded no non-empty batch"):
        evaluate(model, [], nn.MSELoss())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_epochs": 0}, ValueError, "Invalid num_epochs: 0"),
        ({"num_epochs": 2.0}, TypeError, "num_epochs must be an int, got float"),
        ({"num_epochs": 1, "patience": 2}, ValueError, "needs a val_loader"),
        ({"num_epochs": 1, "max_steps": 0}, ValueError, "Invalid max_steps: 0"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    X, y = _data(n=8)
    model = _model()
    with pytest.raises(error, match=match):
        fit(model, [(X, y)], torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), **kwargs)


def test_bad_batches_and_objects():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"pair \(X, y\)"):
        train_one_epoch(model, [torch.ones(2, 3)], opt, nn.MSELoss())
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        fit(model, [], "sgd", nn.MSELoss(), num_epochs=1)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        fit(lambda X: X, [], opt, nn.MSELoss(), num_epochs=1)


@pytest.mark.parametrize(("patience", "min_delta", "error"), [(0, 0.0, ValueError), (2.5, 0.0, TypeError), (2, -1.0, ValueError)])
def test_early_stopping_validates(patience, min_delta, error):
    with pytest.raises(error):
        EarlyStopping(patience, min_delta)


# --- float64 comparisons, the wrong variants they catch, and the behaviour the chapter relies on ---


def _sine_model64(seed=0, dropout=0.0):
    from dlfoundations.models import MLP

    torch.manual_seed(seed)
    return MLP(1, [8, 8], 1, activation="tanh", dropout=dropout).double()


def _sine_loaders(seed=0, batch_size=16):
    from dlfoundations.data import InMemoryLoader, NoisySine

    data = NoisySine(50, noise_std=0.2, seed=seed)
    X, y = data.X.double(), data.y.double()
    return X, y, InMemoryLoader(X, y, batch_size=batch_size, shuffle=True, generator=make_generator(seed))


def _hand_loop(model, loader, optimizer, num_epochs, zero_grad=True):
    for _ in range(num_epochs):
        model.train()
        for Xb, yb in loader:
            if zero_grad:
                optimizer.zero_grad()
            nn.functional.mse_loss(model(Xb), yb).backward()
            optimizer.step()


def test_fit_equals_hand_written_adam_loop_in_float64_and_catches_a_missing_zero_grad():
    results = {}
    for name in ("fit", "hand", "no_zero_grad"):
        model = _sine_model64()
        _, _, loader = _sine_loaders()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, foreach=False)
        if name == "fit":
            fit(model, loader, optimizer, nn.MSELoss(), num_epochs=4)
        else:
            _hand_loop(model, loader, optimizer, 4, zero_grad=(name == "hand"))
        results[name] = list(model.parameters())
    for p, q in zip(results["fit"], results["hand"]):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)
    with pytest.raises(AssertionError):
        for p, q in zip(results["fit"], results["no_zero_grad"]):
            torch.testing.assert_close(p, q)


def test_evaluate_equals_reduction_sum_over_n_and_catches_unweighted_batch_means():
    X, y, _ = _sine_loaders()
    model = _sine_model64()
    loader = _batches(X, y, 16)  # 50 samples: batches of 16, 16, 16, 2
    with torch.no_grad():
        reference = nn.functional.mse_loss(model(X), y, reduction="sum") / len(X)
    torch.testing.assert_close(torch.tensor(evaluate(model, loader, nn.MSELoss()), dtype=torch.float64), reference)
    with torch.no_grad():
        unweighted = sum(nn.functional.mse_loss(model(Xb), yb) for Xb, yb in loader) / len(loader)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(unweighted, reference)


def test_evaluate_records_no_graph_and_sets_eval_mode():
    X, y, _ = _sine_loaders()
    model = _sine_model64(dropout=0.5)
    model.train()
    first = evaluate(model, [(X, y)], nn.MSELoss())
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
    model.train()
    assert evaluate(model, [(X, y)], nn.MSELoss()) == first  # dropout is off in eval(): same loss twice


def test_train_one_epoch_turns_dropout_on():
    X, y, _ = _sine_loaders()
    model = _sine_model64(dropout=0.5)
    model.eval()
    train_one_epoch(model, [(X, y)], torch.optim.SGD(model.parameters(), lr=0.0), nn.MSELoss())
    assert model.training
    with torch.no_grad():
        assert not torch.equal(model(X), model(X))  # two different dropout masks


def test_early_stopped_run_is_a_prefix_of_the_full_run():
    histories = []
    for patience in (None, 3):
        X, y = _data(n=32)
        X_val, y_val = _data(n=32, seed=1)
        model = _model()
        histories.append(fit(model, _batches(X, y, 8), torch.optim.SGD(model.parameters(), lr=0.9), nn.MSELoss(),
                             num_epochs=40, val_loader=[(X_val, y_val)], patience=patience))
    full, stopped = histories
    assert stopped.stopped_early and len(stopped.val_loss) < len(full.val_loss)
    assert stopped.val_loss == full.val_loss[: len(stopped.val_loss)]
    assert stopped.best_epoch == full.val_loss.index(min(stopped.val_loss))


def test_restore_best_false_keeps_the_last_weights():
    X, y = _data(n=32)
    X_val, y_val = _data(n=32, seed=1)
    model = _model()
    # lr=0.5 diverges: the validation loss grows every epoch, but stays finite for 4 epochs.
    history = fit(model, _batches(X, y, 8), torch.optim.SGD(model.parameters(), lr=0.5), nn.MSELoss(), num_epochs=4,
                  val_loader=[(X_val, y_val)], restore_best=False)
    assert history.best_epoch != 3  # otherwise this test could not tell the two apart
    assert evaluate(model, [(X_val, y_val)], nn.MSELoss()) == pytest.approx(history.val_loss[-1], rel=1e-6)


def test_early_stopping_tracker_semantics():
    model = _model()
    tracker = EarlyStopping(patience=2, min_delta=0.1)
    assert not tracker.step(1.0, model, 0)
    assert not tracker.step(0.95, model, 1)  # better, but by less than min_delta: no improvement
    assert tracker.best_epoch == 0 and tracker.epochs_without_improvement == 1
    assert tracker.step(float("nan"), model, 2)  # nan never improves: second epoch without improvement
    with torch.no_grad():
        model[0].weight.add_(1.0)  # the kept state must be a copy, not the live parameters
    torch.testing.assert_close(tracker.best_state["0.weight"] + 1.0, model[0].weight)
    never = EarlyStopping(patience=None, keep_best_state=False)
    assert not any(never.step(loss, model, e) for e, loss in enumerate([3.0, 2.0, 4.0, 5.0, 6.0, 7.0]))
    assert never.best_epoch == 1 and never.best_state is None


def test_more_bad_arguments():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    X, y = _data(n=8)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        fit(model, [(X, y)], opt, "mse", num_epochs=1)
    with pytest.raises(TypeError, match="max_steps must be an int, got float"):
        fit(model, [(X, y)], opt, nn.MSELoss(), num_epochs=1, max_steps=2.0)
    with pytest.raises(ValueError, match=r"Invalid patience: 0 \(expected >= 1\)"):
        EarlyStopping(0)
    with pytest.raises(ValueError, match="Invalid min_delta: -1.0"):
        EarlyStopping(2, min_delta=-1.0)
    with pytest.raises(TypeError, match="patience must be an int, got float"):
        EarlyStopping(2.5)
