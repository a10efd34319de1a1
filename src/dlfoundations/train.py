"""The training loop: five steps per batch, validation, early stopping, best weights.

Book chapter: :ref:`chap-training-loop`.

Every batch runs the same five steps, in this order::

    optimizer.zero_grad(set_to_none=True)   # 1. forget the previous batch's gradients
    y_hat = model(X)                        # 2. forward
    loss = loss_fn(y_hat, y)                # 3. loss
    loss.backward()                         # 4. backward: fill p.grad
    optimizer.step()                        # 5. update the parameters

:func:`fit` wraps them with ``model.train()``/``model.eval()``, validation under
``torch.no_grad()``, a per-epoch :class:`History` and optional early stopping
that keeps the weights of the best validation epoch. With a ``device``, the
model and the optimizer's state move there once and every batch on the way in
(:ref:`chap-devices`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from dlfoundations._validation import check_bool, check_float, check_int, check_module, check_number, check_optimizer
from dlfoundations.devices import get_device, module_device, move_batch, move_optimizer_state_

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
    r"""Stop when the validation loss has not improved for ``patience`` epochs: stop at epoch :math:`e` if :math:`e - e^\star \ge p`.

    Epoch :math:`e` *improves* when its loss is below :math:`\mathcal L^\star - \delta`,
    where :math:`\mathcal L^\star` is the best loss so far (reached at epoch
    :math:`e^\star`) and :math:`\delta` is ``min_delta``. The weights of the
    best epoch are kept (a detached copy of the ``state_dict``), so they can be
    restored when training stops.

    Args:
        patience (int | None): epochs without improvement to tolerate, ``>= 1``;
            ``None`` never stops, and only tracks the best epoch and its weights.
        min_delta (float): the smallest decrease that counts as an
            improvement, ``>= 0``. Default: 0.
        keep_best_state (bool): copy the weights at every improvement. Turn
            it off when they will not be restored, to save the copies. Default: ``True``.

    Attributes:
        best_loss (float): :math:`\mathcal L^\star`, ``inf`` before the first step.
        best_epoch (int | None): :math:`e^\star`.
        best_state (dict[str, Tensor] | None): the weights at :math:`e^\star`.
        epochs_without_improvement (int): :math:`e - e^\star` after the last step.

    Raises:
        TypeError: if ``patience`` is not an int or ``None``, ``min_delta`` not a
            number or ``keep_best_state`` not a bool.
        ValueError: if ``patience < 1`` or ``min_delta`` is negative or not finite.

    Reference: Prechelt, "Early stopping — but when?" (1998), section 2.1
    (the "UP"/patience criteria); book section :ref:`sec-train-early-stopping`.
    """

    def __init__(self, patience: int | None, min_delta: float = 0.0, keep_best_state: bool = True) -> None:
        self.patience = None if patience is None else check_int(patience, "patience", 1)
        self.min_delta = check_float(min_delta, "min_delta", low=0.0)
        self.keep_best_state = check_bool(keep_best_state, "keep_best_state")
        self.best_loss = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.epochs_without_improvement = 0

    def step(self, val_loss: float, model: nn.Module, epoch: int) -> bool:
        """Record one epoch's validation loss; return ``True`` when training should stop.

        Args:
            val_loss (float): the epoch's mean validation loss. ``nan`` never improves.
            model (torch.nn.Module): whose weights to keep if this epoch is the best so far
                (not read, and may be ``None``, with ``keep_best_state=False``).
            epoch (int): the epoch's 0-based index, stored as ``best_epoch``.

        Returns:
            bool: ``True`` once ``patience`` epochs in a row have not improved.

        Raises:
            TypeError: if ``val_loss`` is not a number (or a one-element
                floating tensor), ``epoch`` not an int, or ``model`` not an
                ``nn.Module`` while ``keep_best_state`` is set.
        """
        val_loss = _check_step_args(val_loss, model, epoch, needs_model=self.keep_best_state)
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.best_epoch = epoch
            if self.keep_best_state:
                # clone(): a state_dict holds references to the live parameters.
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        return self.patience is not None and self.epochs_without_improvement >= self.patience


def _check_step_args(val_loss: object, model: object, epoch: object, needs_model: bool) -> float:
    if isinstance(val_loss, torch.Tensor) and val_loss.numel() == 1 and val_loss.is_floating_point():
        val_loss = val_loss.item()
    val_loss = check_number(val_loss, "val_loss")  # a NumPy float is fine; NaN never improves
    if needs_model:
        check_module(model)
    check_int(epoch, "epoch", 0)
    return val_loss


def _check_loop(model: object, loss_fn: object, optimizer: object = None, max_steps: object = None) -> None:
    """Check the arguments of train_one_epoch and evaluate (optimizer only for training)."""
    check_module(model)
    if optimizer is not None:
        check_optimizer(optimizer)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(y_hat, y), got {type(loss_fn).__name__}")
    if max_steps is not None:
        check_int(max_steps, "max_steps", 1)


def _check_fit_args(
    model: object, optimizer: object, loss_fn: object, num_epochs: object, val_loader: object, patience: object,
    min_delta: object, restore_best: object, max_steps: object, on_improvement: object,
) -> None:
    """Check the arguments of :func:`fit`; ``patience`` itself is checked by :class:`EarlyStopping`."""
    _check_loop(model, loss_fn, optimizer, max_steps)
    check_int(num_epochs, "num_epochs", 1)
    check_float(min_delta, "min_delta", low=0.0)  # checked even without validation, where it is unused
    check_bool(restore_best, "restore_best")
    if patience is not None and val_loader is None:
        raise ValueError("early stopping (patience) needs a val_loader, got val_loader=None")
    if on_improvement is not None and not callable(on_improvement):
        raise TypeError(f"on_improvement must be callable as on_improvement(epoch, val_loss), got {type(on_improvement).__name__}")
    if on_improvement is not None and val_loader is None:
        raise ValueError("on_improvement needs a val_loader, got val_loader=None")


def _check_batch(batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"expected each batch to be a pair (X, y), got {type(batch).__name__}")
    X, y = batch
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"expected tensors X and y in each batch, got {type(X).__name__} and {type(y).__name__}")
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            "expected X and y with the same number of samples along dim 0, "
            f"got X of shape {tuple(X.shape)} and y of shape {tuple(y.shape)}"
        )
    return X, y


def _check_loss(loss: object) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"expected loss_fn to return a tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(f"expected loss_fn to return the batch's mean loss, a scalar, got shape {tuple(loss.shape)}")
    return loss


def _loop_device(model: nn.Module, device: object) -> torch.device:
    """The device a loop computes on: ``device`` (checked, the model moved there) or, with ``None``, the model's."""
    if device is None:
        return module_device(model)
    device = get_device(device)  # raises, naming the available devices, if this machine lacks it
    model.to(device)  # in place: the parameters keep their identity, so an optimizer over them still holds them
    return device


def _no_batch(which: str, loader: Iterable) -> ValueError:
    hint = ""
    if iter(loader) is loader:  # a generator or iterator: a second epoch finds it exhausted
        hint = " (it is a one-shot iterator, exhausted after one pass: give a list or a DataLoader)"
    return ValueError(f"the {which} loader yielded no non-empty batch: expected at least one (X, y) pair "
                      f"with at least one sample{hint}")


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    max_steps: int | None = None,
    device: str | torch.device | None = None,
) -> tuple[float, int]:
    r"""Run the five training steps, :math:`\theta \leftarrow \theta - \eta \nabla_\theta \mathcal L_{\mathcal B}`, on every batch of ``loader`` once.

    Args:
        model (torch.nn.Module): the model, put in ``train()`` mode here.
        loader (Iterable): yields pairs ``(X, y)`` of tensors.
        optimizer (torch.optim.Optimizer): updates ``model``'s parameters.
        loss_fn (Callable): ``loss_fn(y_hat, y)`` returns the batch's *mean* loss.
        max_steps (int | None): stop after this many batches. Default: all.
        device (str | torch.device | None): where to compute. The model is
            moved there (in place), and each batch as it arrives (with
            ``non_blocking=True`` towards an accelerator, :func:`dlfoundations.devices.move_batch`).
            Default: ``None``, the model's current device (batches already there are not copied).

    Shape:
        - each batch: ``X`` of ``(N, D)`` (or whatever ``model`` takes) and
          ``y`` of the shape ``loss_fn`` expects, e.g. ``(N, O)``.

    Returns:
        tuple[float, int]: the mean loss over the samples seen (batch losses
        weighted by batch size, eq. :eq:`eq-train-dataset-mean`) and the number
        of optimizer steps taken.

    Raises:
        ValueError: if ``loader`` yields no non-empty batch, ``X`` and ``y``
            of a batch hold different numbers of samples, ``loss_fn`` does not
            return a scalar, or ``max_steps < 1``.
        TypeError: if a batch is not a pair of tensors, or an argument has the wrong type.
        ValueError: if ``device`` names a device this machine does not have.

    Note:
        A batch with no samples is skipped: no step, and nothing added to the
        mean. A bare loop would step on the NaN mean of no samples, whose
        gradients are zero but which still moves momentum, Adam's step count
        and weight decay.

    Book section: :ref:`sec-train-five-steps`, equation :eq:`eq-train-update`.
    """
    _check_loop(model, loss_fn, optimizer, max_steps)
    device = _loop_device(model, device)
    model.train()
    total_loss, num_samples, steps = 0.0, 0, 0
    for batch in loader:
        if max_steps is not None and steps >= max_steps:
            break
        X, y = _check_batch(batch)
        if len(X) == 0:
            continue  # no samples: no loss to descend, nothing to average
        X, y = move_batch((X, y), device)  # 0. to the model's device (no copy if already there)
        optimizer.zero_grad(set_to_none=True)  # 1. forget the previous gradients
        y_hat = model(X)  # 2. forward
        loss = _check_loss(loss_fn(y_hat, y))  # 3. loss (mean over the batch)
        loss.backward()  # 4. backward: accumulate into p.grad
        optimizer.step()  # 5. update
        # Weight by batch size so a short last batch counts for what it holds.
        total_loss += loss.item() * len(X)
        num_samples += len(X)
        steps += 1
    if steps == 0:
        raise _no_batch("training", loader)
    return total_loss / num_samples, steps


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: LossFn, device: str | torch.device | None = None) -> float:
    r"""Mean loss of ``model`` over every sample of ``loader``, in ``eval()`` mode: :math:`\frac{1}{N}\sum_m B_m \bar{\mathcal L}_m`.

    Batch losses (means) are weighted by batch size and divided by the number
    of samples, which equals summing per-sample losses with ``reduction="sum"``
    and dividing by the dataset size. Runs under ``torch.no_grad()`` (no graph
    is recorded) and leaves the model in ``eval()`` mode.

    Args:
        model (torch.nn.Module): the model to evaluate.
        loader (Iterable): yields pairs ``(X, y)`` of tensors.
        loss_fn (Callable): ``loss_fn(y_hat, y)`` returns the batch's *mean* loss.
        device (str | torch.device | None): where to compute; the model and
            each batch are moved there, as in :func:`train_one_epoch`.
            Default: ``None``, the model's current device.

    Returns:
        float: the loss averaged over samples, not over batches.

    Raises:
        ValueError: if ``loader`` yields no non-empty batch, ``X`` and ``y`` of
            a batch hold different numbers of samples, or ``loss_fn`` does not
            return a scalar, or ``device`` names a device this machine does not have.
        TypeError: if a batch is not a pair of tensors, or an argument has the wrong type.

    Note:
        A batch with no samples is skipped: its mean loss is NaN, and it holds
        nothing to average.

    Book section: :ref:`sec-train-validation`, equation :eq:`eq-train-dataset-mean`.
    """
    _check_loop(model, loss_fn)
    device = _loop_device(model, device)
    model.eval()
    total_loss, num_samples = 0.0, 0
    for batch in loader:
        X, y = _check_batch(batch)
        if len(X) == 0:
            continue  # no samples: its mean is NaN and it weighs nothing
        X, y = move_batch((X, y), device)
        total_loss += _check_loss(loss_fn(model(X), y)).item() * len(X)  # batch mean * B_m = batch sum
        num_samples += len(X)
    if num_samples == 0:
        raise _no_batch("evaluation", loader)
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
    on_improvement: Callable[[int, float], None] | None = None,
    device: str | torch.device | None = None,
) -> History:
    r"""Train ``model`` for up to ``num_epochs`` epochs of :math:`\theta \leftarrow \theta - \eta \nabla_\theta \mathcal L_{\mathcal B}` and return the per-epoch :class:`History`.

    Each epoch runs :func:`train_one_epoch` (the five steps on every batch),
    then, with a ``val_loader``, :func:`evaluate` under ``torch.no_grad()``.
    With ``patience`` set, training stops once the validation loss has not
    improved for ``patience`` epochs (:class:`EarlyStopping`), and with
    ``restore_best`` the model gets back the weights of its best validation
    epoch (with or without ``patience``). Without a ``val_loader`` no state is
    copied, so ``fit`` costs what a hand-written loop costs.

    Args:
        model (torch.nn.Module): the model to train, in place.
        train_loader (Iterable): yields ``(X, y)`` batches; re-iterated every epoch.
        optimizer (torch.optim.Optimizer): built over ``model.parameters()``.
        loss_fn (Callable): ``loss_fn(y_hat, y)``, a batch mean (e.g. ``nn.MSELoss()``).
        num_epochs (int): the most epochs to run, ``>= 1``.
        val_loader (Iterable | None): validation batches. Default: ``None``.
        patience (int | None): early-stopping patience in epochs; needs
            ``val_loader``. Default: ``None`` (no early stopping).
        min_delta (float): smallest decrease of the validation loss that counts as an improvement. Default: 0.
        restore_best (bool): load the best validation epoch's weights at the
            end (only with validation). Default: ``True``.
        max_steps (int | None): stop after this many optimizer steps in all,
            for smoke tests (like pytorch/examples' ``--dry-run``). Default: ``None``.
        on_improvement (Callable | None): called as ``on_improvement(epoch, val_loss)``
            at the end of every epoch whose validation loss improves on the best
            so far, after validation and before the next epoch starts, e.g. a
            :class:`dlfoundations.checkpoint.CheckpointOnImprovement` that saves
            the model, optimizer and RNG states of that epoch together; needs
            ``val_loader``. Default: ``None``.
        device (str | torch.device | None): where to train, e.g.
            :func:`dlfoundations.devices.get_device`. The model moves there once,
            in place (the optimizer keeps the same parameter objects), the
            optimizer's state follows (:func:`dlfoundations.devices.move_optimizer_state_`),
            and every batch moves as it arrives, so loaders may stay on the CPU.
            The best weights kept for ``restore_best`` stay on that device.
            Default: ``None``, the model's current device: nothing moves
            that is already there.

    Returns:
        History: losses per epoch, the best epoch, whether training stopped
        early and the number of steps.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, ``optimizer`` not a
            ``torch.optim.Optimizer``, ``loss_fn`` or ``on_improvement`` not callable, ``num_epochs``
            or ``max_steps`` not an int, ``restore_best`` not a bool, ``min_delta`` not a number,
            or a batch not a pair of tensors.
        ValueError: if ``num_epochs < 1``, ``max_steps < 1``, ``min_delta`` negative or not finite,
            ``patience`` or ``on_improvement`` is given without ``val_loader``, a loader
            yields no non-empty batch (a one-shot iterator is exhausted after the
            first epoch), ``device`` names a device this machine does not have,
            or as :func:`train_one_epoch` raises.

    Reference: the loop of Goodfellow et al. (2016), algorithm 8.1 (SGD) with
    early stopping, algorithm 7.1; Prechelt (1998). Book chapter
    :ref:`chap-training-loop`.
    """
    _check_fit_args(model, optimizer, loss_fn, num_epochs, val_loader, patience, min_delta, restore_best, max_steps,
                    on_improvement)
    _loop_device(model, device)  # the model moves once, here; the loops below compute where it is
    move_optimizer_state_(optimizer)  # state from earlier steps follows its parameters
    history = History()
    # Without validation there is nothing to track; with it, a tracker with
    # patience=None records the best epoch (and its weights) but never stops.
    tracker = EarlyStopping(patience, min_delta, keep_best_state=restore_best) if val_loader is not None else None
    for epoch in range(num_epochs):
        remaining = None if max_steps is None else max_steps - history.num_steps
        train_loss, steps = train_one_epoch(model, train_loader, optimizer, loss_fn, max_steps=remaining)
        history.train_loss.append(train_loss)
        history.num_steps += steps
        if tracker is not None:
            val_loss = evaluate(model, val_loader, loss_fn)
            history.val_loss.append(val_loss)
            history.stopped_early = tracker.step(val_loss, model, epoch)
            history.best_epoch = tracker.best_epoch
            if on_improvement is not None and tracker.best_epoch == epoch:
                on_improvement(epoch, val_loss)
        if history.stopped_early or (max_steps is not None and history.num_steps >= max_steps):
            break
    if restore_best and tracker is not None and tracker.best_state is not None:
        model.load_state_dict(tracker.best_state)
    return history
