import dataclasses
import pickle

import pytest
import torch
from torch import nn

from dlfoundations.checkpoint import CHECKPOINT_KEYS, check_plain, load_checkpoint, save_checkpoint
from dlfoundations.digits import Standardizer
from dlfoundations.models import MLP


@dataclasses.dataclass
class Config:
    hidden_sizes: tuple = (8,)
    lr: float = 0.01


def make_model(seed, hidden=(8,)):
    torch.manual_seed(seed)
    return MLP(4, list(hidden), 3)


def trained_pair(seed=0):
    """A model and an Adam optimizer after two steps, so the optimizer has state."""
    model = make_model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)
    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    return model, optimizer


def snapshot(model, optimizer=None):
    state = {k: v.clone() for k, v in model.state_dict().items()}
    opt = None if optimizer is None else {i: {k: v.clone() for k, v in s.items()} for i, s in optimizer.state_dict()["state"].items()}
    return state, opt


def assert_unchanged(model, before, optimizer=None):
    state, opt = snapshot(model, optimizer)
    assert state.keys() == before[0].keys()
    assert all(torch.equal(state[k], before[0][k]) for k in state)
    if optimizer is not None:
        assert opt.keys() == before[1].keys()
        assert all(torch.equal(opt[i][k], before[1][i][k]) for i in opt for k in opt[i])


def test_round_trip_restores_model_optimizer_and_metadata(tmp_path):
    model, optimizer = trained_pair(0)
    standardizer = Standardizer().fit(torch.randn(10, 4, generator=torch.Generator().manual_seed(1)))
    path = tmp_path / "best.pt"
    save_checkpoint(path, model, optimizer, epoch=7, best_val_loss=0.25, config={"hidden_sizes": [8], "lr": 0.01},
                    extra={"standardizer": standardizer.state_dict(), "note": "ok"})
    fresh, fresh_opt = trained_pair(5)  # different weights and optimizer state
    assert not torch.equal(fresh.net[0].weight, model.net[0].weight)
    checkpoint = load_checkpoint(path, fresh, fresh_opt)
    for (k, v), (k2, v2) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    for i, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(value, fresh_opt.state_dict()["state"][i][name])
    assert checkpoint["epoch"] == 7 and checkpoint["best_val_loss"] == 0.25
    assert checkpoint["config"] == {"hidden_sizes": [8], "lr": 0.01}
    restored = Standardizer()
    restored.load_state_dict(checkpoint["extra"]["standardizer"])
    torch.testing.assert_close(restored.mean, standardizer.mean)
    assert checkpoint["extra"]["note"] == "ok"


def test_file_loads_with_plain_weights_only_torch_load(tmp_path):
    model, optimizer = trained_pair(0)
    path = tmp_path / "c.pt"
    save_checkpoint(path, model, optimizer, epoch=0, best_val_loss=float("inf"), config=Config())
    raw = torch.load(path, weights_only=True)
    assert tuple(sorted(raw)) == tuple(sorted(CHECKPOINT_KEYS))
    # The dataclass was converted to a plain dict before writing.
    assert raw["config"] == {"hidden_sizes": (8,), "lr": 0.01}
    assert raw["best_val_loss"] == float("inf")
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def test_a_dataclass_in_a_file_is_refused_by_weights_only(tmp_path):
    # Why save_checkpoint converts: torch.save would write it, weights_only loading refuses it.
    path = tmp_path / "bad.pt"
    torch.save({"config": Config()}, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(path, weights_only=True)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path, make_model(0))


def test_predictions_are_identical_after_reload(tmp_path):
    model, _ = trained_pair(0)
    X = torch.randn(5, 4, generator=torch.Generator().manual_seed(3))
    save_checkpoint(tmp_path / "m.pt", model, epoch=1, best_val_loss=1.0)
    fresh = make_model(9)
    load_checkpoint(tmp_path / "m.pt", fresh)
    model.eval(), fresh.eval()
    assert torch.equal(model(X), fresh(X))


def test_shape_mismatch_names_key_and_shapes_and_leaves_model_unchanged(tmp_path):
    model, optimizer = trained_pair(0)
    save_checkpoint(tmp_path / "c.pt", model, optimizer, epoch=1, best_val_loss=1.0)
    other = make_model(1, hidden=(16,))  # same keys, other shapes
    before = snapshot(other)
    with pytest.raises(ValueError, match=r"shape mismatch for 'net.0.weight': checkpoint has \(8, 4\), model has \(16, 4\)"):
        load_checkpoint(tmp_path / "c.pt", other)
    assert_unchanged(other, before)


def test_key_mismatch_names_keys_and_leaves_model_unchanged(tmp_path):
    model, _ = trained_pair(0)
    save_checkpoint(tmp_path / "c.pt", model, epoch=1, best_val_loss=1.0)
    deeper = make_model(1, hidden=(8, 8))
    before = snapshot(deeper)
    with pytest.raises(ValueError, match=r"keys missing from the checkpoint \['net.4.weight', 'net.4.bias'\]"):
        load_checkpoint(tmp_path / "c.pt", deeper)
    assert_unchanged(deeper, before)


def test_optimizer_mismatch_leaves_model_and_optimizer_unchanged(tmp_path):
    model, optimizer = trained_pair(0)
    # An optimizer over only some parameters: same model shapes, different optimizer layout.
    save_checkpoint(tmp_path / "c.pt", model, torch.optim.Adam(list(model.parameters())[:2]), epoch=1, best_val_loss=1.0)
    target, target_opt = trained_pair(4)
    before = snapshot(target, target_opt)
    with pytest.raises(ValueError, match="parameter group 0 has 4 parameters, checkpoint has 2"):
        load_checkpoint(tmp_path / "c.pt", target, target_opt)
    assert_unchanged(target, before, target_opt)


def test_optimizer_state_shape_mismatch_is_caught(tmp_path):
    model, optimizer = trained_pair(0)
    path = tmp_path / "c.pt"
    checkpoint = save_checkpoint(path, model, optimizer, epoch=1, best_val_loss=1.0)
    checkpoint["optimizer"]["state"][0]["exp_avg"] = torch.zeros(2, 2)
    torch.save(checkpoint, path)
    target, target_opt = trained_pair(4)
    before = snapshot(target, target_opt)
    with pytest.raises(ValueError, match=r"optimizer state 'exp_avg' of group 0: checkpoint has \(2, 2\), parameter has \(8, 4\)"):
        load_checkpoint(path, target, target_opt)
    assert_unchanged(target, before, target_opt)


def test_missing_optimizer_state_is_an_error(tmp_path):
    model, optimizer = trained_pair(0)
    save_checkpoint(tmp_path / "c.pt", model, epoch=1, best_val_loss=1.0)
    before = snapshot(model)
    with pytest.raises(ValueError, match="checkpoint holds no optimizer state"):
        load_checkpoint(tmp_path / "c.pt", model, optimizer)
    assert_unchanged(model, before)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    model, _ = trained_pair(0)
    torch.save(model.state_dict(), tmp_path / "weights.pt")  # a bare state_dict, not a checkpoint
    with pytest.raises(ValueError, match="expected a checkpoint dict with keys"):
        load_checkpoint(tmp_path / "weights.pt", model)
    with pytest.raises(FileNotFoundError, match="no checkpoint file at"):
        load_checkpoint(tmp_path / "missing.pt", model)


@pytest.mark.parametrize(
    ("config", "extra", "match"),
    [
        ({"inner": Config()}, None, r"config\['inner'\] must hold only plain values .*Config \(convert it with dataclasses.asdict\)"),
        ({"betas": [0.9, torch.tensor(0.99)]}, None, r"config\['betas'\]\[1\] must hold only plain values .*torch.Tensor"),
        ({1: "a"}, None, "config must have str keys, got key 1 of type int"),
        ({"f": print}, None, r"config\['f'\] .*builtin_function_or_method"),
        (None, {"s": Standardizer()}, r"extra\['s'\] must hold only plain values .*Standardizer"),
        ([("lr", 0.1)], None, "config must be a dict, got list"),
    ],
)
def test_non_plain_config_or_extra_is_refused_before_writing(tmp_path, config, extra, match):
    model, _ = trained_pair(0)
    path = tmp_path / "c.pt"
    with pytest.raises(TypeError, match=match):
        save_checkpoint(path, model, epoch=0, best_val_loss=1.0, config=config, extra=extra)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_tensors_are_allowed_in_extra_but_not_in_config():
    check_plain({"mean": torch.zeros(3), "nested": {"a": [1, 2.0, None, "x", (True,)]}}, "extra", allow_tensors=True)
    with pytest.raises(TypeError, match=r"config\['mean'\]"):
        check_plain({"mean": torch.zeros(3)}, "config", allow_tensors=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"epoch": -1}, ValueError, "epoch must be >= 0, got -1"),
        ({"epoch": 1.0}, TypeError, "epoch must be an int, got float"),
        ({"epoch": True}, TypeError, "epoch must be an int, got bool"),
        ({"best_val_loss": "low"}, TypeError, "best_val_loss must be a float, got str"),
        ({"model": {"w": torch.zeros(1)}}, TypeError, "model must be an nn.Module, got dict"),
        ({"optimizer": "adam"}, TypeError, "optimizer must be a torch.optim.Optimizer or None, got str"),
        ({"path": 3}, TypeError, "path must be a str or os.PathLike, got int"),
    ],
)
def test_save_rejects_bad_arguments(tmp_path, kwargs, error, match):
    model, _ = trained_pair(0)
    args = {"path": tmp_path / "c.pt", "model": model, "optimizer": None, "epoch": 0, "best_val_loss": 1.0} | kwargs
    with pytest.raises(error, match=match):
        save_checkpoint(args.pop("path"), args.pop("model"), args.pop("optimizer"), **args)


def test_save_needs_an_existing_folder(tmp_path):
    model, _ = trained_pair(0)
    with pytest.raises(ValueError, match="the folder of path must exist"):
        save_checkpoint(tmp_path / "no" / "c.pt", model, epoch=0, best_val_loss=1.0)


def test_load_rejects_bad_arguments(tmp_path):
    model, _ = trained_pair(0)
    save_checkpoint(tmp_path / "c.pt", model, epoch=0, best_val_loss=1.0)
    with pytest.raises(TypeError, match="model must be an nn.Module, got dict"):
        load_checkpoint(tmp_path / "c.pt", {"w": 1})
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer or None, got dict"):
        load_checkpoint(tmp_path / "c.pt", model, {})
