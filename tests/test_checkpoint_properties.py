"""Property-based tests of the checkpoint module: corrupt, truncated, tampered and mismatched files.

Every failed load must raise one type, ``CheckpointError``, whose message names the file, and must leave
every parameter, buffer and optimizer state tensor (and every hyper-parameter) as it was. A load that
succeeds must give back exactly what was saved.
"""

from __future__ import annotations

import copy
import io
import math
import os
import pickle
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from dlfoundations import checkpoint as ckpt
from dlfoundations.checkpoint import (
    CHECKPOINT_KEYS, CheckpointError, get_rng_states, load_checkpoint, save_checkpoint, set_rng_states,
)
from dlfoundations.models import MLP

FOLDER = Path(tempfile.mkdtemp(prefix="checkpoint-properties-"))


def teardown_module():
    shutil.rmtree(FOLDER, ignore_errors=True)


def make_pair(seed=0, hidden=(8,), optimizer="adam", steps=2):
    """An MLP 4 -> hidden -> 3 and an optimizer with state after ``steps`` steps."""
    torch.manual_seed(seed)
    model = MLP(4, list(hidden), 3)
    opt = {
        "adam": lambda p: torch.optim.Adam(p, lr=0.01),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01),
        "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        "nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01),
    }[optimizer](model.parameters())
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    return model, opt


def everything(model, optimizer):
    """A deep copy of every parameter, buffer, optimizer state tensor and hyper-parameter."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    params = [id(p) for p in model.parameters()]
    opt = None if optimizer is None else copy.deepcopy(optimizer.state_dict())
    return state, params, opt


def assert_same_everything(a, b):
    (sa, pa, oa), (sb, pb, ob) = a, b
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa)
    assert pa == pb  # the same Parameter objects, not replaced ones
    assert_equal_nested(oa, ob)


def assert_equal_nested(a, b):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            assert_equal_nested(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_equal_nested(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b)
    else:
        assert a == b and type(a) is type(b)


def assert_refused(path, model, optimizer, match=None):
    """load_checkpoint raises CheckpointError naming the file, and changes nothing."""
    before = everything(model, optimizer)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, model, optimizer)
    error = info.value
    assert isinstance(error, ValueError) and error.path == Path(path)
    assert str(path) in str(error) and error.problem in str(error)
    if match is not None:
        assert match in error.problem, error.problem
    assert_same_everything(before, everything(model, optimizer))
    return error


SOURCE_MODEL, SOURCE_OPT = make_pair(0)
SOURCE_PATH = FOLDER / "source.pt"
SOURCE = save_checkpoint(SOURCE_PATH, SOURCE_MODEL, SOURCE_OPT, epoch=3, best_val_loss=0.5,
                         rng=get_rng_states({"loader": torch.Generator().manual_seed(1)}),
                         config={"hidden_sizes": [8], "lr": 0.01}, extra={"mean": torch.arange(4.0)})
SOURCE_BYTES = SOURCE_PATH.read_bytes()
SOURCE_LOADED = torch.load(SOURCE_PATH, weights_only=True)


def write(name, data: bytes) -> Path:
    path = FOLDER / name
    path.write_bytes(data)
    return path


# --- damaged bytes ------------------------------------------------------------------------------------

@given(cut=st.integers(0, len(SOURCE_BYTES) - 1))
def test_a_truncated_file_is_refused_and_changes_nothing(cut):
    model, opt = make_pair(5)
    error = assert_refused(write("truncated.pt", SOURCE_BYTES[:cut]), model, opt)
    if cut == 0:
        assert error.problem == "the file is empty"


@given(position=st.integers(0, len(SOURCE_BYTES) - 1), mask=st.integers(1, 255))
def test_a_flipped_byte_is_refused_or_changes_nothing_that_loads(position, mask):
    """A damaged byte is caught (CRC-32, zip structure, unpickling), or it was in bytes nobody reads
    (zip padding, a header field repeated in the central directory) and the load gives the original."""
    data = bytearray(SOURCE_BYTES)
    data[position] ^= mask
    path = write("flipped.pt", bytes(data))
    model, opt = make_pair(5)
    before = everything(model, opt)
    try:
        loaded = load_checkpoint(path, model, opt)
    except CheckpointError as error:
        assert str(path) in str(error)
        assert_same_everything(before, everything(model, opt))
    else:
        assert_loaded_the_source(loaded, model, opt)


def member_span(data: bytes, name: str) -> tuple[int, int]:
    """Where a stored (uncompressed) zip member's bytes start in ``data``, and how many there are."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    name_len = int.from_bytes(data[info.header_offset + 26: info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28: info.header_offset + 30], "little")
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def test_every_byte_flip_in_a_tensor_is_caught():
    # torch.load alone loads these as silently different weights; the CRC-32 check refuses them.
    name = next(n for n in zipfile.ZipFile(SOURCE_PATH).namelist() if n.endswith("/data/0"))
    start, size = member_span(SOURCE_BYTES, name)
    assert SOURCE_BYTES[start:start + size] == zipfile.ZipFile(SOURCE_PATH).read(name)
    for offset in range(0, size, max(1, size // 8)):
        data = bytearray(SOURCE_BYTES)
        data[start + offset] ^= 0x01
        buffer = io.BytesIO(bytes(data))
        assert not all(torch.equal(a, b) for a, b in zip(
            torch.load(buffer, weights_only=True)["model"].values(), SOURCE["model"].values())), "torch.load misses it"
        model, opt = make_pair(5)
        assert_refused(write("bitflip.pt", bytes(data)), model, opt, match="fails its CRC-32 check")


def assert_loaded_the_source(loaded, model, opt):
    assert_equal_nested(loaded, SOURCE_LOADED)
    assert_equal_nested(model.state_dict(), SOURCE_MODEL.state_dict())
    assert_equal_nested(opt.state_dict(), SOURCE_OPT.state_dict())


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "the file is empty"),
        (b"hello, this is a text file\n", "not a complete zip archive"),
        (b"\x80\x02}q\x00.", "not a complete zip archive"),
        (pickle.dumps({"model": 1}), "not a complete zip archive"),
        (b"PK\x03\x04" + b"\x00" * 100, "not a complete zip archive"),
    ],
    ids=["empty", "text", "pickle-bytes", "pickle-dict", "zip-header-only"],
)
def test_files_that_are_not_checkpoints_are_refused(content, match):
    model, opt = make_pair(5)
    assert_refused(write("junk.pt", content), model, opt, match=match)


def test_missing_file_and_directory_are_refused():
    model, opt = make_pair(5)
    assert_refused(FOLDER / "nothing-here.pt", model, opt, match="no such file")
    (FOLDER / "a-folder.pt").mkdir(exist_ok=True)
    assert_refused(FOLDER / "a-folder.pt", model, opt, match="it is a directory, not a file")


def test_a_zip_that_is_not_a_torch_file_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a checkpoint")
    model, opt = make_pair(5)
    assert_refused(write("other.zip", buffer.getvalue()), model, opt, match="torch.load failed")


def test_a_legacy_torch_file_is_refused():
    buffer = io.BytesIO()
    torch.save(SOURCE, buffer, _use_new_zipfile_serialization=False)
    model, opt = make_pair(5)
    assert_refused(write("legacy.pt", buffer.getvalue()), model, opt, match="not a complete zip archive")


# --- tampered contents --------------------------------------------------------------------------------

FIELD_WRONG = {
    "format_version": [1, 2, 4, "3", 3.0, None, True],
    "scheduler": ["step", [], 1.0],
    "model": [None, [], "weights", {"net.0.weight": 1.0}],
    "optimizer": ["adam", [], {"state": {}}, {"state": [], "param_groups": []},
                  {"state": {}, "param_groups": [{"lr": 0.1}]}, {"state": {}, "param_groups": [{"params": ["a"]}]}],
    "epoch": [-1, 1.0, "3", None, True],
    "best_val_loss": ["low", None, [0.5], torch.tensor(0.5)],
    "rng": [None, [], {"torch": torch.zeros(3)}, {"torch": torch.zeros(3, dtype=torch.uint8), "generators": {}},
            {"torch": torch.get_rng_state(), "generators": {"g": "seed"}}],
    "config": [None, [("lr", 0.1)], "lr=0.1"],
    "extra": [None, [1], "x"],
}


@settings(max_examples=30)
@given(key=st.sampled_from(sorted(FIELD_WRONG)), data=st.data())
def test_a_wrong_value_in_any_field_is_refused(key, data):
    value = data.draw(st.sampled_from(FIELD_WRONG[key]))
    c = copy.deepcopy(SOURCE)
    c[key] = value
    path = FOLDER / "tampered.pt"
    torch.save(c, path)
    model, opt = make_pair(5)
    assert_refused(path, model, opt)


@settings(max_examples=20)
@given(key=st.sampled_from(CHECKPOINT_KEYS), extra_key=st.sampled_from(["Model", "weights", "epochs", 0, None]))
def test_missing_or_unexpected_keys_are_refused(key, extra_key):
    model, opt = make_pair(5)
    c = copy.deepcopy(SOURCE)
    del c[key]
    torch.save(c, FOLDER / "dropped.pt")
    error = assert_refused(FOLDER / "dropped.pt", model, opt)
    assert ("keys missing" in error.problem) or key == "format_version" and "format_version" in error.problem
    c = copy.deepcopy(SOURCE)
    c[extra_key] = 1
    torch.save(c, FOLDER / "added.pt")
    assert_refused(FOLDER / "added.pt", model, opt, match="unexpected keys")


@given(version=st.one_of(st.integers(-3, 10).filter(lambda v: v != ckpt.FORMAT_VERSION),
                         st.sampled_from(["2", 2.0, None, True])))
def test_another_format_version_is_refused(version):
    c = copy.deepcopy(SOURCE)
    c["format_version"] = version
    torch.save(c, FOLDER / "version.pt")
    model, opt = make_pair(5)
    assert_refused(FOLDER / "version.pt", model, opt, match=f"format_version {ckpt.FORMAT_VERSION}, got {version!r}")


@settings(max_examples=30)
@given(key=st.sampled_from(list(SOURCE["model"])), data=st.data())
def test_a_tampered_tensor_in_the_model_state_is_refused(key, data):
    c = copy.deepcopy(SOURCE)
    t = c["model"][key]
    change = data.draw(st.sampled_from(["shape", "transpose", "int", "bool", "complex", "drop-dim", "scalar", "list"]))
    c["model"][key] = {
        "shape": torch.zeros(*(s + 1 for s in t.shape)),
        "transpose": t.T.clone() if t.ndim == 2 and t.shape[0] != t.shape[1] else t.reshape(-1)[:1].clone(),
        "int": t.to(torch.int64),
        "bool": t > 0,
        "complex": t.to(torch.complex64),
        "drop-dim": t.reshape(-1)[:-1].clone(),
        "scalar": t.reshape(-1)[0].clone(),
        "list": t.tolist(),
    }[change]
    torch.save(c, FOLDER / "tensor.pt")
    model, opt = make_pair(5)
    assert_refused(FOLDER / "tensor.pt", model, opt, match=repr(key))


OPT_TAMPERING = ["lr-str", "betas-len", "stray-state", "state-not-dict", "moment-shape", "group-key",
                 "drop-group-key", "flag", "dup-param", "extra-group", "no-groups"]


@given(change=st.sampled_from(OPT_TAMPERING))
def test_a_tampered_optimizer_state_is_refused(change):
    c = copy.deepcopy(SOURCE)
    o = c["optimizer"]
    group = o["param_groups"][0]
    if change == "lr-str":
        group["lr"] = "0.01"
    elif change == "betas-len":
        group["betas"] = (0.9,)
    elif change == "stray-state":
        o["state"][99] = {"step": torch.tensor(1.0)}
    elif change == "state-not-dict":
        o["state"][0] = [1, 2]
    elif change == "moment-shape":
        o["state"][1]["exp_avg"] = torch.zeros(3, 3)
    elif change == "group-key":
        group["momentum"] = 0.9
    elif change == "drop-group-key":
        del group["eps"]
    elif change == "flag":
        group["amsgrad"] = True
    elif change == "dup-param":
        group["params"][1] = group["params"][0]
    elif change == "extra-group":
        o["param_groups"].append({**group, "params": []})
    elif change == "no-groups":
        o["param_groups"] = []
    torch.save(c, FOLDER / "opt.pt")
    model, opt = make_pair(5)
    assert_refused(FOLDER / "opt.pt", model, opt)


# --- another architecture, another optimizer ----------------------------------------------------------

HIDDEN = st.lists(st.sampled_from([4, 8]), min_size=1, max_size=2).map(tuple)


@settings(max_examples=20)
@given(saved=HIDDEN, target=HIDDEN)
def test_a_state_dict_of_another_architecture_is_refused(saved, target):
    model, opt = make_pair(1, hidden=saved)
    path = FOLDER / "arch.pt"
    save_checkpoint(path, model, opt, epoch=0, best_val_loss=1.0)
    fresh, fresh_opt = make_pair(2, hidden=target)
    if saved == target:
        load_checkpoint(path, fresh, fresh_opt)
        assert_equal_nested(fresh.state_dict(), model.state_dict())
        assert_equal_nested(fresh_opt.state_dict(), opt.state_dict())
    else:
        assert_refused(path, fresh, fresh_opt, match="checkpoint")


OPTIMIZERS = ["adam", "adamw", "sgd", "nesterov", "rmsprop"]


@settings(max_examples=25)
@given(saved=st.sampled_from(OPTIMIZERS), target=st.sampled_from(OPTIMIZERS))
def test_a_state_of_another_optimizer_is_refused(saved, target):
    model, opt = make_pair(1, optimizer=saved)
    path = FOLDER / "other-opt.pt"
    save_checkpoint(path, model, opt, epoch=0, best_val_loss=1.0)
    fresh, fresh_opt = make_pair(2, optimizer=target)
    if saved == target:
        load_checkpoint(path, fresh, fresh_opt)
        assert_equal_nested(fresh_opt.state_dict(), opt.state_dict())
    else:
        assert_refused(path, fresh, fresh_opt)


def test_a_tensor_learning_rate_and_a_float_one_are_both_numbers():
    # torch.optim accepts lr as a float or a 0-d tensor; a checkpoint of one loads into the other.
    model, opt = make_pair(1)
    opt.param_groups[0]["lr"] = torch.tensor(0.01)
    path = FOLDER / "tensor-lr.pt"
    save_checkpoint(path, model, opt, epoch=0, best_val_loss=1.0)
    fresh, fresh_opt = make_pair(2)
    load_checkpoint(path, fresh, fresh_opt)
    assert torch.equal(torch.as_tensor(fresh_opt.param_groups[0]["lr"]), torch.tensor(0.01))


def test_a_failure_inside_load_state_dict_is_rolled_back(monkeypatch):
    # Should a load fail after every check passed, the model and optimizer are restored.
    model, opt = make_pair(5)

    def failing_load(self, state_dict):
        raise RuntimeError("disk gremlin")

    monkeypatch.setattr(torch.optim.Adam, "load_state_dict", failing_load)
    error = assert_refused(SOURCE_PATH, model, opt, match="loading failed with RuntimeError: disk gremlin")
    assert isinstance(error.__cause__, RuntimeError)


# --- round trips --------------------------------------------------------------------------------------

PLAIN = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=5)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=20)
@given(epoch=st.integers(0, 10**6), loss=st.floats(allow_nan=True), config=st.dictionaries(st.text(max_size=5), PLAIN,
       max_size=3), hidden=HIDDEN, with_optimizer=st.booleans())
def test_what_is_saved_is_what_is_loaded(epoch, loss, config, hidden, with_optimizer):
    model, opt = make_pair(3, hidden=hidden)
    opt = opt if with_optimizer else None
    path = FOLDER / "round.pt"
    save_checkpoint(path, model, opt, epoch=epoch, best_val_loss=loss, config=config)
    fresh, fresh_opt = make_pair(4, hidden=hidden)
    loaded = load_checkpoint(path, fresh, fresh_opt if with_optimizer else None)
    assert loaded["epoch"] == epoch and loaded["config"] == config
    assert loaded["best_val_loss"] == loss or math.isnan(loss) and math.isnan(loaded["best_val_loss"])
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))
    if with_optimizer:
        assert_equal_nested(fresh_opt.state_dict(), opt.state_dict())


@settings(max_examples=12)
@given(saved_dtype=st.sampled_from([torch.float32, torch.float64]),
       model_dtype=st.sampled_from([torch.float32, torch.float64]), with_optimizer=st.booleans())
def test_float32_and_float64_load_as_module_load_state_dict_does(saved_dtype, model_dtype, with_optimizer):
    # The model keeps its dtype and takes the values cast to it, exactly as nn.Module.load_state_dict
    # (and Optimizer.load_state_dict for the moments) would.
    model, opt = make_pair(3)
    model.to(saved_dtype)
    opt = torch.optim.Adam(model.parameters(), lr=0.01) if with_optimizer else None
    path = FOLDER / "dtype.pt"
    save_checkpoint(path, model, opt, epoch=0, best_val_loss=1.0)
    fresh = make_pair(4)[0].to(model_dtype)
    reference = make_pair(4)[0].to(model_dtype)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.01) if with_optimizer else None
    load_checkpoint(path, fresh, fresh_opt)
    reference.load_state_dict(model.state_dict())
    for (k, a), b in zip(fresh.state_dict().items(), reference.state_dict().values()):
        assert a.dtype == model_dtype and torch.equal(a, b), k


def test_nan_and_inf_weights_round_trip_unchanged():
    # A diverged model is saved and loaded as it is: NaN and inf are values, not damage.
    model, opt = make_pair(3)
    with torch.no_grad():
        model.net[0].weight[0, :3] = torch.tensor([math.nan, math.inf, -math.inf])
    save_checkpoint(FOLDER / "nan.pt", model, opt, epoch=0, best_val_loss=math.nan)
    fresh, fresh_opt = make_pair(4)
    loaded = load_checkpoint(FOLDER / "nan.pt", fresh, fresh_opt)
    torch.testing.assert_close(fresh.net[0].weight, model.net[0].weight, rtol=0, atol=0, equal_nan=True)
    assert math.isnan(loaded["best_val_loss"])


def test_a_config_with_a_reference_cycle_is_saved_as_pickle_would():
    # torch.load(weights_only=True) rebuilds cycles; check_plain must not recurse forever on them.
    cyclic = {"name": "loop"}
    cyclic["self"] = cyclic
    model, _ = make_pair(0)
    save_checkpoint(FOLDER / "cycle.pt", model, epoch=0, best_val_loss=1.0, config={"c": cyclic, "again": cyclic})
    loaded = load_checkpoint(FOLDER / "cycle.pt", make_pair(1)[0])
    assert loaded["config"]["c"]["self"] is loaded["config"]["c"] and loaded["config"]["again"] is loaded["config"]["c"]
    with pytest.raises(TypeError, match=r"config\['c'\]\['bad'\] .*builtin_function_or_method"):
        cyclic["bad"] = print
        save_checkpoint(FOLDER / "cycle.pt", model, epoch=0, best_val_loss=1.0, config={"c": cyclic})


def test_numpy_epoch_and_loss_are_saved_as_plain_python_numbers():
    import numpy as np

    model, _ = make_pair(0)
    save_checkpoint(FOLDER / "np.pt", model, epoch=np.int64(4), best_val_loss=np.float32(0.5))
    raw = torch.load(FOLDER / "np.pt", weights_only=True)
    assert type(raw["epoch"]) is int and raw["epoch"] == 4
    assert type(raw["best_val_loss"]) is float and raw["best_val_loss"] == 0.5


class WithPlainExtraState(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.tag = {"version": 1}

    def get_extra_state(self):
        return dict(self.tag)

    def set_extra_state(self, state):
        self.tag = dict(state)


def test_a_module_with_plain_extra_state_round_trips():
    module = WithPlainExtraState()
    module.tag = {"version": 7}
    save_checkpoint(FOLDER / "extra-state.pt", module, epoch=0, best_val_loss=0.0)
    fresh = WithPlainExtraState()
    load_checkpoint(FOLDER / "extra-state.pt", fresh)
    assert fresh.tag == {"version": 7}
    assert torch.equal(fresh.linear.weight, module.linear.weight)


# --- saving never leaves half a file ------------------------------------------------------------------

@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_a_crash_while_saving_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, error):
    model, opt = make_pair(0)
    path = tmp_path / "best.pt"
    save_checkpoint(path, model, opt, epoch=1, best_val_loss=0.5)
    old = path.read_bytes()

    def half_save(obj, f, *args, **kwargs):
        f.write(old[: len(old) // 2])  # half a file, then the crash
        raise error

    monkeypatch.setattr(ckpt.torch, "save", half_save)
    other, other_opt = make_pair(1)
    with pytest.raises(type(error)):
        save_checkpoint(path, other, other_opt, epoch=2, best_val_loss=0.25)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"] and path.read_bytes() == old
    assert load_checkpoint(path, other, other_opt)["epoch"] == 1


def test_saving_writes_crc32_even_when_a_program_switched_it_off(tmp_path):
    model, _ = make_pair(0)
    previous = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(False)
    try:
        save_checkpoint(tmp_path / "c.pt", model, epoch=0, best_val_loss=1.0)
        assert torch.serialization.get_crc32_options() is False  # the setting is restored
    finally:
        torch.serialization.set_crc32_options(previous)
    assert zipfile.ZipFile(tmp_path / "c.pt").testzip() is None
    load_checkpoint(tmp_path / "c.pt", make_pair(1)[0])


def test_saving_onto_a_directory_is_refused(tmp_path):
    (tmp_path / "c.pt").mkdir()
    with pytest.raises(ValueError, match="path must name a file, got the directory"):
        save_checkpoint(tmp_path / "c.pt", make_pair(0)[0], epoch=0, best_val_loss=1.0)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "secret.pt"
    path.write_bytes(SOURCE_BYTES)
    path.chmod(0)
    model, opt = make_pair(5)
    assert_refused(path, model, opt, match="cannot be read")


# --- generator states and arguments -------------------------------------------------------------------

@given(size=st.sampled_from([0, 3, 5055, 5057]), dtype=st.sampled_from([torch.uint8, torch.int64, torch.float32]))
def test_bad_rng_states_are_refused_before_any_generator_changes(size, dtype):
    g = torch.Generator().manual_seed(3)
    states = get_rng_states({"g": g})
    global_before, g_before = torch.get_rng_state(), g.get_state()
    bad = {"torch": torch.get_rng_state(), "generators": {"g": torch.zeros(size, dtype=dtype)}}
    torch.manual_seed(11)
    g.manual_seed(12)
    global_before, g_before = torch.get_rng_state(), g.get_state()
    with pytest.raises(ValueError, match=r"RNG state generators\['g'\] is not a CPU generator state"):
        set_rng_states(bad, {"g": g})
    assert torch.equal(torch.get_rng_state(), global_before) and torch.equal(g.get_state(), g_before)
    set_rng_states(states, {"g": g})  # a good state still restores


@pytest.mark.parametrize(
    ("map_location", "error", "match"),
    [(3, TypeError, "map_location must be a str or torch.device, got int"),
     ("gpu", ValueError, "map_location must be a device available here, got 'gpu'"),
     ("meta:x", ValueError, "map_location must be a device available here"),
     ("meta", ValueError, "map_location must be a device that holds values, got 'meta'")],
)
def test_bad_map_location_is_refused(map_location, error, match):
    model, opt = make_pair(5)
    before = everything(model, opt)
    with pytest.raises(error, match=match):
        load_checkpoint(SOURCE_PATH, model, opt, map_location=map_location)
    assert_same_everything(before, everything(model, opt))


def test_checkpoint_error_pickles_with_its_path_and_problem():
    error = CheckpointError("a/b.pt", "the file is empty")
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, CheckpointError) and again.path == Path("a/b.pt") and str(again) == str(error)
    assert str(error) == "cannot load checkpoint 'a/b.pt': the file is empty"


@settings(max_examples=20, suppress_health_check=[HealthCheck.filter_too_much])
@given(name=st.text(alphabet="abc-_ .é", min_size=1, max_size=8))
def test_the_message_names_the_file_whatever_its_name(name):
    assume(name.strip(" .") and "/" not in name)
    path = write(name + ".pt", b"")
    model, opt = make_pair(5)
    assert_refused(path, model, opt, match="the file is empty")
