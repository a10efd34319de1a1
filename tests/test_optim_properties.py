"""Property-based tests for dlfoundations.optim: the book's optimizers against torch.optim at the edges.

Each property draws hyper-parameters that include their edges (lr = 0, momentum 0,
dampening, weight_decay 0, betas near 1, eps 0 or tiny), parameters and gradients whose
entries include 0, ±1, tiny, ±max, NaN and ±inf, empty and size-1 shapes, parameters
without a gradient, float32 and float64, runs the book's optimizer and
``torch.optim``'s own (``foreach=False``) side by side, and requires the same parameters
*and* the same optimizer state, NaN for NaN, after every step.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import DTYPES, assert_same, finite_tensors, tensors

from dlfoundations.optim import (
    SGD,
    Adam,
    AdamW,
    RMSprop,
    ill_conditioned_quadratic,
    rosenbrock,
    train_twins,
    trajectory,
)

ONE_BELOW_1 = math.nextafter(1.0, 0.0)

# ---------------------------------------------------------------- strategies


def _edge_or(edges: list[float], low: float, high: float, exclude_max: bool = False) -> st.SearchStrategy[float]:
    ordinary = st.floats(low, high, exclude_max=exclude_max, allow_nan=False, allow_infinity=False)
    return st.one_of(st.sampled_from(edges), ordinary)


LRS = _edge_or([0.0, 1e-3, 0.1, 1.0], 0.0, 10.0)
MOMENTA = _edge_or([0.0, 0.5, 0.9, 0.99, 1.0], 0.0, 1.0)
DAMPENINGS = _edge_or([0.0, 0.1, 0.5, 1.0], 0.0, 1.0)
WEIGHT_DECAYS = _edge_or([0.0, 1e-4, 0.1, 1.0], 0.0, 2.0)
BETAS = _edge_or([0.0, 0.5, 0.9, 0.999, 1 - 1e-8, ONE_BELOW_1], 0.0, 1.0, exclude_max=True)
EPSILONS = st.sampled_from([0.0, 5e-324, 1e-45, 1e-30, 1e-8, 1e-3, 1.0])


@st.composite
def problems(draw, dtype: torch.dtype | None = None, max_steps: int = 3):
    """Parameters and, for each step, one gradient (or ``None``) per parameter.

    Shapes may be empty or size 1; entries reach 0, ±1, tiny, ±max, NaN and ±inf.
    """
    dtype = draw(st.sampled_from(DTYPES)) if dtype is None else dtype
    num_params = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from([(0,), (1,), (3,), (2, 2), (2, 0)])) for _ in range(num_params)]
    params = [draw(tensors(dtype, shape=shape)) for shape in shapes]
    num_steps = draw(st.integers(1, max_steps))
    steps = []
    for _ in range(num_steps):
        steps.append([
            None if draw(st.booleans()) and draw(st.booleans()) else draw(tensors(dtype, shape=shape))
            for shape in shapes
        ])
    return params, steps


def _run(cls, params, steps, **kwargs):
    """Run ``cls`` on copies of ``params`` with the given gradients; return the parameters and the optimizer."""
    leaves = [torch.nn.Parameter(p.clone()) for p in params]
    extra = {"foreach": False} if cls.__module__.startswith("torch.optim") else {}
    optimizer = cls(leaves, **kwargs, **extra)
    history = []
    for grads in steps:
        for p, g in zip(leaves, grads):
            p.grad = None if g is None else g.clone()
        optimizer.step()
        history.append([p.detach().clone() for p in leaves])
    return leaves, optimizer, history


def _tolerances(dtype: torch.dtype) -> dict[str, float]:
    return dict(rtol=1e-5, atol=1e-30) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-300)


def _assert_same_run(ours, reference, params, steps, state_keys, **kwargs):
    mine, opt_mine, hist_mine = _run(ours, params, steps, **kwargs)
    theirs, opt_theirs, hist_theirs = _run(reference, params, steps, **kwargs)
    tol = _tolerances(params[0].dtype)
    for step_mine, step_theirs in zip(hist_mine, hist_theirs):  # after every step, not only the last
        for p, q in zip(step_mine, step_theirs):
            assert p.dtype == q.dtype
            assert_same(p, q, **tol)
    for p, q in zip(mine, theirs):
        state_mine, state_theirs = opt_mine.state.get(p, {}), opt_theirs.state.get(q, {})
        for key in state_keys:
            assert (key in state_mine) == (key in state_theirs), key
            if key in state_theirs:
                assert_same(state_mine[key], state_theirs[key], **tol)


# ---------------------------------------------------------------- equal to torch.optim, step by step


@given(problem=problems(), lr=LRS, momentum=MOMENTA, dampening=DAMPENINGS, weight_decay=WEIGHT_DECAYS,
       nesterov=st.booleans())
def test_sgd_equals_torch_at_the_edges(problem, lr, momentum, dampening, weight_decay, nesterov):
    if nesterov and (momentum == 0 or dampening != 0):
        dampening, momentum = 0.0, max(momentum, 0.5)  # Nesterov needs momentum and no dampening
    _assert_same_run(SGD, torch.optim.SGD, *problem, ["momentum_buffer"], lr=lr, momentum=momentum,
                     dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)


@given(problem=problems(), lr=LRS, alpha=BETAS, eps=EPSILONS, weight_decay=WEIGHT_DECAYS, momentum=MOMENTA,
       centered=st.booleans())
def test_rmsprop_equals_torch_at_the_edges(problem, lr, alpha, eps, weight_decay, momentum, centered):
    keys = ["square_avg"] + (["grad_avg"] if centered else []) + (["momentum_buffer"] if momentum > 0 else [])
    _assert_same_run(RMSprop, torch.optim.RMSprop, *problem, keys, lr=lr, alpha=alpha, eps=eps,
                     weight_decay=weight_decay, momentum=momentum, centered=centered)


@pytest.mark.parametrize(("ours", "reference"), [(Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)])
@given(problem=problems(), lr=LRS, beta1=BETAS, beta2=BETAS, eps=EPSILONS, weight_decay=WEIGHT_DECAYS)
def test_adam_and_adamw_equal_torch_at_the_edges(ours, reference, problem, lr, beta1, beta2, eps, weight_decay):
    _assert_same_run(ours, reference, *problem, ["exp_avg", "exp_avg_sq"], lr=lr, betas=(beta1, beta2), eps=eps,
                     weight_decay=weight_decay)


@pytest.mark.parametrize(
    ("ours", "reference", "kwargs"),
    [
        (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
        (RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
        (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
        (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    ],
)
@settings(max_examples=20)
@given(problem=problems(dtype=torch.float64))
def test_parameters_of_different_dtypes_keep_their_dtype(ours, reference, kwargs, problem):
    """One optimizer over a float32 and a float64 parameter: each is updated in its own dtype, as torch does."""
    params, steps = problem
    params = [params[0].float()] + params[1:]
    steps = [[None if g is None else (g.float() if i == 0 else g) for i, g in enumerate(grads)] for grads in steps]
    mine, _, _ = _run(ours, params, steps, **kwargs)
    theirs, _, _ = _run(reference, params, steps, **kwargs)
    for p, q, p0 in zip(mine, theirs, params):
        assert p.dtype == q.dtype == p0.dtype
        assert_same(p.detach(), q.detach(), **_tolerances(p0.dtype))


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adam, AdamW])
@settings(max_examples=20)
@given(params=st.lists(finite_tensors(torch.float64, shape=(3,)), min_size=1, max_size=2),
       grads=st.lists(tensors(torch.float64, shape=(3,)), min_size=2, max_size=2))
def test_lr_zero_leaves_finite_parameters_unchanged(cls, params, grads):
    """lr = 0 is a valid learning rate everywhere: finite gradients move nothing; inf and NaN still poison, as in torch."""
    steps = [[g] * len(params) for g in grads]
    kwargs = dict(lr=0.0, weight_decay=0.0) if cls is not AdamW else dict(lr=0.0)
    mine, _, _ = _run(cls, params, steps, **kwargs)
    theirs, _, _ = _run(getattr(torch.optim, cls.__name__), params, steps, **kwargs)
    for p, q, p0 in zip(mine, theirs, params):
        assert_same(p.detach(), q.detach(), rtol=0.0, atol=0.0)
    if all(torch.isfinite(g).all() for g in grads) and cls is SGD:
        for p, p0 in zip(mine, params):
            assert torch.equal(p.detach(), p0)


@pytest.mark.parametrize(
    ("ours", "reference", "kwargs"),
    [
        (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
        (RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
        (Adam, torch.optim.Adam, dict(lr=0.01)),
        (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    ],
)
@settings(max_examples=15)
@given(data=st.data())
def test_complex_parameters_are_updated_as_torch_does(ours, reference, kwargs, data):
    """torch.optim treats a complex parameter as pairs of reals; so does the book's optimizer."""
    dtype = data.draw(st.sampled_from([torch.complex64, torch.complex128]))
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    shape = (data.draw(st.integers(0, 3)),)

    def draw_complex():
        return torch.complex(data.draw(finite_tensors(real, shape=shape)), data.draw(finite_tensors(real, shape=shape)))

    p0 = draw_complex()
    steps = [[draw_complex()] for _ in range(2)]
    mine, _, _ = _run(ours, [p0], steps, **kwargs)
    theirs, _, _ = _run(reference, [p0], steps, **kwargs)
    assert mine[0].dtype == dtype
    assert_same(torch.view_as_real(mine[0].detach()), torch.view_as_real(theirs[0].detach()), **_tolerances(real))


@pytest.mark.parametrize(
    ("ours", "reference", "kwargs", "dtype", "p0", "grads"),
    [
        # m_1 = lerp(0, inf, 1) is NaN in torch (inf - inf * 0), not inf: the state must agree too.
        (Adam, torch.optim.Adam, dict(betas=(0.0, 0.9)), torch.float64, 0.0, [math.inf]),
        # v_1 / (1 - beta2) overflows float32 (3.6e38) while sqrt(v_1) / sqrt(1 - beta2) does not:
        # the step must be about lr, not 0.
        (Adam, torch.optim.Adam, dict(lr=1e-3), torch.float32, 0.0, [1.9e19]),
        (AdamW, torch.optim.AdamW, dict(lr=1e-3), torch.float32, 0.0, [1.9e19, -1.9e19]),
        # v_t - g_bar^2 = inf - inf is NaN when computed in two roundings; torch's fused addcmul gives inf.
        (RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True), torch.float64, 0.0, [1.3408e156]),
        (RMSprop, torch.optim.RMSprop, dict(lr=0.0, alpha=0.0, eps=0.0, centered=True), torch.float32, 0.0, [3.4028e38, 0.0]),
        # theta - lr g with lr g = inf but theta - lr g finite: torch's add(alpha=-lr) is fused.
        (SGD, torch.optim.SGD, dict(lr=2.0), torch.float32, 3.4028e38, [3.4028e38]),
    ],
)
def test_found_disagreements_stay_fixed(ours, reference, kwargs, dtype, p0, grads):
    params = [torch.tensor([p0], dtype=dtype)]
    steps = [[torch.tensor([g], dtype=dtype)] for g in grads]
    keys = ["exp_avg", "exp_avg_sq", "square_avg", "grad_avg", "momentum_buffer"]
    mine, opt_mine, hist_mine = _run(ours, params, steps, **kwargs)
    theirs, opt_theirs, hist_theirs = _run(reference, params, steps, **kwargs)
    for p, q in zip(hist_mine, hist_theirs):  # after every step
        assert_same(p[0], q[0], **_tolerances(dtype))
    for key in keys:
        if key in opt_theirs.state[theirs[0]]:
            assert_same(opt_mine.state[mine[0]][key], opt_theirs.state[theirs[0]][key], **_tolerances(dtype))


@pytest.mark.parametrize(
    ("ours", "reference", "kwargs", "keys"),
    [
        (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), ["momentum_buffer"]),
        (RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True), ["square_avg", "grad_avg"]),
        (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1), ["exp_avg", "exp_avg_sq"]),
        (AdamW, torch.optim.AdamW, dict(lr=0.01), ["exp_avg", "exp_avg_sq"]),
    ],
)
@settings(max_examples=15)
@given(problem=problems(max_steps=4), split=st.integers(1, 3))
def test_state_dicts_interchange_with_torch_optim(ours, reference, kwargs, keys, problem, split):
    """Train with one, load its state_dict into the other, go on: the same parameters as torch alone,
    both ways (Adam's step count is an int here and a tensor in torch.optim; both are read)."""
    params, steps = problem
    split = min(split, len(steps))
    alone, _, _ = _run(reference, params, steps, **kwargs)
    for first, second in ((reference, ours), (ours, reference)):
        leaves, opt_first, _ = _run(first, params, steps[:split], **kwargs)
        extra = {"foreach": False} if second is reference else {}
        opt_second = second(leaves, **kwargs, **extra)
        opt_second.load_state_dict(copy.deepcopy(opt_first.state_dict()))
        for grads in steps[split:]:
            for p, g in zip(leaves, grads):
                p.grad = None if g is None else g.clone()
            opt_second.step()
        for p, q in zip(leaves, alone):
            assert_same(p.detach(), q.detach(), **_tolerances(p.dtype))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (SGD, dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
        (SGD, dict(lr=math.inf), ValueError, "Invalid learning rate: inf"),
        (SGD, dict(lr=None), TypeError, "lr must be a float, got NoneType"),
        (SGD, dict(momentum=math.nan), ValueError, "Invalid momentum value: nan"),
        (SGD, dict(dampening="0"), TypeError, "dampening must be a float, got str"),
        (SGD, dict(dampening=math.nan), ValueError, "Invalid dampening value: nan"),
        (SGD, dict(weight_decay=math.inf), ValueError, "Invalid weight_decay value: inf"),
        (SGD, dict(momentum=0.9, nesterov="yes"), TypeError, "nesterov must be a bool, got str"),
        (RMSprop, dict(alpha=-0.1), ValueError, r"Invalid alpha: -0.1 \(expected a finite number >= 0 and < 1\)"),
        (RMSprop, dict(alpha=math.nan), ValueError, "Invalid alpha: nan"),
        (RMSprop, dict(momentum=-1.0), ValueError, "Invalid momentum value: -1.0"),
        (RMSprop, dict(centered=1), TypeError, "centered must be a bool, got int"),
        (RMSprop, dict(eps=math.inf), ValueError, "Invalid epsilon value: inf"),
        (Adam, dict(betas=(0.9,)), TypeError, r"betas must be a tuple of two floats, got \(0.9,\)"),
        (Adam, dict(betas=(0.9, "0.999")), TypeError, r"betas\[1\] must be a float, got str"),
        (Adam, dict(betas=(math.nan, 0.999)), ValueError, "Invalid beta parameter at index 0: nan"),
        (Adam, dict(betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at index 1: 1.0"),
        (Adam, dict(eps=math.nan), ValueError, "Invalid epsilon value: nan"),
        (AdamW, dict(lr=-1e-3), ValueError, "Invalid learning rate: -0.001"),
        (AdamW, dict(eps="1e-8"), TypeError, "eps must be a float, got str"),
    ],
)
def test_invalid_hyperparameters_raise_naming_the_value(cls, kwargs, error, match):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(error, match=match):
        cls([p], **kwargs)


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [(SGD, dict(lr=math.inf)), (SGD, dict(weight_decay=math.inf)), (RMSprop, dict(eps=math.inf)),
     (RMSprop, dict(alpha=1.0)), (Adam, dict(eps=math.inf))],
)
def test_documented_stricter_checks_than_torch(cls, kwargs):
    """Note in the docstrings: torch accepts these (an infinite rate, alpha = 1 that never updates v);
    the book's optimizers reject them with a ValueError."""
    p = torch.zeros(2, requires_grad=True)
    getattr(torch.optim, cls.__name__)([p], **kwargs)  # torch accepts
    with pytest.raises(ValueError):
        cls([p], **kwargs)


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adam, AdamW])
@pytest.mark.parametrize(
    ("params", "error"),
    [([], ValueError), (torch.zeros(2, requires_grad=True), TypeError), ([torch.zeros(2) + 1.0], ValueError)],
)
def test_invalid_params_raise_as_in_torch(cls, params, error):
    """An empty list, a bare tensor, or a non-leaf tensor: the same error type torch.optim raises."""
    if isinstance(params, list) and params:
        params = [torch.zeros(2, requires_grad=True) * 2.0]  # a non-leaf
    with pytest.raises(error):
        getattr(torch.optim, cls.__name__)(params)
    with pytest.raises(error):
        cls(params)


# ---------------------------------------------------------------- test functions and helpers


def _rosenbrock_grad(xy, a, b):
    x, y = xy[..., 0], xy[..., 1]
    return torch.stack([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)], dim=-1)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_rosenbrock_values_and_autograd_gradient(dtype, data):
    xy = data.draw(finite_tensors(dtype, bound=10.0, min_dims=1, max_dims=3, min_side=0, max_side=3).filter(
        lambda t: t.shape[-1:] == (2,)) | finite_tensors(dtype, bound=10.0, shape=(2,)))
    a = data.draw(st.sampled_from([0.0, 1.0, -2.0]))
    b = data.draw(st.sampled_from([0.0, 1.0, 100.0]))
    x, y = xy[..., 0], xy[..., 1]
    value = rosenbrock(xy, a, b)
    assert value.dtype == dtype and value.shape == xy.shape[:-1]
    assert_same(value, (a - x) ** 2 + b * (y - x**2) ** 2)
    leaf = xy.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(rosenbrock(leaf, a, b).sum(), leaf)
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-9)
    assert_same(grad, _rosenbrock_grad(xy, a, b), **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_quadratic_values_and_gradient_propagate_nan_and_inf(dtype, data):
    xy = data.draw(tensors(dtype, shape=(data.draw(st.integers(0, 3)), 2)))
    kappa = data.draw(st.sampled_from([1.0, 25.0, 1e3]))
    value = ill_conditioned_quadratic(xy, kappa)
    assert value.dtype == dtype
    assert_same(value, 0.5 * (xy[..., 0] ** 2 + kappa * xy[..., 1] ** 2))
    # The gradient (x, kappa y), NaN where the input is NaN; away from the overflow of x^2.
    xy = data.draw(tensors(dtype, shape=xy.shape, allow_infinity=False, min_value=-(2.0**50), max_value=2.0**50))
    leaf = xy.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ill_conditioned_quadratic(leaf, kappa).sum(), leaf)
    assert_same(grad, xy * torch.tensor([1.0, kappa], dtype=dtype))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: rosenbrock(torch.zeros(2), a="1"), TypeError, "a must be a float, got str"),
        (lambda: rosenbrock(torch.zeros(2), b=math.nan), ValueError, "Invalid b: nan"),
        (lambda: rosenbrock(torch.zeros(2, dtype=torch.int64)), TypeError, "xy must be a floating Tensor, got Tensor of dtype torch.int64"),
        (lambda: ill_conditioned_quadratic(torch.zeros(2), kappa=math.inf), ValueError, "Invalid kappa: inf"),
        (lambda: ill_conditioned_quadratic(torch.zeros(2), kappa=None), TypeError, "kappa must be a float, got NoneType"),
        (lambda: trajectory(rosenbrock, None, SGD, 3, lr=0.1), TypeError, "start must be a pair of floats, got NoneType"),
        (lambda: trajectory(rosenbrock, ("a", 0.0), SGD, 3, lr=0.1), TypeError, r"start\[0\] must be a float, got str"),
        (lambda: trajectory("f", (0.0, 0.0), SGD, 3, lr=0.1), TypeError, "f must be callable, got str"),
        (lambda: trajectory(lambda xy: xy, (0.0, 0.0), SGD, 3, lr=0.1), ValueError,
         r"expected f to return a scalar tensor, got shape \(2,\)"),
        (lambda: trajectory(rosenbrock, (0.0, 0.0), SGD, 2.0, lr=0.1), TypeError, "num_steps must be an int, got float"),
        (lambda: train_twins(SGD, torch.optim.SGD, num_steps=True, lr=0.1), TypeError, "num_steps must be an int, got bool"),
        (lambda: train_twins(SGD, torch.optim.SGD, num_steps=-1, lr=0.1), ValueError, "Invalid num_steps: -1"),
    ],
)
def test_helpers_reject_bad_input_naming_it(call, error, match):
    with pytest.raises(error, match=match):
        call()


@given(lr=LRS.filter(lambda lr: lr <= 0.05), momentum=MOMENTA, num_steps=st.integers(1, 5))
def test_trajectory_equals_torch_sgd_path(lr, momentum, num_steps):
    f = lambda xy: ill_conditioned_quadratic(xy, 10.0)  # noqa: E731
    mine = trajectory(f, (1.5, -0.5), SGD, num_steps, lr=lr, momentum=momentum)
    theirs = trajectory(f, (1.5, -0.5), torch.optim.SGD, num_steps, lr=lr, momentum=momentum, foreach=False)
    assert mine.shape == (num_steps + 1, 2) and mine.dtype == torch.float64
    assert_same(mine, theirs, rtol=1e-12, atol=1e-14)
    if lr == 0.0:
        assert torch.equal(mine, mine[:1].expand_as(mine))


def test_numpy_hyperparameters_are_numbers_as_in_torch():
    import numpy as np

    p = torch.zeros(2, requires_grad=True)
    optimizer = Adam([p], lr=np.float32(0.01), betas=(np.float64(0.9), np.float32(0.99)), eps=np.float64(1e-8))
    assert isinstance(optimizer.param_groups[0]["lr"], float)
    SGD([p], lr=np.float64(0.1), momentum=np.int64(0))
