"""Tests for dlfoundations.init: fills equal torch.nn.init's, gradient-flow measurements, clipping."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from torch import nn

from dlfoundations import init as ours
from dlfoundations.seed import make_generator

SHAPES = [(3, 5), (64, 32), (16, 8, 3, 3)]


def _fill_both(our_fn, torch_fn, shape, seed=0, dtype=torch.float64, **kwargs):
    w_ours = our_fn(torch.empty(shape, dtype=dtype), generator=make_generator(seed), **kwargs)
    w_torch = torch_fn(torch.empty(shape, dtype=dtype), generator=make_generator(seed), **kwargs)
    return w_ours, w_torch


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


# ---------------------------------------------------------------- fans and gains


@pytest.mark.parametrize("shape", SHAPES + [(7, 2, 5)])
def test_fan_in_and_fan_out_equal_pytorch(shape):
    w = torch.empty(shape)
    assert ours.calculate_fan_in_and_fan_out(w) == nn.init._calculate_fan_in_and_fan_out(w)


def test_fan_of_a_linear_weight_is_in_then_out():
    layer = nn.Linear(in_features=7, out_features=3)
    assert ours.calculate_fan_in_and_fan_out(layer.weight) == (7, 3)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fan_refuses_fewer_than_two_dims(shape):
    with pytest.raises(ValueError, match=rf"at least 2 dimensions .* got shape {re_shape(shape)}"):
        ours.calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fan_refuses_non_tensors_and_counts_integer_tensors_as_pytorch():
    with pytest.raises(TypeError, match="tensor must be a torch.Tensor, got list"):
        ours.calculate_fan_in_and_fan_out([[1.0, 2.0]])
    # fans depend on the shape only: PyTorch counts them for any dtype, and so do we
    w = torch.zeros(2, 3, dtype=torch.long)
    assert ours.calculate_fan_in_and_fan_out(w) == nn.init._calculate_fan_in_and_fan_out(w) == (3, 2)
    with pytest.raises(TypeError, match="tensor must be a floating Tensor, got Tensor of dtype torch.int64"):
        ours.xavier_uniform_(w)


@pytest.mark.parametrize(
    "nonlinearity, param",
    [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2)],
)
def test_gain_equals_pytorch(nonlinearity, param):
    assert ours.calculate_gain(nonlinearity, param) == pytest.approx(nn.init.calculate_gain(nonlinearity, param))


def test_relu_gain_follows_from_half_the_second_moment():
    # E[relu(z)^2] = Var[z] / 2 for symmetric z, so gain^2 = 2.
    z = torch.randn(400_000, generator=make_generator(3), dtype=torch.float64)
    half = (torch.relu(z) ** 2).mean() / z.var()
    assert abs(half.item() - 0.5) < 0.01
    assert ours.calculate_gain("relu") ** 2 == pytest.approx(1 / half.item(), rel=0.02)


def test_gain_refuses_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity must be one of .* got 'softplus'"):
        ours.calculate_gain("softplus")


def test_uniform_bound_has_the_wanted_std():
    assert ours.uniform_bound(0.5) == pytest.approx(math.sqrt(3) * 0.5)
    u = torch.empty(200_000, dtype=torch.float64).uniform_(-ours.uniform_bound(0.5), ours.uniform_bound(0.5))
    assert abs(u.std().item() - 0.5) < 0.005
    with pytest.raises(ValueError, match=r"Invalid std: -1.0 \(expected a finite number >= 0\)"):
        ours.uniform_bound(-1.0)


# ---------------------------------------------------------------- fills equal torch.nn.init


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_uniform_and_normal_equal_pytorch_with_the_same_generator(shape, dtype):
    torch.testing.assert_close(*_fill_both(ours.uniform_, nn.init.uniform_, shape, dtype=dtype, a=-0.3, b=0.7))
    torch.testing.assert_close(*_fill_both(ours.normal_, nn.init.normal_, shape, dtype=dtype, mean=0.1, std=0.02))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 5.0 / 3.0])
def test_xavier_equals_pytorch_with_the_same_generator(shape, gain):
    torch.testing.assert_close(*_fill_both(ours.xavier_uniform_, nn.init.xavier_uniform_, shape, gain=gain))
    torch.testing.assert_close(*_fill_both(ours.xavier_normal_, nn.init.xavier_normal_, shape, gain=gain))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "fan_out"},
        {"nonlinearity": "relu"},
        {"a": math.sqrt(5)},  # nn.Linear's default initialisation
        {"a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"},
        {"nonlinearity": "tanh"},
    ],
)
def test_kaiming_equals_pytorch_with_the_same_generator(shape, kwargs):
    torch.testing.assert_close(*_fill_both(ours.kaiming_uniform_, nn.init.kaiming_uniform_, shape, **kwargs))
    torch.testing.assert_close(*_fill_both(ours.kaiming_normal_, nn.init.kaiming_normal_, shape, **kwargs))


def test_nn_linear_default_is_uniform_one_over_sqrt_fan_in():
    # kaiming_uniform_(a=sqrt(5)) has bound sqrt(3) * sqrt(2 / 6) / sqrt(n) = 1 / sqrt(n).
    w = torch.empty(64, 100, dtype=torch.float64)
    ours.kaiming_uniform_(w, a=math.sqrt(5), generator=make_generator(1))
    expected = ours.uniform_(torch.empty(64, 100, dtype=torch.float64), -0.1, 0.1, generator=make_generator(1))
    torch.testing.assert_close(w, expected)


@pytest.mark.parametrize(
    "fill, kwargs, expected_std",
    [
        (ours.xavier_uniform_, {}, math.sqrt(2 / (300 + 200))),
        (ours.xavier_normal_, {"gain": 5 / 3}, 5 / 3 * math.sqrt(2 / (300 + 200))),
        (ours.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
        (ours.kaiming_normal_, {"nonlinearity": "relu", "mode": "fan_out"}, math.sqrt(2 / 300)),
    ],
)
def test_empirical_std_matches_the_analytic_std(fill, kwargs, expected_std):
    w = fill(torch.empty(300, 200, dtype=torch.float64), generator=make_generator(2), **kwargs)  # fan_in 200, fan_out 300
    assert abs(w.std().item() / expected_std - 1) < 0.01
    assert abs(w.mean().item()) < 0.05 * expected_std


def test_uniform_fills_stay_inside_the_bound():
    w = ours.kaiming_uniform_(torch.empty(300, 200, dtype=torch.float64), nonlinearity="relu", generator=make_generator(4))
    bound = math.sqrt(3) * math.sqrt(2 / 200)
    assert w.abs().max().item() <= bound
    assert w.abs().max().item() > 0.99 * bound


def test_a_wrong_uniform_bound_is_caught():
    # Using the std itself as the half-width (forgetting sqrt 3) must not pass the comparison.
    def wrong_xavier_uniform_(tensor, gain=1.0, generator=None):
        fan_in, fan_out = ours.calculate_fan_in_and_fan_out(tensor)
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
        return ours.uniform_(tensor, -std, std, generator=generator)

    with pytest.raises(AssertionError):
        torch.testing.assert_close(*_fill_both(wrong_xavier_uniform_, nn.init.xavier_uniform_, (64, 32)))


def test_a_swapped_fan_is_caught():
    def wrong_kaiming_normal_(tensor, generator=None, **kwargs):
        return ours.kaiming_normal_(tensor, generator=generator, mode="fan_out", nonlinearity="relu")

    with pytest.raises(AssertionError):
        torch.testing.assert_close(
            *_fill_both(wrong_kaiming_normal_, functools.partial(nn.init.kaiming_normal_, nonlinearity="relu"), (64, 32))
        )


def test_fills_are_in_place_and_outside_autograd():
    layer = nn.Linear(6, 4, dtype=torch.float64)
    out = ours.xavier_uniform_(layer.weight, generator=make_generator(0))
    assert out is layer.weight
    assert layer.weight.requires_grad and layer.weight.grad_fn is None


def test_same_seed_same_fill():
    a = ours.kaiming_normal_(torch.empty(8, 8), generator=make_generator(9))
    b = ours.kaiming_normal_(torch.empty(8, 8), generator=make_generator(9))
    assert torch.equal(a, b)


def test_fill_validation_messages():
    w = torch.empty(4, 3)
    with pytest.raises(ValueError, match=r"mode must be one of \('fan_in', 'fan_out'\), got 'fan_avg'"):
        ours.kaiming_uniform_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity must be one of .* got 'gelu'"):
        ours.kaiming_normal_(w, nonlinearity="gelu")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        ours.xavier_normal_(torch.empty(5))
    with pytest.raises(ValueError, match=r"Invalid gain: -1.0 \(expected a finite number >= 0\)"):
        ours.xavier_uniform_(w, gain=-1.0)
    with pytest.raises(ValueError, match="a <= b, got a=1.0 and b=0.0"):
        ours.uniform_(w, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"Invalid std: -0.1 \(expected a finite number >= 0\)"):
        ours.normal_(w, std=-0.1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None, got int"):
        ours.normal_(w, generator=0)
    with pytest.raises(TypeError, match="std must be a float, got str"):
        ours.normal_(w, std="0.1")


# ---------------------------------------------------------------- deep MLP and gradient flow


def _digits_like(N=64, D=16, C=5, seed=0):
    g = make_generator(seed)
    return torch.randn(N, D, generator=g, dtype=torch.float64), torch.randint(0, C, (N,), generator=g)


def test_deep_mlp_structure_and_init():
    model = ours.deep_mlp(16, 32, 5, 4, "relu", ours.xavier_normal_, make_generator(0), torch.float64)
    assert len(model) == 2 * 4 + 1
    assert [type(m).__name__ for m in model[:3]] == ["Linear", "ReLU", "Linear"]
    assert model[0].weight.shape == (32, 16) and model[-1].weight.shape == (5, 32)
    assert all(torch.count_nonzero(m.bias) == 0 for m in model[0::2])
    expected = ours.xavier_normal_(torch.empty(32, 16, dtype=torch.float64), generator=make_generator(0))
    torch.testing.assert_close(model[0].weight.detach(), expected)


def test_gradient_flow_matches_backward_and_hooks():
    X, y = _digits_like()
    model = ours.deep_mlp(16, 32, 5, 3, "tanh", ours.xavier_uniform_, make_generator(1), torch.float64)
    flow = ours.gradient_flow(model, X, y)
    assert flow.activation_std.shape == flow.preactivation_grad_std.shape == flow.weight_grad_std.shape == (3,)
    # Independent measurement: forward hooks and .backward().
    acts = []
    hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o)) for m in model[1::2]]
    loss = nn.functional.cross_entropy(model(X), y)
    loss.backward()
    for h in hooks:
        h.remove()
    torch.testing.assert_close(flow.activation_std, torch.stack([a.detach().std() for a in acts]))
    torch.testing.assert_close(flow.weight_grad_std, torch.stack([m.weight.grad.std() for m in model[0:-1:2]]))
    assert flow.loss == pytest.approx(loss.item())
    # dL/dZ of the last hidden layer is the output layer's backward: (dL/dY) W_out * tanh'(Z).
    Z_last = model[:-2](X)  # (N, H): pre-activation of the last hidden layer
    Z_last.requires_grad_(True)
    (g,) = torch.autograd.grad(nn.functional.cross_entropy(model[-1](torch.tanh(Z_last)), y), Z_last)
    assert flow.preactivation_grad_std[-1].item() == pytest.approx(g.std().item())


def test_gradient_flow_reproduces_vanishing_and_preservation():
    # ReLU: Xavier halves the variance per layer, Kaiming keeps it (He et al. 2015).
    X = torch.randn(128, 64, generator=make_generator(0), dtype=torch.float64)
    y = torch.randint(0, 10, (128,), generator=make_generator(1))
    L = 12
    ratios = {}
    for name, fill in [("xavier", ours.xavier_normal_), ("kaiming", functools.partial(ours.kaiming_normal_, nonlinearity="relu"))]:
        flow = ours.gradient_flow(ours.deep_mlp(64, 64, 10, L, "relu", fill, make_generator(2), torch.float64), X, y)
        ratios[name] = (flow.activation_std[-1] / flow.activation_std[0]).item()
    predicted_xavier = 2 ** (-(L - 1) / 2)
    assert 0.3 * predicted_xavier < ratios["xavier"] < 3 * predicted_xavier
    assert 0.4 < ratios["kaiming"] < 2.5


def test_gradient_flow_validation():
    X, y = _digits_like()
    model = ours.deep_mlp(16, 8, 5, 2, generator=make_generator(0), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 16\), got \(64, 15\)"):
        ours.gradient_flow(model, X[:, :15], y)
    with pytest.raises(TypeError, match="model must be an nn.Sequential"):
        ours.gradient_flow(nn.Linear(16, 5), X, y)
    with pytest.raises(TypeError, match="expected nn.Linear at even positions"):
        ours.gradient_flow(nn.Sequential(nn.Tanh(), nn.Linear(16, 5), nn.Tanh()), X, y)
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        ours.gradient_flow(model, X, y, loss_fn=lambda y_hat, y: y_hat)
    with pytest.raises(ValueError, match="nonlinearity must be one of .* got 'gelu'"):
        ours.deep_mlp(16, 8, 5, 2, "gelu")
    with pytest.raises(ValueError, match="num_layers must be a positive int, got 0"):
        ours.deep_mlp(16, 8, 5, 0)
    with pytest.raises(TypeError, match="init must be callable"):
        ours.deep_mlp(16, 8, 5, 2, init="xavier")


# ---------------------------------------------------------------- clipping


def _params_with_grads(seed, scale=1.0):
    g = make_generator(seed)
    shapes = [(8, 5), (8,), (3, 8), (3,)]
    params = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for p in params:
        p.grad = scale * torch.randn(p.shape, generator=g, dtype=torch.float64)
    return params


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("seed", [0, 1])
def test_clip_grad_norm_equals_pytorch(max_norm, norm_type, seed):
    a, b = _params_with_grads(seed), _params_with_grads(seed)
    norm_ours = ours.clip_grad_norm_(a, max_norm, norm_type)
    norm_torch = nn.utils.clip_grad_norm_(b, max_norm, norm_type, foreach=False)
    torch.testing.assert_close(norm_ours, norm_torch)
    for p, q in zip(a, b):
        torch.testing.assert_close(p.grad, q.grad)


def test_clipped_norm_is_max_norm_and_direction_kept():
    params = _params_with_grads(3, scale=10.0)
    before = torch.cat([p.grad.flatten() for p in params])
    total = ours.clip_grad_norm_(params, max_norm=1.0)
    after = torch.cat([p.grad.flatten() for p in params])
    torch.testing.assert_close(total, torch.linalg.vector_norm(before))
    assert torch.linalg.vector_norm(after).item() == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(after / after.norm(), before / before.norm())


def test_small_gradients_are_not_scaled_up():
    params = _params_with_grads(4, scale=1e-3)
    before = [p.grad.clone() for p in params]
    ours.clip_grad_norm_(params, max_norm=1.0)
    for p, g in zip(params, before):
        assert torch.equal(p.grad, g)


def test_per_parameter_clipping_is_caught():
    # A deliberately wrong variant: clip each tensor to max_norm separately.
    def wrong_clip_(params, max_norm):
        for p in params:
            p.grad.mul_(torch.clamp(max_norm / (p.grad.norm() + 1e-6), max=1.0))

    a, b = _params_with_grads(5, scale=5.0), _params_with_grads(5, scale=5.0)
    wrong_clip_(a, 1.0)
    nn.utils.clip_grad_norm_(b, 1.0)
    with pytest.raises(AssertionError):
        for p, q in zip(a, b):
            torch.testing.assert_close(p.grad, q.grad)


def test_clip_skips_missing_grads_and_validates():
    params = _params_with_grads(6)
    params.append(torch.zeros(2, requires_grad=True))  # .grad is None
    ours.clip_grad_norm_(params, 1.0)
    assert params[-1].grad is None
    with pytest.raises(ValueError, match=r"Invalid max_norm: -1.0 \(expected a finite number >= 0\)"):
        ours.clip_grad_norm_(params, -1.0)
    with pytest.raises(ValueError, match="norm_type must be >= 1 or inf, got 0.5"):
        ours.clip_grad_norm_(params, 1.0, norm_type=0.5)
    with pytest.raises(TypeError, match="parameters must be tensors, got float"):
        ours.clip_grad_norm_([1.0], 1.0)
