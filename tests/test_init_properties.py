"""Property tests: dlfoundations.init against torch.nn.init and torch.nn.utils.clip_grad_norm_ at the edges.

Fans of 0-d to 4-d, zero-sized and integer tensors; fills with the same generator (same draws, same
generator state afterwards, values to round-off); every gain; clipping with zero, empty, None, NaN
and infinite gradients, every norm type, float32 and float64 and mixed.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given, strategies as st
from torch import nn

from dlfoundations import init as ours
from strategies import DTYPES, assert_same, tensors

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
fill_shapes = st.lists(st.integers(0, 5), min_size=2, max_size=4).map(tuple)
FILLS = ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]
GAINS = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
         "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


@given(shape=shapes, dtype=st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bool]))
def test_fans_equal_pytorch_or_both_raise_value_error(shape, dtype):
    w = torch.zeros(shape, dtype=dtype)
    try:
        expected = nn.init._calculate_fan_in_and_fan_out(w)
    except ValueError:
        with pytest.raises(ValueError, match=rf"at least 2 dimensions .* got shape"):
            ours.calculate_fan_in_and_fan_out(w)
        return
    assert ours.calculate_fan_in_and_fan_out(w) == expected


def _fill(fn, shape, dtype, seed, kwargs):
    w = torch.full(shape, 7.0, dtype=dtype)
    g = torch.Generator().manual_seed(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(w, generator=g, **kwargs)
        except ZeroDivisionError as err:
            return err, g, [str(c.message) for c in caught]
    return w, g, [str(c.message) for c in caught]


@given(shape=fill_shapes, dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32), name=st.sampled_from(FILLS),
       gain=st.sampled_from([0.0, 1.0, 5.0 / 3.0, 1e-3]), mode=st.sampled_from(["fan_in", "fan_out"]),
       nonlinearity=st.sampled_from(["linear", "relu", "leaky_relu", "tanh", "selu", "conv2d"]),
       a=st.sampled_from([0.0, 0.01, 0.2, 1.0, -0.5, 100.0]))
def test_fills_draw_what_pytorch_draws(shape, dtype, seed, name, gain, mode, nonlinearity, a):
    kwargs = {"gain": gain} if name.startswith("xavier") else {"a": a, "mode": mode, "nonlinearity": nonlinearity}
    got, g_ours, warn_ours = _fill(getattr(ours, name), shape, dtype, seed, kwargs)
    expected, g_torch, warn_torch = _fill(getattr(nn.init, name), shape, dtype, seed, kwargs)
    if isinstance(expected, ZeroDivisionError):
        # Note in the docstring: PyTorch divides by fan_in + fan_out = 0; ours leaves an empty tensor as it is
        assert math.prod(shape) == 0
        assert got.shape == shape
    else:
        assert_same(got, expected)  # same draws, to one unit in the last place
        assert warn_ours == warn_torch  # the zero-element warning of kaiming_*_, and no other
    assert torch.equal(g_ours.get_state(), g_torch.get_state())  # the same numbers were drawn


@given(dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32), shape=fill_shapes,
       a=st.floats(-1e3, 1e3), width=st.floats(0.0, 1e3), mean=st.floats(-1e3, 1e3), std=st.floats(0.0, 1e3))
def test_uniform_and_normal_equal_pytorch(dtype, seed, shape, a, width, mean, std):
    b = a + width
    for fn, ref, args in ((ours.uniform_, nn.init.uniform_, (a, b)), (ours.normal_, nn.init.normal_, (mean, std))):
        w, v = torch.empty(shape, dtype=dtype), torch.empty(shape, dtype=dtype)
        g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        fn(w, *args, generator=g1)
        ref(v, *args, generator=g2)
        scale = max(abs(a), abs(b), 1.0) if fn is ours.uniform_ else max(abs(mean), std, 1.0)
        assert_same(w, v, rtol=4 * torch.finfo(dtype).eps, atol=4 * torch.finfo(dtype).eps * scale)
        assert torch.equal(g1.get_state(), g2.get_state())


@given(nonlinearity=st.sampled_from(GAINS),
       param=st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-1000, 1000)))
def test_gain_equals_pytorch(nonlinearity, param):
    assert ours.calculate_gain(nonlinearity, param) == pytest.approx(nn.init.calculate_gain(nonlinearity, param),
                                                                    rel=1e-15)


@pytest.mark.parametrize("param", [math.nan, math.inf, -math.inf])
def test_gain_refuses_a_non_finite_slope(param):
    # Note in the docstring: PyTorch returns NaN or 0 here
    with pytest.raises(ValueError, match=rf"Invalid param \(negative slope\): {param} \(expected a finite number\)"):
        ours.calculate_gain("leaky_relu", param)


def test_fills_accept_gain_zero_and_fill_zeros_like_pytorch():
    w = torch.empty(3, 4)
    assert torch.equal(ours.xavier_uniform_(w, gain=0.0), nn.init.xavier_uniform_(torch.empty(3, 4), gain=0.0))
    assert torch.count_nonzero(w) == 0


# ---------------------------------------------------------------- clipping

grad_lists = st.lists(st.one_of(st.none(), tensors(torch.float32, max_dims=2, max_side=4),
                                tensors(torch.float64, max_dims=2, max_side=4)), min_size=0, max_size=4)


def _params(grads):
    params = []
    for g in grads:
        p = torch.zeros(g.shape if g is not None else (2,), dtype=g.dtype if g is not None else torch.float32,
                        requires_grad=True)
        p.grad = None if g is None else g.clone()
        params.append(p)
    return params


@given(grads=grad_lists, max_norm=st.sampled_from([0.0, 1e-3, 1.0, 3.0, 1e30]),
       norm_type=st.sampled_from([1.0, 1.5, 2.0, 3.0, math.inf]))
def test_clip_grad_norm_equals_pytorch(grads, max_norm, norm_type):
    ours_params, torch_params = _params(grads), _params(grads)
    got = ours.clip_grad_norm_(ours_params, max_norm, norm_type)
    empty_inf = math.isinf(norm_type) and any(g is not None and g.numel() == 0 for g in grads)
    if empty_inf:
        # Note in the docstring: PyTorch cannot take the inf-norm of an empty gradient; we count it as 0
        with pytest.raises(RuntimeError, match="empty tensor"):
            nn.utils.clip_grad_norm_(_params(grads), max_norm, norm_type, foreach=False)
        torch_params = [p for p in torch_params if p.grad is None or p.grad.numel() > 0]
        ours_cmp = [p for p in ours_params if p.grad is None or p.grad.numel() > 0]
    else:
        ours_cmp = ours_params
    expected = nn.utils.clip_grad_norm_(torch_params, max_norm, norm_type, foreach=False)
    if empty_inf:
        expected = expected.to(got.dtype)  # the dtype of all gradients, the empty ones included
    tol = dict(rtol=1e-5, atol=0.0) if any(g is not None and g.dtype == torch.float32 for g in grads) else {}
    assert_same(got, expected, **tol)
    for p, q in zip(ours_cmp, torch_params):
        if q.grad is None:
            assert p.grad is None
        else:
            assert_same(p.grad, q.grad, **tol)


@pytest.mark.parametrize("value, expected", [(1e20, math.inf), (1e-25, 0.0)])
def test_clip_powers_overflow_and_underflow_as_in_pytorch(value, expected):
    # Note in the docstring: the powers are not rescaled, as in PyTorch
    p, q = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    p.grad, q.grad = torch.full((2,), value), torch.full((2,), value)
    assert ours.clip_grad_norm_([p], 1.0).item() == expected == nn.utils.clip_grad_norm_([q], 1.0).item()
    assert_same(p.grad, q.grad)


@given(grads=grad_lists, norm_type=st.sampled_from([1.0, 2.0, math.inf]))
def test_error_if_nonfinite_raises_value_error_and_leaves_gradients(grads, norm_type):
    grads = [g for g in grads if g is not None and g.numel() > 0]
    params = _params(grads)
    before = [p.grad.clone() for p in params]
    reference = nn.utils.clip_grad_norm_(_params(grads), 1.0, norm_type, foreach=False) if grads else None
    if reference is not None and not torch.isfinite(reference):
        with pytest.raises(ValueError, match="non-finite"):
            ours.clip_grad_norm_(params, 1.0, norm_type, error_if_nonfinite=True)
        with pytest.raises(RuntimeError, match="non-finite"):  # PyTorch's own type, documented in the Note
            nn.utils.clip_grad_norm_(_params(grads), 1.0, norm_type, error_if_nonfinite=True, foreach=False)
        for p, b in zip(params, before):
            assert torch.equal(p.grad.nan_to_num(), b.nan_to_num())  # untouched
    else:
        ours.clip_grad_norm_(params, 1.0, norm_type, error_if_nonfinite=True)


def test_clip_with_no_gradient_returns_zero_like_pytorch():
    params = [torch.zeros(3, requires_grad=True)]
    assert_same(ours.clip_grad_norm_(params, 1.0), nn.utils.clip_grad_norm_(params, 1.0))
    assert_same(ours.clip_grad_norm_([], 1.0), nn.utils.clip_grad_norm_([], 1.0))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: ours.clip_grad_norm_([torch.zeros(1)], math.nan), ValueError, r"Invalid max_norm: nan \(expected a finite number >= 0\)"),
        (lambda: ours.clip_grad_norm_([torch.zeros(1)], -1.0), ValueError, r"Invalid max_norm: -1.0 \(expected a finite number >= 0\)"),
        (lambda: ours.clip_grad_norm_([torch.zeros(1)], "1"), TypeError, "max_norm must be a float, got str"),
        (lambda: ours.clip_grad_norm_([torch.zeros(1)], 1.0, math.nan), ValueError, "norm_type must be >= 1"),
        (lambda: ours.clip_grad_norm_([torch.zeros(1)], 1.0, "inf"), TypeError, "norm_type must be a float, got str"),
        (lambda: ours.clip_grad_norm_([torch.zeros(1)], 1.0, error_if_nonfinite=1), TypeError,
         "error_if_nonfinite must be a bool, got int"),
        (lambda: ours.clip_grad_norm_([3], 1.0), TypeError, "parameters must be tensors, got int"),
        (lambda: ours.calculate_gain(None), TypeError, "nonlinearity must be a str"),
        (lambda: ours.calculate_gain("gelu"), ValueError, "nonlinearity must be one of .* got 'gelu'"),
        (lambda: ours.calculate_gain("leaky_relu", True), TypeError, "param must be a float, got bool"),
        (lambda: ours.calculate_fan_in_and_fan_out(torch.zeros(3)), ValueError, r"got shape \(3,\)"),
        (lambda: ours.uniform_(torch.zeros(2), -1.5e308, 1.5e308), ValueError, "finite width b - a"),
        (lambda: ours.uniform_(torch.zeros(2), 0.0, math.inf), ValueError, r"Invalid b: inf \(expected a finite number\)"),
        (lambda: ours.normal_(torch.zeros(2), math.nan), ValueError, r"Invalid mean: nan \(expected a finite number\)"),
        (lambda: ours.xavier_normal_(torch.zeros(2, 2), gain=-1.0), ValueError, r"Invalid gain: -1.0 \(expected a finite number >= 0\)"),
        (lambda: ours.kaiming_uniform_(torch.zeros(2, 2), mode=None), ValueError, "mode must be one of"),
        (lambda: ours.kaiming_normal_(torch.zeros(2, 2, dtype=torch.int64)), TypeError,
         "tensor must be a floating Tensor, got Tensor of dtype torch.int64"),
        (lambda: ours.deep_mlp(2, 3, 1, 1, dtype=torch.int64), TypeError, "dtype must be a floating torch.dtype"),
        (lambda: ours.gradient_flow(ours.deep_mlp(2, 3, 2, 1), torch.zeros(4, 2), torch.tensor([0, 1, 2, 5])),
         ValueError, r"could not compare outputs of shape \(4, 2\) with y of shape \(4,\)"),
    ],
)
def test_bad_input_names_expected_and_received(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- deep_mlp and gradient_flow


def _reference_flow(model, X, y):
    # the same measurements by hooks on a plain forward/backward pass: retain_grad on every Z_l
    Zs, As = [], []
    A = X
    modules = list(model)
    for k, m in enumerate(modules):
        A = m(A)
        if k % 2 == 0 and k < len(modules) - 1:
            A.retain_grad()
            Zs.append(A)
        elif k % 2 == 1:
            As.append(A)
    loss = nn.functional.cross_entropy(A, y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    weights = [m.weight for m in modules[0:-1:2]]
    return (torch.stack([a.detach().std() for a in As]), torch.stack([z.grad.std() for z in Zs]),
            torch.stack([w.grad.std() for w in weights]), loss.item())


@given(dtype=st.sampled_from(DTYPES), N=st.integers(1, 6), D=st.integers(1, 4), H=st.integers(1, 5),
       L=st.integers(1, 3), nonlinearity=st.sampled_from(["tanh", "relu", "sigmoid"]),
       init=st.sampled_from([ours.xavier_uniform_, ours.kaiming_normal_]), seed=st.integers(0, 2**16),
       poison=st.sampled_from([None, math.nan, math.inf]))
def test_gradient_flow_equals_hooks_on_autograd(dtype, N, D, H, L, nonlinearity, init, seed, poison):
    g = torch.Generator().manual_seed(seed)
    model = ours.deep_mlp(D, H, 3, L, nonlinearity, init, g, dtype)
    assert len(model) == 2 * L + 1 and all(p.dtype == dtype for p in model.parameters())
    X = torch.randn(N, D, generator=g, dtype=dtype)
    if poison is not None:
        X[0, 0] = poison  # a diverged input: NaN spreads to the statistics, as in autograd
    y = torch.randint(0, 3, (N,), generator=g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # std of one element: N = 1 and H = 1 give NaN in both
        got = ours.gradient_flow(model, X, y)
        expected = _reference_flow(model, X, y)
    for a, b in zip(got[:3], expected[:3]):
        assert_same(a, b)
    assert got.loss == pytest.approx(expected[3], nan_ok=True)


def test_gradient_flow_refuses_mixed_dtypes_naming_both():
    model = ours.deep_mlp(2, 3, 2, 1, dtype=torch.float32)
    with pytest.raises(TypeError, match="expected X of the model's dtype torch.float32, got torch.float64"):
        ours.gradient_flow(model, torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, dtype=torch.int64))


@given(std=st.floats(0, 1e150))
def test_uniform_bound_gives_the_variance(std):
    a = ours.uniform_bound(std)
    assert a == pytest.approx(math.sqrt(3) * std) and a**2 / 3 == pytest.approx(std**2, rel=1e-12)
