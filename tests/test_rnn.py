"""Tests for dlfoundations.rnn: cells and the LSTM layer against torch.nn, and the helpers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from dlfoundations.rnn import (
    LSTM,
    LSTMCell,
    RNNCell,
    SequenceRegressor,
    forecast,
    hidden_grad_norms,
    init_forget_bias_,
    lstm_cell,
    rnn_cell,
)
from dlfoundations.seed import make_generator

F64 = torch.float64


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=make_generator(seed), dtype=F64)


# ---------------------------------------------------------------- cells against torch.nn


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_rnn_cell_equals_torch(bias: bool, with_state: bool) -> None:
    N, D, H = 5, 3, 4
    torch_cell = nn.RNNCell(D, H, bias=bias).double()
    ours = RNNCell(D, H, bias=bias).double()
    ours.load_state_dict(torch_cell.state_dict())
    x, h = _randn(N, D, seed=1), _randn(N, H, seed=2)
    args = (x, h) if with_state else (x,)
    assert_close(ours(*args), torch_cell(*args))
    assert_close(rnn_cell(x, h, *[p for p in torch_cell.parameters()]), torch_cell(x, h))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_lstm_cell_equals_torch(bias: bool, with_state: bool) -> None:
    N, D, H = 5, 3, 4
    torch_cell = nn.LSTMCell(D, H, bias=bias).double()
    ours = LSTMCell(D, H, bias=bias).double()
    ours.load_state_dict(torch_cell.state_dict())
    x, h, c = _randn(N, D, seed=1), _randn(N, H, seed=2), _randn(N, H, seed=3)
    args = (x, (h, c)) if with_state else (x,)
    h_ours, c_ours = ours(*args)
    h_torch, c_torch = torch_cell(*args)
    assert_close(h_ours, h_torch)
    assert_close(c_ours, c_torch)


def test_cells_are_initialised_like_torch() -> None:
    for ours_cls, torch_cls in [(RNNCell, nn.RNNCell), (LSTMCell, nn.LSTMCell), (LSTM, nn.LSTM)]:
        torch.manual_seed(7)
        reference = torch_cls(3, 6)
        ours = ours_cls(3, 6, generator=make_generator(7))
        assert list(ours.state_dict()) == list(reference.state_dict())
        for (name, p), q in zip(ours.named_parameters(), reference.parameters()):
            assert p.shape == q.shape, name
            assert torch.equal(p, q), name


def test_lstm_cell_gradients_pass_gradcheck() -> None:
    N, D, H = 2, 3, 2
    tensors = [_randn(*s, seed=k).requires_grad_() for k, s in enumerate([(N, D), (N, H), (N, H), (4 * H, D), (4 * H, H), (4 * H,), (4 * H,)])]
    assert torch.autograd.gradcheck(lambda *a: lstm_cell(*a), tensors)


def _lstm_cell_swapped_gates(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """A deliberately wrong LSTM step: reads the blocks as (f, i, g, o) instead of (i, f, g, o)."""
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    f, i, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _lstm_cell_no_forget_gate(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """A deliberately wrong LSTM step: the 1997 cell without a forget gate, c_t = c_{t-1} + i * g."""
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, _, g, o = gates.chunk(4, dim=1)
    c = c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


@pytest.mark.parametrize("wrong", [_lstm_cell_swapped_gates, _lstm_cell_no_forget_gate])
def test_comparison_catches_a_wrong_lstm_variant(wrong) -> None:
    N, D, H = 5, 3, 4
    torch_cell = nn.LSTMCell(D, H).double()
    x, h, c = _randn(N, D, seed=1), _randn(N, H, seed=2), _randn(N, H, seed=3)
    params = list(torch_cell.parameters())
    expected = torch_cell(x, (h, c))
    assert_close(lstm_cell(x, h, c, *params), expected)  # the right one passes ...
    with pytest.raises(AssertionError):  # ... and the same comparison rejects the wrong one
        assert_close(wrong(x, h, c, *params), expected)


# ---------------------------------------------------------------- the LSTM layer


@pytest.mark.parametrize("with_state", [True, False])
def test_lstm_layer_equals_torch(with_state: bool) -> None:
    N, T, D, H = 4, 7, 3, 5
    reference = nn.LSTM(D, H, batch_first=True).double()
    ours = LSTM(D, H).double()
    ours.load_state_dict(reference.state_dict())
    X = _randn(N, T, D, seed=1)
    hx = (_randn(1, N, H, seed=2), _randn(1, N, H, seed=3)) if with_state else None
    out, (h_n, c_n) = ours(X, hx)
    out_ref, (h_ref, c_ref) = reference(X, hx)
    assert out.shape == (N, T, H) and h_n.shape == (1, N, H) and c_n.shape == (1, N, H)
    assert_close(out, out_ref)
    assert_close(h_n, h_ref)
    assert_close(c_n, c_ref)


def test_lstm_layer_gradients_equal_torch() -> None:
    N, T, D, H = 3, 6, 2, 4
    reference = nn.LSTM(D, H, batch_first=True).double()
    ours = LSTM(D, H).double()
    ours.load_state_dict(reference.state_dict())
    X = _randn(N, T, D, seed=4)
    for model in (ours, reference):
        out, (h_n, c_n) = model(X)
        (out.pow(2).sum() + c_n.sum()).backward()
    for (name, p), q in zip(ours.named_parameters(), reference.parameters()):
        assert_close(p.grad, q.grad, msg=name)


def test_lstm_state_dict_loads_into_torch() -> None:
    ours = LSTM(2, 3, generator=make_generator(0)).double()
    reference = nn.LSTM(2, 3, batch_first=True).double()
    reference.load_state_dict(ours.state_dict())  # strict: same keys and shapes
    X = _randn(2, 4, 2, seed=5)
    assert_close(ours(X)[0], reference(X)[0])


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (torch.zeros(4, 3, dtype=F64), ValueError, r"expected X of shape \(N, T, 3\) \(batch first\), got \(4, 3\)"),
        (torch.zeros(4, 5, 2, dtype=F64), ValueError, r"expected X of shape \(N, T, 3\) \(input_size=3\), got \(4, 5, 2\)"),
        (torch.zeros(4, 0, 3, dtype=F64), ValueError, r"at least one step.*got \(4, 0, 3\)"),
        (torch.zeros(4, 5, 3, dtype=torch.int64), TypeError, "X must be a floating Tensor"),
    ],
)
def test_lstm_layer_rejects_bad_input(X: torch.Tensor, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        LSTM(3, 2).double()(X)


def test_lstm_layer_rejects_bad_state() -> None:
    lstm = LSTM(3, 2).double()
    X = torch.zeros(4, 5, 3, dtype=F64)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 4, 2\), got \(4, 2\)"):
        lstm(X, (torch.zeros(4, 2, dtype=F64), torch.zeros(1, 4, 2, dtype=F64)))
    with pytest.raises(TypeError, match="hx must be a pair"):
        lstm(X, torch.zeros(1, 4, 2, dtype=F64))


# ---------------------------------------------------------------- validation of cells


def test_cells_reject_bad_input() -> None:
    cell = LSTMCell(3, 2).double()
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 3\), got \(4, 5\)"):
        cell(torch.zeros(4, 5, dtype=F64))
    with pytest.raises(ValueError, match=r"expected c of shape \(4, 2\), got \(4, 3\)"):
        cell(torch.zeros(4, 3, dtype=F64), (torch.zeros(4, 2, dtype=F64), torch.zeros(4, 3, dtype=F64)))
    with pytest.raises(TypeError, match=r"hx must be a pair \(h, c\)"):
        cell(torch.zeros(4, 3, dtype=F64), torch.zeros(4, 2, dtype=F64))
    with pytest.raises(ValueError, match=r"expected hx of shape \(4, 2\), got \(3, 2\)"):
        RNNCell(3, 2).double()(torch.zeros(4, 3, dtype=F64), torch.zeros(3, 2, dtype=F64))
    with pytest.raises(ValueError, match=r"Invalid hidden_size: 0 \(expected >= 1\)"):
        RNNCell(3, 0)
    with pytest.raises(TypeError, match="input_size must be an int, got float"):
        LSTMCell(3.0, 2)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        LSTM(3, 2, generator=0)


def test_cell_functions_reject_mismatched_weights() -> None:
    x, h, c = torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"expected weight_ih of shape \(16, D\), got \(12, 3\)"):
        lstm_cell(x, h, c, torch.zeros(12, 3), torch.zeros(16, 4))
    with pytest.raises(ValueError, match=r"expected weight_hh of shape \(4\*H, H\), got \(4, 4\)"):
        lstm_cell(x, h, c, torch.zeros(16, 3), torch.zeros(4, 4))
    with pytest.raises(ValueError, match=r"expected bias_hh of shape \(4,\), got \(5,\)"):
        rnn_cell(x, h, torch.zeros(4, 3), torch.zeros(4, 4), torch.zeros(4), torch.zeros(5))
    with pytest.raises(ValueError, match=r"expected h of shape \(2, 4\), got \(2, 3\)"):
        rnn_cell(x, torch.zeros(2, 3), torch.zeros(4, 3), torch.zeros(4, 4))


# ---------------------------------------------------------------- SequenceRegressor and init_forget_bias_


def test_sequence_regressor_book_and_torch_agree() -> None:
    book = SequenceRegressor("lstm", 2, 5, out_features=3, implementation="book", generator=make_generator(1)).double()
    fast = SequenceRegressor("lstm", 2, 5, out_features=3, generator=make_generator(1)).double()
    assert list(book.state_dict()) == list(fast.state_dict())
    for p, q in zip(book.parameters(), fast.parameters()):
        assert torch.equal(p, q)  # same draws from the same generator
    X = _randn(4, 6, 2)
    assert book(X).shape == (4, 3)
    assert_close(book(X), fast(X))
    rnn = SequenceRegressor("rnn", 2, 5, generator=make_generator(1)).double()
    assert isinstance(rnn.rnn, nn.RNN) and rnn(X).shape == (4, 1)


def test_sequence_regressor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="cell must be 'rnn' or 'lstm', got 'gru'"):
        SequenceRegressor("gru", 1, 4)
    with pytest.raises(ValueError, match="implementation must be 'torch' or 'book'"):
        SequenceRegressor("lstm", 1, 4, implementation="numpy")
    with pytest.raises(ValueError, match="for cell='lstm' only"):
        SequenceRegressor("rnn", 1, 4, forget_bias=1.0)
    with pytest.raises(ValueError, match=r"expected X of shape \(N, T>=1, 1\), got \(3, 5\)"):
        SequenceRegressor("lstm", 1, 4)(torch.zeros(3, 5))


@pytest.mark.parametrize("module", [LSTMCell(2, 3), LSTM(2, 3), nn.LSTMCell(2, 3), nn.LSTM(2, 3)])
def test_init_forget_bias_sets_only_the_forget_rows(module: nn.Module) -> None:
    before = {k: v.clone() for k, v in module.state_dict().items()}
    init_forget_bias_(module, 1.5)
    state = module.state_dict()
    ih = next(k for k in state if k.startswith("bias_ih"))
    hh = next(k for k in state if k.startswith("bias_hh"))
    assert torch.equal(state[ih][3:6], torch.full((3,), 1.5))
    assert torch.equal(state[hh][3:6], torch.zeros(3))
    for k in (ih, hh):  # the i, g and o rows are untouched
        assert torch.equal(state[k][:3], before[k][:3]) and torch.equal(state[k][6:], before[k][6:])
    # the forget gate of an LSTM cell at zero input and state is sigmoid(1.5)
    if isinstance(module, (LSTMCell, nn.LSTMCell)):
        with torch.no_grad():
            _, c = module(torch.zeros(1, 2), (torch.zeros(1, 3), torch.ones(1, 3)))
            i = torch.sigmoid(state["bias_ih"][:3] + state["bias_hh"][:3])
            g = torch.tanh(state["bias_ih"][6:9] + state["bias_hh"][6:9])
        assert_close(c[0], torch.sigmoid(torch.tensor(1.5)) + i * g)


def test_init_forget_bias_rejects_bad_modules() -> None:
    with pytest.raises(TypeError, match="got RNNCell"):
        init_forget_bias_(RNNCell(2, 3), 1.0)
    with pytest.raises(ValueError, match="num_layers=2"):
        init_forget_bias_(nn.LSTM(2, 3, num_layers=2), 1.0)
    with pytest.raises(ValueError, match="bias=False"):
        init_forget_bias_(LSTMCell(2, 3, bias=False), 1.0)
    with pytest.raises(TypeError, match="value must be a float"):
        init_forget_bias_(LSTM(2, 3), "1")


# ---------------------------------------------------------------- forecast


class _LastPlusOne(nn.Module):
    """Predicts the last value of each window plus one: an exactly known forecaster."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X[:, -1] + 1.0  # (N, T, 1) -> (N, 1)


def test_forecast_feeds_predictions_back() -> None:
    model = _LastPlusOne().train()
    predictions = forecast(model, torch.arange(5.0), 4)
    assert torch.equal(predictions, torch.tensor([5.0, 6.0, 7.0, 8.0]))
    assert model.training  # the mode is restored


def test_forecast_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"expected context of shape \(T,\) with T >= 1, got \(2, 3\)"):
        forecast(_LastPlusOne(), torch.zeros(2, 3), 2)
    with pytest.raises(ValueError, match=r"Invalid num_steps: -1 \(expected >= 0\)"):
        forecast(_LastPlusOne(), torch.zeros(3), -1)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        forecast(lambda X: X, torch.zeros(3), 1)
    with pytest.raises(ValueError, match=r"return shape \(1, 1\) per window, got \(1, 3, 1\)"):
        forecast(nn.Identity(), torch.zeros(3), 1)


# ---------------------------------------------------------------- hidden_grad_norms


def test_hidden_grad_norms_match_retain_grad() -> None:
    N, T, D, H = 3, 8, 2, 4
    cell = RNNCell(D, H, generator=make_generator(0)).double()
    X = _randn(N, T, D, seed=6)
    h, hs = torch.zeros(N, H, dtype=F64), []
    for t in range(T):
        h = cell(X[:, t], h)
        h.retain_grad()
        hs.append(h)
    hs[-1].sum().backward()
    expected = torch.stack([torch.linalg.vector_norm(h.grad) for h in hs])
    norms = hidden_grad_norms(cell, X)
    assert norms.shape == (T,)
    assert_close(norms, expected)
    assert_close(norms[-1], torch.tensor(math.sqrt(N * H), dtype=F64))  # dL/dh_T is all ones


def test_hidden_grad_norms_vanish_without_recurrence() -> None:
    cell = RNNCell(2, 4).double()
    with torch.no_grad():
        cell.weight_hh.zero_()  # h_T no longer depends on h_{T-1}
    norms = hidden_grad_norms(cell, _randn(3, 5, 2))
    assert torch.equal(norms[:-1], torch.zeros(4, dtype=F64))
    lstm = LSTMCell(2, 4).double()
    assert hidden_grad_norms(lstm, _randn(3, 5, 2))[0] > 0


def test_hidden_grad_norms_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="cell must be an RNNCell or LSTMCell, got RNNCell"):
        hidden_grad_norms(nn.RNNCell(2, 3), torch.zeros(1, 4, 2))
    with pytest.raises(ValueError, match=r"expected X of shape \(N, T>=1, 2\), got \(1, 0, 2\)"):
        hidden_grad_norms(RNNCell(2, 3), torch.zeros(1, 0, 2))
