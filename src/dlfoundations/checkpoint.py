"""Checkpoints that ``torch.load(..., weights_only=True)`` accepts, checked before they touch a model.

A checkpoint is one dict of tensors and plain Python values::

    {"format_version": 2, "model": model.state_dict(), "optimizer": optimizer.state_dict() or None,
     "epoch": int, "best_val_loss": float, "rng": dict of generator states, "config": dict, "extra": dict}

``weights_only=True`` (the default of ``torch.load`` since PyTorch 2.6) rebuilds
tensors and a fixed list of plain types (:func:`check_plain` lists them; an
optimizer's ``state_dict``, with its ``int`` keys, is among them) and refuses
every other class, a dataclass or a custom class included, because unpickling
an arbitrary object can run arbitrary code; a program can extend the list with
``torch.serialization.add_safe_globals``. :func:`save_checkpoint` therefore
checks that everything it writes is on the default list, so the file loads in
any program, and :func:`load_checkpoint` checks every key and shape against the
model *before* loading, so a failed load leaves the model and optimizer as they
were.

To resume training exactly, a checkpoint must hold the model, the optimizer
*and* the random-number generators (batch order, dropout masks) of one and the
same moment: :class:`CheckpointOnImprovement`, passed to
:func:`dlfoundations.train.fit` as ``on_improvement``, writes all three together
at the end of every epoch that improves the validation loss.

Book chapter: "Project: a digit classifier, end to end" (label
``chap-digits-project``, section ``sec-digits-checkpoint``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections import Counter, OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "CHECKPOINT_KEYS", "FORMAT_VERSION", "CheckpointOnImprovement", "check_plain", "get_rng_states",
    "load_checkpoint", "save_checkpoint", "set_rng_states",
]

#: Version of the layout below; bumped when the keys change (2 added ``rng``).
FORMAT_VERSION = 2
#: The keys of every checkpoint dict.
CHECKPOINT_KEYS = ("format_version", "model", "optimizer", "epoch", "best_val_loss", "rng", "config", "extra")

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
    if kind in _PLAIN_SEQUENCES:
        for i, item in enumerate(value):
            check_plain(item, f"{name}[{i}]", allow_tensors)
        return
    if kind in _PLAIN_MAPPINGS:
        for key, item in value.items():
            if not _is_plain(key, allow_tensors):
                key_kind = type(key)
                raise TypeError(
                    f"{name} has key {key!r} of type {key_kind.__module__}.{key_kind.__qualname__}, which "
                    f"torch.load(weights_only=True) refuses; keys may be of the types {_ALLOWED}"
                )
            check_plain(item, f"{name}[{key!r}]", allow_tensors)
        return
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

    Args:
        states (Mapping): a dict of :func:`get_rng_states`, e.g. ``checkpoint["rng"]``.
        generators (Mapping[str, torch.Generator] | None): the generators to
            restore, under the names they were saved with. Default: none.

    Raises:
        TypeError: if a value of ``generators`` is not a ``torch.Generator``.
        ValueError: if ``states`` is not such a dict, or a name is not among the saved generators.
    """
    generators = _check_generators(generators)
    if not isinstance(states, Mapping) or set(states) != {"torch", "generators"}:
        raise ValueError(f"expected RNG states with keys ['generators', 'torch'], got {states!r:.80}")
    missing = sorted(set(generators) - set(states["generators"]))
    if missing:
        raise ValueError(f"no saved state for generators {missing}; saved: {sorted(states['generators'])}")
    torch.set_rng_state(states["torch"])
    for name, generator in generators.items():
        generator.set_state(states["generators"][name])


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
    epoch: int,
    best_val_loss: float,
    rng: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    r"""Write ``{"model": state_dict, "optimizer": ..., "epoch", "best_val_loss", "rng", "config", "extra"}`` to ``path``.

    Everything is checked against :func:`check_plain` *before* the file is
    written, so a checkpoint this function writes always loads with
    ``torch.load(path, weights_only=True)``, in any program. A dataclass ``config`` is
    converted with :func:`dataclasses.asdict` (and the result checked); any
    other object is refused. The file is written to a temporary name in the
    same folder and renamed, so a crash mid-write never leaves half a
    checkpoint under ``path``.

    Args:
        path (str | os.PathLike): file to write; its folder must exist.
        model (nn.Module): whose ``state_dict()`` is saved.
        optimizer (torch.optim.Optimizer | None): whose ``state_dict()`` is
            saved, to resume training. Default: ``None``.
        epoch (int): the 0-based epoch at whose end the model, the optimizer
            and ``rng`` were captured, ``>= 0``.
        best_val_loss (float): the validation loss of those weights.
        rng (Mapping | None): the random-number generators' states at the same
            moment, from :func:`get_rng_states`, to resume training exactly.
            Default: ``None`` (``{}``).
        config (Mapping | dataclass | None): the hyper-parameters that rebuild
            the model and training, as plain values. Default: ``None`` (``{}``).
        extra (Mapping | None): anything else needed at inference, tensors or
            plain values, e.g. ``{"standardizer": standardizer.state_dict()}``.
            Default: ``None`` (``{}``).

    Returns:
        dict: the dict that was written.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, ``optimizer`` not an
            optimizer, ``epoch`` not an int, ``best_val_loss`` not a number, or
            ``rng``/``config``/``extra`` or the model's or optimizer's
            ``state_dict`` hold a value that ``weights_only`` would refuse (the
            message names its key path and type), e.g. a dataclass nested in
            ``config``; or a tensor in ``config``.
        ValueError: if ``epoch < 0``, or the folder of ``path`` does not exist.

    Reference: PyTorch's "Saving and loading models" tutorial (the checkpoint
    dict); book section ``sec-digits-checkpoint``.
    """
    path = _check_path(path)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise TypeError(f"epoch must be an int, got {type(epoch).__name__}: {epoch!r}")
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    if isinstance(best_val_loss, bool) or not isinstance(best_val_loss, (int, float)):
        raise TypeError(f"best_val_loss must be a float, got {type(best_val_loss).__name__}: {best_val_loss!r}")
    if config is None:
        config = {}
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    for name, value, allow_tensors in (("rng", rng or {}, True), ("config", config, False), ("extra", extra or {}, True)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
        check_plain(dict(value), name, allow_tensors)
    model_state = model.state_dict()
    optimizer_state = None if optimizer is None else optimizer.state_dict()
    # A module's get_extra_state() or a custom optimizer can put any object in its state_dict.
    check_plain(dict(model_state), "model.state_dict()", allow_tensors=True)
    check_plain(optimizer_state, "optimizer.state_dict()", allow_tensors=True)
    if not path.parent.is_dir():
        raise ValueError(f"the folder of path must exist, got {str(path.parent)!r}")
    checkpoint = {
        "format_version": FORMAT_VERSION,
        "model": model_state,
        "optimizer": optimizer_state,
        "epoch": epoch,
        "best_val_loss": float(best_val_loss),
        "rng": dict(rng or {}),
        "config": dict(config),
        "extra": dict(extra or {}),
    }
    # Write beside the target, then rename: os.replace is atomic on one file system.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return checkpoint


def _check_model_state(saved: object, model: nn.Module) -> None:
    if not isinstance(saved, Mapping):
        raise ValueError(f"checkpoint['model'] must be a state_dict, got {type(saved).__name__}")
    expected = model.state_dict()
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"checkpoint does not match the model: keys missing from the checkpoint {missing}, "
            f"unexpected keys in the checkpoint {unexpected}"
        )
    for key, tensor in expected.items():
        value = saved[key]
        if not isinstance(value, Tensor):
            raise ValueError(f"checkpoint['model'][{key!r}] must be a tensor, got {type(value).__name__}")
        if value.shape != tensor.shape:
            raise ValueError(
                f"shape mismatch for {key!r}: checkpoint has {tuple(value.shape)}, model has {tuple(tensor.shape)}"
            )


def _check_optimizer_state(saved: object, optimizer: torch.optim.Optimizer) -> None:
    if not isinstance(saved, Mapping) or "param_groups" not in saved or "state" not in saved:
        raise ValueError(
            "checkpoint['optimizer'] must be an optimizer state_dict with 'state' and 'param_groups', "
            f"got {type(saved).__name__}"
        )
    groups = optimizer.param_groups
    if len(saved["param_groups"]) != len(groups):
        raise ValueError(
            f"optimizer has {len(groups)} parameter groups, checkpoint has {len(saved['param_groups'])}"
        )
    for g, (saved_group, group) in enumerate(zip(saved["param_groups"], groups)):
        ids, params = saved_group["params"], group["params"]
        if len(ids) != len(params):
            raise ValueError(
                f"optimizer parameter group {g} has {len(params)} parameters, checkpoint has {len(ids)}"
            )
        for param_id, param in zip(ids, params):
            # Per-parameter buffers (momentum, Adam's moments) have the parameter's shape.
            for name, value in saved["state"].get(param_id, {}).items():
                if isinstance(value, Tensor) and value.ndim > 0 and value.shape != param.shape:
                    raise ValueError(
                        f"shape mismatch for optimizer state {name!r} of group {g}: checkpoint has "
                        f"{tuple(value.shape)}, parameter has {tuple(param.shape)}"
                    )


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    r"""Load a checkpoint of :func:`save_checkpoint` with ``torch.load(path, weights_only=True)`` into ``model`` (and ``optimizer``).

    Nothing is loaded until everything has been checked: the checkpoint's
    keys, the model's ``state_dict`` keys and every tensor's shape, and the
    optimizer's parameter groups and the shapes of its per-parameter state. On
    any mismatch the model and optimizer are left exactly as they were.

    Args:
        path (str | os.PathLike): a file written by :func:`save_checkpoint`.
        model (nn.Module): built with the checkpoint's ``config``; receives the weights.
        optimizer (torch.optim.Optimizer | None): receives the optimizer state,
            to resume training. Default: ``None`` (the optimizer state is not loaded).
        map_location (str | torch.device): where tensors are loaded. Default: ``"cpu"``.

    Returns:
        dict: the whole checkpoint, with ``epoch``, ``best_val_loss``, ``rng``
        (restore it with :func:`set_rng_states` to resume training), ``config``
        and ``extra``.

    Raises:
        TypeError: if ``model``/``optimizer`` have the wrong type.
        FileNotFoundError: if ``path`` does not exist.
        pickle.UnpicklingError: if the file holds objects that
            ``weights_only=True`` refuses (it was not written by :func:`save_checkpoint`,
            or the program registered extra types with ``add_safe_globals``).
        ValueError: if keys are missing or unexpected, or a shape differs; the
            message names the key and both shapes, e.g.
            ``shape mismatch for 'net.0.weight': checkpoint has (256, 64), model has (128, 64)``;
            or if ``optimizer`` is given and the checkpoint holds none.

    Book section: ``sec-digits-checkpoint``.
    """
    path = _check_path(path)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(checkpoint, dict) or set(checkpoint) != set(CHECKPOINT_KEYS):
        found = sorted(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ValueError(f"expected a checkpoint dict with keys {sorted(CHECKPOINT_KEYS)}, got {found}")
    if checkpoint["format_version"] != FORMAT_VERSION:
        raise ValueError(f"expected checkpoint format_version {FORMAT_VERSION}, got {checkpoint['format_version']!r}")
    _check_model_state(checkpoint["model"], model)
    if optimizer is not None:
        if checkpoint["optimizer"] is None:
            raise ValueError("an optimizer was given but the checkpoint holds no optimizer state")
        _check_optimizer_state(checkpoint["optimizer"], optimizer)
    # Every check passed: only now change the model and optimizer.
    model.load_state_dict(checkpoint["model"])
    if optimizer is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint


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
        model (nn.Module): the model being trained.
        optimizer (torch.optim.Optimizer | None): its optimizer. Default: ``None``.
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

    Book section: ``sec-digits-checkpoint``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        generators: Mapping[str, torch.Generator] | None = None,
        config: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = _check_path(path)
        self.model, self.optimizer = model, optimizer
        self.generators = _check_generators(generators)
        self.config, self.extra = config, extra
        self.saved_epochs: list[int] = []

    def __call__(self, epoch: int, val_loss: float) -> None:
        """Save everything as it is at the end of ``epoch`` (0-based), whose validation loss is ``val_loss``."""
        save_checkpoint(self.path, self.model, self.optimizer, epoch=epoch, best_val_loss=val_loss,
                        rng=get_rng_states(self.generators), config=self.config, extra=self.extra)
        self.saved_epochs.append(epoch)
