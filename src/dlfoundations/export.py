"""Exporting a trained model for inference with ``torch.export``, and checking the export against eager mode.

``torch.export.export`` traces a module once, ahead of time, into an
``ExportedProgram``: a graph of ATen operators with the weights beside it, no
Python left to run. The graph is *specialised* to the example input, every size
fixed, unless a dimension is declared dynamic with ``torch.export.Dim``;
:func:`export_for_inference` declares the batch dimension dynamic, so one
program serves any batch size in a range. ``torch.export.save`` writes the
program to a ``.pt2`` file and ``torch.export.load`` reads it back without the
model's Python class; :func:`max_export_error` checks the loaded program
against the eager model on several batch sizes.

``torch.export`` replaces TorchScript (``torch.jit.script``/``torch.jit.trace``),
which PyTorch has deprecated; an ``ExportedProgram`` is the input of
AOTInductor (a compiled shared library for servers) and ExecuTorch (phones
and micro-controllers).

Book chapter: :ref:`chap-deploy`, section :ref:`sec-deploy-export`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlfoundations._validation import check_floating_tensor, check_int, check_module

__all__ = ["export_for_inference", "max_export_error"]


def _check_export_args(model: object, example_X: object, min_batch: object, max_batch: object) -> None:
    check_module(model)
    if model.training:
        # Dropout and batch norm would be traced in their training behaviour and stay so in the program.
        raise ValueError("expected a model in eval mode (call model.eval() before exporting), got one in training mode")
    X = check_floating_tensor(example_X, "example_X")
    if X.ndim < 1:
        raise ValueError(f"expected example_X with a batch dimension, got a tensor of shape {tuple(X.shape)}")
    low, high = check_int(min_batch, "min_batch", 1), check_int(max_batch, "max_batch", 2)
    if not low <= X.shape[0] <= high or X.shape[0] < 2:
        # torch.export specialises sizes 0 and 1, so a batch of 1 would fix the dimension to 1.
        raise ValueError(f"expected example_X with a batch size in [max(2, min_batch), max_batch] = "
                         f"[{max(2, low)}, {high}], got {X.shape[0]}")


def export_for_inference(model: nn.Module, example_X: Tensor, *, min_batch: int = 1,
                         max_batch: int = 1024) -> torch.export.ExportedProgram:
    r"""Export ``model`` with ``torch.export.export``, the batch dimension (dim 0) dynamic in ``[min_batch, max_batch]``.

    The program is traced from ``example_X``: every other size is fixed to the
    example's, and calling the program's ``module()`` with another size, or a
    batch outside the range, fails a guard (an ``AssertionError`` naming it).

    Args:
        model (torch.nn.Module): the trained model, in ``eval()`` mode, whose
            ``forward`` takes one tensor.
        example_X (torch.Tensor): an input of the kind the program will take,
            floating point, with a batch of at least 2 (``torch.export``
            specialises sizes 0 and 1).
        min_batch (int): the smallest batch the program accepts, ``>= 1``. Default: 1.
        max_batch (int): the largest, ``>= 2``. Default: 1024.

    Shape:
        - example_X: :math:`(N, *)` with :math:`2 \le N`, ``min_batch`` :math:`\le N \le` ``max_batch``.
        - the program's input: :math:`(B, *)` with the same trailing sizes, any
          ``min_batch`` :math:`\le B \le` ``max_batch``.

    Returns:
        torch.export.ExportedProgram: the graph and the weights; save it with
        ``torch.export.save(program, "model.pt2")``.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module`` or ``example_X`` not a
            floating-point tensor.
        ValueError: if ``model`` is in training mode, ``example_X`` has no batch dimension or a batch outside the range
            (or of 1), or ``min_batch < 1``, ``max_batch < 2``.

    Reference: PyTorch's ``torch.export`` documentation (dynamic shapes);
    book section :ref:`sec-deploy-export`.
    """
    _check_export_args(model, example_X, min_batch, max_batch)
    batch = torch.export.Dim("batch", min=min_batch, max=max_batch)
    # One dict per positional input: dim 0 of the first is the symbol `batch`, every other size stays fixed.
    return torch.export.export(model, (example_X,), dynamic_shapes=({0: batch},))


def max_export_error(program: torch.export.ExportedProgram, model: nn.Module, inputs: Sequence[Tensor]) -> list[float]:
    r"""For each ``X`` in ``inputs``, :math:`\max |f_{\text{program}}(X) - f_{\text{model}}(X)|`, the largest difference from eager mode.

    Args:
        program (torch.export.ExportedProgram): e.g. from :func:`export_for_inference`
            or ``torch.export.load``.
        model (torch.nn.Module): the eager model it was exported from, in ``eval()`` mode.
        inputs (Sequence[torch.Tensor]): inputs, e.g. of several batch sizes.

    Returns:
        list[float]: one maximum absolute difference per input; 0.0 means equal.

    Raises:
        TypeError: if ``program`` is not an ``ExportedProgram``, ``model`` not an
            ``nn.Module`` or ``inputs`` not a non-empty sequence of tensors.
        ValueError: if ``inputs`` is empty, or the outputs' shapes differ.

    Book section: :ref:`sec-deploy-export`.
    """
    _check_compare_args(program, model, inputs)
    exported = program.module()  # a torch.fx.GraphModule that runs the program's graph
    errors = []
    with torch.no_grad():
        for X in inputs:
            y_program, y_eager = exported(X), model(X)  # (B, O) each
            if y_program.shape != y_eager.shape:
                raise ValueError(f"expected outputs of equal shapes, got {tuple(y_program.shape)} from the program "
                                 f"and {tuple(y_eager.shape)} from the model")
            errors.append((y_program - y_eager).abs().max().item() if y_eager.numel() else 0.0)
    return errors


def _check_compare_args(program: object, model: object, inputs: object) -> None:
    if not isinstance(program, torch.export.ExportedProgram):
        raise TypeError(f"program must be a torch.export.ExportedProgram, got {type(program).__name__}")
    check_module(model)
    if isinstance(inputs, Tensor) or not isinstance(inputs, Sequence):
        raise TypeError(f"inputs must be a sequence of tensors, got {type(inputs).__name__}")
    if not inputs:
        raise ValueError("expected at least one input, got an empty sequence")
    for i, X in enumerate(inputs):
        if not isinstance(X, Tensor):
            raise TypeError(f"inputs[{i}] must be a tensor, got {type(X).__name__}")
