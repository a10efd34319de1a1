"""Training on a device: module_device, move_batch, move_optimizer_state_ and fit/evaluate's ``device``.

GPU cases are parametrised over every device type and skipped cleanly where
the machine lacks one, so the same file runs on a CPU-only build and on a GPU
machine. The ``meta`` device (shapes without data, on every build) stands in
for "another device" where a test needs a move that a CPU-only machine can make.
A CPU or CUDA parameter moved by ``model.to`` keeps its identity (its ``.data``
is replaced); a move to ``meta`` makes new parameters unless
``torch.__future__.set_swap_module_params_on_conversion(True)``, which swaps the
contents into the same objects: the fixture ``swap`` sets it for those tests.
"""

import pytest
import torch
from torch import nn

from dlfoundations.data import InMemoryLoader
from dlfoundations.devices import available_devices, module_device, move_batch, move_optimizer_state_
from dlfoundations.seed import make_generator
from dlfoundations.train import evaluate, fit, train_one_epoch

DEVICES = [
    pytest.param(kind, marks=pytest.mark.skipif(kind not in available_devices(), reason=f"no {kind} device here"))
    for kind in ("cpu", "cuda", "mps")
]


@pytest.fixture
def swap():
    before = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    yield
    torch.__future__.set_swap_module_params_on_conversion(before)


def _problem(seed=0, n=48):
    g = make_generator(seed)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(n, 1, generator=g)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return X, y, model


def _train(device, num_epochs=3):
    X, y, model = _problem()
    loader = InMemoryLoader(X, y, batch_size=16, shuffle=True, generator=make_generator(1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, loader, optimizer, nn.MSELoss(), num_epochs=num_epochs,
                  val_loader=[(X, y)], device=device)
    return model, optimizer, history


def test_module_device_reads_parameter_then_buffer_then_cpu():
    assert module_device(nn.Linear(2, 2)) == torch.device("cpu")
    assert module_device(nn.Linear(2, 2).to("meta")) == torch.device("meta")
    assert module_device(nn.BatchNorm1d(2, affine=False).to("meta")) == torch.device("meta")  # buffers only
    assert module_device(nn.ReLU()) == torch.device("cpu")
    with pytest.raises(TypeError, match="nn.Module, got int"):
        module_device(3)


def test_move_batch_same_device_is_no_copy():
    X, y = torch.ones(4, 2), torch.zeros(4)
    X2, y2 = move_batch((X, y), "cpu")
    assert X2 is X and y2 is y


def test_move_batch_to_another_device():
    X2, y2 = move_batch([torch.ones(4, 2), torch.zeros(4, dtype=torch.long)], torch.device("meta"))
    assert X2.device.type == "meta" and y2.device.type == "meta"
    assert X2.shape == (4, 2) and y2.dtype == torch.long


@pytest.mark.parametrize("bad, match", [(torch.ones(2), "pair of tensors, got Tensor"),
                                        ((torch.ones(2), [1.0]), "got Tensor and list"),
                                        ((torch.ones(2),), "pair of tensors, got tuple")])
def test_move_batch_rejects_bad_batches(bad, match):
    with pytest.raises(TypeError, match=match):
        move_batch(bad, "cpu")


def test_move_optimizer_state_follows_parameters(swap):
    model = nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()  # creates exp_avg and exp_avg_sq on the CPU
    assert move_optimizer_state_(optimizer) == 0  # all in place: nothing to do
    model.to("meta")  # the parameters move in place; the optimizer's state does not
    assert all(s["exp_avg"].device.type == "cpu" for s in optimizer.state.values())
    assert move_optimizer_state_(optimizer) == 4  # two moments for each of two parameters
    for param, state in optimizer.state.items():
        assert state["exp_avg"].device == param.device == torch.device("meta")
        assert state["exp_avg_sq"].device.type == "meta"
    assert move_optimizer_state_(optimizer) == 0
    with pytest.raises(TypeError, match="torch.optim.Optimizer, got Linear"):
        move_optimizer_state_(model)


@pytest.mark.parametrize("target", [torch.float64, "cpu"])
def test_model_to_keeps_parameter_identity(target):
    model = nn.Linear(3, 2)
    before = list(model.parameters())
    model.to(target)
    assert all(a is b for a, b in zip(model.parameters(), before))


@pytest.mark.parametrize("device", DEVICES)
def test_model_to_device_keeps_parameter_identity(device):
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.to(device)
    assert all(a is b for a, b in zip(model.parameters(), optimizer.param_groups[0]["params"]))


def test_default_device_changes_nothing():
    """device=None and device="cpu" give the same weights, bit for bit, on a CPU model."""
    model_none, _, history_none = _train(None)
    model_cpu, _, history_cpu = _train("cpu")
    assert history_none.as_dict() == history_cpu.as_dict()
    for a, b in zip(model_none.parameters(), model_cpu.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("device", DEVICES)
def test_fit_on_device_matches_cpu(device):
    model_cpu, _, history_cpu = _train("cpu")
    model_dev, optimizer, history_dev = _train(device)
    assert module_device(model_dev).type == device
    for state in optimizer.state.values():
        assert state["exp_avg"].device.type == device
    # Different kernels round differently, so on another device only closeness is expected.
    torch.testing.assert_close(torch.tensor(history_dev.train_loss), torch.tensor(history_cpu.train_loss),
                               rtol=1e-4, atol=1e-5)
    for a, b in zip(model_dev.parameters(), model_cpu.parameters()):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_evaluate_and_train_one_epoch_move_model_and_batches(device):
    X, y, model = _problem()
    expected = evaluate(model, [(X, y)], nn.MSELoss())
    got = evaluate(model, [(X, y)], nn.MSELoss(), device=device)  # CPU batches, model moved
    assert module_device(model).type == device
    assert got == pytest.approx(expected, rel=1e-5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss, steps = train_one_epoch(model, [(X, y)], optimizer, nn.MSELoss(), device=device)
    assert steps == 1 and loss == pytest.approx(expected, rel=1e-5)


def test_fit_moves_optimizer_state_created_elsewhere(swap):
    """Steps taken on one device, then fit on another: Adam's moments follow (meta stands in for a GPU)."""
    X, y, model = _problem()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    train_one_epoch(model, [(X, y)], optimizer, nn.MSELoss())  # state on the CPU
    model.to("meta")
    with pytest.raises(RuntimeError, match="meta"):  # a meta loss has no value for .item()
        fit(model, [(X, y)], optimizer, nn.MSELoss(), num_epochs=1)
    # fit moved the state before its first step: the moments now live with their parameters
    assert all(s["exp_avg"].device.type == "meta" for s in optimizer.state.values())


@pytest.mark.parametrize("device, error, match", [("tpu", ValueError, "unknown device"),
                                                  (0, TypeError, "got int")])
def test_bad_device_is_refused(device, error, match):
    X, y, model = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(error, match=match):
        fit(model, [(X, y)], optimizer, nn.MSELoss(), num_epochs=1, device=device)
    with pytest.raises(error, match=match):
        evaluate(model, [(X, y)], nn.MSELoss(), device=device)


def test_missing_accelerator_is_refused_by_name():
    missing = next((kind for kind in ("cuda", "mps") if kind not in available_devices()), None)
    if missing is None:
        pytest.skip("this machine has both CUDA and MPS")
    X, y, model = _problem()
    with pytest.raises(ValueError, match=f"'{missing}' is not available on this machine"):
        evaluate(model, [(X, y)], nn.MSELoss(), device=missing)
