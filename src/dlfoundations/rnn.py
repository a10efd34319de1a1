r"""Recurrent networks from scratch: the Elman RNN cell, the LSTM cell and an LSTM layer.

A recurrent network reads a sequence one step at a time and carries a hidden
state :math:`\mathbf h_t` from step to step. Everything here is batch-first
and uses PyTorch's parameter names, shapes and gate order, so a ``state_dict``
of ``torch.nn.RNNCell``, ``torch.nn.LSTMCell`` or
``torch.nn.LSTM`` loads into the book's modules and gives the same outputs:

- :func:`rnn_cell`, :class:`RNNCell`: :math:`\mathbf h_t = \tanh(W_{ih}\mathbf x_t + \mathbf b_{ih} + W_{hh}\mathbf h_{t-1} + \mathbf b_{hh})`,
  for every sequence of the batch at once (one sequence per row).
- :func:`lstm_cell`, :class:`LSTMCell`: the LSTM step with input, forget and
  output gates; the stacked weights hold the gates in the order i, f, g, o.
- :class:`LSTM`: the LSTM cell run over a whole sequence ``(N, T, D)``.
- :func:`init_forget_bias_`: open the forget gate at the start of training.
- :class:`SequenceRegressor`: a recurrent layer plus a linear read-out of the
  last hidden state, the model the chapter trains.
- :func:`forecast`: autoregressive forecasting, feeding predictions back.
- :func:`hidden_grad_norms`: :math:`\lVert \partial \mathcal L / \partial \mathbf h_t \rVert` for every step.

Book chapter: :ref:`chap-rnn`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from dlfoundations._validation import (
    check_bool,
    check_dtype,
    check_float,
    check_floating_tensor,
    check_generator,
    check_int,
    check_module,
)
from dlfoundations.models import _reset_like_torch

__all__ = [
    "LSTM",
    "LSTMCell",
    "RNNCell",
    "SequenceRegressor",
    "forecast",
    "hidden_grad_norms",
    "init_forget_bias_",
    "lstm_cell",
    "rnn_cell",
]


# ---------------------------------------------------------------- validation


def _check_shape(value: Tensor, name: str, expected: tuple[int | str, ...]) -> None:
    """Raise unless ``value`` has ``len(expected)`` dims whose int entries match (str entries are free)."""
    ok = value.ndim == len(expected) and all(
        isinstance(e, str) or value.shape[k] == e for k, e in enumerate(expected)
    )
    if not ok:
        shown = ", ".join(str(e) for e in expected) + ("," if len(expected) == 1 else "")
        raise ValueError(f"expected {name} of shape ({shown}), got {tuple(value.shape)}")


def _describe(value: object) -> str:
    """Name what arrived: ``tuple of (Tensor, NoneType)``, ``Tensor``, ..."""
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of ({', '.join(type(v).__name__ for v in value)})"
    return type(value).__name__


def _check_cell_args(
    x: object, h: object, weight_ih: object, weight_hh: object, bias_ih: object, bias_hh: object, gates: int,
    c: object = None,
) -> None:
    """Validate one cell step's tensors (and the LSTM's cell state ``c``, if ``gates=4``)."""
    x = check_floating_tensor(x, "x")
    weight_ih = check_floating_tensor(weight_ih, "weight_ih")
    weight_hh = check_floating_tensor(weight_hh, "weight_hh")
    check_dtype(weight_ih, "weight_ih", x.dtype, "x", x.device)
    check_dtype(weight_hh, "weight_hh", x.dtype, "x", x.device)
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ValueError(f"expected weight_hh of shape ({gates}*H, H), got {tuple(weight_hh.shape)}")
    H = weight_hh.shape[1]
    if weight_ih.ndim != 2 or weight_ih.shape[0] != gates * H:
        raise ValueError(f"expected weight_ih of shape ({gates * H}, D), got {tuple(weight_ih.shape)}")
    D = weight_ih.shape[1]
    _check_shape(x, "x", ("N", D))
    N = x.shape[0]
    _check_shape(check_floating_tensor(h, "h"), "h", (N, H))
    check_dtype(h, "h", x.dtype, "x", x.device)
    for bias, name in ((bias_ih, "bias_ih"), (bias_hh, "bias_hh")):
        if bias is not None:
            _check_shape(check_floating_tensor(bias, name), name, (gates * H,))
            check_dtype(bias, name, x.dtype, "x", x.device)
    if gates == 4:
        _check_shape(check_floating_tensor(c, "c"), "c", (N, H))
        check_dtype(c, "c", x.dtype, "x", x.device)


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``x @ weight.T + bias`` (no bias if ``None``), as ``torch.nn.functional.linear`` computes it."""
    out = x @ weight.T  # (N, K) @ (K, M) -> (N, M)
    return out if bias is None else out + bias


# ---------------------------------------------------------------- cell steps


def rnn_cell(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> Tensor:
    r"""One step of an Elman RNN: :math:`\mathbf h_t = \tanh(W_{ih}\mathbf x_t + \mathbf b_{ih} + W_{hh}\mathbf h_{t-1} + \mathbf b_{hh})`.

    The batch holds one sequence per row, so the code computes
    ``x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh``: the formula for
    every row, transposed.

    Args:
        x (Tensor): the inputs :math:`\mathbf x_t` of one step.
        h (Tensor): the previous hidden state :math:`\mathbf h_{t-1}`.
        weight_ih (Tensor): input-to-hidden weight :math:`W_{ih}`.
        weight_hh (Tensor): hidden-to-hidden weight :math:`W_{hh}`.
        bias_ih, bias_hh (Tensor | None): the two biases, or ``None`` for none. Default: ``None``.

    Shape:
        - x: :math:`(N, D)`; h: :math:`(N, H)`.
        - weight_ih: :math:`(H, D)`; weight_hh: :math:`(H, H)`; biases: :math:`(H,)`.
        - Output: :math:`(N, H)`.

    Returns:
        Tensor: the new hidden state :math:`\mathbf h_t`.

    Raises:
        TypeError: if a tensor argument is not a floating tensor or its dtype
            differs from that of ``x`` (the message names both dtypes).
        ValueError: if the shapes disagree (the message names expected and received shapes) or
            a tensor is on another device than ``x``.

    Reference: Elman (1990), "Finding structure in time"; the formula of
    ``torch.nn.RNNCell``. Book section :ref:`sec-rnn-cell`, equation :eq:`eq-rnn-cell`.
    """
    _check_cell_args(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=1)
    # _affine(x, W, b) is x @ W.T + b: (N, D) @ (D, H) + (N, H) @ (H, H) -> (N, H). Each bias joins
    # its own product first, as in PyTorch, so that overflowing sums give the same inf or NaN
    Z = _affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)
    return torch.tanh(Z)


def lstm_cell(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""One LSTM step: :math:`\mathbf c_t = \mathbf f_t \odot \mathbf c_{t-1} + \mathbf i_t \odot \mathbf g_t`, :math:`\mathbf h_t = \mathbf o_t \odot \tanh(\mathbf c_t)`.

    The four gates come from one matrix product with the stacked weights,
    whose row blocks are, in PyTorch's order, input gate :math:`\mathbf i`,
    forget gate :math:`\mathbf f`, candidate :math:`\mathbf g` and output gate
    :math:`\mathbf o`; :math:`\mathbf i, \mathbf f, \mathbf o` pass through the
    logistic sigmoid, :math:`\mathbf g` through tanh.

    Args:
        x (Tensor): the inputs :math:`\mathbf x_t` of one step.
        h (Tensor): the previous hidden state :math:`\mathbf h_{t-1}`.
        c (Tensor): the previous cell state :math:`\mathbf c_{t-1}`.
        weight_ih (Tensor): stacked input weights :math:`[W_{ii}; W_{if}; W_{ig}; W_{io}]`.
        weight_hh (Tensor): stacked recurrent weights :math:`[W_{hi}; W_{hf}; W_{hg}; W_{ho}]`.
        bias_ih, bias_hh (Tensor | None): stacked biases, or ``None``. Default: ``None``.

    Shape:
        - x: :math:`(N, D)`; h, c: :math:`(N, H)`.
        - weight_ih: :math:`(4H, D)`; weight_hh: :math:`(4H, H)`; biases: :math:`(4H,)`.
        - Output: ``(h, c)``, each :math:`(N, H)`.

    Returns:
        tuple[Tensor, Tensor]: the new hidden and cell states :math:`(\mathbf h_t, \mathbf c_t)`.

    Raises:
        TypeError: if a tensor argument is not a floating tensor or its dtype
            differs from that of ``x`` (the message names both dtypes).
        ValueError: if the shapes disagree (the message names expected and received shapes) or
            a tensor is on another device than ``x``.

    Reference: Hochreiter & Schmidhuber (1997) with the forget gate of
    Gers, Schmidhuber & Cummins (2000); the formulas of
    ``torch.nn.LSTMCell``. Book section :ref:`sec-rnn-lstm`, equations
    :eq:`eq-rnn-lstm-gates` to :eq:`eq-rnn-lstm-stacked`.
    """
    _check_cell_args(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=4, c=c)
    # (N, D) @ (D, 4H) + (N, H) @ (H, 4H) -> (N, 4H); each bias joins its own product first, as in PyTorch
    gates = _affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, dim=1)  # four (N, H) blocks, in PyTorch's order i, f, g, o
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_new = f * c + i * g  # (N, H): keep part of the old memory, write part of the candidate
    h_new = o * torch.tanh(c_new)  # (N, H): expose part of the memory
    return h_new, c_new


# ---------------------------------------------------------------- modules


def _check_module_args(input_size: object, hidden_size: object, bias: object, generator: object) -> tuple[int, int]:
    """Check the constructor arguments of the cells and of :class:`LSTM`; return ``(D, H)``."""
    D, H = check_int(input_size, "input_size", 1), check_int(hidden_size, "hidden_size", 1)
    check_bool(bias, "bias")
    check_generator(generator)
    return D, H


class _CellBase(nn.Module):
    """Plumbing shared by :class:`RNNCell` and :class:`LSTMCell`: checking inputs, zero states, the repr."""

    def _initial(self, x: object, hx: object, name: str) -> Tensor:
        """Check ``x`` (and the state ``hx``); return ``hx``, or zeros ``(N, H)`` if it is ``None``."""
        x = check_floating_tensor(x, "x")
        _check_shape(x, "x", ("N", self.input_size))
        check_dtype(x, "x", self.weight_ih.dtype, "the cell's parameters", self.weight_ih.device)
        if hx is None:
            return torch.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)  # (N, H)
        hx = check_floating_tensor(hx, name)
        _check_shape(hx, name, (x.shape[0], self.hidden_size))
        check_dtype(hx, name, x.dtype, "x", x.device)
        return hx

    def _initial_pair(self, x: object, hx: object) -> tuple[Tensor, Tensor]:
        """Check ``x`` and the pair ``hx = (h, c)``; return it, or two zero states if it is ``None``."""
        if hx is None:
            h = self._initial(x, None, "h")
            return h, h
        if not isinstance(hx, (tuple, list)) or len(hx) != 2 or any(v is None for v in hx):
            raise TypeError(f"hx must be a pair (h, c) of tensors, got {_describe(hx)}")
        return self._initial(x, hx[0], "h"), self._initial(x, hx[1], "c")

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_CellBase):
    r"""An Elman RNN cell, :func:`rnn_cell` as a module: :math:`\mathbf h' = \tanh(W_{ih}\mathbf x + \mathbf b_{ih} + W_{hh}\mathbf h + \mathbf b_{hh})`.

    Parameter names, shapes and initialisation are those of
    ``torch.nn.RNNCell`` (with ``nonlinearity="tanh"``), so
    ``load_state_dict(torch_cell.state_dict())`` makes the two compute the same.

    Args:
        input_size (int): features :math:`D` of each input.
        hidden_size (int): features :math:`H` of the hidden state.
        bias (bool): use ``bias_ih`` and ``bias_hh``. Default: ``True``.
        generator (torch.Generator | None): source of the initial weights; with a
            generator seeded ``s`` the weights equal those of ``nn.RNNCell`` built
            right after ``torch.manual_seed(s)``. Default: ``None``.

    Shape:
        - Input: ``x`` :math:`(N, D)` and optional ``hx`` :math:`(N, H)` (zeros if omitted).
        - Output: :math:`(N, H)`.

    Attributes:
        weight_ih (torch.nn.Parameter): :math:`W_{ih}`, :math:`(H, D)`.
        weight_hh (torch.nn.Parameter): :math:`W_{hh}`, :math:`(H, H)`.
        bias_ih (torch.nn.Parameter | None): :math:`\mathbf b_{ih}`, :math:`(H,)`.
        bias_hh (torch.nn.Parameter | None): :math:`\mathbf b_{hh}`, :math:`(H,)`.

    Raises:
        TypeError: if a size is not an int, an input not a floating tensor, or
            an input's dtype differs from the parameters' (both dtypes named).
        ValueError: if a size is below 1 or an input has the wrong shape.

    Note:
        Input must be batched, ``(N, D)`` with :math:`N \ge 0`. Unlike
        ``nn.RNNCell``, an unbatched ``(D,)`` input is refused with a
        ``ValueError`` rather than read as one sequence. Where ``nn.RNNCell``
        raises a ``RuntimeError`` or ``ValueError`` for mixed dtypes, this
        cell raises a ``TypeError`` naming both.

    Reference: Elman (1990). Book section :ref:`sec-rnn-cell`, equation :eq:`eq-rnn-cell`.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, generator: torch.Generator | None = None):
        super().__init__()
        D, H = _check_module_args(input_size, hidden_size, bias, generator)
        self.input_size, self.hidden_size = D, H
        self.weight_ih = nn.Parameter(torch.empty(H, D))  # W_ih: (H, D)
        self.weight_hh = nn.Parameter(torch.empty(H, H))  # W_hh: (H, H)
        self.bias_ih = nn.Parameter(torch.empty(H)) if bias else None  # b_ih: (H,)
        self.bias_hh = nn.Parameter(torch.empty(H)) if bias else None  # b_hh: (H,)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        r"""Draw every parameter from :math:`\mathcal U(-1/\sqrt H, 1/\sqrt H)`, as PyTorch's recurrent layers do."""
        bound = 1.0 / math.sqrt(self.hidden_size)  # every parameter ~ U(-1/sqrt(H), 1/sqrt(H))
        for p in self.parameters():  # weight_ih, weight_hh, bias_ih, bias_hh: PyTorch's order of draws
            nn.init.uniform_(p, -bound, bound, generator=generator)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """Return the next hidden state; see the class docstring."""
        h = self._initial(x, hx, "hx")  # checked, or zeros (N, H) at the first step
        return rnn_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTMCell(_CellBase):
    r"""An LSTM cell, :func:`lstm_cell` as a module: :math:`\mathbf c' = \mathbf f \odot \mathbf c + \mathbf i \odot \mathbf g`, :math:`\mathbf h' = \mathbf o \odot \tanh(\mathbf c')`.

    Parameter names, shapes (gates stacked in the order i, f, g, o) and
    initialisation are those of ``torch.nn.LSTMCell``.

    Args:
        input_size (int): features :math:`D` of each input.
        hidden_size (int): features :math:`H` of the hidden and cell states.
        bias (bool): use ``bias_ih`` and ``bias_hh``. Default: ``True``.
        generator (torch.Generator | None): source of the initial weights. Default: ``None``.

    Shape:
        - Input: ``x`` :math:`(N, D)` and optional ``hx = (h, c)``, each :math:`(N, H)` (zeros if omitted).
        - Output: ``(h', c')``, each :math:`(N, H)`.

    Attributes:
        weight_ih (torch.nn.Parameter): the four gates' input weights, stacked, :math:`(4H, D)`.
        weight_hh (torch.nn.Parameter): their recurrent weights, stacked, :math:`(4H, H)`.
        bias_ih (torch.nn.Parameter | None): stacked input biases, :math:`(4H,)`.
        bias_hh (torch.nn.Parameter | None): stacked recurrent biases, :math:`(4H,)`.

    Raises:
        TypeError: if a size is not an int, ``hx`` not a pair of tensors, an
            input not a floating tensor, or an input's dtype differs from the
            parameters' (both dtypes named).
        ValueError: if a size is below 1 or an input has the wrong shape.

    Note:
        Input must be batched, ``(N, D)`` with :math:`N \ge 0`; an unbatched
        ``(D,)`` input, which ``nn.LSTMCell`` accepts, is refused with a ``ValueError``.

    Reference: Hochreiter & Schmidhuber (1997); Gers et al. (2000). Book
    section :ref:`sec-rnn-lstm`.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, generator: torch.Generator | None = None):
        super().__init__()
        D, H = _check_module_args(input_size, hidden_size, bias, generator)
        self.input_size, self.hidden_size = D, H
        self.weight_ih = nn.Parameter(torch.empty(4 * H, D))  # [W_ii; W_if; W_ig; W_io]: (4H, D)
        self.weight_hh = nn.Parameter(torch.empty(4 * H, H))  # [W_hi; W_hf; W_hg; W_ho]: (4H, H)
        self.bias_ih = nn.Parameter(torch.empty(4 * H)) if bias else None  # (4H,)
        self.bias_hh = nn.Parameter(torch.empty(4 * H)) if bias else None  # (4H,)
        self.reset_parameters(generator)

    reset_parameters = RNNCell.reset_parameters  # the same U(-1/sqrt(H), 1/sqrt(H)) draws as nn.LSTMCell

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """Return the next ``(h, c)``; see the class docstring."""
        h, c = self._initial_pair(x, hx)  # checked, or zeros (N, H) at the first step
        return lstm_cell(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTM(nn.Module):
    r"""A one-layer, batch-first LSTM: :func:`lstm_cell` applied at :math:`t = 1, \dots, T` with shared weights.

    The parameters are named as in ``torch.nn.LSTM`` with ``num_layers=1``
    (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``) and
    drawn in the same way, so ``load_state_dict`` works both ways and the
    outputs equal those of ``nn.LSTM(input_size, hidden_size, batch_first=True)``.

    Args:
        input_size (int): features :math:`D` of each step.
        hidden_size (int): features :math:`H` of the states.
        bias (bool): use the two biases. Default: ``True``.
        generator (torch.Generator | None): source of the initial weights. Default: ``None``.

    Shape:
        - Input: ``X`` :math:`(N, T, D)`, :math:`T \ge 1`, and optional
          ``hx = (h_0, c_0)``, each :math:`(1, N, H)` (zeros if omitted).
        - Output: ``output`` :math:`(N, T, H)`, the hidden state of every step,
          and ``(h_n, c_n)``, each :math:`(1, N, H)`, the last states.

    Returns:
        tuple[Tensor, tuple[Tensor, Tensor]]: ``output, (h_n, c_n)`` as ``nn.LSTM`` returns them.

    Raises:
        TypeError: if a size is not an int, ``hx`` not a pair of tensors, an
            input not a floating tensor, or an input's dtype differs from the
            parameters' (both dtypes named).
        ValueError: if ``X`` is not 3-D, has another number of features than
            ``input_size``, has no time step, or ``hx`` has the wrong shape.

    Note:
        Always batch-first, where ``nn.LSTM`` defaults to ``batch_first=False``;
        compare with ``nn.LSTM(..., batch_first=True)``. As there, ``h_0`` and
        ``c_0`` are ``(1, N, H)`` whatever the layout. A sequence of
        :math:`T = 0` steps and an unbatched 2-D input, which ``nn.LSTM``
        refuses with a ``RuntimeError`` or reads as one sequence, raise a
        ``ValueError`` here; mixed dtypes raise a ``TypeError`` naming both.
        Each bias joins its own product, :math:`(W_{ih}\mathbf x + \mathbf b_{ih}) + (W_{hh}\mathbf h + \mathbf b_{hh})`,
        as in ``nn.LSTMCell`` and in ``nn.LSTM``'s own (float64) path; a float32
        ``nn.LSTM`` on the CPU runs through oneDNN, which adds the two biases
        first, so the two can differ where huge biases cancel (one overflows
        to inf, the other does not).

    Reference: Hochreiter & Schmidhuber (1997); Gers et al. (2000);
    ``torch.nn.LSTM``. Book section :ref:`sec-rnn-lstm`.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, generator: torch.Generator | None = None):
        super().__init__()
        D, H = _check_module_args(input_size, hidden_size, bias, generator)
        self.input_size, self.hidden_size = D, H
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * H, D))  # (4H, D)
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * H, H))  # (4H, H)
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * H)) if bias else None  # (4H,)
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * H)) if bias else None  # (4H,)
        self.reset_parameters(generator)

    reset_parameters = RNNCell.reset_parameters  # the same U(-1/sqrt(H), 1/sqrt(H)) draws as nn.LSTM

    def _check_state(self, state: object, name: str, N: int, like: Tensor) -> Tensor:
        state = check_floating_tensor(state, name)
        _check_shape(state, name, (1, N, self.hidden_size))
        check_dtype(state, name, like.dtype, "X", like.device)
        return state[0]  # (1, N, H) -> (N, H)

    def _initial_states(self, X: object, hx: object) -> tuple[Tensor, Tensor]:
        """Validate ``X`` and ``hx``; return ``(h_0, c_0)``, each ``(N, H)`` (zeros if ``hx`` is ``None``)."""
        X = check_floating_tensor(X, "X")
        if X.ndim != 3:
            raise ValueError(f"expected X of shape (N, T, {self.input_size}) (batch first), got {tuple(X.shape)}")
        N, T, D = X.shape
        if D != self.input_size:
            raise ValueError(
                f"expected X of shape (N, T, {self.input_size}) (input_size={self.input_size}), got {tuple(X.shape)}"
            )
        if T == 0:
            raise ValueError(f"expected a sequence of at least one step, X of shape (N, T>=1, {D}), got {tuple(X.shape)}")
        check_dtype(X, "X", self.weight_ih_l0.dtype, "the LSTM's parameters", self.weight_ih_l0.device)
        if hx is None:
            h = torch.zeros(N, self.hidden_size, dtype=X.dtype, device=X.device)  # (N, H)
            return h, h
        if not isinstance(hx, (tuple, list)) or len(hx) != 2 or any(v is None for v in hx):
            raise TypeError(f"hx must be a pair (h_0, c_0) of tensors, got {_describe(hx)}")
        return self._check_state(hx[0], "h_0", N, X), self._check_state(hx[1], "c_0", N, X)

    def forward(self, X: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Run the LSTM over ``X`` of shape ``(N, T, D)``; see the class docstring."""
        h, c = self._initial_states(X, hx)  # (N, H) each
        outputs = []
        for t in range(X.shape[1]):  # the same weights at every step
            h, c = lstm_cell(X[:, t], h, c, self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0)
            outputs.append(h)
        output = torch.stack(outputs, dim=1)  # T tensors (N, H) -> (N, T, H)
        return output, (h.unsqueeze(0), c.unsqueeze(0))  # (1, N, H) each, as nn.LSTM

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih_l0 is not None}, batch_first=True"


class SequenceRegressor(nn.Module):
    r"""A recurrent layer and a linear read-out of its last hidden state: :math:`\hat{\mathbf y} = \mathbf h_T W^\top + \mathbf b`.

    Args:
        cell (str): ``"rnn"`` (Elman, tanh) or ``"lstm"``.
        input_size (int): features :math:`D` per step.
        hidden_size (int): hidden features :math:`H`.
        out_features (int): outputs :math:`O`. Default: 1.
        implementation (str): ``"torch"`` for ``torch.nn.RNN`` /
            ``torch.nn.LSTM`` (fast, fused), or ``"book"`` for the book's
            :class:`LSTM` (``cell="lstm"`` only). Both have the same parameter
            names, so their ``state_dict``\ s are interchangeable. Default: ``"torch"``.
        forget_bias (float): the initial total bias of the forget gate
            (``bias_ih`` slice set to it, ``bias_hh`` slice to 0); ``None``
            keeps PyTorch's random draw. ``cell="lstm"`` only. Default: ``None``.
        generator (torch.Generator | None): source of the initial weights
            (recurrent layer first, then the read-out). Default: ``None``.

    Shape:
        - Input: :math:`(N, T, D)`. Output: :math:`(N, O)`.

    Raises:
        TypeError: if a size is not an int, ``forget_bias`` not a number, or
            the input's dtype differs from the parameters' (both dtypes named).
        ValueError: if ``cell`` or ``implementation`` is unknown, a size is
            below 1, ``forget_bias`` is given for an RNN, or the input is not
            ``(N, T, D)`` with ``T >= 1``.

    Reference: Elman (1990); Hochreiter & Schmidhuber (1997); the forget-gate
    bias of 1 recommended by Jozefowicz et al. (2015). Book sections
    :ref:`sec-rnn-forecast` and :ref:`sec-rnn-adding`.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        out_features: int = 1,
        implementation: str = "torch",
        forget_bias: float | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
        if implementation not in ("torch", "book"):
            raise ValueError(f"implementation must be 'torch' or 'book', got {implementation!r}")
        if implementation == "book" and cell != "lstm":
            raise ValueError("implementation='book' exists for cell='lstm' only, got cell='rnn'")
        D = check_int(input_size, "input_size", 1)
        H = check_int(hidden_size, "hidden_size", 1)
        O = check_int(out_features, "out_features", 1)  # noqa: E741 - the book's shape letter
        generator = check_generator(generator)
        self.cell, self.input_size, self.hidden_size = cell, D, H
        if implementation == "book":
            self.rnn = LSTM(D, H, generator=generator)
        else:
            self.rnn = (nn.LSTM if cell == "lstm" else nn.RNN)(D, H, batch_first=True)
            RNNCell.reset_parameters(self.rnn, generator)  # nn.RNN/nn.LSTM's own init, drawn from `generator`
        self.head = nn.Linear(H, O)
        _reset_like_torch(self.head.weight, self.head.bias, generator)  # nn.Linear's init, drawn from `generator`
        if forget_bias is not None:
            if cell != "lstm":
                raise ValueError(f"forget_bias is for cell='lstm' only, got cell={cell!r}")
            init_forget_bias_(self.rnn, forget_bias)

    def forward(self, X: Tensor) -> Tensor:
        """Return ``y_hat`` of shape ``(N, O)`` for ``X`` of shape ``(N, T, D)``."""
        X = check_floating_tensor(X, "X")
        if X.ndim != 3 or X.shape[2] != self.input_size or X.shape[1] == 0:
            raise ValueError(f"expected X of shape (N, T>=1, {self.input_size}), got {tuple(X.shape)}")
        check_dtype(X, "X", self.head.weight.dtype, "the model's parameters")
        output, _ = self.rnn(X)  # (N, T, H)
        return self.head(output[:, -1])  # (N, H) @ (H, O) -> (N, O)


def _check_forget_bias_args(lstm: object, value: object) -> tuple[float, list[tuple[Tensor, Tensor]]]:
    """Check the arguments of :func:`init_forget_bias_`; return ``value`` and the ``(bias_ih, bias_hh)`` pairs."""
    if not isinstance(lstm, (LSTMCell, LSTM, nn.LSTMCell, nn.LSTM)):
        raise TypeError(f"lstm must be an LSTMCell or LSTM (the book's or torch.nn's), got {type(lstm).__name__}")
    value = check_float(value, "value")  # NumPy scalars too
    if isinstance(lstm, nn.LSTM) and lstm.num_layers != 1:
        raise ValueError(f"expected an nn.LSTM with num_layers=1, got num_layers={lstm.num_layers}")
    if isinstance(lstm, (LSTM, nn.LSTM)):  # a bidirectional nn.LSTM has a second, reverse set
        suffixes = ["_l0", "_l0_reverse"] if getattr(lstm, "bidirectional", False) else ["_l0"]
    else:
        suffixes = [""]
    biases = [(getattr(lstm, "bias_ih" + suffix, None), getattr(lstm, "bias_hh" + suffix, None)) for suffix in suffixes]
    if any(bias is None for pair in biases for bias in pair):
        raise ValueError("expected an LSTM with biases (bias=True), got bias=False")
    return value, biases


def init_forget_bias_(lstm: nn.Module, value: float) -> nn.Module:
    r"""Set the forget gate's total bias to ``value``: :math:`b_{if} = \text{value}`, :math:`b_{hf} = 0`, so :math:`\mathbf f \approx \sigma(\text{value})` at the start.

    The forget gate's biases are rows :math:`H` to :math:`2H` of the stacked
    ``bias_ih`` and ``bias_hh`` (gate order i, f, g, o). Works on the book's
    :class:`LSTMCell` and :class:`LSTM` and on ``torch.nn.LSTMCell`` and
    one-layer ``torch.nn.LSTM`` (both directions of a bidirectional one).

    Args:
        lstm (torch.nn.Module): an LSTM cell or one-layer LSTM with biases.
        value (float): the new total forget-gate bias; 1 is the usual choice.

    Returns:
        nn.Module: ``lstm``, changed in place.

    Raises:
        TypeError: if ``lstm`` is not one of the four LSTM modules or ``value`` not a number.
        ValueError: if ``value`` is NaN or infinite, ``lstm`` has no biases or
            is an ``nn.LSTM`` with ``num_layers != 1``.

    Reference: Gers, Schmidhuber & Cummins (2000), who introduced the forget
    gate; Jozefowicz, Zaremba & Sutskever (2015), who measured the benefit of
    a bias of 1. Book section :ref:`sec-rnn-gradients`, equation :eq:`eq-rnn-cell-path`.
    """
    value, biases = _check_forget_bias_args(lstm, value)
    H = lstm.hidden_size
    for bias_ih, bias_hh in biases:  # one pair, two for a bidirectional nn.LSTM
        with torch.no_grad():  # rows H:2H of the stacked biases (gate order i, f, g, o) belong to the forget gate
            bias_ih[H : 2 * H] = value
            bias_hh[H : 2 * H] = 0.0
    return lstm


# ---------------------------------------------------------------- using a trained model


def forecast(model: nn.Module, context: Tensor, num_steps: int) -> Tensor:
    r"""Forecast ``num_steps`` values autoregressively: :math:`\hat s_{t+1} = f(\hat s_{t-T+1}, \dots, \hat s_t)`, feeding each prediction back.

    The first prediction reads the last :math:`T` values of ``context``; every
    later one reads a window that ends with the model's own previous
    predictions, so errors can compound. Runs under ``torch.no_grad()`` in
    ``eval`` mode and puts the model back in the mode it was in.

    Args:
        model (torch.nn.Module): maps ``(N, T, 1)`` windows to ``(N, 1)`` next values.
        context (Tensor): the last observed values, a 1-D series of length :math:`T`.
        num_steps (int): how many values :math:`M \ge 0` to predict; 0 gives an empty forecast.

    Shape:
        - context: :math:`(T,)`. Output: :math:`(M,)`.

    Returns:
        Tensor: the predictions :math:`\hat s_{t+1}, \dots, \hat s_{t+M}`.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, ``context`` not a
            floating tensor of the model's dtype (both dtypes named) or
            ``num_steps`` not an int.
        ValueError: if ``context`` is not 1-D and non-empty, ``num_steps < 0``,
            or the model does not return one value per window.

    Book section: :ref:`sec-rnn-forecast`.
    """
    context, M = _check_forecast_args(model, context, num_steps)
    was_training = model.training
    model.eval()
    window = context.detach().clone()  # (T,)
    predictions = [context.new_empty(0)]  # so that M = 0 gives an empty (0,) forecast
    try:
        with torch.no_grad():
            for _ in range(M):
                y_hat = _check_prediction(model(window.view(1, -1, 1)))  # (T,) -> (1, T, 1) -> (1, 1)
                predictions.append(y_hat[0])
                window = torch.cat([window[1:], y_hat[0]])  # drop the oldest value, append the prediction: (T,)
    finally:
        model.train(was_training)  # even if the model raised
    return torch.cat(predictions)  # (M,)


def _check_forecast_args(model: object, context: object, num_steps: object) -> tuple[Tensor, int]:
    """Check the arguments of :func:`forecast`; return ``context`` and ``num_steps``."""
    check_module(model)
    context = check_floating_tensor(context, "context")
    if context.ndim != 1 or context.shape[0] == 0:
        raise ValueError(f"expected context of shape (T,) with T >= 1, got {tuple(context.shape)}")
    param = next(model.parameters(), None)
    if param is not None and param.dtype.is_floating_point:
        check_dtype(context, "context", param.dtype, "the model's parameters")
    return context, check_int(num_steps, "num_steps", 0)


def _check_prediction(y_hat: object) -> Tensor:
    if not isinstance(y_hat, Tensor) or y_hat.shape != (1, 1):
        shape = tuple(y_hat.shape) if isinstance(y_hat, Tensor) else type(y_hat).__name__
        raise ValueError(f"expected the model to return shape (1, 1) per window, got {shape}")
    return y_hat


def _check_hidden_grad_args(cell: object, X: object) -> None:
    if not isinstance(cell, (RNNCell, LSTMCell)):
        raise TypeError(f"cell must be an RNNCell or LSTMCell, got {type(cell).__name__}")
    X = check_floating_tensor(X, "X")
    if X.ndim != 3 or X.shape[2] != cell.input_size or X.shape[1] == 0:
        raise ValueError(f"expected X of shape (N, T>=1, {cell.input_size}), got {tuple(X.shape)}")
    check_dtype(X, "X", cell.weight_ih.dtype, "the cell's parameters")


def hidden_grad_norms(cell: RNNCell | LSTMCell, X: Tensor) -> Tensor:
    r"""The norms :math:`\lVert \partial \mathcal L / \partial \mathbf h_t \rVert_2` for :math:`t = 1, \dots, T`, with :math:`\mathcal L` the sum of every entry of :math:`\mathbf h_T` over the batch.

    Runs ``cell`` over ``X`` from zero states, keeps every hidden state, and
    asks autograd for the gradient of a loss on the last one with respect to
    all of them (``torch.autograd.grad`` returns the *total* derivative
    through each intermediate :math:`\mathbf h_t`, every path to
    :math:`\mathcal L` included). At :math:`t = T` the gradient is all ones, of
    norm :math:`\sqrt{NH}`; how fast the norm falls for earlier :math:`t` shows
    how much of a late error reaches early steps.

    Args:
        cell (RNNCell | LSTMCell): the cell, at whatever weights it has.
        X (Tensor): a batch of input sequences.

    Shape:
        - X: :math:`(N, T, D)`. Output: :math:`(T,)`, index :math:`t - 1` for step :math:`t`.

    Returns:
        Tensor: the gradient norm per step, detached.

    Raises:
        TypeError: if ``cell`` is neither an :class:`RNNCell` nor an
            :class:`LSTMCell`, or ``X`` is not a floating tensor of the cell's
            dtype (both dtypes named).
        ValueError: if ``X`` is not ``(N, T, input_size)`` with ``T >= 1``.

    Reference: Bengio, Simard & Frasconi (1994); Pascanu, Mikolov & Bengio
    (2013), equations (3)-(5). Book section :ref:`sec-rnn-gradients`, equation :eq:`eq-rnn-bptt`.
    """
    _check_hidden_grad_args(cell, X)
    N, T, _ = X.shape
    # zero states that require grad, so every h_t is in the graph even if the cell's weights are frozen
    h = torch.zeros(N, cell.hidden_size, dtype=X.dtype, device=X.device, requires_grad=True)  # (N, H)
    c = torch.zeros_like(h)
    hs = []
    with torch.enable_grad():
        for t in range(T):
            if isinstance(cell, LSTMCell):
                h, c = cell(X[:, t], (h, c))
            else:
                h = cell(X[:, t], h)
            hs.append(h)
        loss = hs[-1].sum()
        grads = torch.autograd.grad(loss, hs)  # T tensors (N, H): dL/dh_t through every path
    return torch.stack([torch.linalg.vector_norm(g) for g in grads]).detach()  # (T,)
