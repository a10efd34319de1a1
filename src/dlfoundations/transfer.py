r"""Transfer learning: a CNN with a named backbone and head, freezing, new heads, per-group learning rates.

A network trained on one task (the *source*) is reused for another (the
*target*): its convolutional ``features`` (the *backbone*) are kept, its
output layer (the *head*) is replaced by one with the target's number of
classes, and then either only the head is trained (the backbone is *frozen*)
or everything is trained, the backbone with a smaller learning rate
(*fine-tuning*). Yosinski et al. (2014) measure how transferable the features
of each layer are; Pan and Yang (2010) survey the field.

This module holds the pieces: :func:`freeze` / :func:`unfreeze`,
:func:`replace_head`, :func:`param_groups`, :func:`count_trainable`, and two
data helpers, :func:`select_classes` (keep some classes and relabel them
``0, 1, ...``) and :func:`few_label_subset` (``num_per_class`` seeded labels per
class). The model is the CNN chapter's :class:`dlfoundations.conv.DigitCNN`,
whose ``features`` and ``head`` are the backbone and the head.

Book chapter: :ref:`chap-transfer`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from dlfoundations._validation import (
    check_float,
    check_generator as _check_generator,
    check_int as _check_int,
    check_label_vector as _check_labels,
    check_module,
)
from dlfoundations.models import _reset_like_torch

__all__ = [
    "count_trainable",
    "few_label_subset",
    "freeze",
    "param_groups",
    "replace_head",
    "select_classes",
    "unfreeze",
]


def freeze(module: nn.Module) -> nn.Module:
    r"""Stop training every parameter of ``module``: ``p.requires_grad_(False)`` for each.

    A frozen parameter is a constant to autograd: ``backward()`` leaves its
    ``.grad`` at ``None``, and PyTorch's optimizers skip parameters whose
    ``.grad`` is ``None``, so it never moves. ``module.eval()`` is a different
    thing: it switches dropout and batch normalisation to inference
    behaviour and freezes nothing.

    Args:
        module (torch.nn.Module): the module to freeze, in place (e.g. ``model.features``).

    Returns:
        torch.nn.Module: ``module`` itself, for chaining.

    Raises:
        TypeError: if ``module`` is not an ``nn.Module``.

    Reference: Yosinski et al. (2014), section 2 ("frozen" vs "fine-tuned"
    layers). Book section :ref:`sec-transfer-freezing`.
    """
    for p in check_module(module, "module").parameters():
        p.requires_grad_(False)
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Make every parameter of ``module`` trainable again: ``p.requires_grad_(True)`` for each.

    Args:
        module (torch.nn.Module): the module to unfreeze, in place.

    Returns:
        torch.nn.Module: ``module`` itself.

    Raises:
        TypeError: if ``module`` is not an ``nn.Module``.

    Book section :ref:`sec-transfer-freezing`.
    """
    for p in check_module(module, "module").parameters():
        p.requires_grad_(True)
    return module


def replace_head(model: nn.Module, num_classes: int, generator: torch.Generator | None = None) -> nn.Module:
    r"""Give ``model`` a new, freshly initialised head ``nn.Linear(M, num_classes)``, keeping the backbone.

    The old head's input size :math:`M` is kept, so the backbone's features
    feed the new head unchanged; its weights are drawn as PyTorch draws them,
    and are trainable whatever the backbone's state.

    Args:
        model (torch.nn.Module): a model with an ``nn.Linear`` attribute ``head``
            (e.g. :class:`dlfoundations.conv.DigitCNN`); changed in place.
        num_classes (int): outputs :math:`K` of the new head (the target's classes), ``>= 1``.
        generator (torch.Generator | None): source of the new weights. Default: ``None``.

    Shape:
        - the model's output becomes :math:`(N, K)`.

    Returns:
        torch.nn.Module: ``model`` itself.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, its ``head`` is not an
            ``nn.Linear``, ``num_classes`` is not an int or ``generator`` not a generator.
        ValueError: if ``num_classes < 1``.

    Reference: Yosinski et al. (2014), section 2. Book section :ref:`sec-transfer-freezing`.
    """
    head = _check_replace_head(model, num_classes, generator)  # the old head
    # Built in the old head's dtype and device, so the draws are those of nn.Linear(..., dtype=...).
    new_head = nn.Linear(head.in_features, num_classes, bias=head.bias is not None,
                         device=head.weight.device, dtype=head.weight.dtype)
    if generator is not None:
        _reset_like_torch(new_head.weight, new_head.bias, generator)
    model.head = new_head
    return model


def param_groups(model: nn.Module, backbone_lr: float, head_lr: float) -> list[dict[str, object]]:
    r"""Optimizer parameter groups: the backbone at ``backbone_lr``, the head at ``head_lr``.

    Returns ``[{"params": backbone, "lr": backbone_lr}, {"params": head, "lr": head_lr}]``
    for ``torch.optim.X(groups, ...)``, so each group takes its step with its
    own :math:`\eta`: :math:`\theta_g \leftarrow \theta_g - \eta_g \nabla_{\theta_g} \mathcal L`
    for plain SGD. Parameters are sorted by their ``named_parameters`` name:
    those under ``head.`` go to the head, all others to the backbone. Frozen
    parameters (``requires_grad=False``) are left out, and a group left empty
    (the whole backbone frozen) is dropped.

    Args:
        model (torch.nn.Module): a model with a submodule named ``head``.
        backbone_lr (float): learning rate of the backbone, ``>= 0`` (0 leaves
            the backbone where it is, as ``lr=0`` does in ``torch.optim`` and
            everywhere in this package).
        head_lr (float): learning rate of the head, ``>= 0``.

    Returns:
        list[dict]: one or two groups; every trainable parameter is in exactly one.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module`` or a rate is not a number.
        ValueError: if ``model`` has no ``head`` submodule or no trainable
            parameter, or a rate is not a finite number ``>= 0``.

    Reference: per-layer learning rates for fine-tuning, as in Yosinski et
    al. (2014); ``torch.optim``'s "per-parameter options". Book section
    :ref:`sec-transfer-groups`.
    """
    backbone_lr, head_lr = _check_param_groups(model, backbone_lr, head_lr)  # as floats
    backbone, head = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:  # a frozen parameter joins no group
            (head if name.startswith("head.") else backbone).append(p)
    groups = [{"params": backbone, "lr": backbone_lr}, {"params": head, "lr": head_lr}]
    return [g for g in groups if g["params"]]  # a group left empty (a frozen backbone) is dropped


def count_trainable(model: nn.Module) -> tuple[int, int]:
    """Count a model's scalars: ``(trainable, total)``, trainable meaning ``requires_grad=True``.

    Args:
        model (torch.nn.Module): any module.

    Returns:
        tuple[int, int]: the number of scalars an optimizer can update, and of all parameters.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.

    Book section :ref:`sec-transfer-freezing`.
    """
    params = list(check_module(model, "model").parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def select_classes(X: Tensor, y: Tensor, classes: Sequence[int]) -> tuple[Tensor, Tensor]:
    r"""Keep the samples whose label is in ``classes`` and relabel ``classes[j]`` as ``j``.

    ``select_classes(X, y, [5, 6, 7, 8, 9])`` keeps the digits 5–9 and
    labels them 0–4, as a new task with its own head needs.

    Args:
        X (Tensor): inputs, ``(N, ...)``.
        y (Tensor): integer labels, ``(N,)``.
        classes (Sequence[int]): the labels to keep, distinct; their order
            gives the new labels.

    Shape:
        - Returns ``X_sub`` of ``(N', ...)`` and ``y_sub`` of ``(N',)`` (``int64``),
          :math:`N'` the number of kept samples, in their original order.

    Returns:
        tuple[Tensor, Tensor]: ``(X_sub, y_sub)`` with ``y_sub`` in ``[0, len(classes))``.

    Raises:
        TypeError: if ``X`` is not a tensor, ``y`` not an integer tensor or a class not an int.
        ValueError: if ``y`` is not 1-D, ``X`` and ``y`` disagree on :math:`N`,
            ``classes`` is empty, repeats a label or holds one outside int64,
            or no sample is kept. A class absent from ``y`` keeps its new label
            and simply has no sample.

    Book section :ref:`sec-transfer-data`.
    """
    _check_select(X, y, classes)
    # Compare as int64: a label outside y's dtype (-1 for uint8) must match nothing, not wrap around.
    kept = torch.tensor(list(classes), dtype=torch.int64)  # (K,)
    match = y.to(torch.int64).unsqueeze(1) == kept.unsqueeze(0)  # (N, 1) == (1, K) -> (N, K)
    mask = match.any(dim=1)  # (N,): the samples to keep
    y_sub = match[mask].to(torch.int64).argmax(dim=1)  # (N',): position of the label in classes
    return X[mask], y_sub


def few_label_subset(y: Tensor, num_per_class: int, generator: torch.Generator | None = None) -> Tensor:
    r"""Indices of a class-balanced labelled subset: :math:`m` = ``num_per_class`` samples of every class in ``y``, drawn without replacement.

    Each class's indices are permuted with ``generator`` and the first
    :math:`m` kept, so the same seed gives the same subset, and a larger
    :math:`m` with the same seed gives a superset (the first :math:`m` of one
    permutation).

    Args:
        y (Tensor): integer labels, ``(N,)``.
        num_per_class (int): labels per class :math:`m`, ``>= 1``.
        generator (torch.Generator | None): source of the draws. Default: ``None``.

    Shape:
        - Returns :math:`(m K,)` ``int64`` indices into ``y``, sorted,
          :math:`K` the number of distinct labels present in ``y`` (a class
          absent from ``y`` is not asked for; labels need not be ``0..K-1``).

    Returns:
        Tensor: the chosen indices.

    Raises:
        TypeError: if ``y`` is not an integer tensor, ``num_per_class`` not an
            int or ``generator`` not a generator.
        ValueError: if ``y`` is not 1-D or empty, ``num_per_class < 1``, or a
            class has fewer than ``num_per_class`` samples (the message names it).

    Book section :ref:`sec-transfer-data`.
    """
    m = _check_subset(y, num_per_class, generator)
    chosen = []
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten()  # (N_c,): the samples of class c
        order = torch.randperm(len(members), generator=generator)
        chosen.append(members[order[:m]])
    return torch.cat(chosen).sort().values


# ---------------------------------------------------------------- argument checks


def _check_replace_head(model: object, num_classes: object, generator: object) -> nn.Linear:
    """The checks of :func:`replace_head`; return the model's current head."""
    check_module(model, "model")
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Linear):
        raise TypeError(f"expected model.head to be an nn.Linear, got {type(head).__name__}")
    _check_int(num_classes, "num_classes", 1)
    _check_generator(generator)
    return head


def _check_param_groups(model: object, backbone_lr: object, head_lr: object) -> tuple[float, float]:
    """The checks of :func:`param_groups`; return both rates as floats.

    A rate of 0 is accepted, as everywhere in the package (``_validation.check_lr``)
    and in ``torch.optim``: that group's parameters stay where they are.
    """
    check_module(model, "model")
    if not isinstance(getattr(model, "head", None), nn.Module):
        raise ValueError(f"expected a model with a submodule named 'head', got {type(model).__name__} without one")
    rates = check_float(backbone_lr, "backbone_lr", low=0.0), check_float(head_lr, "head_lr", low=0.0)
    if not any(p.requires_grad for p in model.parameters()):  # type: ignore[union-attr]
        raise ValueError("model has no trainable parameter: expected at least one with requires_grad=True")
    return rates


def _check_select(X: object, y: object, classes: object) -> None:
    """The checks of :func:`select_classes`."""
    if not isinstance(X, Tensor):
        raise TypeError(f"X must be a tensor, got {type(X).__name__}")
    y = _check_labels(y)
    if X.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same first dimension N, got X of shape {tuple(X.shape)} "
            f"and y of shape {tuple(y.shape)}"
        )
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
        raise TypeError(f"classes must be a sequence of ints, got {type(classes).__name__}")
    if len(classes) == 0:
        raise ValueError("classes is empty: expected at least one label to keep")
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, int):
            raise TypeError(f"classes must hold ints, got {type(c).__name__}: {c!r}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct, got {list(classes)}")
    outside = [c for c in classes if not -(2**63) <= c < 2**63]
    if outside:
        raise ValueError(f"classes must fit in int64, got {outside}")
    if not torch.isin(y.to(torch.int64), torch.tensor(list(classes), dtype=torch.int64)).any():
        raise ValueError(f"no sample has a label in {list(classes)}")


def _check_subset(y: object, num_per_class: object, generator: object) -> int:
    """The checks of :func:`few_label_subset`; return ``num_per_class``."""
    y = _check_labels(y)
    m = _check_int(num_per_class, "num_per_class", 1)
    _check_generator(generator)
    if len(y) == 0:
        raise ValueError("y is empty: expected at least one label")
    classes, counts = torch.unique(y, return_counts=True)  # sorted classes
    short = (counts < m).nonzero()
    if short.numel() > 0:
        i = int(short[0, 0])
        raise ValueError(f"class {int(classes[i])} has {int(counts[i])} samples, expected at least num_per_class={m}")
    return m
