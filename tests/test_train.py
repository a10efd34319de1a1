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
    with pytest.raises(ValueError, match="training loader yielded no batch"):
        fit(model, [], torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), num_epochs=1)
    with pytest.raises(ValueError, match="evaluation loader yielded no batch"):
        evaluate(model, [], nn.MSELoss())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_epochs": 0}, ValueError, "Invalid num_epochs: 0"),
        ({"num_epochs": 2.0}, TypeError, "num_epochs must be an int"),
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
