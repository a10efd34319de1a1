r"""Debugging a network that does not learn: hooks, update ratios, the learning-rate range test, memory.

A recipe of cheap checks catches most training bugs before a long run does:
the initial loss of a :math:`K`-class classifier should be close to
:math:`\log K`; the model should drive the loss of one batch to nearly zero
(:func:`overfit_one_batch`); per-layer statistics collected by forward and
backward hooks (:class:`LayerStats`) show dead ReLUs and vanishing gradients;
the update-to-parameter ratio :math:`\lVert \Delta\theta \rVert / \lVert \theta \rVert`
(:func:`update_ratios`) should sit near :math:`10^{-3}`; and a learning-rate
range test (:func:`lr_range_test`) brackets a usable learning rate. For
memory, :func:`accumulate_gradients` replaces one large batch by several small
ones with the same gradient, and :class:`SavedTensorMeter` measures the bytes
autograd saves for the backward pass (with and without activation checkpointing).

Book chapter: :ref:`chap-debug`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch
from torch import Tensor, nn

from dlfoundations._validation import check_float, check_int, check_module
from dlfoundations.train import LossFn, _check_loop

__all__ = [
    "LRRangeResult",
    "LayerStats",
    "SavedTensorMeter",
    "accumulate_gradients",
    "lr_range_test",
    "overfit_one_batch",
    "snapshot_parameters",
    "update_ratios",
]


def _check_xy(X: object, y: object) -> None:
    if not isinstance(X, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"expected tensors X and y, got {type(X).__name__} and {type(y).__name__}")
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y) or len(X) == 0:
        raise ValueError(
            f"expected non-empty X and y with the same number of samples, got shapes {tuple(X.shape)} and {tuple(y.shape)}"
        )


def _check_overfit_args(model, X, y, loss_fn, optimizer, num_steps) -> None:
    _check_loop(model, loss_fn, optimizer)
    _check_xy(X, y)
    check_int(num_steps, "num_steps", 1)


def _check_accumulate_args(model, X, y, loss_fn, micro_batch_size) -> None:
    _check_loop(model, loss_fn)
    _check_xy(X, y)
    check_int(micro_batch_size, "micro_batch_size", 1)


# ---------------------------------------------------------------- hooks


class LayerStats:
    r"""Collect per-layer activation and gradient statistics with forward and backward hooks.

    For every module of type ``activation_type`` (default ``torch.nn.ReLU``) a
    forward hook records the **dead fraction** of its output :math:`A \in \mathbb R^{N \times H}`,

    .. math:: \text{dead} = \frac{1}{H} \sum_{j=1}^{H} \mathbb 1\!\left[A_{ij} = 0 \ \forall i\right],

    the fraction of units that are zero for every sample of the batch (a unit
    that never fires gets no gradient through the ReLU and cannot recover), and
    the (population) standard deviation of :math:`A`. A full backward hook
    records the standard deviation of :math:`\partial \mathcal L / \partial A`. Use it as a
    context manager: the hooks are removed on exit, also after an error.

    Args:
        model (torch.nn.Module): the network to watch.
        activation_type (type): the module type to hook. Default: ``torch.nn.ReLU``.

    Attributes:
        names (list[str]): the hooked modules' names in ``model.named_modules()`` order.
        dead_fraction (dict[str, float]): per name, from the last forward pass.
        activation_std (dict[str, float]): per name, from the last forward pass.
        grad_std (dict[str, float]): per name, from the last backward pass.

    Shape:
        - the hooked modules' outputs: :math:`(N, H)` (any shape with samples first).

    Raises:
        TypeError: if ``model`` is not an ``nn.Module`` or ``activation_type`` not a module class.
        ValueError: if ``model`` holds no module of ``activation_type``.

    Reference: ``torch.nn.Module.register_forward_hook`` and
    ``register_full_backward_hook``; dead ReLUs as discussed in Karpathy's CS231n
    notes. Book section: :ref:`sec-debug-hooks`.
    """

    def __init__(self, model: nn.Module, activation_type: type = nn.ReLU) -> None:
        self.modules = _hooked_modules(model, activation_type)  # {name: module} of every activation
        self.names = list(self.modules)
        self.dead_fraction: dict[str, float] = {}
        self.activation_std: dict[str, float] = {}
        self.grad_std: dict[str, float] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _forward_hook(self, name: str) -> Callable:
        def hook(module: nn.Module, inputs: tuple, A: Tensor) -> None:
            A = A.detach().flatten(1)  # (N, H)
            self.dead_fraction[name] = (A == 0).all(dim=0).float().mean().item()  # units silent on every sample
            self.activation_std[name] = A.std(correction=0).item()  # population std: defined for one element too
        return hook

    def _backward_hook(self, name: str) -> Callable:
        def hook(module: nn.Module, grad_input: tuple, grad_output: tuple) -> None:
            self.grad_std[name] = grad_output[0].detach().std(correction=0).item()  # dL/dA, (N, H)
        return hook

    def __enter__(self) -> LayerStats:
        for name, module in self.modules.items():
            self._handles.append(module.register_forward_hook(self._forward_hook(name)))
            self._handles.append(module.register_full_backward_hook(self._backward_hook(name)))
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this object registered (calling it twice is harmless)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def _hooked_modules(model: object, activation_type: object) -> dict[str, nn.Module]:
    check_module(model)
    if not (isinstance(activation_type, type) and issubclass(activation_type, nn.Module)):
        raise TypeError(f"expected activation_type to be an nn.Module subclass, got {activation_type!r}")
    modules = {n: m for n, m in model.named_modules() if isinstance(m, activation_type)}
    if not modules:
        raise ValueError(f"expected model to contain a {activation_type.__name__}, found none")
    return modules


# ---------------------------------------------------------------- update ratios


def snapshot_parameters(model: nn.Module) -> dict[str, Tensor]:
    """Return a detached copy of every parameter of ``model`` that requires a gradient, by name.

    Args:
        model (torch.nn.Module): the model.

    Returns:
        dict[str, Tensor]: ``{name: parameter.detach().clone()}``, the state
        before an optimizer step, for :func:`update_ratios`.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.

    Book section: :ref:`sec-debug-hooks`.
    """
    check_module(model)
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def update_ratios(model: nn.Module, before: dict[str, Tensor]) -> dict[str, float]:
    r"""Per-parameter update-to-parameter ratio :math:`\lVert \theta_{t+1} - \theta_t \rVert_2 / \lVert \theta_t \rVert_2`.

    For plain SGD the update is :math:`\eta\, \nabla_\theta \mathcal L`, so the
    ratio is :math:`\lVert \eta\, \mathbf g \rVert / \lVert \theta \rVert`. Karpathy's
    CS231n notes suggest a value near :math:`10^{-3}`: much lower and the layer
    learns too slowly, much higher and it is likely unstable.

    Args:
        model (torch.nn.Module): the model after the step.
        before (dict[str, Tensor]): from :func:`snapshot_parameters`, taken before the step.

    Returns:
        dict[str, float]: the ratio per parameter name (``inf`` for a parameter
        that was exactly zero and moved, ``nan`` for one that was zero and did not).

    Raises:
        TypeError: if ``model`` is not an ``nn.Module`` or ``before`` not a dict.
        ValueError: if a name of ``before`` is not a parameter of ``model``, or
            a shape differs (both named).

    Book section: :ref:`sec-debug-hooks`, equation :eq:`eq-debug-update-ratio`.
    """
    params = _check_ratio_args(model, before)
    ratios = {}
    for name, old in before.items():
        step = (params[name].detach() - old).norm()  # ||lr * update||
        ratios[name] = (step / old.norm()).item()
    return ratios


def _check_ratio_args(model: object, before: object) -> dict[str, Tensor]:
    check_module(model)
    if not isinstance(before, dict):
        raise TypeError(f"expected before to be a dict from snapshot_parameters, got {type(before).__name__}")
    params = dict(model.named_parameters())
    for name, old in before.items():
        if name not in params:
            raise ValueError(f"expected parameter names of model, got unknown name {name!r}")
        if not isinstance(old, Tensor) or old.shape != params[name].shape:
            shape = tuple(old.shape) if isinstance(old, Tensor) else type(old).__name__
            raise ValueError(f"expected {name} of shape {tuple(params[name].shape)}, got {shape}")
    return params


# ---------------------------------------------------------------- recipe steps


def overfit_one_batch(
    model: nn.Module, X: Tensor, y: Tensor, loss_fn: LossFn, optimizer: torch.optim.Optimizer, num_steps: int
) -> Tensor:
    r"""Train on one fixed batch for ``num_steps`` steps and return the loss before each step.

    A model that cannot drive the loss of a few samples towards zero has a bug
    (or too little capacity): the test takes seconds and needs no validation.

    Args:
        model (torch.nn.Module): put in ``train()`` mode.
        X (Tensor): the batch, ``(N, D)``.
        y (Tensor): its targets, ``(N,)`` or ``(N, O)``.
        loss_fn (Callable): ``loss_fn(y_hat, y)``, a scalar.
        optimizer (torch.optim.Optimizer): over ``model``'s parameters.
        num_steps (int): steps, ``>= 1``.

    Returns:
        Tensor: float64 losses of shape ``(num_steps,)``.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if ``X`` and ``y`` are empty or differ in length, or ``num_steps < 1``.

    Book section: :ref:`sec-debug-recipe`.
    """
    _check_overfit_args(model, X, y, loss_fn, optimizer, num_steps)
    model.train()
    losses = torch.empty(num_steps, dtype=torch.float64)
    for t in range(num_steps):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses[t] = loss.item()
    return losses


class LRRangeResult(NamedTuple):
    """What :func:`lr_range_test` measured: one entry per step taken."""

    #: The learning rate of each step, ``(S,)`` float64.
    lrs: Tensor
    #: The training loss of each step's batch, before the step, ``(S,)`` float64.
    losses: Tensor


def lr_range_test(
    model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer, loss_fn: LossFn,
    lr_min: float = 1e-5, lr_max: float = 10.0, num_steps: int = 100, diverge_factor: float = 4.0,
) -> LRRangeResult:
    r"""Learning-rate range test: raise the rate geometrically, :math:`\eta_t = \eta_{\min} (\eta_{\max}/\eta_{\min})^{t/(S-1)}`, one step per batch.

    The loss first stays flat (too small a rate), then falls, then blows up.
    A good rate lies where it falls fastest, below the minimum. The test stops
    early once the loss exceeds ``diverge_factor`` times the lowest loss seen,
    or is not finite. The model and the optimizer are restored afterwards, so
    the test leaves no trace.

    Args:
        model (torch.nn.Module): the model, trained in ``train()`` mode during the test.
        loader (Iterable): yields ``(X, y)``; restarted when exhausted.
        optimizer (torch.optim.Optimizer): its ``lr`` is overwritten each step.
        loss_fn (Callable): ``loss_fn(y_hat, y)``, a scalar.
        lr_min (float): first rate, ``> 0``. Default: ``1e-5``.
        lr_max (float): last rate, ``> lr_min``. Default: 10.
        num_steps (int): most steps :math:`S`, ``>= 2``. Default: 100.
        diverge_factor (float): stop when the loss passes this multiple of the best, ``> 1``. Default: 4.

    Returns:
        LRRangeResult: rates and losses of the steps taken.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if a number is out of range, or ``loader`` yields no batch.

    Note:
        Smith raises the rate linearly over a few epochs; this is the
        geometric variant in common use (the "LR finder"), which covers
        several orders of magnitude in one short run.

    Reference: Smith, "Cyclical Learning Rates for Training Neural Networks"
    (2017), section 3.3. Book section: :ref:`sec-debug-lr-range`.
    """
    _check_range_args(model, optimizer, loss_fn, lr_min, lr_max, num_steps, diverge_factor)
    saved_model, saved_opt = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    growth = (lr_max / lr_min) ** (1.0 / (num_steps - 1))  # the constant factor between steps
    lrs, losses, best = [], [], math.inf
    model.train()
    batches = _cycle(loader)
    for t in range(num_steps):
        X, y = next(batches)
        lr = lr_min * growth**t
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        lrs.append(lr)
        losses.append(loss.item())
        best = min(best, losses[-1])
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * best:
            break  # diverged: larger rates only get worse
    model.load_state_dict(saved_model)
    optimizer.load_state_dict(saved_opt)
    return LRRangeResult(torch.tensor(lrs, dtype=torch.float64), torch.tensor(losses, dtype=torch.float64))


def _cycle(loader: Iterable):
    """Yield the batches of ``loader`` again and again; refuse a loader with none."""
    while True:
        count = 0
        for batch in loader:
            count += 1
            yield batch
        if count == 0:
            raise ValueError("expected loader to yield at least one (X, y) batch, got none")


def _check_range_args(model, optimizer, loss_fn, lr_min, lr_max, num_steps, diverge_factor) -> None:
    _check_loop(model, loss_fn, optimizer)
    check_float(lr_min, "lr_min", low=0.0, low_open=True)
    check_float(lr_max, "lr_max", low=lr_min, low_open=True)
    check_int(num_steps, "num_steps", 2)
    check_float(diverge_factor, "diverge_factor", low=1.0, low_open=True)


# ---------------------------------------------------------------- memory


def accumulate_gradients(model: nn.Module, X: Tensor, y: Tensor, loss_fn: LossFn, micro_batch_size: int) -> float:
    r"""Fill ``p.grad`` with the gradient of the mean loss over ``X`` by summing micro-batch gradients.

    With :math:`N` samples cut into micro-batches :math:`\mathcal B_m` of
    :math:`N_m` samples, the mean loss is :math:`\sum_m \frac{N_m}{N} \bar{\mathcal L}_m`,
    so weighting each micro-batch's mean loss by :math:`N_m / N` before its
    ``backward()`` gives the full batch's gradient exactly (up to round-off):
    only one micro-batch's activations are alive at a time.

    Args:
        model (torch.nn.Module): its gradients are zeroed first, then filled.
        X (Tensor): the large batch, ``(N, D)``.
        y (Tensor): its targets, ``(N,)`` or ``(N, O)``.
        loss_fn (Callable): ``loss_fn(y_hat, y)``, a *mean* over the batch.
        micro_batch_size (int): samples per micro-batch, ``>= 1``; the last may be smaller.

    Returns:
        float: the mean loss over all :math:`N` samples.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if ``X`` and ``y`` are empty or differ in length, or ``micro_batch_size < 1``.

    Book section: :ref:`sec-debug-memory`, equation :eq:`eq-debug-accumulation`.
    """
    _check_accumulate_args(model, X, y, loss_fn, micro_batch_size)
    model.zero_grad(set_to_none=True)
    N, total = len(X), 0.0
    for Xm, ym in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
        loss = loss_fn(model(Xm), ym) * (len(Xm) / N)  # the micro-batch's share of the mean
        loss.backward()  # adds into p.grad; frees this micro-batch's graph
        total += loss.item()
    return total


class SavedTensorMeter:
    """Count the bytes autograd saves for the backward pass, with ``torch.autograd.graph.saved_tensors_hooks``.

    Inside the ``with`` block every tensor autograd saves passes through a pack
    hook, which records its storage size once (storages are deduplicated by
    address, so a tensor saved by two operations counts once). Tensors in
    ``exclude`` (usually the parameters, which exist anyway) are not counted.
    ``tracemalloc`` cannot see these bytes: PyTorch allocates tensor memory
    outside Python's allocator.

    Args:
        exclude (Iterable[Tensor]): tensors whose storages are not counted. Default: none.

    Attributes:
        saved_bytes (int): bytes of the distinct storages saved inside the block.
        num_saved (int): how many times a tensor was saved (counted or not).

    Raises:
        TypeError: if ``exclude`` holds something other than tensors.

    Note:
        Under ``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)`` the
        checkpointed region installs its own hooks, so only the region's inputs
        reach this meter: exactly what checkpointing keeps.

    Book section: :ref:`sec-debug-memory`.
    """

    def __init__(self, exclude: Iterable[Tensor] = ()) -> None:
        exclude = list(exclude)
        if not all(isinstance(t, Tensor) for t in exclude):
            raise TypeError(f"expected exclude to hold tensors, got {sorted({type(t).__name__ for t in exclude})}")
        self._excluded = {t.untyped_storage().data_ptr() for t in exclude}
        self.saved_bytes, self.num_saved = 0, 0
        self._sizes: dict[int, int] = {}

    def _pack(self, t: Tensor) -> Tensor:
        self.num_saved += 1
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key not in self._excluded and key not in self._sizes:
            self._sizes[key] = storage.nbytes()
            self.saved_bytes += storage.nbytes()
        return t  # keep the tensor itself: only the counting is new

    def __enter__(self) -> SavedTensorMeter:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)
