"""The training loop: five steps per batch, validation, early stopping, best weights.

Book chapter: "The training loop" (label ``chap-training-loop``).

Every batch runs the same five steps, in this order::

    optimizer.zero_grad(set_to_none=True)   # 1. forget the previous batch's gradients
    y_hat = model(X)                        # 2. forward
    loss = loss_fn(y_hat, y)                # 3. loss
    loss.backward()                         # 4. backward: fill p.grad
    optimizer.step()                        # 5. update the parameters

:func:`fit` wraps them with ``model.train()``/``model.eval()``, validation under
``torch.no_grad()``, a per-epoch :class:`History` and optional early stopping
that keeps the weights of the best validation epoch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["EarlyStopping", "History", "evaluate", "fit", "train_one_epoch"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """What :func:`fit` measured, one entry per completed epoch.

    Attributes:
        train_loss (list[float]): mean training loss over each epoch's samples,
            measured while training (so with dropout active, and with the
            weights changing during the epoch).
        val_loss (list[float]): mean validation loss after each epoch, in
            ``eval()`` mode; empty when no validation loader was given.
        best_epoch (int | None): 0-based index of the epoch with the lowest
            validation loss, or ``None`` without validation.
        stopped_early (bool): whether early stopping ended training.
        num_steps (int): optimizer steps taken in all.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    num_steps: int = 0

    def as_dict(self) -> dict[str, object]:
        """Return the history as a plain dict (for checkpoints and tables)."""
        return {
            "train_loss": list(self.train_loss),
            "val_loss": list(self.val_loss),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "num_steps": self.num_steps,
        }


class EarlyStopping:
    r"""Stop when the validation loss has not improved for ``patience`` epochs.

    An epoch *improves* when its loss is below ``best - min_delta``. The
    weights of the best epoch are kept (a deep copy of the ``state_dict``), so
    they can be restored when training stops.

    Args:
        patience (int): epochs without improvement to tolerate, ``>= 1``.
        min_delta (float): the smallest decrease that counts as an
            improvement, ``>= 0``. Default: 0.

    Raises:
        ValueError: if ``patience < 1`` or ``min_delta < 0``.
        TypeError: if ``patience`` is not an int.

    Reference: Prechelt, "Early stopping — but when?" (1998); book chapter
    ``chap-training-loop``.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int):
            raise TypeError(f"patience must be an int, got {type(patience).__name__}")
        if patience < 1:
            raise ValueError(f"Invalid patience: {patience} (expected >= 1)")
        if not min_delta >= 0.0:
            raise ValueError(f"Invalid min_delta: {min_delta} (expected >= 0)")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.best_loss = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.epochs_without_improvement = 0

    def step(self, val_loss: float, model: nn.Module, epoch: int) -> bool:
        """Record one epoch's validation loss; return ``True`` when training should stop."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.best_epoch = epoch
            self.best_state = copy.deepcopy(model.state_dict())
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience


def _check_batch(batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"expected each batch to be a pair (X, y), got {type(batch).__name__}")
    X, y = batch
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"expected tensors X and y in each batch, got {type(X).__name__} and {type(y).__name__}")
    return X, y


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    max_steps: int | None = None,
) -> tuple[float, int]:
    """Run the five training steps on every batch of ``loader`` once.

    Args:
        model (nn.Module): the model, put in ``train()`` mode here.
        loader (Iterable): yields pairs ``(X, y)`` of tensors.
        optimizer (torch.optim.Optimizer): updates ``model``'s parameters.
        loss_fn (Callable): ``loss_fn(y_hat, y)`` returns the batch's *mean* loss.
        max_steps (int | None): stop after this many batches. Default: all.

    Returns:
        tuple[float, int]: the mean loss over the samples seen (batch losses
        weighted by batch size) and the number of optimizer steps taken.

    Raises:
        ValueError: if ``loader`` yields no batch.
        TypeError: if a batch is not a pair of tensors.
    """
    model.train()
    total_loss, num_samples, steps = 0.0, 0, 0
    for batch in loader:
        if max_steps is not None and steps >= max_steps:
            break
        X, y = _check_batch(batch)
        optimizer.zero_grad(set_to_none=True)  # 1. forget the previous gradients
        y_hat = model(X)  # 2. forward
        loss = loss_fn(y_hat, y)  # 3. loss (mean over the batch)
        loss.backward()  # 4. backward
        optimizer.step()  # 5. update
        # Weight by batch size so a short last batch counts for what it holds.
        total_loss += loss.item() * len(X)
        num_samples += len(X)
        steps += 1
    if steps == 0:
        raise ValueError("the training loader yielded no batch: expected at least one (X, y) pair")
    return total_loss / num_samples, steps


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: LossFn) -> float:
    """Return the mean loss of ``model`` over every sample of ``loader``, in ``eval()`` mode.

    Batch losses (means) are weighted by batch size and divided by the number
    of samples, which equals summing per-sample losses with ``reduction="sum"``
    and dividing by the dataset size. The model is left in ``eval()`` mode.

    Raises:
        ValueError: if ``loader`` yields no batch.
        TypeError: if a batch is not a pair of tensors.
    """
    model.eval()
    total_loss, num_samples = 0.0, 0
    for batch in loader:
        X, y = _check_batch(batch)
        total_loss += loss_fn(model(X), y).item() * len(X)
        num_samples += len(X)
    if num_samples == 0:
        raise ValueError("the evaluation loader yielded no batch: expected at least one (X, y) pair")
    return total_loss / num_samples


def fit(
    model: nn.Module,
    train_loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    num_epochs: int,
    val_loader: Iterable | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    max_steps: int | None = None,
) -> History:
    r"""Train ``model`` for up to ``num_epochs`` epochs and return the per-epoch :class:`History`.

    Each epoch runs :func:`train_one_epoch` (the five steps on every batch),
    then, with a ``val_loader``, :func:`evaluate` under ``torch.no_grad()``.
    With ``patience`` set, training stops once the validation loss has not
    improved for ``patience`` epochs (:class:`EarlyStopping`), and with
    ``restore_best`` the model gets back the weights of its best validation
    epoch.

    Args:
        model (nn.Module): the model to train, in place.
        train_loader (Iterable): yields ``(X, y)`` batches; re-iterated every epoch.
        optimizer (torch.optim.Optimizer): built over ``model.parameters()``.
        loss_fn (Callable): ``loss_fn(y_hat, y)``, a batch mean (e.g. ``nn.MSELoss()``).
        num_epochs (int): the most epochs to run, ``>= 1``.
        val_loader (Iterable | None): validation batches. Default: ``None``.
        patience (int | None): early-stopping patience in epochs; needs
            ``val_loader``. Default: ``None`` (no early stopping).
        min_delta (float): smallest improvement that resets the patience. Default: 0.
        restore_best (bool): load the best validation epoch's weights at the
            end (only with validation). Default: ``True``.
        max_steps (int | None): stop after this many optimizer steps in all,
            for smoke tests (like pytorch/examples' ``--dry-run``). Default: ``None``.

    Returns:
        History: losses per epoch, the best epoch, whether training stopped
        early and the number of steps.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, ``optimizer`` not a
            ``torch.optim.Optimizer``, ``num_epochs`` not an int, or a batch not
            a pair of tensors.
        ValueError: if ``num_epochs < 1``, ``max_steps < 1``, ``patience`` is
            given without ``val_loader``, or a loader yields no batch.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int):
        raise TypeError(f"num_epochs must be an int, got {type(num_epochs).__name__}")
    if num_epochs < 1:
        raise ValueError(f"Invalid num_epochs: {num_epochs} (expected >= 1)")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"Invalid max_steps: {max_steps} (expected >= 1 or None)")
    if patience is not None and val_loader is None:
        raise ValueError("early stopping (patience) needs a val_loader, got val_loader=None")

    history = History()
    stopper = EarlyStopping(patience, min_delta) if patience is not None else None
    best_val = math.inf
    best_state = None
    for epoch in range(num_epochs):
        remaining = None if max_steps is None else max_steps - history.num_steps
        train_loss, steps = train_one_epoch(model, train_loader, optimizer, loss_fn, max_steps=remaining)
        history.train_loss.append(train_loss)
        history.num_steps += steps
        if val_loader is not None:
            val_loss = evaluate(model, val_loader, loss_fn)
            history.val_loss.append(val_loss)
            if stopper is not None:
                if stopper.step(val_loss, model, epoch):
                    history.stopped_early = True
            elif val_loss < best_val:
                best_val = val_loss
                history.best_epoch = epoch
                if restore_best:
                    best_state = copy.deepcopy(model.state_dict())
        if history.stopped_early or (max_steps is not None and history.num_steps >= max_steps):
            break
    if stopper is not None:
        history.best_epoch = stopper.best_epoch
        best_state = stopper.best_state
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
