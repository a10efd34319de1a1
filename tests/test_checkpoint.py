import collections
import dataclasses
import enum
import io
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from dlfoundations.checkpoint import (
    CHECKPOINT_KEYS, CheckpointError, CheckpointOnImprovement, check_plain, get_rng_states, load_checkpoint, save_checkpoint,
    set_rng_states,
)
from dlfoundations.data import InMemoryLoader
from dlfoundations.digits import Standardizer
from dlfoundations.models import MLP
from dlfoundations.train import fit


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
    with pytest.raises(CheckpointError, match=r"bad.pt': torch.load\(weights_only=True\) refuses its contents "
                       r"\(WeightsUnpickler error: Unsupported global: GLOBAL test_checkpoint.Config"):
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
    with pytest.raises(CheckpointError, match=r"c.pt': shape mismatch for 'net.0.weight': checkpoint has \(8, 4\), model has \(16, 4\)"):
        load_checkpoint(tmp_path / "c.pt", other)
    assert_unchanged(other, before)


def test_key_mismatch_names_keys_and_leaves_model_unchanged(tmp_path):
    model, _ = trained_pair(0)
    save_checkpoint(tmp_path / "c.pt", model, epoch=1, best_val_loss=1.0)
    deeper = make_model(1, hidden=(8, 8))
    before = snapshot(deeper)
    with pytest.raises(CheckpointError, match=r"keys missing from the checkpoint \['net.4.weight', 'net.4.bias'\]"):
        load_checkpoint(tmp_path / "c.pt", deeper)
    assert_unchanged(deeper, before)


def test_optimizer_mismatch_leaves_model_and_optimizer_unchanged(tmp_path):
    model, optimizer = trained_pair(0)
    # An optimizer over only some parameters: same model shapes, different optimizer layout.
    save_checkpoint(tmp_path / "c.pt", model, torch.optim.Adam(list(model.parameters())[:2]), epoch=1, best_val_loss=1.0)
    target, target_opt = trained_pair(4)
    before = snapshot(target, target_opt)
    with pytest.raises(CheckpointError, match="parameter group 0 has 4 parameters, checkpoint has 2"):
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
    with pytest.raises(CheckpointError, match=r"optimizer state 'exp_avg' of group 0: checkpoint has \(2, 2\), parameter has \(8, 4\)"):
        load_checkpoint(path, target, target_opt)
    assert_unchanged(target, before, target_opt)


def test_missing_optimizer_state_is_an_error(tmp_path):
    model, optimizer = trained_pair(0)
    save_checkpoint(tmp_path / "c.pt", model, epoch=1, best_val_loss=1.0)
    before = snapshot(model)
    with pytest.raises(CheckpointError, match="checkpoint holds no optimizer state"):
        load_checkpoint(tmp_path / "c.pt", model, optimizer)
    assert_unchanged(model, before)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    model, _ = trained_pair(0)
    torch.save(model.state_dict(), tmp_path / "weights.pt")  # a bare state_dict, not a checkpoint
    with pytest.raises(CheckpointError, match="weights.pt': expected a checkpoint dict with keys"):
        load_checkpoint(tmp_path / "weights.pt", model)
    with pytest.raises(CheckpointError, match="missing.pt': no such file"):
        load_checkpoint(tmp_path / "missing.pt", model)


@pytest.mark.parametrize(
    ("config", "extra", "match"),
    [
        ({"inner": Config()}, None,
         r"config\['inner'\] must hold only values that torch.load\(weights_only=True\) accepts .*Config \(convert it with dataclasses.asdict\)"),
        ({"betas": [0.9, torch.tensor(0.99)]}, None,
         r"config\['betas'\]\[1\] is a tensor, which torch.load\(weights_only=True\) would accept, but config takes plain"),
        ({print: "a"}, None, "config has key <built-in function print> of type builtins.builtin_function_or_method, which torch.load"),
        ({"w": {(0, print): 1.0}}, None, r"config\['w'\] has key \(0, <built-in function print>\) of type builtins.tuple"),
        ({"f": print}, None, r"config\['f'\] .*builtin_function_or_method"),
        ({"n": np.float64(0.5)}, None, r"config\['n'\] .*numpy.float64"),
        (None, {"s": Standardizer()}, r"extra\['s'\] must hold only values that torch.load\(weights_only=True\) accepts .*Standardizer"),
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
        ({"epoch": -1}, ValueError, r"Invalid epoch: -1 \(expected >= 0\)"),
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


# --- check_plain matches what torch.load(weights_only=True) actually accepts -----------------------

class Colour(enum.IntEnum):
    RED = 1


Pair = collections.namedtuple("Pair", "a b")


def weights_only_accepts(value):
    buffer = io.BytesIO()
    torch.save(value, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer, weights_only=True)
    except pickle.UnpicklingError:
        return False
    return True


def check_plain_accepts(value, allow_tensors=True):
    try:
        check_plain(value, "value", allow_tensors)
    except TypeError:
        return False
    return True


PLAIN_CASES = {
    "int keys (every optimizer state_dict)": {"class_weights": {0: 1.0, 1: 2.0}},
    "float, bool, None and tuple keys": {0.5: 1, True: 2, None: 3, (1, "a"): 4},
    "OrderedDict": collections.OrderedDict(a=1),
    "Counter": collections.Counter(a=2),
    "torch.Size": torch.Size([2, 3]),
    "torch.dtype": {"dtype": torch.float64},
    "torch.device": torch.device("cpu"),
    "torch.layout": torch.strided,
    "set": {1, 2},
    "complex, bytes, bytearray": [1 + 2j, b"ab", bytearray(b"c")],
    "inf and big int": [float("inf"), 2**80],
    "nested containers": (1, [2, {3: (4.0, None)}]),
    "tensor and Parameter": {"w": torch.zeros(2), "p": nn.Parameter(torch.ones(1))},
    "optimizer state_dict": trained_pair(0)[1].state_dict(),
    "dataclass": Config(),
    "IntEnum": Colour.RED,
    "namedtuple": Pair(1, 2),
    "defaultdict": collections.defaultdict(list, a=[1]),
    "frozenset": frozenset([1]),
    "frozenset key": {frozenset([1]): 1},
    "range": range(3),
    "numpy float64 (a float subclass)": np.float64(1.0),
    "numpy int64": np.int64(1),
    "numpy array": np.zeros(2),
}


@pytest.mark.parametrize("value", PLAIN_CASES.values(), ids=PLAIN_CASES.keys())
def test_check_plain_accepts_exactly_what_weights_only_loads(value):
    assert check_plain_accepts(value) == weights_only_accepts(value)


def test_add_safe_globals_extends_weights_only_but_not_check_plain():
    # A program may allow more types; a checkpoint should not depend on that set-up.
    assert not weights_only_accepts(Pair(1, 2))
    with torch.serialization.safe_globals([Pair]):
        assert weights_only_accepts(Pair(1, 2))
    assert not check_plain_accepts(Pair(1, 2))


def test_int_keyed_config_round_trips(tmp_path):
    model, optimizer = trained_pair(0)
    config = {"class_weights": {0: 1.0, 1: 2.5}, "dtype": torch.float32}
    save_checkpoint(tmp_path / "c.pt", model, optimizer, epoch=0, best_val_loss=1.0, config=config)
    assert torch.load(tmp_path / "c.pt", weights_only=True)["config"] == config


# --- random-number-generator states ----------------------------------------------------------------

def test_rng_states_round_trip():
    g = torch.Generator().manual_seed(3)
    states = get_rng_states({"loader": g})
    check_plain(states, "rng", allow_tensors=True)
    first = (torch.rand(3), torch.rand(3, generator=g))
    set_rng_states(states, {"loader": g})
    second = (torch.rand(3), torch.rand(3, generator=g))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_rng_states_reject_bad_arguments():
    with pytest.raises(TypeError, match=r"generators\['g'\] must be a torch.Generator, got int"):
        get_rng_states({"g": 1})
    states = get_rng_states({"a": torch.Generator()})
    with pytest.raises(ValueError, match=r"no saved state for generators \['b'\]"):
        set_rng_states(states, {"b": torch.Generator()})
    with pytest.raises(ValueError, match="expected RNG states with keys"):
        set_rng_states({"torch": torch.get_rng_state()})


# --- a checkpoint at every improvement, and resuming from it ------------------------------------------

def digits_like_task(seed=0):
    """Three classes, a linear rule with noisy labels: validation improves for some epochs, then overfits."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(3, 4, generator=g)
    X, X_val = torch.randn(64, 4, generator=g), torch.randn(32, 4, generator=g)
    y, y_val = ((Z + 1.5 * torch.randn(Z.shape, generator=g)).argmax(dim=1) for Z in (X @ W.T, X_val @ W.T))  # (N,)
    return X, y, X_val, y_val


def fresh_run(seed=0, loader_state=None):
    """Model with dropout, AdamW and a shuffling loader: every source of randomness of the digit project."""
    torch.manual_seed(seed)
    model = MLP(4, [16], 3, dropout=0.3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02)
    X, y, X_val, y_val = digits_like_task()
    g = torch.Generator().manual_seed(100 + seed)
    loader = InMemoryLoader(X, y, batch_size=16, shuffle=True, generator=g)
    val_loader = InMemoryLoader(X_val, y_val, batch_size=32)
    return model, optimizer, loader, val_loader, g


def test_fit_calls_on_improvement_exactly_at_improving_epochs():
    model, optimizer, loader, val_loader, _ = fresh_run()
    calls = []
    history = fit(model, loader, optimizer, nn.CrossEntropyLoss(), 12, val_loader=val_loader,
                  on_improvement=lambda epoch, loss: calls.append((epoch, loss)))
    best_so_far = [e for e, v in enumerate(history.val_loss) if v < min(history.val_loss[:e], default=float("inf"))]
    assert [e for e, _ in calls] == best_so_far
    assert [v for _, v in calls] == [history.val_loss[e] for e in best_so_far]
    assert calls[-1][0] == history.best_epoch


def test_fit_rejects_bad_on_improvement():
    model, optimizer, loader, val_loader, _ = fresh_run()
    with pytest.raises(TypeError, match="on_improvement must be callable"):
        fit(model, loader, optimizer, nn.CrossEntropyLoss(), 1, val_loader=val_loader, on_improvement=3)
    with pytest.raises(ValueError, match="on_improvement needs a val_loader"):
        fit(model, loader, optimizer, nn.CrossEntropyLoss(), 1, on_improvement=print)


def test_checkpoint_on_improvement_holds_the_best_epoch_complete(tmp_path):
    model, optimizer, loader, val_loader, g = fresh_run()
    torch.manual_seed(7)
    history = fit(model, loader, optimizer, nn.CrossEntropyLoss(), 15, val_loader=val_loader, restore_best=True)
    # The same run again, now saving at every improvement.
    model, optimizer, loader, val_loader, g = fresh_run()
    saver = CheckpointOnImprovement(tmp_path / "best.pt", model, optimizer, generators={"loader": g})
    torch.manual_seed(7)
    history2 = fit(model, loader, optimizer, nn.CrossEntropyLoss(), 15, val_loader=val_loader,
                   restore_best=True, on_improvement=saver)
    assert history2.val_loss == history.val_loss  # the callback changes nothing in training
    checkpoint = torch.load(tmp_path / "best.pt", weights_only=True)
    assert checkpoint["epoch"] == history.best_epoch == saver.saved_epochs[-1]
    assert checkpoint["best_val_loss"] == min(history.val_loss)
    # Its weights are the best epoch's, the ones restore_best put back.
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in checkpoint["model"].items())
    # Its optimizer state is the best epoch's too: Adam's step count says how many steps led there.
    steps_per_epoch = 4
    assert all(int(s["step"]) == steps_per_epoch * (history.best_epoch + 1) for s in checkpoint["optimizer"]["state"].values())


def test_resuming_from_the_checkpoint_equals_an_uninterrupted_run(tmp_path):
    loss_fn, num_epochs = nn.CrossEntropyLoss(), 12
    # Uninterrupted: num_epochs epochs, a checkpoint written at every improvement.
    model, optimizer, loader, val_loader, g = fresh_run()
    saver = CheckpointOnImprovement(tmp_path / "best.pt", model, optimizer, generators={"loader": g})
    torch.manual_seed(7)
    history = fit(model, loader, optimizer, loss_fn, num_epochs, val_loader=val_loader, restore_best=False,
                  on_improvement=saver)
    best = history.best_epoch
    assert 0 < best < num_epochs - 2, "the test needs epochs after the checkpoint"
    # Interrupted after the best epoch: a new process rebuilds everything from the file alone.
    model2, optimizer2, loader2, val_loader2, g2 = fresh_run(seed=1)  # other weights and generator states
    torch.manual_seed(99)
    checkpoint = load_checkpoint(tmp_path / "best.pt", model2, optimizer2)
    set_rng_states(checkpoint["rng"], {"loader": g2})
    resumed = fit(model2, loader2, optimizer2, loss_fn, num_epochs - checkpoint["epoch"] - 1,
                  val_loader=val_loader2, restore_best=False)
    assert resumed.val_loss == history.val_loss[best + 1:]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in model2.state_dict().items())
    for i, state in optimizer.state_dict()["state"].items():
        assert all(torch.equal(v, optimizer2.state_dict()["state"][i][k]) for k, v in state.items())


def test_best_weights_with_the_last_optimizer_state_do_not_resume_the_run(tmp_path):
    # The bug the checkpoint-at-improvement fixes: best weights paired with the last epoch's optimizer.
    loss_fn = nn.CrossEntropyLoss()
    model, optimizer, loader, val_loader, g = fresh_run()
    saver = CheckpointOnImprovement(tmp_path / "best.pt", model, optimizer, generators={"loader": g})
    torch.manual_seed(7)
    history = fit(model, loader, optimizer, loss_fn, 12, val_loader=val_loader, restore_best=True,
                  on_improvement=saver)
    mixed = tmp_path / "mixed.pt"  # restore_best put the best weights back; the optimizer is at the last epoch
    save_checkpoint(mixed, model, optimizer, epoch=history.best_epoch, best_val_loss=min(history.val_loss),
                    rng=torch.load(tmp_path / "best.pt", weights_only=True)["rng"])
    runs = {}
    for name in ("best.pt", "mixed.pt"):
        m, o, l, v, g2 = fresh_run(seed=1)
        c = load_checkpoint(tmp_path / name, m, o)
        set_rng_states(c["rng"], {"loader": g2})
        runs[name] = fit(m, l, o, loss_fn, 3, val_loader=v, restore_best=False).val_loss
    assert runs["best.pt"] == history.val_loss[history.best_epoch + 1: history.best_epoch + 4]
    assert runs["mixed.pt"] != runs["best.pt"]


class WithExtraState(nn.Module):
    """A module whose state_dict carries an arbitrary object through get_extra_state."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def get_extra_state(self):
        return Config()

    def set_extra_state(self, state):
        pass


def test_a_state_dict_that_weights_only_would_refuse_is_refused_before_writing(tmp_path):
    with pytest.raises(TypeError, match=r"model.state_dict\(\)\['_extra_state'\] must hold only values .*Config"):
        save_checkpoint(tmp_path / "c.pt", WithExtraState(), epoch=0, best_val_loss=1.0)
    assert list(tmp_path.iterdir()) == []
