"""Tests for dlfoundations.conv: from-scratch convolution and pooling against PyTorch's."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlfoundations.conv import (
    Conv2d,
    DigitCNN,
    avg_pool2d,
    conv2d_im2col,
    conv2d_loops,
    conv_output_size,
    max_pool2d,
)
from dlfoundations.models import count_parameters
from dlfoundations.seed import make_generator

CONV_FUNCTIONS = [conv2d_loops, conv2d_im2col]



# (N, C, H, W, O, K, stride, padding): channels 1 and several, square and
# non-square inputs, strides 1-3, paddings 0-2, kernels 1-5.
CASES = [
    (2, 1, 8, 8, 1, 3, 1, 0),
    (2, 1, 8, 8, 4, 3, 1, 1),
    (3, 3, 7, 5, 4, 3, 2, 1),
    (1, 2, 6, 9, 3, 2, 2, 0),
    (2, 4, 5, 11, 2, 5, 1, 2),
    (2, 3, 9, 6, 5, 3, 3, 2),
    (1, 2, 4, 4, 3, 1, 1, 0),
]


def _inputs(N, C, H, W, O, K, seed=0):
    g = make_generator(seed)
    X = torch.randn(N, C, H, W, generator=g, dtype=torch.float64)
    weight = torch.randn(O, C, K, K, generator=g, dtype=torch.float64)
    bias = torch.randn(O, generator=g, dtype=torch.float64)
    return X, weight, bias


# ---------------------------------------------------------------- output size


def test_conv_output_size_by_hand():
    assert conv_output_size(8, 3, 1, 1) == 8
    assert conv_output_size(8, 3, 2, 0) == 3  # floor(5 / 2) + 1
    assert conv_output_size(5, 5, 1, 0) == 1
    assert conv_output_size(7, 2, 3, 1) == 3  # floor(7 / 3) + 1


def test_conv_output_size_matches_torch_over_a_grid():
    checked = 0
    for H, K, S, P in itertools.product(range(1, 10), range(1, 6), range(1, 4), range(0, 3)):
        if K > H + 2 * P:
            continue
        X = torch.zeros(1, 1, H, H + 1)
        out = F.conv2d(X, torch.zeros(1, 1, K, K), stride=S, padding=P)
        assert out.shape[2:] == (conv_output_size(H, K, S, P), conv_output_size(H + 1, K, S, P))
        checked += 1
    assert checked > 300
    # nn.Conv2d too, on a non-square input.
    layer = nn.Conv2d(2, 3, kernel_size=3, stride=2, padding=1)
    assert layer(torch.zeros(1, 2, 9, 6)).shape == (1, 3, conv_output_size(9, 3, 2, 1), conv_output_size(6, 3, 2, 1))


def test_conv_output_size_without_floor_is_caught():
    # (H + 2P - K) / S + 1 without the floor is not even an integer here.
    H, K, S, P = 8, 3, 2, 0
    assert (H + 2 * P - K) / S + 1 != conv_output_size(H, K, S, P)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((3, 5, 1, 0), ValueError, r"kernel size 5 is larger than the padded input: expected F <= I \+ 2P = 3"),
        ((8, 3, 0, 0), ValueError, r"Invalid stride: 0 \(expected >= 1\)"),
        ((8, 3, 1, -1), ValueError, r"Invalid padding: -1 \(expected >= 0\)"),
        ((0, 1, 1, 0), ValueError, r"Invalid size: 0"),
        ((8.0, 3, 1, 0), TypeError, r"size must be an int, got float"),
        ((8, 3, True, 0), TypeError, r"stride must be an int, got bool"),
    ],
)
def test_conv_output_size_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        conv_output_size(*args)


# ---------------------------------------------------------------- convolution


@pytest.mark.parametrize("conv", CONV_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("N", "C", "H", "W", "O", "K", "stride", "padding"), CASES)
def test_conv2d_equals_torch(conv, N, C, H, W, O, K, stride, padding):
    X, weight, bias = _inputs(N, C, H, W, O, K)
    expected = F.conv2d(X, weight, bias, stride=stride, padding=padding)
    torch.testing.assert_close(conv(X, weight, bias, stride, padding), expected)
    torch.testing.assert_close(conv(X, weight, None, stride, padding), F.conv2d(X, weight, None, stride, padding))


def test_conv2d_non_square_kernel_equals_torch():
    g = make_generator(1)
    X = torch.randn(2, 3, 7, 6, generator=g, dtype=torch.float64)
    weight = torch.randn(4, 3, 2, 3, generator=g, dtype=torch.float64)
    for conv in CONV_FUNCTIONS:
        torch.testing.assert_close(conv(X, weight, None, 2, 1), F.conv2d(X, weight, None, 2, 1))


def test_conv2d_im2col_gradients_equal_torch():
    X, weight, bias = _inputs(2, 3, 6, 5, 4, 3, seed=2)
    ours = [t.clone().requires_grad_() for t in (X, weight, bias)]
    ref = [t.clone().requires_grad_() for t in (X, weight, bias)]
    upstream = torch.randn(2, 4, 3, 3, generator=make_generator(3), dtype=torch.float64)
    (conv2d_im2col(*ours, stride=2, padding=1) * upstream).sum().backward()
    (F.conv2d(*ref, stride=2, padding=1) * upstream).sum().backward()
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a.grad, b.grad)
    assert torch.autograd.gradcheck(lambda *t: conv2d_im2col(*t, stride=1, padding=1), tuple(ours))


def _true_convolution(X, weight, bias, stride, padding):
    # Wrong for deep learning: flips the kernel (the textbook convolution).
    return conv2d_im2col(X, weight.flip(-2, -1), bias, stride, padding)


def _forgot_bias(X, weight, bias, stride, padding):
    return conv2d_im2col(X, weight, None, stride, padding)


def _wrong_reshape(X, weight, bias, stride, padding):
    # Flattens the kernel as (K, K, C) instead of (C, K, K): channels mix up.
    O = weight.shape[0]
    W_wrong = weight.permute(0, 2, 3, 1).reshape(O, -1)  # (O, K*K*C), wrong order
    return conv2d_im2col(X, W_wrong.reshape(weight.shape), bias, stride, padding)


@pytest.mark.parametrize("wrong", [_true_convolution, _forgot_bias, _wrong_reshape], ids=lambda f: f.__name__)
def test_wrong_variants_are_caught(wrong):
    X, weight, bias = _inputs(2, 3, 6, 7, 4, 3, seed=4)
    expected = F.conv2d(X, weight, bias, stride=1, padding=1)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(wrong(X, weight, bias, 1, 1), expected)


def test_true_convolution_is_cross_correlation_with_flipped_kernel():
    X, weight, bias = _inputs(1, 2, 6, 6, 3, 3, seed=5)
    torch.testing.assert_close(
        _true_convolution(X, weight, bias, 1, 0), F.conv2d(X, weight.flip(-2, -1), bias)
    )


@pytest.mark.parametrize("conv", CONV_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("X_shape", "w_shape", "b_shape", "stride", "padding", "error", "match"),
    [
        ((3, 8, 8), (4, 3, 3, 3), None, 1, 0, ValueError, r"expected X of shape \(N, C, I, J\), got \(3, 8, 8\)"),
        ((2, 3, 8, 8), (4, 2, 3, 3), None, 1, 0, ValueError, r"expected weight with 3 input channels .* got weight of shape \(4, 2, 3, 3\)"),
        ((2, 3, 8, 8), (4, 3, 3), None, 1, 0, ValueError, r"expected weight of shape \(O, C, F, F\) with O >= 1, got \(4, 3, 3\)"),
        ((2, 3, 8, 8), (4, 3, 3, 3), (3,), 1, 0, ValueError, r"expected bias of shape \(4,\), got \(3,\)"),
        ((2, 3, 2, 2), (4, 3, 5, 5), None, 1, 1, ValueError, r"kernel size 5 is larger than the padded input"),
        ((2, 3, 8, 8), (4, 3, 3, 3), None, 0, 0, ValueError, r"Invalid stride: 0"),
        ((2, 3, 8, 8), (4, 3, 3, 3), None, 1, -1, ValueError, r"Invalid padding: -1"),
        ((2, 3, 8, 8), (4, 3, 3, 3), None, 1.5, 0, TypeError, r"stride must be an int, got float"),
    ],
)
def test_conv2d_rejects_bad_input(conv, X_shape, w_shape, b_shape, stride, padding, error, match):
    X = torch.zeros(X_shape)
    weight = torch.zeros(w_shape)
    bias = None if b_shape is None else torch.zeros(b_shape)
    with pytest.raises(error, match=match):
        conv(X, weight, bias, stride, padding)


def test_conv2d_rejects_non_tensor_and_mixed_dtypes():
    with pytest.raises(TypeError, match=r"expected a floating tensor X, got list"):
        conv2d_im2col([[1.0]], torch.zeros(1, 1, 1, 1))
    with pytest.raises(TypeError, match=r"expected weight of dtype torch.float64 \(the dtype of X\), got torch.float32"):
        conv2d_im2col(torch.zeros(1, 1, 3, 3, dtype=torch.float64), torch.zeros(1, 1, 1, 1))


# ---------------------------------------------------------------- pooling


@pytest.mark.parametrize(
    ("shape", "kernel_size", "stride", "padding"),
    [((2, 3, 8, 8), 2, None, 0), ((2, 3, 7, 5), 3, 2, 1), ((1, 2, 9, 6), 2, 1, 0), ((2, 1, 6, 7), 3, None, 1)],
)
def test_pooling_equals_torch(shape, kernel_size, stride, padding):
    X = torch.randn(*shape, generator=make_generator(6), dtype=torch.float64)
    torch.testing.assert_close(
        max_pool2d(X, kernel_size, stride, padding), F.max_pool2d(X, kernel_size, stride, padding)
    )
    torch.testing.assert_close(
        avg_pool2d(X, kernel_size, stride, padding), F.avg_pool2d(X, kernel_size, stride, padding)
    )


def test_pooling_mixed_up_is_caught():
    X = torch.randn(2, 3, 8, 8, generator=make_generator(7), dtype=torch.float64)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(avg_pool2d(X, 2), F.max_pool2d(X, 2))


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d], ids=lambda f: f.__name__)
def test_pooling_rejects_bad_input(pool):
    with pytest.raises(ValueError, match=r"expected X of shape \(N, C, I, J\), got \(8, 8\)"):
        pool(torch.zeros(8, 8), 2)
    with pytest.raises(ValueError, match=r"Invalid padding: 2 \(expected at most half the kernel size"):
        pool(torch.zeros(1, 1, 8, 8), 2, padding=2)
    with pytest.raises(ValueError, match=r"Invalid kernel_size: 0"):
        pool(torch.zeros(1, 1, 8, 8), 0)
    with pytest.raises(ValueError, match=r"kernel size 5 is larger than the padded input"):
        pool(torch.zeros(1, 1, 3, 3), 5)


# ---------------------------------------------------------------- modules


def test_conv2d_module_matches_nn_conv2d_init_and_output():
    torch.manual_seed(11)
    ref = nn.Conv2d(3, 5, kernel_size=3, stride=2, padding=1)
    ours = Conv2d(3, 5, kernel_size=3, stride=2, padding=1, generator=make_generator(11))
    assert ours.weight.shape == (5, 3, 3, 3) and ours.bias.shape == (5,)
    assert torch.equal(ours.weight, ref.weight) and torch.equal(ours.bias, ref.bias)
    X = torch.randn(4, 3, 9, 7, generator=make_generator(12))
    torch.testing.assert_close(ours(X), ref(X))
    assert set(ours.state_dict()) == set(ref.state_dict())
    bound = 1 / math.sqrt(3 * 3 * 3)
    assert ours.weight.abs().max() <= bound and ours.bias.abs().max() <= bound


def test_conv2d_module_without_bias_and_determinism():
    a = Conv2d(2, 4, 3, bias=False, generator=make_generator(0))
    b = Conv2d(2, 4, 3, bias=False, generator=make_generator(0))
    assert a.bias is None and count_parameters(a) == 4 * 2 * 9
    assert torch.equal(a.weight, b.weight)
    assert "kernel_size=3" in repr(a)


def test_conv2d_module_rejects_bad_input():
    layer = Conv2d(3, 4, 3, padding=1)
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 3, I, J\) \(in_channels=3\), got \(2, 1, 8, 8\)"):
        layer(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"expected X of shape \(N, C, I, J\), got \(3, 8, 8\)"):
        layer(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match=r"kernel size 3 is larger than the padded input"):
        Conv2d(3, 4, 3)(torch.zeros(1, 3, 1, 1))
    with pytest.raises(ValueError, match=r"Invalid stride: 0"):
        Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match=r"Invalid in_channels: 0"):
        Conv2d(0, 4, 3)
    with pytest.raises(TypeError, match=r"kernel_size must be an int, got tuple"):
        Conv2d(3, 4, (3, 3))


@pytest.mark.parametrize("conv", ["im2col", "torch"])
def test_digit_cnn_shapes_count_and_seeding(conv):
    model = DigitCNN(conv=conv, generator=make_generator(0))
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    expected = (16 * 9 + 16) + (32 * 16 * 9 + 32) + (32 * 16 * 10 + 10)
    assert count_parameters(model) == expected


def test_digit_cnn_both_convs_agree():
    ours = DigitCNN(conv="im2col", generator=make_generator(3)).double()
    ref = DigitCNN(conv="torch", generator=make_generator(3)).double()
    ref.load_state_dict(ours.state_dict())
    X = torch.randn(4, 1, 8, 8, generator=make_generator(4), dtype=torch.float64)
    torch.testing.assert_close(ours(X), ref(X))
    # Same generator seed, same draws: the initial weights agree too.
    assert torch.equal(
        DigitCNN(conv="torch", generator=make_generator(3)).features[0].weight, ours.features[0].weight.float()
    )


def test_digit_cnn_trains_a_few_steps():
    from dlfoundations.data import InMemoryLoader
    from dlfoundations.train import fit

    g = make_generator(0)
    X = torch.randn(32, 1, 8, 8, generator=g)
    y = torch.randint(0, 10, (32,), generator=g)
    model = DigitCNN(generator=g)
    before = model.features[0].weight.detach().clone()
    history = fit(model, InMemoryLoader(X, y, 16), torch.optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss(), 3)
    assert history.num_steps == 6
    assert history.train_loss[-1] < history.train_loss[0]
    assert not torch.equal(before, model.features[0].weight)


def test_digit_cnn_rejects_bad_input():
    model = DigitCNN()
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 1, 8, 8\), got \(2, 64\)|expected X of shape \(N, C, I, J\), got \(2, 64\)"):
        model(torch.zeros(2, 64))
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 1, 8, 8\), got \(2, 1, 6, 6\)"):
        model(torch.zeros(2, 1, 6, 6))
    with pytest.raises(ValueError, match=r"expected an even image_size \(pooling halves it\), got 7"):
        DigitCNN(image_size=7)
    with pytest.raises(ValueError, match=r"conv must be 'im2col' or 'torch', got 'fft'"):
        DigitCNN(conv="fft")
    with pytest.raises(ValueError, match=r"expected hidden_channels of length 2, got 3"):
        DigitCNN(hidden_channels=(4, 8, 16))


# The model tests of the transfer chapter's former TransferCNN, which DigitCNN replaced: its backbone
# `features` ends in the flattened feature vector, its `head` is the last linear layer.


@pytest.mark.parametrize("conv", ["im2col", "torch"])
def test_digit_cnn_backbone_gives_feature_vectors_to_the_head(conv):
    model = DigitCNN(num_classes=5, hidden_channels=(4, 8), conv=conv, generator=make_generator(0))
    X = torch.randn(3, 1, 8, 8, generator=make_generator(0))
    assert model.features(X).shape == (3, 8 * 16)
    assert model.head.in_features == 8 * 16
    assert model(X).shape == (3, 5)


@pytest.mark.parametrize("conv", ["im2col", "torch"])
def test_digit_cnn_generator_makes_weights_reproducible(conv):
    a = DigitCNN(conv=conv, generator=make_generator(3))
    b = DigitCNN(conv=conv, generator=make_generator(3))
    c = DigitCNN(conv=conv, generator=make_generator(4))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.head.weight, c.head.weight)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (torch.zeros(2, 64), ValueError, r"expected X of shape \(N, 1, 8, 8\), got \(2, 64\)"),
        (torch.zeros(2, 3, 8, 8), ValueError, r"got \(2, 3, 8, 8\)"),
        (torch.zeros(2, 1, 8, 8, dtype=torch.int64), TypeError, "floating"),
        ([[0.0]], TypeError, "got list"),
    ],
)
@pytest.mark.parametrize("conv", ["im2col", "torch"])
def test_digit_cnn_rejects_bad_input_naming_the_shape(X, error, match, conv):
    with pytest.raises(error, match=match):
        DigitCNN(conv=conv)(X)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_classes": 0}, ValueError, r"Invalid num_classes: 0 \(expected >= 1\)"),
        ({"num_classes": 2.0}, TypeError, "num_classes must be an int"),
        ({"hidden_channels": (4,)}, ValueError, "length 2"),
        ({"generator": 0}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_digit_cnn_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DigitCNN(**kwargs)


def test_true_convolution_is_cross_correlation_with_rotated_kernel_and_full_padding():
    # eq-cnn-true-conv: (X * W)[i, j] = sum_{p,q} X[i - p, j - q] W[p, q] equals the
    # cross-correlation with the kernel rotated by a half turn and padding F - 1, index for index.
    g = make_generator(7)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    w = torch.randn(3, 3, generator=g, dtype=torch.float64)
    F_ = w.shape[0]
    full = x.new_zeros(6 + F_ - 1, 5 + F_ - 1)
    for i in range(full.shape[0]):
        for j in range(full.shape[1]):
            for p in range(F_):
                for q in range(F_):
                    if 0 <= i - p < 6 and 0 <= j - q < 5:
                        full[i, j] += x[i - p, j - q] * w[p, q]
    rotated = conv2d_loops(x[None, None], w.flip(-2, -1)[None, None], padding=F_ - 1)[0, 0]
    torch.testing.assert_close(rotated, full)
    # Without the flip the result differs: the test can fail.
    unflipped = conv2d_loops(x[None, None], w[None, None], padding=F_ - 1)[0, 0]
    assert not torch.allclose(unflipped, full)
