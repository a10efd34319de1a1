"""Property-based tests for dlfoundations.gradcheck: against torch.autograd.gradcheck, at the edges.

numerical_grad is compared with the central differences PyTorch's own gradcheck computes
(``get_numerical_jacobian``), on inputs that include zeros, NaN, ±inf, huge and tiny values,
empty tensors, size-1 dimensions and non-contiguous layouts; check_grad with the verdict of
``torch.autograd.gradcheck``.
"""

from __future__ import annotations

import importlib
import math
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from test_gradcheck import _WrongSquare  # the wrong backward the check must catch, defined once
from strategies import assert_same, finite_tensors, tensors

from dlfoundations.gradcheck import check_grad, numerical_grad

_torch_gradcheck = importlib.import_module("torch.autograd.gradcheck")

F64 = torch.float64

# Scalar functions of one input x and one input w: smooth ones, and ones with kinks or poles.
SMOOTH = {
    "sin-prod": lambda x, w: torch.sin(x).prod() + w.sum(),
    "tanh-layer": lambda x, w: torch.tanh(x.flatten() * w.sum()).pow(2).sum(),
    "exp-log1p": lambda x, w: (torch.exp(0.3 * x).sum() * torch.log1p(w**2).sum()),
    "square": lambda x, w: (x**2).sum() - (3 * w).sum(),
}
ROUGH = {
    "relu": lambda x, w: torch.relu(x).sum() + w.abs().sum(),
    "sqrt-abs": lambda x, w: torch.sqrt(x.abs()).sum() + w.sum(),
    "reciprocal": lambda x, w: (1 / x).sum() + w.sum(),
}


def _torch_numerical(fn, x, w, eps):
    """PyTorch's central differences of the scalar fn(x, w), reshaped like x and w."""
    inputs = (x.detach().clone().requires_grad_(True), w.detach().clone().requires_grad_(True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # get_numerical_jacobian is deprecated, not gone
        jac = _torch_gradcheck.get_numerical_jacobian(lambda inp: fn(*inp), inputs, eps=eps)
    return tuple(j.reshape(t.shape) for j, t in zip(jac, inputs))


@given(name=st.sampled_from(sorted(SMOOTH | ROUGH)), x=tensors(F64, max_dims=2, max_side=3),
       w=tensors(F64, max_dims=1, max_side=3), eps=st.sampled_from([1e-6, 1e-3, 1e-9]))
def test_numerical_grad_equals_pytorchs_central_differences_at_every_edge(name, x, w, eps):
    # NaN, ±inf, huge values where x ± eps rounds to x, zeros at kinks and poles, empty tensors:
    # the same formula must give the same estimate, NaN in the same places.
    fn = (SMOOTH | ROUGH)[name]
    ours = numerical_grad(fn, [x, w], eps=eps)
    for got, ref in zip(ours, _torch_numerical(fn, x, w, eps)):
        assert_same(got, ref, rtol=1e-12, atol=0.0)


@given(name=st.sampled_from(sorted(SMOOTH)), x=finite_tensors(F64, bound=2.0, max_side=3),
       w=finite_tensors(F64, bound=2.0, max_dims=1, max_side=3))
def test_check_grad_is_small_where_torch_gradcheck_passes(name, x, w):
    fn = SMOOTH[name]
    diff = check_grad(fn, [x, w])
    assert diff < 1e-6
    if x.numel() and w.numel():  # torch.autograd.gradcheck refuses empty inputs; check_grad gives 0 there
        leaves = (x.clone().requires_grad_(True), w.clone().requires_grad_(True))
        assert torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=1e-5, rtol=1e-3)


@given(x=finite_tensors(F64, bound=10.0, min_side=1, max_side=4))
def test_check_grad_fails_where_torch_gradcheck_fails(x):
    fn = lambda t: _WrongSquare.apply(t).sum()  # noqa: E731
    diff = check_grad(fn, x)
    # The wrong backward is off by |x|: check_grad reports exactly that, gradcheck then fails.
    assert math.isclose(diff, x.abs().max().item(), rel_tol=1e-6, abs_tol=1e-6)
    torch_ok = torch.autograd.gradcheck(fn, (x.clone().requires_grad_(True),), raise_exception=False)
    assert torch_ok == (diff < 1e-5)


@given(x=finite_tensors(F64, bound=2.0, min_side=1, max_side=3), first=st.booleans())
def test_check_grad_returns_nan_whenever_a_gradient_is_nan(x, first):
    # sqrt at 0: f is finite, autograd gives inf and the central difference NaN. Whatever the
    # position of that input among the inputs, the result must be NaN (Python's max() hid it).
    w = torch.zeros(2, dtype=F64)
    fn = lambda a, b: (a**2).sum() + torch.sqrt(b).sum()  # noqa: E731
    diff = check_grad(fn, [x, w]) if first else check_grad(lambda b, a: fn(a, b), [w, x])
    assert math.isnan(diff)
    assert not diff < 1e-6  # a check written as `diff < tol` fails


@given(x=finite_tensors(F64, bound=1e3, max_side=3), eps=st.sampled_from([1e-6, 1e-4]))
def test_check_grad_at_kinks_reports_the_documented_difference(x, eps):
    # Note in check_grad: at relu's kink the central difference is 1/2, autograd's subgradient 0.
    # (|x| stays where x ± eps is representable: beyond, the other Note applies.)
    x[x.abs() < 10 * eps] = 0.0  # exactly at the kink, or well away from it
    diff = check_grad(lambda t: torch.relu(t).sum(), x, eps=eps)
    expected = 0.5 if (x == 0).any() else 0.0
    assert diff == pytest.approx(expected, abs=1e-6)


@given(x=tensors(F64, min_dims=2, max_dims=2, max_side=4), w=tensors(F64, max_dims=1, max_side=3))
def test_inputs_of_any_layout_are_untouched_and_give_the_contiguous_result(x, w):
    x_t = x.T  # not contiguous: numerical_grad used to fail on .view(-1)
    before = (x_t.clone(), w.clone())
    fn = SMOOTH["exp-log1p"]
    got = numerical_grad(fn, [x_t, w])
    ref = numerical_grad(fn, [x_t.contiguous(), w])
    for g, r, t in zip(got, ref, (x_t, w)):
        assert g.shape == t.shape and g.dtype == F64
        assert_same(g, r, rtol=0, atol=0)
    assert_same(x_t, before[0], rtol=0, atol=0)
    assert_same(w, before[1], rtol=0, atol=0)
    assert not x_t.requires_grad and not w.requires_grad
    check_grad(fn, [x_t, w])
    assert_same(x_t, before[0], rtol=0, atol=0)


def test_check_grad_far_from_zero_reports_the_lost_step():
    # Note in numerical_grad: the step is absolute, so at 1e300 x ± eps == x and the estimate is 0.
    x = torch.tensor([1e300], dtype=F64)
    assert numerical_grad(lambda t: t.sum(), x)[0].item() == 0.0
    assert check_grad(lambda t: t.sum(), x) == 1.0


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 0, 2)])
def test_empty_inputs_have_empty_gradients_and_zero_difference(shape):
    x = torch.ones(shape, dtype=F64)
    (grad,) = numerical_grad(lambda t: t.sum(), x)
    assert grad.shape == shape
    assert check_grad(lambda t: t.sum(), x) == 0.0


# ---------------------------------------------------------------- bad input

_X = torch.ones(2, dtype=F64)


@pytest.mark.parametrize("func", [numerical_grad, check_grad])
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(eps=float("inf")), ValueError, "expected a finite eps, got inf"),
    (dict(eps=float("nan")), ValueError, "expected eps > 0, got nan"),
    (dict(eps=-1e-6), ValueError, "expected eps > 0, got -1e-06"),
    (dict(eps="1e-6"), TypeError, "expected eps to be a float, got str"),
    (dict(eps=True), TypeError, "expected eps to be a float, got bool"),
    (dict(eps=torch.tensor(1e-6)), TypeError, "expected eps to be a float, got Tensor"),
    (dict(fn=3), TypeError, "expected fn to be callable, got int"),
    (dict(inputs=[]), TypeError, "non-empty sequence of tensors"),
    (dict(inputs=[_X, 2.0]), TypeError, r"expected inputs\[1\] to be a torch.Tensor, got float"),
    (dict(inputs=torch.ones(2, dtype=torch.int64)), TypeError,
     r"expected inputs\[0\] of dtype torch.float64, got torch.int64"),
    (dict(inputs=[_X, torch.ones(2, dtype=torch.float32)]), TypeError,
     r"expected inputs\[1\] of dtype torch.float64, got torch.float32"),
    (dict(fn=lambda t: t), ValueError, r"expected fn to return a scalar \(shape \(\)\), got shape \(2,\)"),
    (dict(fn=lambda t: 1.0), TypeError, "expected fn to return a torch.Tensor, got float"),
    (dict(fn=lambda t: t.sum() * 1j), TypeError, "expected fn to return a real tensor, got dtype torch.complex128"),
])
def test_bad_input_raises_a_type_or_value_error_naming_it(func, kwargs, error, match):
    args = dict(fn=lambda t, *rest: t.sum(), inputs=_X) | kwargs
    with pytest.raises(error, match=match):
        func(**args)
