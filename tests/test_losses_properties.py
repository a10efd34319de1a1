"""Property-based tests for dlfoundations.losses: equal to torch.nn.functional at the edges too.

Hypothesis draws predictions, targets and logits that reach exact zeros and kinks (L1 at r = 0,
Huber at |r| = delta, BCE with logits at z = 0), NaN, ±inf, magnitudes near the float limits,
empty batches, size-1 dimensions and absent classes (``tests/strategies.py``). Each loss is
compared with its ``torch.nn.functional`` counterpart on values and on the autograd gradients with
respect to every floating argument, in float32 and float64 and for every reduction. Where a loss
differs from PyTorch on purpose (its docstring's ``Note:``), the test asserts what the Note says.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import DTYPES, assert_same, grads, scalars, tensors

from dlfoundations import losses as L

REDUCTIONS = ("mean", "sum", "none")


def _grad_output(out: torch.Tensor) -> torch.Tensor:
    """Weights for the upstream gradient: distinct per element, so a swapped or misplaced entry shows."""
    return torch.linspace(0.5, 1.5, max(out.numel(), 1), dtype=out.dtype)[: out.numel()].reshape(out.shape)


def assert_same_up_to_overflow(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """``assert_same``, except that where one side is ±inf and the other a finite number of the same sign
    in the top eighth of the dtype's range, both count as overflowed.

    Near the largest float a gradient such as 2 r / n overflows or not depending on the order of the
    multiplications (PyTorch's backward forms 2/n * r first, autograd through r**2 forms 2 * r): the two
    agree that the gradient is at the top of the range, and no order is more right than the other.
    """
    top = torch.finfo(actual.dtype).max / 8
    one_inf = torch.isinf(actual) ^ torch.isinf(expected)
    finite_side = torch.where(torch.isinf(actual), expected, actual)
    inf_side = torch.where(torch.isinf(actual), actual, expected)
    overflowed = one_inf & (finite_side.abs() >= top) & (torch.sign(finite_side) == torch.sign(inf_side))
    assert_same(actual[~overflowed], expected[~overflowed])


def _check_values_and_grads(ours, theirs, *inputs, rtol=None, atol=None):
    """Same value (NaN and ±inf included) and same autograd gradient for every input."""
    out = ours(*inputs)
    expected = theirs(*inputs)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    assert_same(out, expected, rtol=rtol, atol=atol)
    w = _grad_output(out)
    for g_ours, g_theirs in zip(grads(ours, *inputs, grad_output=w), grads(theirs, *inputs, grad_output=w)):
        assert g_ours.dtype == g_theirs.dtype and g_ours.shape == g_theirs.shape
        assert_same_up_to_overflow(g_ours, g_theirs)


# ---------------------------------------------------------------- strategies

# Built once per dtype: a strategy object built afresh inside every example costs more than the test.
_NP = {torch.float32: np.float32, torch.float64: np.float64}


def _elements(dtype: torch.dtype) -> st.SearchStrategy[float]:
    """The shared ``scalars``, with NaN, ±inf and ±0 drawn more often: a loss mixes two or more
    tensors, and each non-finite pairing (inf - inf, 0 * inf, ...) should appear in a run."""
    return st.one_of(scalars(dtype), scalars(dtype), scalars(dtype),
                     st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]))


def _arrays(dtype: torch.dtype, shapes: st.SearchStrategy[tuple[int, ...]]) -> st.SearchStrategy[torch.Tensor]:
    return hnp.arrays(_NP[dtype], shapes, elements=_elements(dtype)).map(lambda a: torch.from_numpy(a.copy()))


def _shapes(min_dims: int, max_dims: int) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=5)


# A tensor of shape (2, *S): two arguments of one drawn shape S (0-d, empty and size-1 sides included).
STACKED = {dtype: _arrays(dtype, _shapes(0, 3).map(lambda S: (2, *S))) for dtype in DTYPES}
LOGITS_2D = {dtype: _arrays(dtype, _shapes(2, 2)) for dtype in DTYPES}
ANY_DIMS = {dtype: _arrays(dtype, _shapes(1, 3)) for dtype in DTYPES}


def _unit_interval(t: torch.Tensor, how: str) -> torch.Tensor:
    """Map edge-reaching entries into [0, 1]: exact 0 and 1, 1/2, values near e^-100, soft and hard labels."""
    if how == "hard":
        return (t > 0).to(t.dtype)
    if how == "sigmoid":  # sigma(+-max), sigma(+-inf) are exactly 0 and 1; sigma(-log max) is tiny
        return torch.nan_to_num(torch.sigmoid(t), nan=1.0)
    return torch.nan_to_num(t.abs(), nan=0.0).clamp(max=1.0)  # 0, tiny, eps, 1/2, 1


def _draw_pair(data, dtype):
    both = data.draw(STACKED[dtype], label="(y_hat, y) stacked")
    return both[0].clone(), both[1].clone()


def _draw_classification(data, dtype):
    """Logits ``(N, K)`` with edge values and class indices in ``[0, K)``: N = 0, K = 1 and absent classes included."""
    Z = data.draw(LOGITS_2D[dtype], label="Z")
    N, K = Z.shape
    if K == 0:
        Z = Z[:0]  # no valid class index exists for a row without classes
        N = 0
    classes = data.draw(st.lists(st.integers(0, max(K - 1, 0)), min_size=N, max_size=N), label="y")
    return Z, torch.tensor(classes, dtype=torch.int64)


# ---------------------------------------------------------------- regression losses

REGRESSION = {
    "mse_loss": (L.mse_loss, F.mse_loss),
    "l1_loss": (L.l1_loss, F.l1_loss),
}


@pytest.mark.parametrize("name", REGRESSION)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), reduction=st.sampled_from(REDUCTIONS), same=st.booleans())
def test_mse_and_l1_equal_pytorch(name, data, dtype, reduction, same):
    ours, theirs = REGRESSION[name]
    y_hat, y = _draw_pair(data, dtype)
    if same:  # y = y_hat: zero residuals (L1's kink) in every finite entry
        y = y_hat.clone()
    _check_values_and_grads(lambda a, b: ours(a, b, reduction), lambda a, b: theirs(a, b, reduction=reduction),
                            y_hat, y)


@given(data=st.data(), dtype=st.sampled_from(DTYPES), reduction=st.sampled_from(REDUCTIONS))
def test_huber_equals_pytorch_also_at_the_kink(data, dtype, reduction):
    y_hat, y = _draw_pair(data, dtype)
    residuals = (y_hat - y).abs()
    kinks = [r for r in residuals.flatten().tolist() if math.isfinite(r) and r > 0]
    # delta is often one of the residuals, so that |r| = delta exactly for that entry.
    delta = data.draw(st.one_of(st.sampled_from([1.0, 0.5, 2.0, 1e-3, 1e3]),
                                st.sampled_from(kinks) if kinks else st.just(1.0)), label="delta")
    _check_values_and_grads(lambda a, b: L.huber_loss(a, b, reduction, delta=delta),
                            lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta), y_hat, y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_huber_gradient_at_the_kink_and_at_infinity(dtype):
    y_hat = torch.tensor([-2.0, 2.0, 0.0, math.inf, -math.inf, 1.0], dtype=dtype)
    y = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, math.nan], dtype=dtype)
    (g,) = grads(lambda a: L.huber_loss(a, y, "sum", delta=2.0), y_hat)
    # The slope is +-delta at |r| = delta and beyond (also at r = +-inf), 0 at r = 0, NaN at NaN.
    assert_same(g, torch.tensor([-2.0, 2.0, 0.0, 2.0, -2.0, math.nan], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_near_the_float_limit_overflow_only_when_the_gradient_does(dtype):
    # Residuals of +-max: the gradient 2 r / n of the mean over n = 4 is max / 2, finite. Autograd
    # through r**2 forms 2 r first, which overflows; r * r does not.
    big = torch.finfo(dtype).max
    y_hat = torch.tensor([big, -big, 0.0, 0.0], dtype=dtype)
    y = torch.zeros(4, dtype=dtype)
    for ours, theirs in [(L.mse_loss, F.mse_loss), (lambda a, b: L.huber_loss(a, b, delta=big),
                                                      lambda a, b: F.huber_loss(a, b, delta=big))]:
        (g_ours,) = grads(lambda a: ours(a, y), y_hat)
        (g_theirs,) = grads(lambda a: theirs(a, y), y_hat)
        assert torch.isfinite(g_ours).all()
        assert_same(g_ours, g_theirs)


# ---------------------------------------------------------------- binary cross-entropy


@given(data=st.data(), dtype=st.sampled_from(DTYPES), reduction=st.sampled_from(REDUCTIONS),
       labels=st.sampled_from(["hard", "sigmoid", "clamp"]))
def test_bce_with_logits_equals_pytorch(data, dtype, reduction, labels):
    Z, t = _draw_pair(data, dtype)
    y = _unit_interval(t, labels)
    _check_values_and_grads(
        lambda z, t: L.bce_with_logits_loss(z, t, reduction),
        lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction=reduction), Z, y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_gradient_at_zero_is_sigmoid_minus_y(dtype):
    # The case: at z = 0 the gradient is (0.5 - y)/N, not (1 - y)/N.
    Z = torch.zeros(4, 1, dtype=dtype)
    y = torch.tensor([[0.0], [1.0], [0.25], [1.0]], dtype=dtype)
    (g_Z, g_y) = grads(L.bce_with_logits_loss, Z, y)
    assert_same(g_Z, (0.5 - y) / 4)
    assert_same(g_y, torch.zeros_like(y))  # d/dy = -z/N = 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_at_infinite_logits_is_pytorchs(dtype):
    Z = torch.tensor([math.inf, math.inf, -math.inf, -math.inf, math.nan], dtype=dtype)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0], dtype=dtype)
    _check_values_and_grads(lambda z, t: L.bce_with_logits_loss(z, t, "none"),
                            lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none"), Z, y)


_E_MINUS_100 = math.exp(-100)


@given(data=st.data(), dtype=st.sampled_from(DTYPES), probabilities=st.sampled_from(["sigmoid", "clamp"]),
       labels=st.sampled_from(["hard", "sigmoid", "clamp"]))
def test_bce_loss_equals_pytorch_where_documented_and_exceeds_it_elsewhere(data, dtype, probabilities, labels):
    p, t = _draw_pair(data, dtype)
    y_hat, y = _unit_interval(p, probabilities), _unit_interval(t, labels)
    ours = L.bce_loss(y_hat, y, "none")
    theirs = F.binary_cross_entropy(y_hat, y, reduction="none")
    # The Note: PyTorch clamps each log at -100 and divides its gradient by max(p(1 - p), 1e-12).
    values_agree = (y_hat >= _E_MINUS_100) & (1 - y_hat >= _E_MINUS_100)
    assert_same(ours[values_agree], theirs[values_agree])
    elsewhere = ~values_agree & ~torch.isnan(ours)
    # Clamping can only lower the loss (up to PyTorch's log1p(-p) where ours takes log(1 - p)).
    assert (ours[elsewhere] >= theirs[elsewhere] - 1e-6).all()
    w = _grad_output(ours)
    g_ours = grads(lambda a, b: L.bce_loss(a, b, "none"), y_hat, y, grad_output=w)
    g_theirs = grads(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), y_hat, y, grad_output=w)
    grads_agree = y_hat * (1 - y_hat) >= 2e-12
    assert_same(g_ours[0][grads_agree], g_theirs[0][grads_agree])
    bigger = ~grads_agree & torch.isfinite(g_ours[0])
    assert (g_ours[0][bigger].abs() >= g_theirs[0][bigger].abs() * (1 - 1e-6)).all()
    assert_same(g_ours[1][values_agree], g_theirs[1][values_agree])  # d/dy = log(1 - p) - log(p)
    for reduction in ("mean", "sum"):
        if values_agree.all():
            assert_same(L.bce_loss(y_hat, y, reduction), F.binary_cross_entropy(y_hat, y, reduction=reduction))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_loss_at_the_ends_is_the_naive_formula_as_documented(dtype):
    y_hat = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    out = L.bce_loss(y_hat, y, "none")
    assert out[0] == math.inf and out[1] == math.inf  # confidently wrong: the true loss is infinite
    assert torch.isnan(out[2:]).all()  # 0 * log(0) = 0 * -inf = nan
    assert_same(F.binary_cross_entropy(y_hat, y, reduction="none"), torch.tensor([100.0, 100.0, 0.0, 0.0], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_loss_propagates_nan_where_pytorch_raises(dtype):
    y_hat = torch.tensor([0.5, math.nan], dtype=dtype)
    y = torch.tensor([1.0, 0.0], dtype=dtype)
    out = L.bce_loss(y_hat, y, "none")
    assert not torch.isnan(out[0]) and torch.isnan(out[1])
    assert torch.isnan(L.bce_loss(y_hat, y))
    with pytest.raises(RuntimeError):  # the Note's claim about PyTorch
        F.binary_cross_entropy(y_hat, y)


# ---------------------------------------------------------------- softmax cross-entropy


@given(data=st.data(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**31 - 1))
def test_log_softmax_equals_pytorch(data, dtype, seed):
    Z = data.draw(ANY_DIMS[dtype], label="Z")
    dim = data.draw(st.integers(-Z.ndim, Z.ndim - 1), label="dim")
    w = torch.randn(Z.shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    assert_same(L.log_softmax(Z, dim), F.log_softmax(Z, dim=dim))
    assert_same(grads(lambda t: L.log_softmax(t, dim), Z, grad_output=w)[0],
                grads(lambda t: F.log_softmax(t, dim=dim), Z, grad_output=w)[0])


@given(data=st.data(), dtype=st.sampled_from(DTYPES), reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_nll_and_gradient_equal_pytorch(data, dtype, reduction):
    Z, y = _draw_classification(data, dtype)
    _check_values_and_grads(lambda z: L.cross_entropy(z, y, reduction),
                            lambda z: F.cross_entropy(z, y, reduction=reduction), Z)
    # nll_loss on any log-probabilities (here the logits themselves, edges included).
    _check_values_and_grads(lambda z: L.nll_loss(z, y, reduction),
                            lambda z: F.nll_loss(z, y, reduction=reduction), Z)
    if reduction != "none":
        (expected,) = grads(lambda z: F.cross_entropy(z, y, reduction=reduction), Z)
        assert_same(L.cross_entropy_grad(Z, y, reduction), expected)


@given(Z=tensors(torch.float32, min_dims=2, max_dims=2, min_side=1, allow_nan=False, allow_infinity=False),
       seed=st.integers(0, 2**31 - 1))
def test_cross_entropy_of_huge_finite_float32_logits_equals_float64(Z, seed):
    # log-sum-exp keeps cross-entropy finite and accurate for any finite logits, however large
    # (Z = [m, m] with m = 1e38 must give log 2, not m + log 2 - m = 0).
    N, K = Z.shape
    y = torch.randint(0, K, (N,), generator=torch.Generator().manual_seed(seed))
    out = L.cross_entropy(Z, y, "none")
    exact = F.cross_entropy(Z.double(), y, reduction="none").float()  # float32's rounding of the exact value
    assert_same(out, exact, rtol=1e-5, atol=1e-5)
    assert_same(L.log_softmax(torch.stack([Z[0], Z[0]]), 0)[0], torch.full_like(Z[0], -math.log(2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_no_classes_and_no_examples(dtype, reduction):
    Z = torch.zeros(0, 0, dtype=dtype)
    y = torch.zeros(0, dtype=torch.int64)
    _check_values_and_grads(lambda z: L.cross_entropy(z, y, reduction),
                            lambda z: F.cross_entropy(z, y, reduction=reduction), Z)
    assert_same(L.log_softmax(torch.zeros(3, 0, dtype=dtype)), F.log_softmax(torch.zeros(3, 0, dtype=dtype), dim=-1))
    if reduction != "none":
        assert L.cross_entropy_grad(Z, y, reduction).shape == (0, 0)


def test_cross_entropy_refuses_pytorchs_ignore_index_as_documented():
    Z = torch.zeros(2, 3)
    y = torch.tensor([1, -100])
    assert F.cross_entropy(Z, y).item() == pytest.approx(math.log(3))  # PyTorch skips the -100 row
    for fn in (L.cross_entropy, L.nll_loss, L.cross_entropy_grad):
        with pytest.raises(ValueError, match=r"class indices in \[0, 3\) for K=3 classes, got -100 at index 1"):
            fn(Z, y)


# ---------------------------------------------------------------- mixed dtypes

PAIRS = {
    "mse_loss": (L.mse_loss, 0.25),
    "l1_loss": (L.l1_loss, 0.25),
    "huber_loss": (L.huber_loss, 0.25),
    "bce_loss": (L.bce_loss, 0.25),
    "bce_with_logits_loss": (L.bce_with_logits_loss, 0.25),
}


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float64), (torch.float64, torch.float32),
                                    (torch.float16, torch.float32), (torch.bfloat16, torch.float64)])
def test_mixed_dtypes_follow_pytorchs_promotion(name, dtypes):
    fn, value = PAIRS[name]
    y_hat = torch.full((3, 2), 0.5, dtype=dtypes[0])
    y = torch.full((3, 2), value, dtype=dtypes[1])
    wide = torch.promote_types(*dtypes)
    out = fn(y_hat, y, "none")
    assert out.dtype == wide  # one of the two, never a third
    assert_same(out, fn(y_hat.to(wide), y.to(wide), "none"))
    g_y_hat, g_y = grads(lambda a, b: fn(a, b), y_hat, y)
    assert g_y_hat.dtype == dtypes[0] and g_y.dtype == dtypes[1]


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("dtypes", [(torch.float16, torch.bfloat16), (torch.bfloat16, torch.float16)])
def test_mixed_dtypes_that_promote_to_a_third_are_refused(name, dtypes):
    fn, value = PAIRS[name]
    y_hat = torch.full((3,), 0.5, dtype=dtypes[0])
    y = torch.full((3,), value, dtype=dtypes[1])
    with pytest.raises(TypeError, match=rf"^{name} expected y_hat and y of the same dtype.*got y_hat "
                                        rf"{dtypes[0]} and y {dtypes[1]} \(they would promote to torch.float32\)"):
        fn(y_hat, y)


# ---------------------------------------------------------------- bad input

_P = torch.full((4, 1), 0.5)
_Z = torch.zeros(3, 4)
_Y = torch.tensor([0, 1, 2])
_ELEMENTWISE_LOSSES = [L.mse_loss, L.l1_loss, L.huber_loss, L.bce_loss, L.bce_with_logits_loss]
_CLASS_LOSSES = [L.cross_entropy, L.nll_loss, L.cross_entropy_grad]


def _name(fn):
    return fn.__name__


BAD_INPUTS = [
    *[(fn, (_P, torch.zeros(4)), {}, ValueError,
       rf"^{_name(fn)} expected y_hat and y of the same shape, got y_hat \(4, 1\) and y \(4,\)")
      for fn in _ELEMENTWISE_LOSSES],
    *[(fn, ([0.5], torch.zeros(1)), {}, TypeError, rf"^{_name(fn)} expected y_hat to be a torch.Tensor, got list")
      for fn in _ELEMENTWISE_LOSSES],
    *[(fn, (_P, np.zeros((4, 1))), {}, TypeError, rf"^{_name(fn)} expected y to be a torch.Tensor, got ndarray")
      for fn in _ELEMENTWISE_LOSSES],
    *[(fn, (torch.zeros(4, dtype=torch.int64), torch.zeros(4)), {}, TypeError,
       rf"^{_name(fn)} expected y_hat to be a floating tensor, got dtype torch.int64") for fn in _ELEMENTWISE_LOSSES],
    *[(fn, (torch.full((4,), 0.5), torch.zeros(4, dtype=torch.bool)), {}, TypeError,
       rf"^{_name(fn)} expected y to be a floating tensor, got dtype torch.bool") for fn in _ELEMENTWISE_LOSSES],
    *[(fn, (torch.full((4,), 0.5), torch.zeros(4)), {"reduction": bad}, ValueError,
       rf"reduction must be one of \('mean', 'sum', 'none'\), got {bad!r}")
      for fn in _ELEMENTWISE_LOSSES for bad in ("avg", None, "MEAN")],
    (L.huber_loss, (_P, _P), {"delta": -1.0}, ValueError, r"positive finite delta, got -1.0"),
    (L.huber_loss, (_P, _P), {"delta": 0.0}, ValueError, r"positive finite delta, got 0.0"),
    (L.huber_loss, (_P, _P), {"delta": math.inf}, ValueError, r"positive finite delta, got inf"),
    (L.huber_loss, (_P, _P), {"delta": math.nan}, ValueError, r"positive finite delta, got nan"),
    (L.huber_loss, (_P, _P), {"delta": "1"}, TypeError, r"delta to be a float, got str"),
    (L.huber_loss, (_P, _P), {"delta": True}, TypeError, r"delta to be a float, got bool"),
    (L.huber_loss, (_P, _P), {"delta": torch.tensor(1.0)}, TypeError, r"delta to be a float, got Tensor"),
    (L.bce_loss, (torch.tensor([0.5, 1.5]), torch.zeros(2)), {}, ValueError,
     r"probabilities y_hat in \[0, 1\], got 1.5 \(pass logits to bce_with_logits_loss\)"),
    (L.bce_loss, (torch.tensor([-0.0, -1e-30], dtype=torch.float64), torch.zeros(2, dtype=torch.float64)), {},
     ValueError, r"probabilities y_hat in \[0, 1\], got -1e-30"),
    (L.bce_loss, (torch.tensor([-math.inf]), torch.zeros(1)), {}, ValueError, r"probabilities y_hat in \[0, 1\], got -inf"),
    (L.log_softmax, ([1.0, 2.0],), {}, TypeError, r"log_softmax expected Z to be a torch.Tensor, got list"),
    (L.log_softmax, (torch.zeros(2, 3, dtype=torch.int64),), {}, TypeError, r"floating tensor, got dtype torch.int64"),
    (L.log_softmax, (torch.tensor(1.0),), {}, ValueError, r"at least 1 dimension, got a 0-d tensor"),
    (L.log_softmax, (_Z,), {"dim": 2}, ValueError, r"dim in \[-2, 1\] for a 2-d Z, got 2"),
    (L.log_softmax, (_Z,), {"dim": 1.0}, TypeError, r"dim to be an int, got float"),
    (L.log_softmax, (_Z,), {"dim": False}, TypeError, r"dim to be an int, got bool"),
    *[(fn, (_Z, torch.tensor([0, 4, 1])), {}, ValueError,
       rf"^{_name(fn)} expected class indices in \[0, 4\) for K=4 classes, got 4 at index 1") for fn in _CLASS_LOSSES],
    *[(fn, (torch.zeros(2, 0), torch.tensor([0, 0])), {}, ValueError,
       rf"^{_name(fn)} expected class indices in \[0, 0\) for K=0 classes, got 0 at index 0") for fn in _CLASS_LOSSES],
    *[(fn, (_Z, torch.tensor([0.0, 1.0, 2.0])), {}, TypeError,
       rf"^{_name(fn)} expected y to hold class indices of dtype torch.int64, got dtype torch.float32")
      for fn in _CLASS_LOSSES],
    *[(fn, (_Z, torch.tensor([0, 1, 2], dtype=torch.int32)), {}, TypeError,
       r"class indices of dtype torch.int64, got dtype torch.int32") for fn in _CLASS_LOSSES],
    *[(fn, (_Z, torch.tensor([[0], [1], [2]])), {}, ValueError, r"expected y of shape \(3,\), got \(3, 1\)")
      for fn in _CLASS_LOSSES],
    *[(fn, (_Z, torch.tensor([0, 1])), {}, ValueError, r"expected y of shape \(3,\), got \(2,\)") for fn in _CLASS_LOSSES],
    *[(fn, (_Z, [0, 1, 2]), {}, TypeError, r"expected y to be a torch.Tensor, got list") for fn in _CLASS_LOSSES],
    *[(fn, (torch.zeros(4), torch.tensor([1])), {}, ValueError, r"of shape \(N, K\), got \(4,\)") for fn in _CLASS_LOSSES],
    *[(fn, (torch.zeros(2, 3, 4), torch.tensor([1, 0])), {}, ValueError, r"of shape \(N, K\), got \(2, 3, 4\)")
      for fn in _CLASS_LOSSES],
    *[(fn, (torch.zeros(3, 4, dtype=torch.int64), _Y), {}, TypeError, r"floating tensor, got dtype torch.int64")
      for fn in _CLASS_LOSSES],
    *[(fn, (_Z.tolist(), _Y), {}, TypeError, r"to be a torch.Tensor, got list") for fn in _CLASS_LOSSES],
    (L.cross_entropy, (_Z, _Y), {"reduction": "avg"}, ValueError, r"reduction must be one of"),
    (L.nll_loss, (_Z, _Y), {"reduction": "avg"}, ValueError, r"reduction must be one of"),
    (L.cross_entropy_grad, (_Z, _Y), {"reduction": "none"}, ValueError, r"reduction 'mean' or 'sum', got 'none'"),
    (L.check_same_shape, (torch.zeros(2, 1), torch.zeros(2), "my_loss"), {}, ValueError, r"^my_loss expected"),
    (L.check_same_shape, (torch.zeros(2), (1, 2)), {}, TypeError, r"^loss expected y to be a torch.Tensor, got tuple"),
]


@pytest.mark.parametrize("fn, args, kwargs, error, message", BAD_INPUTS,
                         ids=[f"{case[0].__name__}-{i}" for i, case in enumerate(BAD_INPUTS)])
def test_bad_input_raises_a_message_naming_expected_and_got(fn, args, kwargs, error, message):
    with pytest.raises(error, match=message):
        fn(*args, **kwargs)
