"""Property-based tests for dlfoundations.rnn: the cells and the LSTM layer equal torch.nn at the edges.

Values, final states and autograd gradients (with respect to inputs, states and weights) are
compared with PyTorch's own cells, in float32 and float64, on inputs that reach the edges:
batches of 0 or 1, one step, hidden size 1, saturating pre-activations (where tanh and the
sigmoid round to exactly -1, 0 or 1), float32's largest magnitudes, NaN and ±inf. The weights
stay finite in [-1, 1], so no single product overflows and the order in which BLAS sums a row
cannot turn one side's finite value into the other side's inf; inputs, states and biases are
unrestricted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

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
from strategies import DTYPES, assert_same, finite_tensors, grads, scalars, tensors

# torch.backends.mkldnn.flags warns that TF32 on oneDNN needs an Intel GPU: irrelevant on the CPU
pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN:UserWarning")

TOL = {torch.float32: {"rtol": 1e-5, "atol": 1e-5}, torch.float64: {"rtol": 1e-10, "atol": 1e-10}}


def _inputs(dtype: torch.dtype, shape: tuple[int, ...]) -> st.SearchStrategy[torch.Tensor]:
    """Edge entries (NaN, ±inf, ±max, tiny, 0) or ordinary moderate ones, where the cell is not saturated."""
    return st.one_of(tensors(dtype, shape=shape), finite_tensors(dtype, bound=4.0, shape=shape))


@st.composite
def cell_args(draw, gates: int, dtype: torch.dtype) -> dict:
    """The tensors of one cell step: x (N, D), h and c (N, H), stacked weights and optional biases."""
    N, D, H = draw(st.integers(0, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    bias = draw(st.booleans())
    return {
        "x": draw(_inputs(dtype, (N, D))),
        "h": draw(_inputs(dtype, (N, H))),
        "c": draw(_inputs(dtype, (N, H))),
        "weight_ih": draw(finite_tensors(dtype, bound=1.0, shape=(gates * H, D))),
        "weight_hh": draw(finite_tensors(dtype, bound=1.0, shape=(gates * H, H))),
        "bias_ih": draw(_inputs(dtype, (gates * H,))) if bias else None,
        "bias_hh": draw(_inputs(dtype, (gates * H,))) if bias else None,
    }


def _assert_grads_same(ours, reference, *inputs, **tol) -> None:
    for g, r in zip(grads(ours, *inputs), grads(reference, *inputs)):
        assert_same(g, r, **tol)


# ---------------------------------------------------------------- cell functions against torch's


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_rnn_cell_equals_torch_values_and_grads(dtype: torch.dtype, data) -> None:
    a = data.draw(cell_args(1, dtype))
    tensors_ = [a["x"], a["h"], a["weight_ih"], a["weight_hh"]] + [b for b in (a["bias_ih"], a["bias_hh"]) if b is not None]
    ours = lambda *t: rnn_cell(*t)  # noqa: E731
    reference = lambda *t: torch.rnn_tanh_cell(*t) if len(t) == 6 else torch.rnn_tanh_cell(*t, None, None)  # noqa: E731
    out = ours(*tensors_)
    assert out.dtype == dtype and out.shape == a["h"].shape
    assert_same(out, reference(*tensors_), **TOL[dtype])
    _assert_grads_same(ours, reference, *tensors_, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_lstm_cell_equals_torch_values_and_grads(dtype: torch.dtype, data) -> None:
    a = data.draw(cell_args(4, dtype))
    biases = [b for b in (a["bias_ih"], a["bias_hh"]) if b is not None]
    tensors_ = [a["x"], a["h"], a["c"], a["weight_ih"], a["weight_hh"], *biases]

    def ours(x, h, c, *w):
        return torch.cat(lstm_cell(x, h, c, *w), dim=1)  # (N, 2H): h and c

    def reference(x, h, c, w_ih, w_hh, *b):
        return torch.cat(torch.lstm_cell(x, (h, c), w_ih, w_hh, *(b or (None, None))), dim=1)

    out = ours(*tensors_)
    assert out.dtype == dtype
    assert_same(out, reference(*tensors_), **TOL[dtype])
    _assert_grads_same(ours, reference, *tensors_, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cells_saturate_exactly_like_torch(dtype: torch.dtype, sign: float) -> None:
    """Pre-activations of ±1e4 round tanh and the sigmoid to exactly ±1 / 0 / 1, and their gradients to 0."""
    x = torch.full((1, 1), sign * 1e4, dtype=dtype)
    h = torch.zeros(1, 1, dtype=dtype)
    W1, W4, W = torch.ones(1, 1, dtype=dtype), torch.ones(4, 1, dtype=dtype), torch.zeros(1, 1, dtype=dtype)
    out = rnn_cell(x, h, W1, W)
    assert out.item() == sign
    h_new, c_new = lstm_cell(x, h, torch.ones(1, 1, dtype=dtype), W4, torch.zeros(4, 1, dtype=dtype))
    h_ref, c_ref = torch.lstm_cell(x, (h, torch.ones(1, 1, dtype=dtype)), W4, torch.zeros(4, 1, dtype=dtype))
    assert torch.equal(h_new, h_ref) and torch.equal(c_new, c_ref)
    g_ours = grads(lambda x_: rnn_cell(x_, h, W1, W), x)[0]
    g_ref = grads(lambda x_: torch.rnn_tanh_cell(x_, h, W1, W), x)[0]
    assert torch.equal(g_ours, g_ref) and g_ours.item() == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_cells_add_each_bias_to_its_own_product_like_torch(dtype: torch.dtype) -> None:
    """x W = max and b_ih = max overflow to +inf, h W = -max and b_hh = -max to -inf: PyTorch's sum is NaN.

    Summed in another order, (max - max) + max - max = 0 would hide the overflow.
    """
    big = torch.finfo(dtype).max
    x, h = torch.full((1, 1), big, dtype=dtype), torch.full((1, 1), -big, dtype=dtype)
    for gates, ours, reference in [(1, rnn_cell, torch.rnn_tanh_cell), (4, None, None)]:
        W = torch.ones(gates, 1, dtype=dtype)
        b_ih, b_hh = torch.full((gates,), big, dtype=dtype), torch.full((gates,), -big, dtype=dtype)
        if gates == 1:
            expected = reference(x, h, W, W, b_ih, b_hh)
            assert_same(ours(x, h, W, W, b_ih, b_hh), expected)
        else:
            c = torch.zeros(1, 1, dtype=dtype)
            expected = torch.cat(torch.lstm_cell(x, (h, c), W, W, b_ih, b_hh), dim=1)
            assert_same(torch.cat(lstm_cell(x, h, c, W, W, b_ih, b_hh), dim=1), expected)
        assert expected.isnan().all()


# ---------------------------------------------------------------- modules against torch.nn


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), N=st.integers(0, 2), D=st.integers(1, 2), H=st.integers(1, 2), with_state=st.booleans())
def test_rnn_cell_module_equals_nn(dtype, data, N, D, H, with_state) -> None:
    reference = nn.RNNCell(D, H).to(dtype)
    ours = RNNCell(D, H).to(dtype)
    ours.load_state_dict(reference.state_dict())
    x = data.draw(_inputs(dtype, (N, D)))
    h = data.draw(_inputs(dtype, (N, H))) if with_state else None
    args = (x, h) if with_state else (x,)
    assert_same(ours(*args), reference(*args), **TOL[dtype])
    for p, q in zip(_param_grads(ours, *args), _param_grads(reference, *args)):
        assert_same(p, q, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), N=st.integers(0, 2), D=st.integers(1, 2), H=st.integers(1, 2), with_state=st.booleans())
def test_lstm_cell_module_equals_nn(dtype, data, N, D, H, with_state) -> None:
    reference = nn.LSTMCell(D, H).to(dtype)
    ours = LSTMCell(D, H).to(dtype)
    ours.load_state_dict(reference.state_dict())
    x = data.draw(_inputs(dtype, (N, D)))
    hx = (data.draw(_inputs(dtype, (N, H))), data.draw(_inputs(dtype, (N, H)))) if with_state else None
    for a, b in zip(ours(x, hx), reference(x, hx)):
        assert_same(a, b, **TOL[dtype])
    for p, q in zip(_param_grads(ours, x, hx), _param_grads(reference, x, hx)):
        assert_same(p, q, **TOL[dtype])


def _param_grads(module: nn.Module, *args) -> list[torch.Tensor]:
    """Gradients of the sum of every output with respect to every parameter."""
    out = module(*args)
    outs = [out] if isinstance(out, torch.Tensor) else [o for o in out]
    if isinstance(module, (LSTM, nn.LSTM)):  # output, (h_n, c_n)
        outs = [outs[0], *outs[1]]
    total = sum(o.sum() for o in outs)
    params = list(module.parameters())
    got = torch.autograd.grad(total, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, got)]


def _flatten_lstm_out(out) -> torch.Tensor:
    output, (h_n, c_n) = out
    return torch.cat([output.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])


@settings(max_examples=30)  # each example runs a whole sequence forward and backward, twice
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), N=st.integers(0, 2), T=st.integers(1, 3), D=st.integers(1, 2), H=st.integers(1, 2),
       with_state=st.booleans())
def test_lstm_layer_equals_nn_values_states_and_grads(dtype, data, N, T, D, H, with_state) -> None:
    reference = nn.LSTM(D, H, batch_first=True).to(dtype)
    with torch.no_grad():  # weights in [-1, 1] (see the module docstring), biases anywhere
        for name, p in reference.named_parameters():
            p.copy_(data.draw(finite_tensors(dtype, bound=1.0, shape=tuple(p.shape)) if "weight" in name
                              else _inputs(dtype, tuple(p.shape))))
    ours = LSTM(D, H).to(dtype)
    ours.load_state_dict(reference.state_dict())
    X = data.draw(_inputs(dtype, (N, T, D)))
    states = [data.draw(_inputs(dtype, (1, N, H))) for _ in range(2)] if with_state else []

    def run(module):
        return lambda X_, *s: _flatten_lstm_out(module(X_, tuple(s) if s else None))

    # nn.LSTM in float32 on the CPU runs through oneDNN, which adds bias_ih and bias_hh together
    # before the products; nn.LSTMCell, float64 nn.LSTM and the book's LSTM add each bias to its own
    # product. The two orders differ only where huge biases cancel (see the Note of LSTM), so the
    # reference here is nn.LSTM's own ATen path; the default path is compared on finite biases below.
    with torch.backends.mkldnn.flags(enabled=False):
        out = run(ours)(X, *states)
        assert out.dtype == dtype
        assert_same(out, run(reference)(X, *states), **TOL[dtype])
        _assert_grads_same(run(ours), run(reference), X, *states, **TOL[dtype])
        hx = tuple(states) or None
        for p, q in zip(_param_grads(ours, X, hx), _param_grads(reference, X, hx)):
            assert_same(p, q, **TOL[dtype])


@settings(max_examples=30)  # each example runs a whole sequence forward and backward, twice
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), N=st.integers(0, 2), T=st.integers(1, 3), with_state=st.booleans())
def test_lstm_layer_equals_default_nn_lstm(dtype, data, N, T, with_state) -> None:
    """Against nn.LSTM as it runs by default (oneDNN for float32), with moderate weights, biases and inputs.

    Moderate inputs: with entries near the largest float, products that cancel exactly step by step
    (as nn.LSTMCell and ours compute them) can keep a rounding residue in nn.LSTM's sequence-wide
    matrix product, which a saturated gate then turns into a different gradient; see
    test_lstm_layer_equals_lstm_cells_where_huge_products_cancel.
    """
    reference = nn.LSTM(2, 2, batch_first=True).to(dtype)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(data.draw(finite_tensors(dtype, bound=3.0, shape=tuple(p.shape))))
    ours = LSTM(2, 2).to(dtype)
    ours.load_state_dict(reference.state_dict())
    X = data.draw(finite_tensors(dtype, bound=4.0, shape=(N, T, 2)))
    hx = tuple(data.draw(finite_tensors(dtype, bound=3.0, shape=(1, N, 2))) for _ in range(2)) if with_state else None
    assert_same(_flatten_lstm_out(ours(X, hx)), _flatten_lstm_out(reference(X, hx)), **TOL[dtype])
    for p, q in zip(_param_grads(ours, X, hx), _param_grads(reference, X, hx)):
        assert_same(p, q, **TOL[dtype])


def test_lstm_layer_equals_lstm_cells_where_huge_products_cancel() -> None:
    """x = (M, -M) with M the largest float64 and equal weights: each gate's pre-activation is exactly 0
    step by step, as in nn.LSTMCell, and so are ours; values and parameter gradients equal the cell loop's.
    (nn.LSTM's own float64 path may differ here by a rounding residue of the cancelling sum.)"""
    M = torch.finfo(torch.float64).max
    X = torch.tensor([[[M, -M], [-M, -M]], [[-M, -M], [-M, -M]]], dtype=torch.float64)  # (N, T, D) = (2, 2, 2)
    ours = LSTM(2, 2).double()
    cell = nn.LSTMCell(2, 2).double()
    with torch.no_grad():
        ours.weight_ih_l0.fill_(1e-30)
        for p in (ours.weight_hh_l0, ours.bias_ih_l0, ours.bias_hh_l0):
            p.zero_()
        for p, q in zip(cell.parameters(), ours.parameters()):
            p.copy_(q)
    h = c = torch.zeros(2, 2, dtype=torch.float64)
    outputs = []
    for t in range(X.shape[1]):
        h, c = cell(X[:, t], (h, c))
        outputs.append(h)
    expected = torch.cat([torch.stack(outputs, dim=1).reshape(-1), h.reshape(-1), c.reshape(-1)])
    actual = _flatten_lstm_out(ours(X))
    assert_same(actual, expected, rtol=0.0, atol=0.0)
    mine = torch.autograd.grad(actual.sum(), list(ours.parameters()))
    theirs = torch.autograd.grad(expected.sum(), list(cell.parameters()))
    for g, r in zip(mine, theirs):
        assert_same(g, r, rtol=1e-15, atol=0.0)
    assert mine[0].abs().max() > 1e300  # the input gradient path is live: dL/dW_ih = 0.25 M, not 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("N", "T"), [(1, 3), (3, 1), (2, 2)])
def test_lstm_layer_is_batch_first_and_its_states_are_not(dtype, N, T) -> None:
    """Ours on (N, T, D) equals nn.LSTM's default (batch_first=False) on (T, N, D), transposed back;
    h_0, c_0, h_n and c_n are (1, N, H) in both layouts. N = 1 or T = 1 would hide a mixed-up axis
    in shapes alone, so the values are compared."""
    reference = nn.LSTM(2, 3).to(dtype)  # time-major
    ours = LSTM(2, 3).to(dtype)
    ours.load_state_dict(reference.state_dict())
    g = torch.Generator().manual_seed(N * 10 + T)
    X = torch.randn(N, T, 2, generator=g, dtype=dtype)
    hx = (torch.randn(1, N, 3, generator=g, dtype=dtype), torch.randn(1, N, 3, generator=g, dtype=dtype))
    out, (h_n, c_n) = ours(X, hx)
    out_ref, (h_ref, c_ref) = reference(X.transpose(0, 1), hx)
    assert out.shape == (N, T, 3) and h_n.shape == c_n.shape == (1, N, 3)
    assert_same(out, out_ref.transpose(0, 1), **TOL[dtype])
    assert_same(h_n, h_ref, **TOL[dtype])
    assert_same(c_n, c_ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_layer_nan_and_inf_propagate_like_nn(dtype) -> None:
    """A NaN in one sequence's input spreads to its later steps and states only, as in nn.LSTM."""
    reference = nn.LSTM(1, 2, batch_first=True).to(dtype)
    ours = LSTM(1, 2).to(dtype)
    ours.load_state_dict(reference.state_dict())
    X = torch.tensor([[[0.5], [math.nan], [0.1]], [[math.inf], [-math.inf], [0.2]]], dtype=dtype)
    out, (h_n, c_n) = ours(X)
    out_ref, (h_ref, c_ref) = reference(X)
    assert_same(out, out_ref, **TOL[dtype])
    assert_same(c_n, c_ref, **TOL[dtype])
    assert not out[0, 0].isnan().any() and out[0, 1:].isnan().all()


# ---------------------------------------------------------------- mixed dtypes, bad input


def _mixed_dtype_calls():
    f32, f64 = torch.float32, torch.float64
    x64, h32 = torch.zeros(2, 3, dtype=f64), torch.zeros(2, 4, dtype=f32)
    return [
        ("rnn_cell h", lambda: rnn_cell(x64, h32, torch.zeros(4, 3, dtype=f64), torch.zeros(4, 4, dtype=f64))),
        ("rnn_cell weight", lambda: rnn_cell(x64, h32.double(), torch.zeros(4, 3, dtype=f32), torch.zeros(4, 4, dtype=f64))),
        ("rnn_cell bias", lambda: rnn_cell(x64, h32.double(), torch.zeros(4, 3, dtype=f64), torch.zeros(4, 4, dtype=f64),
                                           torch.zeros(4, dtype=f32))),
        ("lstm_cell c", lambda: lstm_cell(x64, h32.double(), h32, torch.zeros(16, 3, dtype=f64), torch.zeros(16, 4, dtype=f64))),
        ("RNNCell x", lambda: RNNCell(3, 4)(x64)),
        ("RNNCell hx", lambda: RNNCell(3, 4).double()(x64, h32)),
        ("LSTMCell x", lambda: LSTMCell(3, 4)(x64)),
        ("LSTMCell hx", lambda: LSTMCell(3, 4).double()(x64, (h32.double(), h32))),
        ("LSTM X", lambda: LSTM(3, 4)(torch.zeros(2, 5, 3, dtype=f64))),
        ("LSTM h_0", lambda: LSTM(3, 4)(torch.zeros(2, 5, 3), (torch.zeros(1, 2, 4, dtype=f64), torch.zeros(1, 2, 4)))),
        ("SequenceRegressor", lambda: SequenceRegressor("rnn", 3, 4)(torch.zeros(2, 5, 3, dtype=f64))),
        ("SequenceRegressor book", lambda: SequenceRegressor("lstm", 3, 4, implementation="book")(torch.zeros(2, 5, 3, dtype=f64))),
        ("forecast", lambda: forecast(SequenceRegressor("lstm", 1, 4), torch.zeros(5, dtype=f64), 2)),
        ("hidden_grad_norms", lambda: hidden_grad_norms(RNNCell(3, 4), torch.zeros(2, 5, 3, dtype=f64))),
    ]


@pytest.mark.parametrize(("label", "call"), _mixed_dtype_calls(), ids=[c[0] for c in _mixed_dtype_calls()])
def test_mixed_dtypes_raise_type_error_naming_both(label, call) -> None:
    with pytest.raises(TypeError, match=r"torch\.float(32|64).*got torch\.float(32|64)") as info:
        call()
    assert "float32" in str(info.value) and "float64" in str(info.value)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: LSTMCell(2, 3)(torch.zeros(1, 2), (None, torch.zeros(1, 3))), TypeError,
         r"hx must be a pair \(h, c\) of tensors, got tuple of \(NoneType, Tensor\)"),
        (lambda: LSTM(2, 3)(torch.zeros(1, 4, 2), (torch.zeros(1, 1, 3), None)), TypeError,
         r"hx must be a pair \(h_0, c_0\) of tensors, got tuple of \(Tensor, NoneType\)"),
        (lambda: RNNCell(2, 3)(torch.zeros(2)), ValueError, r"expected x of shape \(N, 2\), got \(2,\)"),
        (lambda: LSTMCell(2, 3)(torch.zeros(2)), ValueError, r"expected x of shape \(N, 2\), got \(2,\)"),
        (lambda: LSTM(2, 3)(torch.zeros(4, 2)), ValueError, r"\(batch first\), got \(4, 2\)"),
        (lambda: LSTM(2, 3)(torch.zeros(1, 0, 2)), ValueError, r"at least one step.*got \(1, 0, 2\)"),
        (lambda: rnn_cell(torch.zeros(1, 2, dtype=torch.int64), torch.zeros(1, 3), torch.zeros(3, 2), torch.zeros(3, 3)),
         TypeError, "x must be a floating Tensor, got Tensor of dtype torch.int64"),
        (lambda: lstm_cell(torch.zeros(1, 2), torch.zeros(1, 3), "c", torch.zeros(12, 2), torch.zeros(12, 3)),
         TypeError, "c must be a floating Tensor, got str"),
        (lambda: rnn_cell(torch.zeros(1, 2), torch.zeros(1, 3, device="meta"), torch.zeros(3, 2), torch.zeros(3, 3)),
         ValueError, r"expected h on device cpu \(the device of x\), got meta"),
        (lambda: LSTM(2, 3)(torch.zeros(1, 4, 2), (torch.zeros(1, 1, 3, device="meta"), torch.zeros(1, 1, 3))),
         ValueError, r"expected h_0 on device cpu \(the device of X\), got meta"),
        (lambda: init_forget_bias_(LSTMCell(2, 3), math.nan), ValueError, r"Invalid value: nan \(expected a finite number\)"),
        (lambda: init_forget_bias_(LSTM(2, 3), math.inf), ValueError, r"Invalid value: inf \(expected a finite number\)"),
        (lambda: forecast(nn.Identity(), torch.zeros(0), 1), ValueError, r"with T >= 1, got \(0,\)"),
        (lambda: forecast(nn.Identity(), torch.zeros(3), 1.0), TypeError, "num_steps must be an int, got float"),
        (lambda: hidden_grad_norms(LSTMCell(2, 3), torch.zeros(1, 4, 3)), ValueError,
         r"expected X of shape \(N, T>=1, 2\), got \(1, 4, 3\)"),
    ],
)
def test_bad_input_raises_named_errors(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- the helpers


def test_init_forget_bias_sets_both_directions_of_a_bidirectional_lstm() -> None:
    lstm = init_forget_bias_(nn.LSTM(2, 3, bidirectional=True), 2.0)
    for suffix in ("_l0", "_l0_reverse"):
        assert torch.equal(getattr(lstm, "bias_ih" + suffix)[3:6], torch.full((3,), 2.0))
        assert torch.equal(getattr(lstm, "bias_hh" + suffix)[3:6], torch.zeros(3))


@given(value=scalars(torch.float64, allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
def test_init_forget_bias_gives_sigmoid_of_value_at_zero_input(value: float) -> None:
    cell = init_forget_bias_(LSTMCell(1, 2).double(), value)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.weight_hh.zero_()
        _, c = cell(torch.zeros(1, 1, dtype=torch.float64), (torch.zeros(1, 2, dtype=torch.float64),
                                                           torch.ones(1, 2, dtype=torch.float64)))
        i = torch.sigmoid(cell.bias_ih[:2] + cell.bias_hh[:2])
        g = torch.tanh(cell.bias_ih[4:6] + cell.bias_hh[4:6])
    assert_same(c[0], torch.sigmoid(torch.tensor(value, dtype=torch.float64)) + i * g)


class _Affine(nn.Module):
    """Predicts ``a * last value + b`` of each window: a forecaster whose outputs are known exactly."""

    def __init__(self, a: float, b: float, dtype: torch.dtype) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=dtype))
        self.b = nn.Parameter(torch.tensor(b, dtype=dtype))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.a * X[:, -1] + self.b  # (N, T, 1) -> (N, 1)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), num_steps=st.integers(0, 4), training=st.booleans())
def test_forecast_feeds_predictions_back_at_the_edges(dtype, data, num_steps, training) -> None:
    context = data.draw(tensors(dtype, shape=(data.draw(st.integers(1, 3)),)))
    a = data.draw(scalars(dtype, allow_nan=False, allow_infinity=False, min_value=-2.0, max_value=2.0))
    b = data.draw(scalars(dtype, min_value=None, max_value=None))
    model = _Affine(a, b, dtype).train(training)
    predictions = forecast(model, context, num_steps)
    assert predictions.shape == (num_steps,) and predictions.dtype == dtype and not predictions.requires_grad
    expected, last = [], context[-1]
    with torch.no_grad():
        for _ in range(num_steps):  # the window's last value is always the previous prediction
            last = model.a * last + model.b
            expected.append(last)
    assert_same(predictions, torch.stack(expected) if expected else torch.empty(0, dtype=dtype))
    assert model.training == training


def test_forecast_restores_the_mode_when_the_model_raises() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(7, 1)).train()  # expects 7 values, gets 3
    with pytest.raises(RuntimeError):
        forecast(model, torch.zeros(3), 1)
    assert model.training


@settings(max_examples=30)  # each example runs a whole sequence forward and backward, twice
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), N=st.integers(0, 2), T=st.integers(1, 3), kind=st.sampled_from(["rnn", "lstm"]),
       frozen=st.booleans())
def test_hidden_grad_norms_equal_retain_grad_reference(dtype, data, N, T, kind, frozen) -> None:
    cell = (RNNCell if kind == "rnn" else LSTMCell)(2, 2).to(dtype).requires_grad_(not frozen)
    X = data.draw(_inputs(dtype, (N, T, 2)))
    h = torch.zeros(N, 2, dtype=dtype, requires_grad=True)
    c, hs = torch.zeros(N, 2, dtype=dtype), []
    for t in range(T):
        if kind == "lstm":
            h, c = cell(X[:, t], (h, c))
        else:
            h = cell(X[:, t], h)
        h.retain_grad()
        hs.append(h)
    hs[-1].sum().backward()
    expected = torch.stack([torch.linalg.vector_norm(h.grad) for h in hs])
    norms = hidden_grad_norms(cell, X)
    assert norms.shape == (T,) and norms.dtype == dtype
    assert_same(norms, expected, **TOL[dtype])


def test_init_forget_bias_accepts_numpy_scalars() -> None:
    cell = init_forget_bias_(LSTMCell(1, 2), np.float32(1.5))
    assert torch.equal(cell.bias_ih[2:4], torch.full((2,), 1.5))
