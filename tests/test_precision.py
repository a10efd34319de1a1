"""Tests for dlfoundations.precision: formats equal to torch.finfo, fields equal to PyTorch's own decoding
(every float16 and bfloat16 bit pattern), the loss-scale rule equal to torch.amp.GradScaler("cpu"), and
the autocast training step equal to the hand-written recipe."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlfoundations.precision import (
    FLOAT_LAYOUTS,
    AmpStep,
    amp_step,
    autocast_output_dtypes,
    float_fields,
    float_format,
    float_from_fields,
    found_inf,
    replay_scales,
    scaled_roundtrip,
    update_scale,
)

DTYPES = list(FLOAT_LAYOUTS)


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("dtype", DTYPES)
def test_float_format_equals_finfo(dtype):
    fmt, info = float_format(dtype), torch.finfo(dtype)
    assert fmt.dtype is dtype
    assert fmt.bits == info.bits == 1 + fmt.exponent_bits + fmt.mantissa_bits
    assert fmt.max == info.max
    assert -fmt.max == info.min
    assert fmt.smallest_normal == info.smallest_normal == info.tiny
    assert fmt.eps == info.eps
    # The smallest subnormal is the next number after 0; half of it rounds to 0 (ties to even).
    after_zero = torch.nextafter(torch.zeros(1, dtype=dtype), torch.ones(1, dtype=dtype))
    assert fmt.smallest_subnormal == after_zero.item()
    assert torch.tensor(fmt.smallest_subnormal / 2, dtype=torch.float64).to(dtype).item() == 0.0
    # The next value above max overflows: max + one unit in its last place rounds to inf.
    ulp_of_max = math.ldexp(1.0, math.frexp(fmt.max)[1] - 1 - fmt.mantissa_bits)
    assert math.isinf(torch.tensor(fmt.max + ulp_of_max, dtype=torch.float64).to(dtype).item())


def test_float_format_known_layouts():
    assert float_format(torch.float16)[1:5] == (16, 5, 10, 15)
    assert float_format(torch.bfloat16)[1:5] == (16, 8, 7, 127)
    assert float_format(torch.float32)[1:5] == (32, 8, 23, 127)
    # bfloat16 keeps float32's exponent: the same smallest normal, nearly the same max.
    assert float_format(torch.bfloat16).smallest_normal == float_format(torch.float32).smallest_normal


@pytest.mark.parametrize("bad, error, match", [
    ("float32", TypeError, "must be a torch.dtype, got str"),
    (torch.int32, ValueError, r"expected one of the dtypes .* got torch.int32"),
    (torch.float8_e4m3fn, ValueError, "got torch.float8_e4m3fn"),
])
def test_float_format_refuses_unknown_dtypes(bad, error, match):
    with pytest.raises(error, match=match):
        float_format(bad)


# ---------------------------------------------------------------- fields


def _all_patterns(dtype):
    return torch.arange(-(2**15), 2**15, dtype=torch.int32).to(torch.int16).view(dtype)  # all 65,536


def _assert_same_values(decoded, x):
    expected = x.double()
    torch.testing.assert_close(decoded, expected, rtol=0, atol=0, equal_nan=True)
    keep = ~expected.isnan()
    assert torch.equal(torch.signbit(decoded[keep]), torch.signbit(expected[keep]))  # -0.0 too


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_every_16_bit_pattern_decodes_to_pytorchs_value(dtype):
    x = _all_patterns(dtype)
    sign, exponent, mantissa = float_fields(x)
    E, M = FLOAT_LAYOUTS[dtype]
    assert sign.dtype == exponent.dtype == mantissa.dtype == torch.int64
    assert int(exponent.max()) == 2**E - 1 and int(mantissa.max()) == 2**M - 1
    _assert_same_values(float_from_fields(sign, exponent, mantissa, dtype), x)


@pytest.mark.parametrize("dtype, int_dtype", [(torch.float32, torch.int32), (torch.float64, torch.int64)])
def test_random_wide_patterns_and_edges_decode_to_pytorchs_value(dtype, int_dtype):
    g = torch.Generator().manual_seed(0)
    info = torch.iinfo(int_dtype)
    bits = torch.randint(info.min, info.max, (20_000,), dtype=int_dtype, generator=g)
    fmt = float_format(dtype)
    edges = torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, fmt.max, -fmt.max,
                          fmt.smallest_normal, fmt.smallest_subnormal, -fmt.smallest_subnormal], dtype=dtype)
    x = torch.cat([bits.view(dtype), edges])
    _assert_same_values(float_from_fields(*float_fields(x), dtype), x)


@pytest.mark.parametrize("value, dtype, fields", [
    (1.0, torch.float32, (0, 127, 0)),
    (-2.5, torch.float16, (1, 16, 256)),  # -1.25 x 2^1: mantissa .01 in binary = 256 / 1024
    (0.1, torch.bfloat16, (0, 123, 77)),  # 0.1 ~ 1.6015625 x 2^-4 in bfloat16
    (-0.0, torch.float16, (1, 0, 0)),
    (math.inf, torch.bfloat16, (0, 255, 0)),
])
def test_known_fields(value, dtype, fields):
    s, e, m = float_fields(torch.tensor([value], dtype=dtype))
    assert (s.item(), e.item(), m.item()) == fields


def test_fields_keep_shape_and_broadcast():
    x = torch.randn(3, 4, dtype=torch.float16)
    sign, exponent, mantissa = float_fields(x)
    assert sign.shape == exponent.shape == mantissa.shape == (3, 4)
    out = float_from_fields(torch.tensor(0), torch.tensor([15, 16]), torch.tensor([[0], [512]]), torch.float16)
    assert torch.equal(out, torch.tensor([[1.0, 2.0], [1.5, 3.0]], dtype=torch.float64))


@pytest.mark.parametrize("bad, error, match", [
    (torch.tensor([1, 2]), TypeError, "x must be a floating Tensor, got Tensor of dtype torch.int64"),
    ([1.0], TypeError, "x must be a floating Tensor, got list"),
    (torch.zeros(2, dtype=torch.float8_e5m2), ValueError, "got torch.float8_e5m2"),
])
def test_float_fields_refuses_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        float_fields(bad)


@pytest.mark.parametrize("fields, error, match", [
    ((torch.tensor([2]), torch.tensor([0]), torch.tensor([0])), ValueError, r"expected sign in \[0, 1\]"),
    ((torch.tensor([0]), torch.tensor([32]), torch.tensor([0])), ValueError, r"expected exponent in \[0, 31\]"),
    ((torch.tensor([0]), torch.tensor([1]), torch.tensor([-1])), ValueError, r"expected mantissa in \[0, 1023\]"),
    ((torch.tensor([0.0]), torch.tensor([1]), torch.tensor([0])), TypeError, "sign must be an integer Tensor"),
    ((0, torch.tensor([1]), torch.tensor([0])), TypeError, "sign must be an integer Tensor, got int"),
])
def test_float_from_fields_refuses_bad_fields(fields, error, match):
    with pytest.raises(error, match=match):
        float_from_fields(*fields, torch.float16)


# ---------------------------------------------------------------- scaling


def test_scaled_roundtrip_flushes_small_values_and_scaling_saves_them():
    g = torch.tensor([2.0**-26, 2.0**-20, 1e-3, 1.0], dtype=torch.float32)
    plain = scaled_roundtrip(g, torch.float16)
    assert plain[0].item() == 0.0  # below half the smallest subnormal 2^-24: underflow
    assert plain[1].item() == 2.0**-20  # a power of two in the subnormal range survives
    torch.testing.assert_close(plain, g.to(torch.float16).to(torch.float32), rtol=0, atol=0)
    scaled = scaled_roundtrip(g, torch.float16, scale=2.0**16)
    assert scaled[0].item() == 2.0**-26  # S g = 2^-10 is a normal float16 number
    assert scaled.dtype == torch.float32
    assert torch.isinf(scaled_roundtrip(g, torch.float16, scale=2.0**17)[3])  # 2^17 > 65504: overflow
    assert scaled_roundtrip(g, torch.bfloat16)[0].item() == 2.0**-26  # bfloat16 has float32's range


@pytest.mark.parametrize("kwargs, error, match", [
    ({"values": torch.tensor([1]), "dtype": torch.float16}, TypeError, "values must be a floating Tensor"),
    ({"values": torch.ones(1), "dtype": torch.int8}, ValueError, "expected one of the dtypes"),
    ({"values": torch.ones(1), "dtype": torch.float16, "scale": 0.0}, ValueError, "Invalid scale: 0.0"),
    ({"values": torch.ones(1), "dtype": torch.float16, "scale": math.inf}, ValueError, "Invalid scale: inf"),
    ({"values": torch.ones(1), "dtype": torch.float16, "scale": "2"}, TypeError, "scale must be a float"),
])
def test_scaled_roundtrip_refuses_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        scaled_roundtrip(**kwargs)


# ---------------------------------------------------------------- autocast


OPS = {
    "linear": lambda x: F.linear(x, torch.ones(3, x.shape[1])),
    "relu": F.relu,
    "log_softmax": lambda x: F.log_softmax(x, dim=1),
    "cross_entropy": lambda x: F.cross_entropy(x, torch.zeros(len(x), dtype=torch.long)),
    "mse_loss": lambda x: F.mse_loss(x, torch.zeros_like(x)),
}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_sorts_ops_into_three_kinds(dtype):
    x = torch.randn(4, 5)
    from_fp32 = autocast_output_dtypes(OPS, x, dtype=dtype)
    from_low = autocast_output_dtypes(OPS, x.to(dtype), dtype=dtype)
    assert list(from_fp32) == list(OPS)
    assert from_fp32["linear"] == from_low["linear"] == dtype  # lower precision whatever the input
    assert from_fp32["cross_entropy"] == from_low["cross_entropy"] == torch.float32  # float32 whatever the input
    assert from_fp32["mse_loss"] == from_low["mse_loss"] == torch.float32
    assert (from_fp32["relu"], from_low["relu"]) == (torch.float32, dtype)  # the input's dtype
    assert (from_fp32["log_softmax"], from_low["log_softmax"]) == (torch.float32, dtype)
    assert not torch.is_autocast_enabled("cpu")  # the context is left


@pytest.mark.parametrize("args, error, match", [
    (([1],), TypeError, "ops must be a mapping"),
    (({"f": 3},), TypeError, "ops must be a mapping"),
    ((OPS, torch.ones(2, 5, dtype=torch.long)), TypeError, "x must be a floating Tensor"),
    ((OPS, torch.ones(2, 5), 0), TypeError, "device_type must be a str"),
    ((OPS, torch.ones(2, 5), "cpu", torch.float32), ValueError, "expected dtype torch.float16 or torch.bfloat16"),
])
def test_autocast_output_dtypes_refuses_bad_input(args, error, match):
    if len(args) == 1:
        args = (*args, torch.ones(2, 5))
    with pytest.raises(error, match=match):
        autocast_output_dtypes(*args)


# ---------------------------------------------------------------- found_inf


def test_found_inf_looks_at_every_gradient_and_ignores_missing_ones():
    a, b, c = (torch.zeros(3, requires_grad=True) for _ in range(3))
    a.grad, b.grad = torch.ones(3), torch.ones(3)
    assert not found_inf([a, b, c])  # c has no gradient
    b.grad[1] = math.nan
    assert found_inf([a, b, c])
    b.grad[1] = -math.inf
    assert found_inf(iter([a, b]))
    with pytest.raises(TypeError, match="parameters must be tensors, got float"):
        found_inf([a, 1.0])


# ---------------------------------------------------------------- the scale rule against GradScaler


def _kernel_scales(flags, init_scale, growth_factor, backoff_factor, growth_interval):
    """The scales of PyTorch's own update kernel, the one GradScaler.update calls."""
    scale = torch.full((1,), init_scale, dtype=torch.float32)
    tracker = torch.zeros(1, dtype=torch.int32)
    out = []
    for flag in flags:
        torch._amp_update_scale_(scale, tracker, torch.full((1,), float(flag)), growth_factor, backoff_factor,
                                 growth_interval)
        out.append(scale.item())
    return out


@pytest.mark.parametrize("init_scale, growth_factor, backoff_factor, growth_interval", [
    (2.0**16, 2.0, 0.5, 3),
    (0.1, 1.7, 0.3, 2),  # factors that are not powers of two: float32 rounding must agree
    (1000.0, 1.001, 0.999, 1),
    (3.0e38, 2.0, 0.5, 1),  # growth would overflow float32: the scale stays
    (2.0**-140, 2.0, 0.125, 5),  # down into float32's subnormals
])
def test_replay_equals_pytorchs_update_kernel(init_scale, growth_factor, backoff_factor, growth_interval):
    g = torch.Generator().manual_seed(1)
    flags = (torch.rand(200, generator=g) < 0.15).tolist()
    ours = replay_scales(flags, init_scale, growth_factor, backoff_factor, growth_interval)
    assert ours == _kernel_scales(flags, init_scale, growth_factor, backoff_factor, growth_interval)


def _gradscaler_run(flags, **kwargs):
    """Train a tiny model with GradScaler("cpu") under float16 autocast, injecting inf where flags say so."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", **kwargs)
    X, y = torch.randn(16, 4), torch.randn(16, 1)
    scales, skipped, unchanged = [], [], []
    for flag in flags:
        optimizer.zero_grad()
        with torch.amp.autocast("cpu", dtype=torch.float16):
            loss = F.mse_loss(model(X), y)
        scaler.scale(loss).backward()
        if flag:
            model[0].weight.grad[0, 0] = math.inf
        skipped.append(found_inf(model.parameters()))
        before = [p.detach().clone() for p in model.parameters()]
        scaler.step(optimizer)
        scaler.update()
        unchanged.append(all(torch.equal(a, p) for a, p in zip(before, model.parameters())))
        scales.append(scaler.get_scale())
    return scales, skipped, unchanged


@pytest.mark.parametrize("kwargs", [
    {"init_scale": 16.0, "growth_interval": 2},
    {"init_scale": 2.0**16, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 3},
])
def test_scales_equal_gradscaler_on_the_cpu_with_injected_infs(kwargs):
    flags = [False, False, True, False, False, False, True, True, False, False, False, False, False, True]
    scales, skipped, unchanged = _gradscaler_run(flags, **kwargs)
    assert skipped == flags  # found_inf sees exactly the injected overflows
    assert unchanged == flags  # GradScaler skipped exactly those steps
    init = kwargs.pop("init_scale")
    assert replay_scales(flags, init, **kwargs) == scales


def test_update_scale_rule_by_hand():
    assert update_scale(8.0, 0, True) == (4.0, 0)
    assert update_scale(8.0, 5, False, growth_interval=10) == (8.0, 6)
    assert update_scale(8.0, 9, False, growth_interval=10) == (16.0, 0)
    assert update_scale(3.0e38, 0, False, growth_interval=1) == (3.0e38, 0)  # 6e38 is beyond float32


@pytest.mark.parametrize("args, error, match", [
    ((-1.0, 0, False), ValueError, "Invalid scale: -1.0"),
    ((math.nan, 0, False), ValueError, "Invalid scale: nan"),
    ((1.0, -1, False), ValueError, "Invalid growth_tracker: -1"),
    ((1.0, 0, 1), TypeError, "found_inf must be a bool"),
    ((1.0, 0, False, 1.0), ValueError, "Invalid growth_factor: 1.0"),
    ((1.0, 0, False, 2.0, 1.0), ValueError, "Invalid backoff_factor: 1.0"),
    ((1.0, 0, False, 2.0, 0.0), ValueError, "Invalid backoff_factor: 0.0"),
    ((1.0, 0, False, 2.0, 0.5, 0), ValueError, "Invalid growth_interval: 0"),
    ((1.0, 0.5, False), TypeError, "growth_tracker must be an int"),
])
def test_update_scale_refuses_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        update_scale(*args)


def test_replay_scales_refuses_bad_input():
    with pytest.raises(TypeError, match="found_infs must be a sequence of bools, got str"):
        replay_scales("TF")
    with pytest.raises(TypeError, match="found_inf must be a bool"):
        replay_scales([0, 1])
    with pytest.raises(ValueError, match="Invalid init_scale: -1"):
        replay_scales([True], init_scale=-1)
    assert replay_scales([], init_scale=0.1) == []


# ---------------------------------------------------------------- the training step


def _setup(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    X, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    return model, optimizer, X, y


@pytest.mark.parametrize("dtype", [None, torch.bfloat16, torch.float16])
def test_amp_step_equals_the_hand_written_recipe(dtype):
    model, optimizer, X, y = _setup()
    twin, twin_opt, _, _ = _setup()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10) if dtype is torch.float16 else None
    twin_scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10) if dtype is torch.float16 else None
    for _ in range(3):
        result = amp_step(model, F.cross_entropy, X, y, optimizer, scaler, dtype=dtype)
        twin_opt.zero_grad()
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = F.cross_entropy(twin(X), y)
        if twin_scaler is None:
            loss.backward()
            twin_opt.step()
        else:
            twin_scaler.scale(loss).backward()
            twin_scaler.step(twin_opt)
            twin_scaler.update()
        assert isinstance(result, AmpStep) and result == (loss.item(), False)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert p.dtype == torch.float32 and p.grad.dtype == torch.float32  # master weights stay float32
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_amp_step_without_autocast_is_the_plain_float32_step():
    model, optimizer, X, y = _setup()
    twin, twin_opt, _, _ = _setup()
    amp_step(model, F.cross_entropy, X, y, optimizer, dtype=None)
    twin_opt.zero_grad()
    F.cross_entropy(twin(X), y).backward()
    twin_opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_amp_step_skips_an_overflowing_step_and_backs_off():
    model, optimizer, X, y = _setup()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    before = [p.detach().clone() for p in model.parameters()]
    overflowing = lambda y_hat, y: F.cross_entropy(y_hat, y) * 1e39  # noqa: E731 - inf once scaled in float32
    result = amp_step(model, overflowing, X, y, optimizer, scaler, dtype=torch.float16)
    assert result.skipped
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert scaler.get_scale() == 2.0**7
    assert not amp_step(model, F.cross_entropy, X, y, optimizer, scaler, dtype=torch.float16).skipped


@pytest.mark.parametrize("kwargs, error, match", [
    ({"model": lambda x: x}, TypeError, "model must be an nn.Module"),
    ({"optimizer": "sgd"}, TypeError, "optimizer must be a torch.optim.Optimizer"),
    ({"scaler": 2.0}, TypeError, "scaler must be a torch.amp.GradScaler or None"),
    ({"dtype": torch.float32}, ValueError, "expected dtype None"),
])
def test_amp_step_refuses_bad_input(kwargs, error, match):
    model, optimizer, X, y = _setup()
    args = {"model": model, "loss_fn": F.cross_entropy, "X": X, "y": y, "optimizer": optimizer} | kwargs
    with pytest.raises(error, match=match):
        amp_step(**args)
