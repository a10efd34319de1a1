"""Property-based tests for dlfoundations.regression: the edges, against PyTorch, NumPy and scikit-learn.

Strategies from ``strategies.py`` reach exact zeros, NaN, ±inf, magnitudes near float32's
limits, empty batches, size-1 dimensions and rank-deficient matrices.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression
from strategies import DTYPES, assert_same, finite_tensors, grads, rank_deficient_matrices, tensors

from dlfoundations.losses import mse_loss
from dlfoundations.regression import fit_autograd, fit_gradient_descent, least_squares, mse_gradients, predict

# Tolerances that fit each dtype: a few hundred rounding errors of relative size eps.
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-12)}

dtypes = st.sampled_from(DTYPES)


@st.composite
def linear_problems(draw, dtype, finite=True, bound=1e3, min_n=0):
    """``(X, y, weight, bias)`` of shapes ``(N, D)``, ``(N, O)``, ``(O, D)``, ``(O,)``, N and D possibly 0."""
    N, D, O = draw(st.integers(min_n, 4)), draw(st.integers(0, 3)), draw(st.integers(1, 3))  # noqa: E741
    make = (lambda shape: finite_tensors(dtype, bound=bound, shape=shape)) if finite else (
        lambda shape: tensors(dtype, shape=shape))
    return draw(make((N, D))), draw(make((N, O))), draw(make((O, D))), draw(make((O,)))


def _bound(X, g):
    """Rounding bound for sums of products like ``g.T @ X``: eps times the sum of the magnitudes."""
    return g.abs().T @ X.abs()


# ---------------------------------------------------------------- predict


@given(dtype=dtypes, data=st.data())
def test_predict_equals_linear_values_and_gradients(dtype, data):
    X, _, weight, bias = data.draw(linear_problems(dtype))
    assert_same(predict(X, weight, bias), F.linear(X, weight, bias), **TOL[dtype])
    for ours, ref in zip(grads(predict, X, weight, bias), grads(F.linear, X, weight, bias)):
        assert_same(ours, ref, **TOL[dtype])


@given(dtype=dtypes, data=st.data())
def test_predict_propagates_nan_and_inf_like_linear(dtype, data):
    # One sample, one feature: no sums whose order could differ, so NaN and inf must match exactly.
    X, _, weight, bias = data.draw(linear_problems(dtype, finite=False).filter(lambda p: p[0].shape[1] <= 1))
    assert_same(predict(X, weight, bias), F.linear(X, weight, bias), **TOL[dtype])


# ---------------------------------------------------------------- mse_gradients


def _autograd_mse_gradients(X, y, weight, bias):
    return grads(lambda w, b: mse_loss(predict(X, w, b), y), weight, bias)


@given(dtype=dtypes, data=st.data())
def test_mse_gradients_equal_autograd(dtype, data):
    X, y, weight, bias = data.draw(linear_problems(dtype))
    grad_weight, grad_bias = mse_gradients(X, y, weight, bias)
    ref_weight, ref_bias = _autograd_mse_gradients(X, y, weight, bias)
    assert grad_weight.dtype == grad_bias.dtype == dtype
    # |hand - autograd| within rounding of the products summed (they may be summed in another order).
    g = 2.0 * (X @ weight.T + bias - y).abs() / max(y.numel(), 1)  # (N, O)
    eps = torch.finfo(dtype).eps
    assert ((grad_weight - ref_weight).abs() <= 8 * eps * _bound(X, g) + TOL[dtype]["atol"]).all()
    assert ((grad_bias - ref_bias).abs() <= 8 * eps * g.sum(0) + TOL[dtype]["atol"]).all()


@given(dtype=dtypes, data=st.data())
def test_mse_gradients_match_autograd_exactly_on_one_element(dtype, data):
    # N = D = O = 1: the same operations in the same order as autograd, so every edge (huge values
    # that overflow when doubled, NaN, ±inf, zeros) must give the same result, NaN in the same places.
    X, y, weight, bias = (data.draw(tensors(dtype, shape=s)) for s in [(1, 1), (1, 1), (1, 1), (1,)])
    for ours, ref in zip(mse_gradients(X, y, weight, bias), _autograd_mse_gradients(X, y, weight, bias)):
        assert_same(ours, ref, rtol=0, atol=0)


def test_mse_gradients_overflow_where_autograd_does():
    # The residual is finite but twice it is not: autograd scales first and overflows; so must we.
    big = torch.finfo(torch.float32).max
    X, y = torch.tensor([[0.5]]), torch.tensor([[-big]])
    weight, bias = torch.zeros(1, 1), torch.tensor([big / 2])
    grad_weight, grad_bias = mse_gradients(X, y, weight, bias)
    ref_weight, ref_bias = _autograd_mse_gradients(X, y, weight, bias)
    assert_same(grad_weight, ref_weight)
    assert_same(grad_bias, ref_bias)
    assert torch.isinf(grad_bias).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("N", "O"), [(0, 1), (0, 3), (5, 0)])  # noqa: N803
def test_mse_gradients_of_an_empty_batch_are_autograds_zeros(dtype, N, O):  # noqa: N803, E741
    X, y = torch.ones(N, 2, dtype=dtype), torch.ones(N, O, dtype=dtype)
    weight, bias = torch.ones(O, 2, dtype=dtype), torch.ones(O, dtype=dtype)
    grad_weight, grad_bias = mse_gradients(X, y, weight, bias)  # was a ZeroDivisionError
    ref_weight, ref_bias = _autograd_mse_gradients(X, y, weight, bias)
    assert_same(grad_weight, ref_weight)
    assert_same(grad_bias, ref_bias)
    assert_same(grad_weight, torch.zeros(O, 2, dtype=dtype))


# ---------------------------------------------------------------- the fits


@settings(max_examples=30)  # each example runs three fits; 30 cover both dtypes, empty D and the rates
@given(dtype=dtypes, data=st.data(), lr=st.sampled_from([1e-3, 0.05, 0.3]))
def test_both_fits_equal_torch_optim_sgd(dtype, data, lr):
    X, y, weight, bias = data.draw(linear_problems(dtype, bound=4.0, min_n=1))
    params = [weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)]
    optimizer = torch.optim.SGD(params, lr=lr, foreach=False)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.mse_loss(F.linear(X, *params), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    for fit in (fit_gradient_descent, fit_autograd):
        result = fit(X, y, lr=lr, num_epochs=3, weight=weight, bias=bias)
        assert_same(result.weight, params[0].detach(), **TOL[dtype])
        assert_same(result.bias, params[1].detach(), **TOL[dtype])
        np.testing.assert_allclose(result.losses, losses, rtol=TOL[dtype]["rtol"] * 10, atol=TOL[dtype]["atol"])


@pytest.mark.parametrize("fit", [fit_gradient_descent, fit_autograd])
def test_fits_leave_data_that_requires_grad_alone(fit):
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(5, 2, generator=g, requires_grad=True), torch.randn(5, 1, generator=g, requires_grad=True)
    result = fit(X, y, lr=0.1, num_epochs=3)
    assert X.grad is None and y.grad is None  # fit_autograd used to accumulate into X.grad
    assert result.weight.grad_fn is None and result.bias.grad_fn is None  # nor return a graph over the epochs
    reference = fit(X.detach(), y.detach(), lr=0.1, num_epochs=3)
    assert torch.equal(result.weight, reference.weight) and torch.equal(result.bias, reference.bias)


@pytest.mark.parametrize("fit", [fit_gradient_descent, fit_autograd])
def test_fits_on_an_empty_batch_keep_the_start_and_record_nan(fit):
    X, y = torch.zeros(0, 2, dtype=torch.float64), torch.zeros(0, 1, dtype=torch.float64)
    result = fit(X, y, lr=0.1, num_epochs=2)
    assert_same(result.weight, torch.zeros(1, 2, dtype=torch.float64))
    assert all(math.isnan(v) for v in result.losses)  # the mean of no squared errors, as in mse_loss


# ---------------------------------------------------------------- least_squares


def _augmented(X):
    return np.c_[X.double().numpy(), np.ones(X.shape[0])]


def _numpy_lstsq(X, y, rcond=None):
    """NumPy's minimum-norm solution in float64; ``rcond`` defaults to the cutoff for X's dtype."""
    A = _augmented(X)
    rcond = torch.finfo(X.dtype).eps * max(A.shape) if rcond is None else rcond
    theta = np.linalg.lstsq(A, y.double().numpy(), rcond=rcond)[0]  # (D + 1, O)
    return torch.from_numpy(theta[:-1].T.copy()), torch.from_numpy(theta[-1].copy())


def _outputs(draw_y, X, dtype):
    return draw_y(finite_tensors(dtype, bound=10.0, shape=(X.shape[0], 2)))


@given(data=st.data())
def test_least_squares_is_the_minimum_norm_minimiser_like_numpy(data):
    X = data.draw(rank_deficient_matrices(torch.float64))
    y = _outputs(data.draw, X, torch.float64)
    weight, bias = least_squares(X, y)
    ref_weight, ref_bias = _numpy_lstsq(X, y)
    scale = 1e-9 * (1 + ref_weight.abs().max().item() + ref_bias.abs().max().item())
    torch.testing.assert_close(weight, ref_weight, rtol=0, atol=scale)
    torch.testing.assert_close(bias, ref_bias, rtol=0, atol=scale)


@given(data=st.data())
def test_least_squares_predicts_like_sklearn_and_reaches_the_minimum(data):
    X = data.draw(rank_deficient_matrices(torch.float64))
    y = _outputs(data.draw, X, torch.float64)
    weight, bias = least_squares(X, y)
    model = LinearRegression().fit(X.numpy(), y.numpy())
    ref = torch.from_numpy(model.predict(X.numpy()))
    torch.testing.assert_close(predict(X, weight, bias), ref, rtol=0, atol=1e-8 * (1 + ref.abs().max().item()))
    assert mse_loss(predict(X, weight, bias), y).item() <= mse_loss(ref, y).item() * (1 + 1e-9) + 1e-12
    # scikit-learn leaves the intercept out of the norm; when no combination of the columns is
    # constant the minimisers differ only in the bias, which is then unique: the weights agree.
    rank_X = torch.linalg.matrix_rank(X).item()
    rank_X1 = torch.linalg.matrix_rank(torch.from_numpy(_augmented(X))).item()
    if rank_X1 == rank_X + 1:
        torch.testing.assert_close(weight, torch.from_numpy(model.coef_), rtol=0, atol=1e-8)
        torch.testing.assert_close(bias, torch.from_numpy(model.intercept_), rtol=0, atol=1e-8)


@given(data=st.data())
def test_least_squares_in_float32_equals_numpy_with_float32_cutoff(data):
    X = data.draw(rank_deficient_matrices(torch.float32))
    y = _outputs(data.draw, X, torch.float32)
    weight, bias = least_squares(X, y)
    assert weight.dtype == bias.dtype == torch.float32
    # NumPy in float64 on the same float32 data, with float32's cutoff eps * max(N, D + 1): a
    # singular value that is zero up to float32 rounding counts as zero in both.
    ref_weight, ref_bias = _numpy_lstsq(X, y)
    scale = 1e-3 * (1 + ref_weight.abs().max().item() + ref_bias.abs().max().item())
    torch.testing.assert_close(weight.double(), ref_weight, rtol=0, atol=scale)
    torch.testing.assert_close(bias.double(), ref_bias, rtol=0, atol=scale)


@st.composite
def ill_conditioned(draw):
    """A full-rank (N, D) float64 design whose last column is a previous one plus a tiny independent part."""
    N, D = draw(st.integers(4, 8)), draw(st.integers(2, 3))  # noqa: N806
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    X = torch.randn(N, D, generator=g, dtype=torch.float64)
    X[:, -1] = X[:, 0] + draw(st.sampled_from([1e-3, 1e-5, 1e-7])) * X[:, -1]
    return X


@given(X=ill_conditioned(), data=st.data())
def test_least_squares_on_ill_conditioned_designs_equals_numpy(X, data):
    y = _outputs(data.draw, X, torch.float64)
    weight, bias = least_squares(X, y)
    ref_weight, ref_bias = _numpy_lstsq(X, y)
    cond = torch.linalg.cond(torch.from_numpy(_augmented(X))).item()
    tol = 100 * cond * torch.finfo(torch.float64).eps * (1 + ref_weight.abs().max().item())
    torch.testing.assert_close(weight, ref_weight, rtol=0, atol=tol)
    torch.testing.assert_close(bias, ref_bias, rtol=0, atol=tol)
    ref = torch.from_numpy(LinearRegression().fit(X.numpy(), y.numpy()).predict(X.numpy()))
    assert mse_loss(predict(X, weight, bias), y).item() <= mse_loss(ref, y).item() * (1 + 1e-6) + 1e-12


@given(dtype=dtypes, data=st.data())
def test_least_squares_is_deterministic(dtype, data):
    X = data.draw(rank_deficient_matrices(dtype))
    y = _outputs(data.draw, X, dtype)
    first, second = least_squares(X, y), least_squares(X.clone(), y.clone())
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@given(data=st.data())
def test_least_squares_gradient_wrt_y_is_the_pseudo_inverse(data):
    X = data.draw(rank_deficient_matrices(torch.float64))
    y = _outputs(data.draw, X, torch.float64)
    (grad_y,) = grads(lambda t: torch.cat([*least_squares(X, t)[0].T.unbind(), least_squares(X, t)[1]]).sum(), y)
    # theta = pinv(X~) @ y is linear in y: d sum(theta) / dy[i, o] = sum_j pinv(X~)[j, i].
    ref = np.linalg.pinv(_augmented(X)).sum(axis=0)  # (N,)
    torch.testing.assert_close(grad_y, torch.from_numpy(ref)[:, None].expand_as(y), rtol=1e-7, atol=1e-8)


@given(X=ill_conditioned(), data=st.data())
def test_least_squares_gradient_wrt_X_equals_torch_lstsq_on_full_rank(X, data):
    X = X[:, :-1].contiguous()  # drop the near-copy: well-conditioned and full rank
    y = _outputs(data.draw, X, torch.float64)

    def reference(X):
        X_tilde = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)
        theta = torch.linalg.lstsq(X_tilde, y).solution  # full rank: differentiable QR solution
        return theta.square().sum()

    (ours,) = grads(lambda t: sum(p.square().sum() for p in least_squares(t, y)), X)
    (ref,) = grads(reference, X)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-8)


@given(dtype=dtypes, data=st.data())
def test_least_squares_nan_or_inf_in_X_gives_nan(dtype, data):
    X = data.draw(rank_deficient_matrices(dtype))
    i, j = data.draw(st.integers(0, X.shape[0] - 1)), data.draw(st.integers(0, X.shape[1] - 1))
    X[i, j] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    weight, bias = least_squares(X, _outputs(data.draw, X, dtype))  # documented in the Note
    assert torch.isnan(weight).all() and torch.isnan(bias).all()


@given(dtype=dtypes, data=st.data())
def test_least_squares_nan_in_y_spreads_to_its_output_only(dtype, data):
    X = data.draw(rank_deficient_matrices(dtype))
    y = _outputs(data.draw, X, dtype)
    y[data.draw(st.integers(0, X.shape[0] - 1)), 0] = math.nan
    weight, bias = least_squares(X, y)
    assert torch.isnan(bias[0]) and torch.isfinite(weight[1]).all() and torch.isfinite(bias[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("N", "D", "O"), [(0, 2, 1), (3, 0, 2), (3, 2, 0), (1, 3, 1)])  # noqa: N803
def test_least_squares_on_empty_and_tiny_designs_equals_numpy(dtype, N, D, O):  # noqa: N803, E741
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(N, D, generator=g, dtype=dtype), torch.randn(N, O, generator=g, dtype=dtype)
    weight, bias = least_squares(X, y)
    assert weight.shape == (O, D) and bias.shape == (O,)
    ref_weight, ref_bias = _numpy_lstsq(X, y)
    torch.testing.assert_close(weight, ref_weight.to(dtype), **TOL[dtype])
    torch.testing.assert_close(bias, ref_bias.to(dtype), **TOL[dtype])


# ---------------------------------------------------------------- mixed dtypes and bad input


def _call(fn, X, y, weight, bias):
    if fn is predict:
        return predict(X, weight, bias)
    if fn is mse_gradients:
        return mse_gradients(X, y, weight, bias)
    if fn is least_squares:
        return least_squares(X, y)
    return fn(X, y, lr=0.1, num_epochs=1, weight=weight, bias=bias)


ALL = [predict, mse_gradients, least_squares, fit_gradient_descent, fit_autograd]


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("which", ["y", "weight", "bias"])
@pytest.mark.parametrize(("x_dtype", "other"), [(torch.float32, torch.float64), (torch.float64, torch.float32),
                                                (torch.float32, torch.float16)])
def test_mixed_dtypes_raise_a_type_error_naming_both(fn, which, x_dtype, other):
    args = dict(X=torch.ones(3, 2, dtype=x_dtype), y=torch.ones(3, 1, dtype=x_dtype),
                weight=torch.ones(1, 2, dtype=x_dtype), bias=torch.ones(1, dtype=x_dtype))
    args[which] = args[which].to(other)
    if fn is predict and which == "y" or fn is least_squares and which != "y":
        return  # the argument is not used by this function
    with pytest.raises(TypeError, match=rf"expected {which} of dtype {x_dtype} \(the dtype of X\), got {other}"):
        _call(fn, **args)


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize(("which", "value", "match"), [
    ("weight", torch.ones(1, 2, dtype=torch.int64), "weight must be a floating Tensor, got Tensor of dtype torch.int64"),
    ("bias", torch.ones(1, dtype=torch.int64), "bias must be a floating Tensor, got Tensor of dtype torch.int64"),
    ("y", torch.ones(3, 1, dtype=torch.int64), "y must be a floating Tensor, got Tensor of dtype torch.int64"),
    ("weight", torch.ones(1, 2, dtype=torch.complex64), "weight must be a floating Tensor, got Tensor of dtype torch.complex64"),
    ("weight", torch.tensor(1.0), r"expected weight of shape \((O|1), 2\) for X \(3, 2\), got \(\)"),
])
def test_bad_parameters_raise_type_or_value_errors(fn, which, value, match):
    args = dict(X=torch.ones(3, 2), y=torch.ones(3, 1), weight=torch.ones(1, 2), bias=torch.ones(1))
    args[which] = value
    if fn is predict and which == "y" or fn is least_squares and which != "y":
        return
    with pytest.raises((TypeError, ValueError), match=match):
        _call(fn, **args)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_least_squares_in_half_precision_is_a_type_error_not_a_torch_runtime_error(dtype):
    X, y = torch.ones(3, 2, dtype=dtype), torch.ones(3, 1, dtype=dtype)
    with pytest.raises(TypeError, match=rf"torch.float32 or torch.float64, got {dtype}"):
        least_squares(X, y)
    predict(X, torch.ones(1, 2, dtype=dtype), torch.ones(1, dtype=dtype))  # the rest works in any float dtype
