"""Property-based tests (Hypothesis) for dlfoundations.conv: the book's convolutions, pools and layer
against PyTorch's at the edges, on values and autograd gradients, in float32 and float64.

Edges drawn on purpose: kernels as large as the padded input, 1×1 kernels, strides larger than the
kernel, padding 0, one channel, batches of 0 and 1, exact zeros, signed zeros, tiny and huge
magnitudes, NaN and ±inf (a zero weight times an infinite input is NaN, in both), ties and windows
of only -inf in max pooling.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

from dlfoundations.conv import Conv2d, DigitCNN, avg_pool2d, conv2d_im2col, conv2d_loops, conv_output_size, max_pool2d
from strategies import DTYPES, assert_same, grads, scalars

CONVS = [conv2d_loops, conv2d_im2col]
_NP = {torch.float32: np.float32, torch.float64: np.float64}




# ---------------------------------------------------------------- strategies


def _entries(dtype: torch.dtype, bound: float, non_finite: bool = True) -> st.SearchStrategy[float]:
    """Finite values in [-bound, bound] (zeros, ±1, tiny, subnormal), with NaN and ±inf one time in six.

    The bound keeps every sum of products finite: with larger values, whether a sum overflows to inf
    or comes back to a finite number depends on the order of the additions, which differs between
    any two implementations (PyTorch's own CPU kernels included). NaN and ±inf are order-free:
    a sum with NaN, or with both +inf and -inf, is NaN; with one sign of inf, it is that inf.
    """
    finite = scalars(dtype, allow_nan=False, allow_infinity=False, min_value=-bound, max_value=bound)
    if not non_finite:
        return finite
    return st.one_of(finite, finite, finite, finite, finite, st.sampled_from([math.nan, math.inf, -math.inf]))


def _array(draw, dtype: torch.dtype, shape: tuple[int, ...], elements) -> torch.Tensor:
    return torch.from_numpy(draw(hnp.arrays(_NP[dtype], shape, elements=elements)).copy())


@st.composite
def conv_cases(draw, dtype: torch.dtype, max_side: int = 5):
    """``(X, weight, bias, stride, padding)`` for one convolution whose kernel fits the padded input."""
    N = draw(st.integers(0, 2))
    C = draw(st.integers(1, 2))
    O = draw(st.integers(1, 2))
    I, J = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    P = draw(st.integers(0, 2))
    F_I = draw(st.integers(1, min(I + 2 * P, 4)))
    F_J = draw(st.integers(1, min(J + 2 * P, 4)))
    S = draw(st.integers(1, 4))
    bound = 2.0**50 if dtype == torch.float32 else 2.0**400  # products and sums stay far below the max
    X = _array(draw, dtype, (N, C, I, J), _entries(dtype, bound))
    weight = _array(draw, dtype, (O, C, F_I, F_J), _entries(dtype, bound))
    bias = _array(draw, dtype, (O,), _entries(dtype, bound)) if draw(st.booleans()) else None
    return X, weight, bias, S, P


def _finite_abs(t: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(t.abs(), nan=0.0, posinf=0.0)


def _assert_matches(actual: torch.Tensor, expected: torch.Tensor, scale: torch.Tensor, terms: int) -> None:
    """Equal dtype, shape, NaN and ±inf positions; finite entries within the rounding of a sum of
    ``terms`` products, whose absolute values sum to ``scale`` (so cancellation cannot fail it)."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert torch.equal(actual.isnan(), expected.isnan())
    assert torch.equal(actual.isposinf(), expected.isposinf())
    assert torch.equal(actual.isneginf(), expected.isneginf())
    finite = expected.isfinite()
    info = torch.finfo(actual.dtype)
    tolerance = 4 * (terms + 2) * info.eps * scale[finite] + 4 * info.tiny
    assert bool(((actual[finite] - expected[finite]).abs() <= tolerance).all()), (actual, expected)


# ---------------------------------------------------------------- convolution


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conv", CONVS, ids=lambda f: f.__name__)
@given(data=st.data())
def test_conv_values_and_gradients_equal_torch(conv, dtype, data):
    X, weight, bias, S, P = data.draw(conv_cases(dtype))
    upstream_shape = F.conv2d(X, weight, bias, stride=S, padding=P).shape
    upstream = data.draw(hnp.arrays(_NP[dtype], tuple(upstream_shape), elements=_entries(dtype, 10.0, False)))
    upstream = torch.from_numpy(upstream.copy())
    terms = weight[0].numel()
    inputs = (X, weight) if bias is None else (X, weight, bias)
    ours = lambda *t: conv(*t[:2], t[2] if len(t) == 3 else None, S, P)  # noqa: E731
    # References. F.conv2d's float64 kernel (Slow2d) computes every product, padded zeros included,
    # as the book's functions do, and gives 0 gradient to pixels no window covers; its float32 oneDNN
    # kernel does neither when a weight is NaN or infinite (see the Note of conv2d_im2col). So float32
    # is compared with the float64 kernel run on the same values and rounded back to float32, and with
    # F.conv2d in float32 itself (own padding, and on the pre-padded input) when everything is finite.
    direct = lambda *t: F.conv2d(*t[:2], t[2] if len(t) == 3 else None, stride=S, padding=P)  # noqa: E731
    padded = lambda *t: F.conv2d(F.pad(t[0], (P, P, P, P)), t[1], t[2] if len(t) == 3 else None, stride=S)  # noqa: E731
    in_float64 = lambda *t: direct(*(u.double() for u in t)).to(t[0].dtype)  # noqa: E731
    all_finite = all(bool(t.isfinite().all()) for t in inputs)
    refs = [direct, padded] if dtype == torch.float64 or all_finite else []
    for ref in refs + ([in_float64] if dtype == torch.float32 else []):
        _check_against(ours, ref, inputs, upstream, terms)


def _check_against(ours, ref, inputs, upstream, terms):
    # Scales: the same sums over absolute values, for a tolerance that cancellation cannot fool.
    abs_inputs = tuple(_finite_abs(t) for t in inputs)
    value_scale = ref(*abs_inputs)
    _assert_matches(ours(*inputs), ref(*inputs), value_scale, terms)
    grad_scales = grads(ref, *abs_inputs, grad_output=upstream.abs())
    for g, g_ref, scale in zip(grads(ours, *inputs, grad_output=upstream),
                               grads(ref, *inputs, grad_output=upstream), grad_scales):
        _assert_matches(g, g_ref, scale, max(terms, upstream.numel()))


EDGE_SHAPES = [
    # (X shape, weight shape, stride, padding)
    ((1, 1, 3, 4), (1, 1, 5, 6), 1, 1),  # kernel equal to the padded input: one output
    ((2, 3, 5, 5), (2, 3, 1, 1), 1, 0),  # 1×1 kernel
    ((1, 1, 7, 7), (1, 1, 2, 2), 5, 0),  # stride larger than the kernel: inputs skipped
    ((0, 2, 4, 4), (3, 2, 3, 3), 1, 1),  # empty batch
    ((1, 1, 1, 1), (1, 1, 1, 1), 1, 0),  # one pixel
]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conv", CONVS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("X_shape", "w_shape", "stride", "padding"), EDGE_SHAPES)
def test_conv_named_edges_equal_torch(conv, dtype, X_shape, w_shape, stride, padding):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(X_shape, generator=g, dtype=dtype)
    weight = torch.randn(w_shape, generator=g, dtype=dtype)
    bias = torch.randn(w_shape[0], generator=g, dtype=dtype)
    out = conv(X, weight, bias, stride, padding)
    ref = F.conv2d(X, weight, bias, stride=stride, padding=padding)
    assert_same(out, ref)
    # Autograd reaches X, weight and bias even when the batch is empty (gradients 0 then).
    for a, b in zip(grads(lambda *t: conv(*t, stride, padding), X, weight, bias),
                    grads(lambda *t: F.conv2d(*t, stride=stride, padding=padding), X, weight, bias)):
        assert_same(a, b)
    assert conv(X, weight, bias, stride, padding).requires_grad is False
    leaf = weight.clone().requires_grad_()
    assert conv(X, leaf, bias, stride, padding).requires_grad


@pytest.mark.parametrize("conv", CONVS, ids=lambda f: f.__name__)
def test_zero_weight_times_inf_is_nan_as_in_torch(conv):
    # Documented in conv2d_im2col's Note: 0 · inf = NaN is computed, as F.conv2d computes it.
    X = torch.tensor([[[[math.inf, 1.0], [2.0, 3.0]]]])
    weight = torch.tensor([[[[0.0, 1.0], [1.0, 1.0]]]])
    assert torch.isnan(conv(X, weight)).all() and torch.isnan(F.conv2d(X, weight)).all()
    # An infinite weight over padded zeros: NaN in both too.
    ones, inf_kernel = torch.ones(1, 1, 2, 2), torch.full((1, 1, 3, 3), math.inf)
    assert_same(conv(ones, inf_kernel, padding=1), F.conv2d(ones, inf_kernel, padding=1))
    assert torch.isnan(conv(ones, inf_kernel, padding=1)).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conv", CONVS, ids=lambda f: f.__name__)
def test_nan_weight_over_padding_gives_nan_as_documented(conv, dtype):
    # The Note of conv2d_im2col: padded zeros are multiplied too, so a NaN weight that only meets
    # padding still makes the output NaN, as F.conv2d in float64 and on a pre-padded input give.
    # (F.conv2d's float32 oneDNN kernel skips padding and returns 0 here; not asserted, it is PyTorch's.)
    X = torch.zeros(1, 1, 1, 1, dtype=dtype)
    weight = torch.zeros(1, 1, 4, 4, dtype=dtype)
    weight[0, 0, 0, 0] = math.nan  # meets only padding at every output position
    out = conv(X, weight, padding=2)
    assert torch.isnan(out).all() and out.shape == (1, 1, 2, 2)
    assert_same(out, F.conv2d(F.pad(X, (2, 2, 2, 2)), weight))
    assert_same(out.double(), F.conv2d(X.double(), weight.double(), padding=2))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conv", CONVS, ids=lambda f: f.__name__)
def test_uncovered_pixel_has_zero_gradient_as_documented(conv, dtype):
    # The Note of conv2d_im2col: stride 2 over 3 columns with a 1×2 kernel never reads column 2, so its
    # gradient is 0 even with NaN weights, as in F.conv2d's float64 kernel. (The float32 oneDNN
    # kernel, picked for a batch of 2 here, gives NaN; not asserted, it is PyTorch's.)
    X = torch.zeros(2, 1, 1, 3, dtype=dtype)
    weight = torch.full((1, 1, 1, 2), math.nan, dtype=dtype)
    g_X, g_W = grads(lambda x, w: conv(x, w, stride=2), X, weight)
    assert g_X[..., 2].eq(0).all() and g_X[..., :2].isnan().all()
    ref_X, ref_W = grads(lambda x, w: F.conv2d(x, w, stride=2), X.double(), weight.double())
    assert_same(g_X.double(), ref_X)
    assert_same(g_W.double(), ref_W)


@pytest.mark.parametrize("conv", CONVS, ids=lambda f: f.__name__)
@given(x_dtype=st.sampled_from(DTYPES + (torch.float16,)), w_dtype=st.sampled_from(DTYPES + (torch.float16,)),
       b_dtype=st.sampled_from([None, *DTYPES, torch.float16, torch.int64]))
def test_conv_mixed_dtypes_raise_type_error_naming_both(conv, x_dtype, w_dtype, b_dtype):
    X = torch.ones(1, 1, 3, 3, dtype=x_dtype)
    weight = torch.ones(1, 1, 2, 2, dtype=w_dtype)
    bias = None if b_dtype is None else torch.ones(1, dtype=b_dtype)
    if w_dtype != x_dtype:
        with pytest.raises(TypeError, match=rf"expected weight of dtype {x_dtype} \(the dtype of X\), got {w_dtype}"):
            conv(X, weight, bias)
    elif b_dtype is not None and b_dtype != x_dtype:
        with pytest.raises(TypeError, match=rf"expected bias of dtype {x_dtype} \(the dtype of X\), got {b_dtype}"):
            conv(X, weight, bias)
    else:  # one dtype: the result keeps it, as F.conv2d's does
        assert conv(X, weight, bias).dtype == x_dtype


@pytest.mark.parametrize("conv", CONVS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("X", "weight", "bias", "error", "match"),
    [
        (torch.zeros(1, 0, 4, 4), torch.zeros(2, 0, 3, 3), None, ValueError,
         r"expected X with at least one channel C, got shape \(1, 0, 4, 4\)"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(0, 2, 3, 3), None, ValueError,
         r"expected weight of shape \(O, C, F, F\) with O >= 1, got \(0, 2, 3, 3\)"),
        (torch.zeros(1, 1, 0, 4), torch.zeros(1, 1, 1, 1), None, ValueError, r"Invalid size: 0 \(expected >= 1\)"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 0, 1), None, ValueError, r"Invalid kernel_size: 0"),
        (torch.zeros(1, 1, 4, 4, dtype=torch.int64), torch.zeros(1, 1, 1, 1), None, TypeError,
         r"expected a floating tensor X, got Tensor torch.int64"),
        (torch.zeros(1, 1, 4, 4), [[1.0]], None, TypeError, r"expected a floating tensor weight, got list"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 1, 1), [0.0], TypeError, r"expected bias to be a tensor or None, got list"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 1, 1), torch.zeros(1, 1), ValueError, r"expected bias of shape \(1,\), got \(1, 1\)"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 1, 1, device="meta"), None, ValueError,
         r"expected weight on device cpu \(the device of X\), got meta"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 1, 1), torch.zeros(1, device="meta"), ValueError,
         r"expected bias on device cpu \(the device of X\), got meta"),
    ],
)
def test_conv_rejects_bad_input_naming_expected_and_received(conv, X, weight, bias, error, match):
    with pytest.raises(error, match=match):
        conv(X, weight, bias)


# ---------------------------------------------------------------- output size


def test_conv_output_size_equals_nn_conv2d_on_every_small_size():
    # Every (I, F, S, P) with I, F up to 9: where the kernel fits, the size nn.Conv2d produces;
    # where it does not (F > I + 2P), nn.Conv2d refuses and so do we, with a ValueError naming F, I, P.
    for I in range(1, 10):
        for F_ in range(1, 10):
            for S in range(1, 5):
                for P in range(0, 4):
                    layer = nn.Conv2d(1, 1, F_, stride=S, padding=P, bias=False)
                    if F_ > I + 2 * P:
                        with pytest.raises(ValueError, match=rf"kernel size {F_} is larger than the padded input: "
                                                             rf"expected F <= I \+ 2P = {I} \+ 2\*{P} = {I + 2 * P}"):
                            conv_output_size(I, F_, S, P)
                        with pytest.raises(RuntimeError):
                            layer(torch.zeros(1, 1, I, I))
                    else:
                        out = layer(torch.zeros(1, 1, I, I + 1)).shape[2:]
                        assert out == (conv_output_size(I, F_, S, P), conv_output_size(I + 1, F_, S, P))


@given(I=st.integers(1, 300), F_=st.integers(1, 40), S=st.integers(1, 50), P=st.integers(0, 20))
def test_conv_output_size_property(I, F_, S, P):
    if F_ > I + 2 * P:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv_output_size(I, F_, S, P)
        return
    out = conv_output_size(I, F_, S, P)
    assert out >= 1
    # The last window starts inside the padded input and fits; one more stride would not fit.
    assert S * (out - 1) + F_ <= I + 2 * P < S * out + F_
    assert out == F.conv2d(torch.zeros(1, 1, I, 1), torch.zeros(1, 1, F_, 1), stride=(S, 1), padding=(P, 0)).shape[2]


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.int64(8), 3), TypeError, r"size must be an int, got int64"),
        ((8, None), TypeError, r"kernel_size must be an int, got NoneType"),
        ((8, 3, 1, 0.0), TypeError, r"padding must be an int, got float"),
        ((-1, 1), ValueError, r"Invalid size: -1 \(expected >= 1\)"),
        ((8, -3), ValueError, r"Invalid kernel_size: -3 \(expected >= 1\)"),
    ],
)
def test_conv_output_size_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        conv_output_size(*args)


# ---------------------------------------------------------------- pooling


@st.composite
def pool_cases(draw, dtype: torch.dtype, elements=None):
    """``(X, kernel_size, stride, padding)`` for one pooling whose window fits the padded input."""
    N, C = draw(st.integers(0, 2)), draw(st.integers(1, 2))
    I, J = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    F_ = draw(st.integers(1, 4))
    P = draw(st.integers(0, F_ // 2))
    if F_ > min(I, J) + 2 * P:
        F_, P = 1, 0
    S = draw(st.one_of(st.none(), st.integers(1, 4)))
    if elements is None:
        elements = scalars(dtype)  # every edge: ±max, ±tiny, ±0, NaN, ±inf
    X = _array(draw, dtype, (N, C, I, J), elements)
    return X, F_, S, P


def _ties(dtype):
    # Few distinct values: windows with tied maxima, signed zeros, all -inf, and NaN.
    return st.sampled_from([0.0, -0.0, 1.0, -1.0, -math.inf, math.inf, math.nan, torch.finfo(dtype).max])


def _integer_upstream(draw, shape):
    # Whole-number upstream gradients: sums over overlapping windows are exact in any order.
    return torch.from_numpy(draw(hnp.arrays(np.float64, tuple(shape), elements=st.integers(-4, 4).map(float))))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@given(data=st.data(), tied=st.booleans())
def test_max_pool_values_and_gradient_routing_equal_torch(dtype, data, tied):
    X, F_, S, P = data.draw(pool_cases(dtype, _ties(dtype) if tied else None))
    expected = F.max_pool2d(X, F_, S, P)
    assert_same(max_pool2d(X, F_, S, P), expected, rtol=0, atol=0)  # values: exact, signed zeros included
    assert torch.equal(torch.signbit(max_pool2d(X, F_, S, P)), torch.signbit(expected))
    upstream = _integer_upstream(data.draw, expected.shape).to(dtype)
    ours = grads(lambda x: max_pool2d(x, F_, S, P), X, grad_output=upstream)[0]
    ref = grads(lambda x: F.max_pool2d(x, F_, S, P), X, grad_output=upstream)[0]
    assert_same(ours, ref, rtol=0, atol=0)  # each output's gradient lands on the entry PyTorch picks


def test_max_pool_tie_routing_documented_cases():
    # The Note of max_pool2d, case by case: first maximum, last NaN, first inside entry for -inf.
    def routed(values, **kwargs):
        X = torch.tensor(values, dtype=torch.float64).reshape(1, 1, 2, 2).requires_grad_()
        max_pool2d(X, 2, **kwargs).sum().backward()
        return X.grad.flatten().tolist()

    assert routed([1.0, 1.0, 1.0, 1.0]) == [1.0, 0.0, 0.0, 0.0]
    assert routed([0.0, 2.0, 2.0, 1.0]) == [0.0, 1.0, 0.0, 0.0]
    assert routed([math.nan, 1.0, math.nan, 2.0]) == [0.0, 0.0, 1.0, 0.0]
    assert routed([-math.inf] * 4) == [1.0, 0.0, 0.0, 0.0]
    # Padding never takes a gradient: every window of -inf sends it to its first pixel inside.
    assert routed([-math.inf] * 4, stride=1, padding=1) == [4.0, 2.0, 2.0, 1.0]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@given(data=st.data())
def test_avg_pool_values_and_gradients_equal_torch(dtype, data):
    X, F_, S, P = data.draw(pool_cases(dtype))  # every edge, ±max included: sums overflow
    expected = F.avg_pool2d(X, F_, S, P)
    # The window's entries are added in PyTorch's order (see avg_pool2d), so the values agree bit for
    # bit, overflowing sums (inf, or finite after +max and -max meet) and signed zeros included.
    out = avg_pool2d(X, F_, S, P)
    assert_same(out, expected, rtol=0, atol=0)
    assert torch.equal(torch.signbit(out[~out.isnan()]), torch.signbit(expected[~expected.isnan()]))
    upstream = _integer_upstream(data.draw, expected.shape).to(dtype)
    ours = grads(lambda x: avg_pool2d(x, F_, S, P), X, grad_output=upstream)[0]
    ref = grads(lambda x: F.avg_pool2d(x, F_, S, P), X, grad_output=upstream)[0]
    _assert_matches(ours, ref, grads(lambda x: F.avg_pool2d(x, F_, S, P), X, grad_output=upstream.abs())[0], 16)


def test_avg_pool_of_the_largest_floats_overflows_as_in_torch():
    # The documented case: the mean of F*F entries equal to the largest float is inf in both.
    X = torch.full((1, 1, 3, 3), torch.finfo(torch.float32).max)
    assert avg_pool2d(X, 3).item() == math.inf == F.avg_pool2d(X, 3).item()


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("X", "args", "error", "match"),
    [
        (torch.zeros(1, 0, 4, 4), (2,), ValueError, r"expected X with at least one channel C, got shape \(1, 0, 4, 4\)"),
        (torch.zeros(1, 1, 4, 4, dtype=torch.int32), (2,), TypeError, r"expected a floating tensor X, got Tensor torch.int32"),
        (torch.zeros(1, 1, 4, 4), (2, 0), ValueError, r"Invalid stride: 0 \(expected >= 1\)"),
        (torch.zeros(1, 1, 4, 4), (2.0,), TypeError, r"kernel_size must be an int, got float"),
        (torch.zeros(1, 1, 4, 4), (3, 1, 2), ValueError, r"Invalid padding: 2 \(expected at most half the kernel size"),
        (torch.zeros(1, 1, 2, 5), (4, 1, 0), ValueError, r"kernel size 4 is larger than the padded input"),
    ],
)
def test_pool_rejects_bad_input(pool, X, args, error, match):
    with pytest.raises(error, match=match):
        pool(X, *args)


# ---------------------------------------------------------------- the layer


@settings(max_examples=30)  # each example builds a model: fewer suffice
@given(C=st.integers(1, 3), O=st.integers(1, 3), F_=st.integers(1, 4), S=st.integers(1, 3),
       P=st.integers(0, 2), bias=st.booleans(), seed=st.integers(0, 2**31 - 1), N=st.integers(0, 2))
def test_conv2d_layer_init_output_and_gradients_equal_nn_conv2d(C, O, F_, S, P, bias, seed, N):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref = nn.Conv2d(C, O, F_, stride=S, padding=P, bias=bias)
    ours = Conv2d(C, O, F_, stride=S, padding=P, bias=bias, generator=torch.Generator().manual_seed(seed))
    assert set(ours.state_dict()) == set(ref.state_dict())
    for name, p in ours.state_dict().items():
        assert torch.equal(p, ref.state_dict()[name]), name
    X = torch.randn(N, C, F_ + 1, F_ + 2, generator=torch.Generator().manual_seed(seed + 1))
    Y, Y_ref = ours(X), ref(X)
    torch.testing.assert_close(Y, Y_ref)
    Y.square().sum().backward()
    Y_ref.square().sum().backward()
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_channels": 0}, ValueError, r"Invalid in_channels: 0 \(expected >= 1\)"),
        ({"out_channels": -1}, ValueError, r"Invalid out_channels: -1 \(expected >= 1\)"),
        ({"kernel_size": 0}, ValueError, r"Invalid kernel_size: 0 \(expected >= 1\)"),
        ({"padding": -1}, ValueError, r"Invalid padding: -1 \(expected >= 0\)"),
        ({"stride": 2.0}, TypeError, r"stride must be an int, got float"),
        ({"bias": 1}, TypeError, r"bias must be a bool, got int: 1"),
        ({"generator": 7}, TypeError, r"generator must be a torch.Generator or None, got int"),
    ],
)
def test_conv2d_layer_rejects_bad_arguments(kwargs, error, match):
    args = {"in_channels": 2, "out_channels": 3, "kernel_size": 3} | kwargs
    with pytest.raises(error, match=match):
        Conv2d(**args)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: DigitCNN(conv="torch", generator=5), TypeError, r"generator must be a torch.Generator or None, got int"),
        (lambda: DigitCNN(conv=1), TypeError, r"conv must be a str, 'im2col' or 'torch', got int: 1"),
        (lambda: Conv2d(1, 1, 1).reset_parameters(generator=5), TypeError, r"generator must be a torch.Generator or None, got int"),
        (lambda: DigitCNN(image_size=1), ValueError, r"Invalid image_size: 1 \(expected >= 2\)"),
        (lambda: DigitCNN(hidden_channels=(4, 0)), ValueError, r"Invalid hidden_channels\[1\]: 0"),
    ],
)
def test_modules_reject_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("model", [Conv2d(1, 2, 3, padding=1), DigitCNN(conv="im2col"), DigitCNN(conv="torch")],
                         ids=["Conv2d", "DigitCNN-im2col", "DigitCNN-torch"])
def test_layers_reject_another_dtype_naming_both(model):
    with pytest.raises(TypeError, match=r"expected X of dtype torch.float32 \(the .*weights\), got torch.float64"):
        model(torch.zeros(2, 1, 8, 8, dtype=torch.float64))
    assert model.double()(torch.zeros(2, 1, 8, 8, dtype=torch.float64)).dtype == torch.float64
    assert model(torch.zeros(0, 1, 8, 8, dtype=torch.float64)).shape[0] == 0  # an empty batch


# ---------------------------------------------------------------- DigitCNN (also the transfer chapter's model)


@settings(max_examples=30)  # each example builds a model: fewer suffice
@given(seed=st.integers(0, 2**31 - 1), num_classes=st.integers(1, 12), c1=st.integers(1, 4), c2=st.integers(1, 4),
       conv=st.sampled_from(["im2col", "torch"]))
def test_digit_cnn_generator_draws_as_torch_does(seed, num_classes, c1, c2, conv):
    # A generator seeded s gives the weights PyTorch draws right after torch.manual_seed(s), with either
    # convolution; without a generator the layers draw from the global generator as PyTorch's layers do.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.Conv2d(c1, c2, 3, padding=1), nn.Linear(16 * c2, num_classes))
        torch.manual_seed(seed)
        unseeded = DigitCNN(hidden_channels=(c1, c2), num_classes=num_classes, conv=conv)
    ours = DigitCNN(hidden_channels=(c1, c2), num_classes=num_classes, conv=conv,
                    generator=torch.Generator().manual_seed(seed))
    assert len(list(ours.parameters())) == len(list(ref.parameters())) == len(list(unseeded.parameters())) == 6
    for (name, p), q, u in zip(ours.named_parameters(), ref.parameters(), unseeded.parameters()):
        assert torch.equal(p, q) and torch.equal(u, q), name
    assert ours.head.in_features == 16 * c2
    assert ours(torch.zeros(0, 1, 8, 8)).shape == (0, num_classes)  # an empty batch


@pytest.mark.parametrize(("model_dtype", "x_dtype"), [(torch.float32, torch.float64), (torch.float64, torch.float32),
                                                       (torch.float32, torch.float16)])
def test_digit_cnn_rejects_another_dtype_naming_both(model_dtype, x_dtype):
    model = DigitCNN(num_classes=3, hidden_channels=(2, 3), conv="torch").to(model_dtype)
    with pytest.raises(TypeError, match=rf"expected X of dtype {model_dtype} \(the model's weights\), got {x_dtype}"):
        model(torch.zeros(1, 1, 8, 8, dtype=x_dtype))
