"""Checkpoints that ``torch.load(..., weights_only=True)`` accepts, checked before they touch a model.

A checkpoint is one dict of tensors and plain Python values::

    {"format_version": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict() or None,
     "scheduler": scheduler.state_dict() or None, "epoch": int, "best_val_loss": float,
     "rng": dict of generator states, "config": dict, "extra": dict}

``weights_only=True`` (the default of ``torch.load`` since PyTorch 2.6) rebuilds
tensors and a fixed list of plain types (:func:`check_plain` lists them; an
optimizer's ``state_dict``, with its ``int`` keys, is among them) and refuses
every other class, a dataclass or a custom class included, because unpickling
an arbitrary object can run arbitrary code; a program can extend the list with
``torch.serialization.add_safe_globals``. :func:`save_checkpoint` therefore
checks that everything it writes is on the default list, so the file loads in
any program, and :func:`load_checkpoint` checks every key and shape against the
model *before* loading, so a failed load leaves the model and optimizer as they
were. Every problem with the file itself (missing, empty, truncated, corrupt,
tampered with, or written for another model) raises one exception type,
:class:`CheckpointError`, whose message names the file and the problem.

To resume training exactly, a checkpoint must hold the model, the optimizer,
the learning-rate scheduler *and* the random-number generators (batch order,
dropout masks) of one and the same moment, written atomically (a temporary file,
then ``os.replace``): :func:`train_resumable` does that at the end of every
epoch and resumes from the file when it exists. :class:`CheckpointOnImprovement`, passed to
:func:`dlfoundations.train.fit` as ``on_improvement``, writes all three together
at the end of every epoch that improves the validation loss.

Book chapters: :ref:`chap-digits-project`, section :ref:`sec-digits-checkpoint`, and
:ref:`chap-deploy`, section :ref:`sec-deploy-resume`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import os
import pickle
import tempfile
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.lr_scheduler import LRScheduler

from dlfoundations._validation import check_int, check_module, check_number, check_optimizer
from dlfoundations.train import train_one_epoch

__all__ = [
    "CHECKPOINT_KEYS", "FORMAT_VERSION", "CheckpointError", "CheckpointOnImprovement", "check_plain", "get_rng_states",
    "load_checkpoint", "save_checkpoint", "set_rng_states", "train_resumable",
]

#: Version of the layout below; bumped when the keys change (2 added ``rng``, 3 ``scheduler``).
FORMAT_VERSION = 3
#: The keys of every checkpoint dict.
CHECKPOINT_KEYS = ("format_version", "model", "optimizer", "scheduler", "epoch", "best_val_loss", "rng", "config",
                   "extra")

#: Leaf types that ``torch.load(weights_only=True)`` rebuilds without
#: ``torch.serialization.add_safe_globals`` (checked against PyTorch in the tests).
#: Types are matched exactly: a subclass (``numpy.float64``, an ``IntEnum``, a
#: ``namedtuple``, a ``defaultdict``) is pickled as its own class and refused.
_PLAIN_LEAVES = (type(None), bool, int, float, complex, str, bytes, bytearray,
                 torch.Size, torch.dtype, torch.device, torch.layout)
_PLAIN_SEQUENCES = (list, tuple, set)
_PLAIN_MAPPINGS = (dict, OrderedDict, Counter)
_TENSORS = (Tensor, nn.Parameter)
_ALLOWED = ("None, bool, int, float, complex, str, bytes, bytearray, list, tuple, set, dict, "
            "OrderedDict, Counter, torch.Size, torch.dtype, torch.device, torch.layout")


def check_plain(value: object, name: str, allow_tensors: bool) -> None:
    """Raise ``TypeError`` unless ``torch.load(weights_only=True)`` rebuilds ``value`` with its default allowlist.

    ``weights_only=True`` unpickles tensors and a fixed list of plain types:
    ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``,
    ``bytearray``; ``list``, ``tuple``, ``set``, and ``dict``, ``OrderedDict``
    and ``Counter`` with keys of any of these types (an optimizer's
    ``state_dict`` has ``int`` keys); and ``torch.Size``, ``torch.dtype``,
    ``torch.device`` and ``torch.layout``. It refuses every other class, a
    dataclass, an enum, a ``namedtuple``, a ``defaultdict``, a ``frozenset`` or
    a NumPy scalar included, unless the loading program first registers it
    with ``torch.serialization.add_safe_globals``. This check accepts the
    default list only, so a checkpoint that passes it loads in any program with
    no set-up. Types are matched exactly, because a subclass is pickled as its
    own class: ``numpy.float64`` is a ``float`` to ``isinstance`` and is refused.

    Args:
        value (object): the value to check.
        name (str): its name in messages, e.g. ``"config"``; nested values are
            named by their path, ``config['optimizer']['betas'][0]``.
        allow_tensors (bool): accept ``torch.Tensor`` (and ``nn.Parameter``)
            values and keys. ``weights_only`` loads tensors; a ``config``
            refuses them only because it is meant to hold hyper-parameters.

    Raises:
        TypeError: naming the path of the first offending value (or dict key) and its type.
    """
    _check_plain(value, name, allow_tensors, set())


def _check_plain(value: object, name: str, allow_tensors: bool, checking: set[int]) -> None:
    # checking: ids of the containers this value is nested in, to stop at a reference cycle.
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return
    if kind in _TENSORS:
        if allow_tensors:
            return
        raise TypeError(
            f"{name} is a tensor, which torch.load(weights_only=True) would accept, but "
            f"{name.split('[')[0]} takes plain Python values only (put tensors in extra)"
        )
    if kind in _PLAIN_SEQUENCES or kind in _PLAIN_MAPPINGS:
        # A container met again inside itself is a reference cycle, which pickle and weights_only handle.
        if id(value) in checking:
            return
        checking.add(id(value))
        try:
            if kind in _PLAIN_SEQUENCES:
                for i, item in enumerate(value):
                    _check_plain(item, f"{name}[{i}]", allow_tensors, checking)
                return
            for key, item in value.items():
                if not _is_plain(key, allow_tensors):
                    key_kind = type(key)
                    raise TypeError(
                        f"{name} has key {key!r} of type {key_kind.__module__}.{key_kind.__qualname__}, which "
                        f"torch.load(weights_only=True) refuses; keys may be of the types {_ALLOWED}"
                    )
                _check_plain(item, f"{name}[{key!r}]", allow_tensors, checking)
            return
        finally:
            checking.discard(id(value))
    hint = " (convert it with dataclasses.asdict)" if dataclasses.is_dataclass(value) else ""
    raise TypeError(
        f"{name} must hold only values that torch.load(weights_only=True) accepts ({_ALLOWED}"
        f"{', Tensor' if allow_tensors else ''}), got {kind.__module__}.{kind.__qualname__}{hint}"
    )


def _is_plain(value: object, allow_tensors: bool) -> bool:
    try:
        check_plain(value, "key", allow_tensors)
    except TypeError:
        return False
    return True


def get_rng_states(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """The states of PyTorch's global CPU generator and of ``generators``, as ``uint8`` tensors.

    Args:
        generators (Mapping[str, torch.Generator] | None): named generators to
            save as well, e.g. ``{"loader": loader_generator}``. Default: none.

    Returns:
        dict: ``{"torch": torch.get_rng_state(), "generators": {name: generator.get_state()}}``,
        which :func:`check_plain` accepts (tensors) and :func:`set_rng_states` restores.

    Raises:
        TypeError: if a value of ``generators`` is not a ``torch.Generator``.

    Note:
        CUDA generators are not saved; the book trains on the CPU.
    """
    generators = _check_generators(generators)
    return {"torch": torch.get_rng_state(), "generators": {k: g.get_state() for k, g in generators.items()}}


def set_rng_states(states: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None) -> None:
    """Restore what :func:`get_rng_states` saved: the global generator and every named generator.

    Every state is checked (on a scratch generator) before any generator is
    changed, so on an error no generator has been touched.

    Args:
        states (Mapping): a dict of :func:`get_rng_states`, e.g. ``checkpoint["rng"]``.
        generators (Mapping[str, torch.Generator] | None): the generators to
            restore, under the names they were saved with. Default: none.

    Raises:
        TypeError: if a value of ``generators`` is not a ``torch.Generator``.
        ValueError: if ``states`` is not such a dict, a state is not a valid
            CPU generator state, or a name is not among the saved generators.
    """
    generators = _check_generators(generators)
    _check_rng_states(states, allow_empty=False)
    missing = sorted(set(generators) - set(states["generators"]))
    if missing:
        raise ValueError(f"no saved state for generators {missing}; saved: {sorted(states['generators'])}")
    torch.set_rng_state(states["torch"])
    for name, generator in generators.items():
        generator.set_state(states["generators"][name])


def _check_rng_states(states: object, allow_empty: bool) -> None:
    """Raise ``ValueError`` unless ``states`` is a dict of :func:`get_rng_states` (or ``{}`` if ``allow_empty``)."""
    if allow_empty and isinstance(states, Mapping) and not states:
        return
    if (not isinstance(states, Mapping) or set(states) != {"torch", "generators"}
            or not isinstance(states["generators"], Mapping)):
        raise ValueError(f"expected RNG states with keys ['generators', 'torch'], got {states!r:.80}")
    named = {"torch": states["torch"]} | {f"generators[{k!r}]": v for k, v in states["generators"].items()}
    for name, state in named.items():
        scratch = torch.Generator()
        try:
            if not isinstance(state, Tensor) or state.dtype != torch.uint8:
                raise TypeError(f"a torch.uint8 tensor, got {type(state).__name__} {getattr(state, 'dtype', '')}")
            scratch.set_state(state)
        except (TypeError, RuntimeError) as err:
            raise ValueError(f"RNG state {name} is not a CPU generator state: {err}") from None


def _check_generators(generators: object) -> dict[str, torch.Generator]:
    if generators is None:
        return {}
    if not isinstance(generators, Mapping):
        raise TypeError(f"generators must be a dict of name -> torch.Generator, got {type(generators).__name__}")
    for name, generator in generators.items():
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generators[{name!r}] must be a torch.Generator, got {type(generator).__name__}")
    return dict(generators)


def _check_path(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return Path(path)


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    scheduler: LRScheduler | None = None,
    epoch: int,
    best_val_loss: float,
    rng: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    r"""Write ``{"model": state_dict, "optimizer": ..., "scheduler": ..., "epoch", "best_val_loss", "rng", "config", "extra"}`` to ``path``.

    Everything is checked against :func:`check_plain` *before* the file is
    written, so a checkpoint this function writes always loads with
    ``torch.load(path, weights_only=True)``, in any program. A dataclass ``config`` is
    converted with ``dataclasses.asdict`` (and the result checked); any
    other object is refused. The file is written to a temporary name in the
    same folder and renamed, so a crash mid-write never leaves half a
    checkpoint under ``path``.

    Args:
        path (str | os.PathLike): file to write; its folder must exist.
        model (torch.nn.Module): whose ``state_dict()`` is saved.
        optimizer (torch.optim.Optimizer | None): whose ``state_dict()`` is
            saved, to resume training. Default: ``None``.
        scheduler (torch.optim.lr_scheduler.LRScheduler | None): a learning-rate
            scheduler of ``optimizer``, whose ``state_dict()`` (its step count
            and last learning rates) is saved. Default: ``None``.
        epoch (int): the 0-based epoch at whose end the model, the optimizer
            and ``rng`` were captured, ``>= 0``.
        best_val_loss (float): the validation loss of those weights.
        rng (Mapping | None): the random-number generators' states at the same
            moment, from :func:`get_rng_states`, to resume training exactly.
            Default: ``None`` (``{}``).
        config (Mapping | None): the hyper-parameters that rebuild the model
            and training, as plain values (or a dataclass instance, converted).
            Default: ``None`` (``{}``).
        extra (Mapping | None): anything else needed at inference, tensors or
            plain values, e.g. ``{"standardizer": standardizer.state_dict()}``.
            Default: ``None`` (``{}``).

    Returns:
        dict: the dict that was written.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, ``optimizer`` not an
            optimizer, ``scheduler`` not a scheduler, ``epoch`` not an int, ``best_val_loss`` not a number, or
            ``rng``/``config``/``extra`` or the model's or optimizer's
            ``state_dict`` hold a value that ``weights_only`` would refuse (the
            message names its key path and type), e.g. a dataclass nested in
            ``config``; or a tensor in ``config``.
        ValueError: if ``epoch < 0``, the folder of ``path`` does not exist,
            ``path`` is a directory, or ``scheduler`` is given without
            ``optimizer`` or belongs to another optimizer.

    Reference: PyTorch's "Saving and loading models" tutorial (the checkpoint
    dict); book sections :ref:`sec-digits-checkpoint` and :ref:`sec-deploy-atomic`.
    """
    # Checked first, so that whatever is written loads with torch.load(weights_only=True).
    path, epoch, rng, config, extra = _check_save_args(path, model, optimizer, epoch, best_val_loss, rng, config, extra)
    _check_scheduler(scheduler, optimizer, check_state=True)
    checkpoint = {
        "format_version": FORMAT_VERSION,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),  # its step count and last lr
        "epoch": epoch,
        "best_val_loss": float(best_val_loss),
        "rng": rng,
        "config": config,
        "extra": extra,
    }
    _write_atomically(checkpoint, path)  # never half a checkpoint under `path`
    return checkpoint


def _check_model_and_optimizer(model: object, optimizer: object) -> None:
    check_module(model)
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")


def _check_scheduler(scheduler: object, optimizer: object, check_state: bool) -> None:
    if scheduler is None:
        return
    if not isinstance(scheduler, LRScheduler):
        raise TypeError(f"scheduler must be a torch.optim.lr_scheduler.LRScheduler or None, got {type(scheduler).__name__}")
    if optimizer is None or scheduler.optimizer is not optimizer:
        raise ValueError("scheduler must be a scheduler of the optimizer passed with it, got "
                         + ("no optimizer" if optimizer is None else "a scheduler of another optimizer"))
    if check_state:  # a LambdaLR saves callable objects' __dict__, which may hold anything
        check_plain(scheduler.state_dict(), "scheduler.state_dict()", allow_tensors=True)


def _check_save_args(
    path: object, model: object, optimizer: object, epoch: object, best_val_loss: object, rng: object,
    config: object, extra: object,
) -> tuple[Path, int, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Check everything :func:`save_checkpoint` would write; return ``path``, ``epoch``, ``rng``, ``config``, ``extra``.

    ``epoch`` becomes a Python ``int`` (a NumPy integer would be pickled as its
    class, which ``weights_only`` refuses), a dataclass ``config`` a dict, and
    ``rng``, ``config`` and ``extra`` plain dicts (``{}`` for ``None``).
    """
    path = _check_path(path)
    _check_model_and_optimizer(model, optimizer)
    epoch = check_int(epoch, "epoch", 0, numpy_ok=True)
    check_number(best_val_loss, "best_val_loss")
    if config is None:
        config = {}
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    parts = {}
    for name, value, allow_tensors in (("rng", rng or {}, True), ("config", config, False), ("extra", extra or {}, True)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
        parts[name] = dict(value)
        check_plain(parts[name], name, allow_tensors)
    # A module's get_extra_state() or a custom optimizer can put any object in its state_dict.
    check_plain(dict(model.state_dict()), "model.state_dict()", allow_tensors=True)
    check_plain(None if optimizer is None else optimizer.state_dict(), "optimizer.state_dict()", allow_tensors=True)
    if not path.parent.is_dir():
        raise ValueError(f"the folder of path must exist, got {str(path.parent)!r}")
    if path.is_dir():
        raise ValueError(f"path must name a file, got the directory {str(path)!r}")
    return path, epoch, parts["rng"], parts["config"], parts["extra"]


def _write_atomically(checkpoint: dict[str, Any], path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, flushed to disk, then renamed to ``path``.

    ``os.replace`` is atomic on one file system, so ``path`` holds either the
    previous file or the complete new one, even if the program dies mid-write.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, _crc32_on():
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class CheckpointError(ValueError):
    """A checkpoint file that :func:`load_checkpoint` refuses; the message names the file and what is wrong.

    Raised for every problem *with the file*: it is missing or not a regular
    file, cannot be read, is empty, truncated or corrupt (not a complete zip
    archive, or a member fails its CRC-32 check), holds objects that
    ``torch.load(weights_only=True)`` refuses, or was tampered with or written
    for something else (another format version, missing or extra keys, values
    of the wrong type, a ``state_dict`` of another architecture or optimizer).
    It is a ``ValueError``, so ``except ValueError`` catches it too; the error
    that revealed the problem, if any, is chained as ``__cause__``.

    Attributes:
        path (pathlib.Path): the checkpoint file.
        problem (str): what is wrong with it, e.g.
            ``shape mismatch for 'net.0.weight': checkpoint has (256, 64), model has (128, 64)``.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"cannot load checkpoint {str(path)!r}: {problem}")

    def __reduce__(self):  # pickles with both arguments (multiprocessing, pytest-xdist)
        return type(self), (self.path, self.problem)


class _Invalid(Exception):
    """Internal: a problem found in a checkpoint; load_checkpoint turns it into a CheckpointError."""


def _kind(value: object) -> str:
    """The kind of a tensor's dtype, or of an optimizer hyper-parameter, for comparisons."""
    if isinstance(value, Tensor):
        if value.dtype == torch.bool:
            return "bool"
        if value.dtype.is_complex:
            return "complex"
        return "floating" if value.dtype.is_floating_point else "integer"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return f"sequence of {len(value)}"
    return type(value).__name__


def _hyper_kind(value: object) -> str:
    # A learning rate may be a float or a 0-d tensor (torch.optim accepts both): both are numbers.
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype != torch.bool and not value.dtype.is_complex:
        return "number"
    return _kind(value)


def _read(path: Path, map_location: torch.device) -> object:
    """``torch.load(path, weights_only=True)``, after checking that the file is a complete, intact zip archive."""
    if not path.exists():
        raise _Invalid("no such file")
    if not path.is_file():
        raise _Invalid("it is a directory, not a file" if path.is_dir() else "it is not a regular file")
    try:
        data = path.read_bytes()  # once: the checks below and torch.load see the same bytes
    except OSError as err:
        raise _Invalid(f"the file cannot be read ({err.strerror or err})") from err
    if not data:
        raise _Invalid("the file is empty")
    # torch.save writes a zip archive with a CRC-32 per member, but torch.load does not check them:
    # a flipped byte in a tensor would load as a silently different weight. zipfile checks them.
    try:
        is_zip = zipfile.is_zipfile(io.BytesIO(data))
        if is_zip:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                bad_member = archive.testzip()
                # torch.load's zip reader takes a member whose DOS attributes say "directory" for an empty
                # one, and hands back an uninitialised buffer in place of the tensor: refuse it here.
                folders = [m.filename for m in archive.infolist() if m.is_dir() or m.external_attr & 0x10]
    except Exception as err:  # BadZipFile, NotImplementedError, OSError, ...: any damage to the archive
        raise _Invalid(f"a corrupt zip archive ({type(err).__name__}: {err})") from err
    if not is_zip:
        raise _Invalid(f"not a complete zip archive, as torch.save writes (truncated, or another format); "
                       f"it starts with {data[:16]!r}")
    if bad_member is not None:
        raise _Invalid(f"corrupt: member {bad_member!r} fails its CRC-32 check")
    if folders:
        raise _Invalid(f"corrupt: member {folders[0]!r} is marked as a directory")
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        # PyTorch's message is a page of advice; its "WeightsUnpickler error:" line says what was refused.
        lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [""]
        reason = next((line for line in lines if "WeightsUnpickler error" in line), lines[0])
        raise _Invalid(f"torch.load(weights_only=True) refuses its contents ({reason[:200]}); save_checkpoint "
                       "writes only what it accepts") from err
    except Exception as err:  # RuntimeError, EOFError, KeyError, ...: whatever damage torch.load trips on
        raise _Invalid(f"torch.load failed with {type(err).__name__}: {str(err)[:200]}") from err


def _check_layout(checkpoint: object) -> None:
    """The top level: a dict of this format version with exactly CHECKPOINT_KEYS, each of the right type."""
    if not isinstance(checkpoint, dict):
        raise _Invalid(f"expected a checkpoint dict with keys {sorted(CHECKPOINT_KEYS)}, got {type(checkpoint).__name__}")
    version = checkpoint.get("format_version")
    if "format_version" in checkpoint and (type(version) is not int or version != FORMAT_VERSION):
        raise _Invalid(f"expected checkpoint format_version {FORMAT_VERSION}, got {version!r}")
    if set(checkpoint) != set(CHECKPOINT_KEYS):
        missing = sorted(set(CHECKPOINT_KEYS) - set(checkpoint), key=str)
        unexpected = sorted(set(checkpoint) - set(CHECKPOINT_KEYS), key=str)
        raise _Invalid(f"expected a checkpoint dict with keys {sorted(CHECKPOINT_KEYS)}, "
                       f"got one with keys missing {missing} and unexpected keys {unexpected}")
    epoch, loss = checkpoint["epoch"], checkpoint["best_val_loss"]
    if type(epoch) is not int or epoch < 0:
        raise _Invalid(f"checkpoint['epoch'] must be an int >= 0, got {epoch!r}")
    if type(loss) not in (int, float):
        raise _Invalid(f"checkpoint['best_val_loss'] must be a float, got {type(loss).__name__}: {loss!r:.80}")
    if checkpoint["scheduler"] is not None and not isinstance(checkpoint["scheduler"], dict):
        raise _Invalid(f"checkpoint['scheduler'] must be None or a scheduler state_dict, "
                       f"got {type(checkpoint['scheduler']).__name__}")
    for key in ("rng", "config", "extra"):
        if not isinstance(checkpoint[key], dict):
            raise _Invalid(f"checkpoint[{key!r}] must be a dict, got {type(checkpoint[key]).__name__}")
    try:
        _check_rng_states(checkpoint["rng"], allow_empty=True)
    except ValueError as err:
        raise _Invalid(f"checkpoint['rng']: {err}") from None
    _check_optimizer_layout(checkpoint["optimizer"])


@contextlib.contextmanager
def _crc32_on() -> Iterator[None]:
    # load_checkpoint checks the zip members' CRC-32s; a program may have switched writing them off.
    previous = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(True)
    try:
        yield
    finally:
        torch.serialization.set_crc32_options(previous)


def _check_model_state(saved: object, model: nn.Module) -> None:
    if not isinstance(saved, Mapping):
        raise _Invalid(f"checkpoint['model'] must be a state_dict, got {type(saved).__name__}")
    expected = model.state_dict()
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    if missing or unexpected:
        raise _Invalid(
            f"checkpoint does not match the model: keys missing from the checkpoint {missing}, "
            f"unexpected keys in the checkpoint {unexpected}"
        )
    for key, tensor in expected.items():
        value = saved[key]
        if not isinstance(tensor, Tensor):  # a module's get_extra_state(): any plain value
            continue
        if not isinstance(value, Tensor):
            raise _Invalid(f"checkpoint['model'][{key!r}] must be a tensor, got {type(value).__name__}")
        if value.shape != tensor.shape:
            raise _Invalid(
                f"shape mismatch for {key!r}: checkpoint has {tuple(value.shape)}, model has {tuple(tensor.shape)}"
            )
        if _kind(value) != _kind(tensor) or value.layout != tensor.layout:
            raise _Invalid(f"dtype mismatch for {key!r}: checkpoint has {value.dtype} ({value.layout}), "
                           f"model has {tensor.dtype} ({tensor.layout})")


def _check_optimizer_layout(saved: object) -> None:
    """An optimizer state_dict's structure, checked whether or not an optimizer is given."""
    if saved is None:
        return
    if (not isinstance(saved, Mapping) or set(saved) != {"state", "param_groups"}
            or not isinstance(saved["state"], Mapping) or not isinstance(saved["param_groups"], list)):
        raise _Invalid(
            "checkpoint['optimizer'] must be None or an optimizer state_dict {'state': dict, 'param_groups': list}, "
            f"got {type(saved).__name__}" + (f" with keys {sorted(saved, key=str)}" if isinstance(saved, Mapping) else "")
        )
    listed = []
    for g, group in enumerate(saved["param_groups"]):
        if (not isinstance(group, Mapping) or not isinstance(group.get("params"), list)
                or not all(type(i) is int for i in group["params"])):
            raise _Invalid(f"checkpoint['optimizer']['param_groups'][{g}] must be a dict with a list of int 'params'")
        listed += group["params"]
    if len(set(listed)) != len(listed):
        raise _Invalid("checkpoint['optimizer'] lists a parameter id in more than one place")
    strays = sorted(set(saved["state"]) - set(listed), key=str)
    if strays:
        raise _Invalid(f"checkpoint['optimizer']['state'] holds state for parameter ids {strays} "
                       "that no parameter group lists")
    for param_id, state in saved["state"].items():
        if not isinstance(state, Mapping):
            raise _Invalid(f"checkpoint['optimizer']['state'][{param_id}] must be a dict, got {type(state).__name__}")


#: Hyper-parameters that change the algorithm, not its settings: a checkpoint must agree with the optimizer
#: on them (Adam's state_dict has AdamW's keys and would turn an AdamW into an Adam).
_ALGORITHM_FLAGS = frozenset({"decoupled_weight_decay", "nesterov", "amsgrad", "centered", "maximize"})


def _check_optimizer_state(saved: object, optimizer: torch.optim.Optimizer) -> None:
    """The saved state_dict (its layout already checked) fits ``optimizer``: groups, sizes, hyper-parameters, shapes."""
    if saved is None:
        raise _Invalid("an optimizer was given but the checkpoint holds no optimizer state")
    groups = optimizer.param_groups
    if len(saved["param_groups"]) != len(groups):
        raise _Invalid(f"optimizer has {len(groups)} parameter groups, checkpoint has {len(saved['param_groups'])}")
    name = type(optimizer).__name__
    for g, (saved_group, group) in enumerate(zip(saved["param_groups"], groups)):
        ids, params = saved_group["params"], group["params"]
        if len(ids) != len(params):
            raise _Invalid(f"optimizer parameter group {g} has {len(params)} parameters, checkpoint has {len(ids)}")
        # Hyper-parameters the optimizer does not know mean another optimizer wrote the state.
        unexpected = sorted(set(saved_group) - set(group) - {"params", "param_names"}, key=str)
        if unexpected:
            raise _Invalid(f"parameter group {g} of the checkpoint has hyper-parameters {unexpected} that "
                           f"{name} does not have: its state is from another optimizer")
        for key in _ALGORITHM_FLAGS & set(saved_group) & set(group):
            if saved_group[key] != group[key]:
                raise _Invalid(f"parameter group {g}: the checkpoint's optimizer has {key}={saved_group[key]!r}, "
                               f"this {name} has {key}={group[key]!r}: its state is from another algorithm")
        for key in set(saved_group) & set(group) - {"params", "param_names"}:
            mine, theirs = group[key], saved_group[key]
            if mine is not None and theirs is not None and _hyper_kind(mine) != _hyper_kind(theirs):
                raise _Invalid(f"parameter group {g}: {key} is {theirs!r:.60} in the checkpoint, "
                               f"but {name} expects a value like {mine!r:.60}")
        for param_id, param in zip(ids, params):
            # Per-parameter buffers (momentum, Adam's moments) have the parameter's shape.
            for key, value in saved["state"].get(param_id, {}).items():
                if isinstance(value, Tensor) and value.ndim > 0 and value.shape != param.shape:
                    raise _Invalid(
                        f"shape mismatch for optimizer state {key!r} of group {g}: checkpoint has "
                        f"{tuple(value.shape)}, parameter has {tuple(param.shape)}"
                    )


def _check_load_args(path: object, model: object, optimizer: object, map_location: object) -> tuple[Path, torch.device]:
    path = _check_path(path)
    _check_model_and_optimizer(model, optimizer)
    return path, _check_map_location(map_location)


def _check_map_location(map_location: object) -> torch.device:
    if not isinstance(map_location, (str, torch.device)):
        raise TypeError(f"map_location must be a str or torch.device, got {type(map_location).__name__}")
    try:
        device = torch.device(map_location)
        torch.empty(0, device=device)
    except Exception as err:  # RuntimeError for a bad name, AssertionError for CUDA in a CPU-only build
        raise ValueError(f"map_location must be a device available here, got {map_location!r} ({err})") from None
    if device.type == "meta":  # meta tensors have no values to load into a model
        raise ValueError(f"map_location must be a device that holds values, got {map_location!r}")
    return device


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
    *,
    scheduler: LRScheduler | None = None,
) -> dict[str, Any]:
    r"""Load a checkpoint of :func:`save_checkpoint` with ``torch.load(path, weights_only=True)`` into ``model`` (and ``optimizer``).

    Nothing is loaded until everything has been checked: that the file is a
    complete zip archive whose members pass their CRC-32 checks, the
    checkpoint's keys and the type of every value, the model's ``state_dict``
    keys and every tensor's shape, and the optimizer's parameter groups, its
    hyper-parameters and the shapes of its per-parameter state. Should loading
    still fail, the model and optimizer are restored before the error is
    raised. Either way a failed load leaves them exactly as they were.

    Args:
        path (str | os.PathLike): a file written by :func:`save_checkpoint`.
        model (torch.nn.Module): built with the checkpoint's ``config``; receives the weights.
        optimizer (torch.optim.Optimizer | None): receives the optimizer state,
            to resume training. Default: ``None`` (the optimizer state is not loaded).
        map_location (str | torch.device): where tensors are loaded. Default: ``"cpu"``.
        scheduler (torch.optim.lr_scheduler.LRScheduler | None): a scheduler of
            ``optimizer``; receives the saved scheduler state. Default: ``None``.

    Returns:
        dict: the whole checkpoint, with ``epoch``, ``best_val_loss``, ``rng``
        (restore it with :func:`set_rng_states` to resume training), ``config``
        and ``extra``.

    Note:
        As ``torch.optim.Optimizer.load_state_dict`` does, the optimizer takes
        the checkpoint's hyper-parameters (``lr``, ``betas``, ...). Unlike it,
        this function refuses a checkpoint whose optimizer differs in a flag
        that changes the algorithm (``decoupled_weight_decay``, ``nesterov``,
        ``amsgrad``, ``centered``, ``maximize``) or has hyper-parameters this
        optimizer lacks: that state is another optimizer's (``torch.optim.Adam``'s
        ``state_dict`` has the keys of ``AdamW``'s and would turn an ``AdamW``
        into an ``Adam``). It also checks the CRC-32 of every member of the
        zip archive, which ``torch.load`` does not, so a corrupted byte is an
        error instead of a silently different weight; for that the whole
        file is read into memory once.

    Raises:
        CheckpointError: a ``ValueError`` for every problem with the file: it
            is missing or a directory, empty, truncated, corrupt or tampered
            with, holds objects that ``weights_only=True`` refuses, has keys
            missing or unexpected or a shape that differs from the model's; the
            message names the file and the problem, e.g. ``cannot load
            checkpoint 'best.pt': shape mismatch for 'net.0.weight': checkpoint
            has (256, 64), model has (128, 64)``; or ``optimizer`` is given and
            the checkpoint holds none, or another optimizer's state; or
            ``scheduler`` is given and the checkpoint holds no scheduler state.
        TypeError: if ``path``, ``model``, ``optimizer``, ``scheduler`` or ``map_location`` have the wrong type.
        ValueError: if ``map_location`` is not a device available here, or
            ``scheduler`` is not a scheduler of ``optimizer``.

    Book sections: :ref:`sec-digits-checkpoint` and :ref:`sec-deploy-resume`.
    """
    path, device = _check_load_args(path, model, optimizer, map_location)
    _check_scheduler(scheduler, optimizer, check_state=False)
    try:
        checkpoint = _read(path, device)  # a complete zip archive, CRC-checked, through torch.load(weights_only=True)
        _check_layout(checkpoint)
        _check_model_state(checkpoint["model"], model)
        if optimizer is not None:
            _check_optimizer_state(checkpoint["optimizer"], optimizer)
        if scheduler is not None and checkpoint["scheduler"] is None:
            raise _Invalid("a scheduler was given but the checkpoint holds no scheduler state")
        # Every check passed: only now change the model, optimizer and scheduler (and undo it all if that fails).
        _load_or_restore(checkpoint, model, optimizer, scheduler)
    except _Invalid as err:
        raise CheckpointError(path, str(err)) from err.__cause__
    return checkpoint


def _load_or_restore(
    checkpoint: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer | None,
    scheduler: LRScheduler | None = None,
) -> None:
    scheduler_before = None if scheduler is None else copy.deepcopy(scheduler.state_dict())
    model_before = {k: v.detach().clone() if isinstance(v, Tensor) else v for k, v in model.state_dict().items()}
    # Optimizer.load_state_dict rebinds .state and .param_groups to new objects; keeping the old ones restores it.
    optimizer_before = None if optimizer is None else (optimizer.state, optimizer.param_groups)
    try:
        model.load_state_dict(checkpoint["model"])
        if optimizer is not None:
            keys_before = [set(group) for group in optimizer.param_groups]
            optimizer.load_state_dict(checkpoint["optimizer"])
            for g, (keys, group) in enumerate(zip(keys_before, optimizer.param_groups)):
                if not keys <= set(group):
                    raise _Invalid(f"parameter group {g} of the checkpoint lacks the hyper-parameters "
                                   f"{sorted(keys - set(group))} of {type(optimizer).__name__}")
        if scheduler is not None:
            _load_scheduler_state(scheduler, checkpoint["scheduler"])
    except Exception as err:
        with torch.no_grad():
            model.load_state_dict(model_before)
        if optimizer_before is not None:
            optimizer.state, optimizer.param_groups = optimizer_before
        if scheduler_before is not None:
            scheduler.load_state_dict(scheduler_before)
        if isinstance(err, _Invalid):
            raise
        raise _Invalid(f"loading failed with {type(err).__name__}: {str(err)[:200]}") from err


def _load_scheduler_state(scheduler: LRScheduler, saved: dict[str, Any]) -> None:
    mine = scheduler.state_dict()
    # Another scheduler class has other keys (StepLR's step_size, CosineAnnealingLR's T_max): refuse it.
    if set(saved) != set(mine):
        raise _Invalid(f"the checkpoint's scheduler state has keys {sorted(saved)}, "
                       f"this {type(scheduler).__name__} has {sorted(mine)}: it is another scheduler's state")
    scheduler.load_state_dict(saved)


class CheckpointOnImprovement:
    r"""A callback for ``fit(..., on_improvement=...)`` that saves model, optimizer and RNG states together.

    :func:`dlfoundations.train.fit` calls it at the end of every epoch whose
    validation loss improves on the best so far, after validation and before
    the next epoch draws any random number. It then writes, with
    :func:`save_checkpoint`, the model's weights, the optimizer's state and the
    states of the global generator and of ``generators`` *of that same epoch*,
    labelled with that epoch and its validation loss. The file at ``path``
    therefore always holds the best epoch so far, complete: loading it and
    calling :func:`set_rng_states` resumes training exactly where that epoch
    ended. (Copying the best weights during training and saving them with the
    optimizer at the end would pair the best epoch's weights with the last
    epoch's optimizer state.)

    Args:
        path (str | os.PathLike): the checkpoint file, overwritten at every improvement.
        model (torch.nn.Module): the model being trained.
        optimizer (torch.optim.Optimizer | None): its optimizer. Default: ``None``.
        scheduler (torch.optim.lr_scheduler.LRScheduler | None): its
            learning-rate scheduler, saved too. Default: ``None``.
        generators (Mapping[str, torch.Generator] | None): named generators the
            training draws from besides the global one, e.g. the loader's
            shuffling generator. Default: none.
        config (Mapping | None): as in :func:`save_checkpoint`.
        extra (Mapping | None): as in :func:`save_checkpoint`.

    Attributes:
        saved_epochs (list[int]): the epochs saved so far, in order.

    Raises:
        TypeError: as :func:`save_checkpoint` (checked on the first save) and
            :func:`get_rng_states`.

    Book section: :ref:`sec-digits-checkpoint`.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        scheduler: LRScheduler | None = None,
        generators: Mapping[str, torch.Generator] | None = None,
        config: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = _check_path(path)
        _check_scheduler(scheduler, optimizer, check_state=False)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.generators = _check_generators(generators)
        self.config, self.extra = config, extra
        self.saved_epochs: list[int] = []

    def __call__(self, epoch: int, val_loss: float) -> None:
        """Save everything as it is at the end of ``epoch`` (0-based), whose validation loss is ``val_loss``."""
        save_checkpoint(self.path, self.model, self.optimizer, scheduler=self.scheduler, epoch=epoch, best_val_loss=val_loss,
                        rng=get_rng_states(self.generators), config=self.config, extra=self.extra)
        self.saved_epochs.append(epoch)


def train_resumable(
    path: str | os.PathLike,
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    scheduler: LRScheduler,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    num_epochs: int,
    *,
    generators: Mapping[str, torch.Generator] | None = None,
    stop_after: int | None = None,
) -> list[float]:
    r"""Train for ``num_epochs`` epochs with a checkpoint at the end of each; if ``path`` exists, resume from it first.

    Every epoch runs :func:`dlfoundations.train.train_one_epoch`, steps the
    scheduler once, and writes, atomically with :func:`save_checkpoint`, the
    model, the optimizer, the scheduler, the states of PyTorch's global
    generator (dropout) and of ``generators`` (batch order) and the epoch. A
    run started again after a crash loads that file, restores every generator
    with :func:`set_rng_states` and continues with the next epoch, so it
    computes exactly what the uninterrupted run computes, bit for bit on the
    same machine and software.

    Args:
        path (str | os.PathLike): the checkpoint file, overwritten every epoch.
        model (torch.nn.Module): the model, trained in place.
        loader (Iterable): yields ``(X, y)`` batches; its shuffling generator
            belongs in ``generators``.
        optimizer (torch.optim.Optimizer): built over ``model.parameters()``.
        scheduler (torch.optim.lr_scheduler.LRScheduler): a scheduler of
            ``optimizer``, stepped once per epoch.
        loss_fn (Callable): ``loss_fn(y_hat, y)``, a batch mean.
        num_epochs (int): the epochs of the whole run, ``>= 1``.
        generators (Mapping[str, torch.Generator] | None): named generators the
            training draws from besides the global one. Default: none.
        stop_after (int | None): return after the epoch that makes this many
            epochs in all, as if the program had died there (to demonstrate and
            test resuming), ``>= 1``. Default: ``None`` (run to ``num_epochs``).

    Returns:
        list[float]: the mean training loss of every epoch of the run so far,
        those of earlier sessions included (kept in the checkpoint's ``extra``;
        with no validation here, its ``best_val_loss`` holds the epoch's training loss).

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if ``num_epochs < 1``, ``stop_after < 1``, ``scheduler``
            is not a scheduler of ``optimizer``; :class:`CheckpointError` if the
            file at ``path`` does not fit the model, optimizer or scheduler.

    Book section: :ref:`sec-deploy-resume`.
    """
    path, generators, stop_after = _check_resumable_args(path, optimizer, scheduler, num_epochs, generators, stop_after)
    losses, start = [], 0
    if path.exists():  # a previous session wrote it: continue where it ended
        checkpoint = load_checkpoint(path, model, optimizer, scheduler=scheduler)
        set_rng_states(checkpoint["rng"], generators)
        losses, start = checkpoint["extra"]["losses"], checkpoint["epoch"] + 1
    for epoch in range(start, num_epochs):
        loss, _ = train_one_epoch(model, loader, optimizer, loss_fn)
        scheduler.step()
        losses.append(loss)
        # Everything of this one moment, written atomically: a crash leaves the previous epoch's file.
        save_checkpoint(path, model, optimizer, scheduler=scheduler, epoch=epoch, best_val_loss=loss,
                        rng=get_rng_states(generators), extra={"losses": losses})
        if epoch + 1 == stop_after:  # the simulated crash
            break
    return losses


def _check_resumable_args(
    path: object, optimizer: object, scheduler: object, num_epochs: object, generators: object, stop_after: object,
) -> tuple[Path, dict[str, torch.Generator], int | None]:
    path = _check_path(path)
    check_optimizer(optimizer)
    if scheduler is None:
        raise TypeError("scheduler must be a torch.optim.lr_scheduler.LRScheduler, got None")
    _check_scheduler(scheduler, optimizer, check_state=False)
    check_int(num_epochs, "num_epochs", 1)
    if stop_after is not None:
        stop_after = check_int(stop_after, "stop_after", 1)
    return path, _check_generators(generators), stop_after
