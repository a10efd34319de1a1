"""Checkpoints that ``torch.load(..., weights_only=True)`` accepts, checked before they touch a model.

A checkpoint is one dict of tensors and plain Python values::

    {"format_version": 1, "model": model.state_dict(), "optimizer": optimizer.state_dict() or None,
     "epoch": int, "best_val_loss": float, "config": dict, "extra": dict}

``weights_only=True`` (the default of ``torch.load`` since PyTorch 2.6) refuses
to unpickle anything else, a dataclass or a custom class included, because
unpickling arbitrary objects can run arbitrary code. :func:`save_checkpoint`
therefore checks that everything it writes is plain, and :func:`load_checkpoint`
checks every key and shape against the model *before* loading, so a failed load
leaves the model and optimizer as they were.

Book chapter: "Project: a digit classifier, end to end" (label
``chap-digits-project``, section ``sec-digits-checkpoint``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["CHECKPOINT_KEYS", "FORMAT_VERSION", "check_plain", "load_checkpoint", "save_checkpoint"]

#: Version of the layout below; bumped if the keys ever change.
FORMAT_VERSION = 1
#: The keys of every checkpoint dict.
CHECKPOINT_KEYS = ("format_version", "model", "optimizer", "epoch", "best_val_loss", "config", "extra")

_SCALARS = (type(None), bool, int, float, str)


def check_plain(value: object, name: str, allow_tensors: bool) -> None:
    """Raise ``TypeError`` unless ``value`` is built only of plain Python values (and tensors, if allowed).

    Plain values are ``None``, ``bool``, ``int``, ``float``, ``str``, and
    ``list``/``tuple`` of plain values and ``dict`` with ``str`` keys and plain
    values, nested to any depth: what ``torch.load(weights_only=True)`` unpickles.

    Args:
        value (object): the value to check.
        name (str): its name in messages, e.g. ``"config"``; nested values are
            named by their path, ``config['optimizer']['betas'][0]``.
        allow_tensors (bool): accept ``torch.Tensor`` leaves.

    Raises:
        TypeError: naming the path of the first offending value and its type.
    """
    if isinstance(value, _SCALARS) or (allow_tensors and isinstance(value, Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, f"{name}[{i}]", allow_tensors)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{name} must have str keys, got key {key!r} of type {type(key).__name__}")
            check_plain(item, f"{name}[{key!r}]", allow_tensors)
        return
    allowed = "None, bool, int, float, str, list, tuple, dict" + (", Tensor" if allow_tensors else "")
    hint = " (convert it with dataclasses.asdict)" if dataclasses.is_dataclass(value) else ""
    raise TypeError(
        f"{name} must hold only plain values ({allowed}) for torch.load(weights_only=True), "
        f"got {type(value).__module__}.{type(value).__qualname__}{hint}"
    )


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
    config: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    r"""Write ``{"model": state_dict, "optimizer": ..., "epoch", "best_val_loss", "config", "extra"}`` to ``path``.

    Everything is checked to be a tensor or a plain Python value *before* the
    file is written, so a checkpoint this function writes always loads with
    ``torch.load(path, weights_only=True)``. A dataclass ``config`` is
    converted with :func:`dataclasses.asdict` (and the result checked); any
    other object is refused. The file is written to a temporary name in the
    same folder and renamed, so a crash mid-write never leaves half a
    checkpoint under ``path``.

    Args:
        path (str | os.PathLike): file to write; its folder must exist.
        model (nn.Module): whose ``state_dict()`` is saved.
        optimizer (torch.optim.Optimizer | None): whose ``state_dict()`` is
            saved, to resume training. Default: ``None``.
        epoch (int): the epoch the weights come from, ``>= 0``.
        best_val_loss (float): the validation loss of those weights.
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
            ``config``/``extra`` hold a value that is not plain (the message
            names its key path and type), e.g. a dataclass nested in ``config``.
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
    for name, value, allow_tensors in (("config", config, False), ("extra", extra or {}, True)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
        check_plain(dict(value), name, allow_tensors)
    if not path.parent.is_dir():
        raise ValueError(f"the folder of path must exist, got {str(path.parent)!r}")
    checkpoint = {
        "format_version": FORMAT_VERSION,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "epoch": epoch,
        "best_val_loss": float(best_val_loss),
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
        dict: the whole checkpoint, with ``epoch``, ``best_val_loss``,
        ``config`` and ``extra``.

    Raises:
        TypeError: if ``model``/``optimizer`` have the wrong type.
        FileNotFoundError: if ``path`` does not exist.
        pickle.UnpicklingError: if the file holds objects that
            ``weights_only=True`` refuses (it was not written by :func:`save_checkpoint`).
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
