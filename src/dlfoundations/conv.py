r"""Two-dimensional convolution and pooling from scratch, and a convolutional layer.

A convolutional layer in deep learning computes a *cross-correlation*: output
channel :math:`o` at position :math:`(i, j)` is its bias plus the sum, over
input channels and kernel positions, of input times weight,

.. math::

    Y[n, o, i, j] = b_o + \sum_{c}\sum_{p}\sum_{q}
        X[n, c, S i + p - P, S j + q - P]\; W[o, c, p, q],

with stride :math:`S`, zero padding :math:`P`, and output size
:math:`\lfloor (I + 2P - F)/S \rfloor + 1` per side for an input of
:math:`I` rows (and likewise for its :math:`J` columns) and a kernel of side
:math:`F`. Images are ``(N, C, I, J)``: the book keeps :math:`H` for hidden
sizes and :math:`W` for weights, where PyTorch's documentation writes
``(N, C, H, W)``.

- :func:`conv_output_size`: the output size of one spatial dimension.
- :func:`conv2d_loops`: the sum written as Python loops (readable, slow).
- :func:`conv2d_im2col`: the same sum as one matrix product over unfolded
  patches (im2col), fast enough to train with.
- :func:`max_pool2d`, :func:`avg_pool2d`: pooling over unfolded windows.
- :class:`Conv2d`: an ``nn.Module`` around :func:`conv2d_im2col`, initialised
  like ``torch.nn.Conv2d``.
- :class:`DigitCNN`: the small network the chapter trains on 8×8 digits.

Book chapter: :ref:`chap-cnn`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from dlfoundations._validation import check_generator as _check_generator, check_int_sequence, check_int as _check_int
from dlfoundations.models import _reset_like_torch

__all__ = [
    "Conv2d",
    "DigitCNN",
    "avg_pool2d",
    "conv2d_im2col",
    "conv2d_loops",
    "conv_output_size",
    "max_pool2d",
]


# ---------------------------------------------------------------- validation


def _check_images(X: object, name: str = "X") -> Tensor:
    if not isinstance(X, Tensor) or not X.dtype.is_floating_point:
        raise TypeError(f"expected a floating tensor {name}, got {type(X).__name__} {getattr(X, 'dtype', '')}")
    if X.ndim != 4:
        raise ValueError(f"expected {name} of shape (N, C, I, J), got {tuple(X.shape)}")
    if X.shape[1] == 0:
        raise ValueError(f"expected {name} with at least one channel C, got shape {tuple(X.shape)}")
    return X


def _check_conv_args(
    X: object, weight: object, bias: object, stride: object, padding: object
) -> tuple[Tensor, Tensor, Tensor | None, int, int, int, int]:
    """Validate a convolution's arguments; return them with the output size ``(I_out, J_out)``."""
    X = _check_images(X)
    if not isinstance(weight, Tensor) or not weight.dtype.is_floating_point:
        raise TypeError(f"expected a floating tensor weight, got {type(weight).__name__} {getattr(weight, 'dtype', '')}")
    if weight.ndim != 4 or weight.shape[0] == 0:
        raise ValueError(f"expected weight of shape (O, C, F, F) with O >= 1, got {tuple(weight.shape)}")
    S = _check_int(stride, "stride", 1)
    P = _check_int(padding, "padding", 0)
    N, C, I, J = X.shape
    O, C_w, F_I, F_J = weight.shape  # kernel rows and columns
    if C_w != C:
        raise ValueError(
            f"expected weight with {C} input channels to match X of shape {tuple(X.shape)}, "
            f"got weight of shape {tuple(weight.shape)}"
        )
    if X.dtype != weight.dtype:
        raise TypeError(f"expected weight of dtype {X.dtype} (the dtype of X), got {weight.dtype}")
    for name, t in (("weight", weight), ("bias", bias)):
        if isinstance(t, Tensor) and t.device != X.device:
            raise ValueError(f"expected {name} on device {X.device} (the device of X), got {t.device}")
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"expected bias to be a tensor or None, got {type(bias).__name__}")
        if bias.dtype != X.dtype:
            raise TypeError(f"expected bias of dtype {X.dtype} (the dtype of X), got {bias.dtype}")
        if bias.shape != (O,):
            raise ValueError(f"expected bias of shape ({O},), got {tuple(bias.shape)}")
    I_out = conv_output_size(I, F_I, S, P)
    J_out = conv_output_size(J, F_J, S, P)
    return X, weight, bias, S, P, I_out, J_out


def _check_output_size(size: object, kernel_size: object, stride: object, padding: object) -> tuple[int, int, int, int]:
    """The checks of :func:`conv_output_size`; return ``(I, F, S, P)``."""
    I = _check_int(size, "size", 1)
    F_ = _check_int(kernel_size, "kernel_size", 1)
    S = _check_int(stride, "stride", 1)
    P = _check_int(padding, "padding", 0)
    if F_ > I + 2 * P:
        raise ValueError(
            f"kernel size {F_} is larger than the padded input: expected F <= I + 2P = {I} + 2*{P} = {I + 2 * P}"
        )
    return I, F_, S, P


def _check_pool(X: object, kernel_size: object, stride: object, padding: object) -> tuple[Tensor, int, int, int]:
    """The checks of the pooling functions; return ``X`` and the window side, stride and padding ``(F, S, P)``."""
    X = _check_images(X)
    F_ = _check_int(kernel_size, "kernel_size", 1)  # the window's side F (F is torch.nn.functional)
    S = F_ if stride is None else _check_int(stride, "stride", 1)
    P = _check_int(padding, "padding", 0)
    if P > F_ // 2:
        raise ValueError(f"Invalid padding: {P} (expected at most half the kernel size, kernel_size // 2 = {F_ // 2})")
    return X, F_, S, P


def _check_conv2d(
    in_channels: object, out_channels: object, kernel_size: object, stride: object, padding: object, bias: object,
    generator: object,
) -> tuple[int, int, int, int, int]:
    """The checks of :class:`Conv2d`; return ``(C, O, F, S, P)``."""
    sizes = (
        _check_int(in_channels, "in_channels", 1),
        _check_int(out_channels, "out_channels", 1),
        _check_int(kernel_size, "kernel_size", 1),
        _check_int(stride, "stride", 1),
        _check_int(padding, "padding", 0),
    )
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}: {bias!r}")
    _check_generator(generator)
    return sizes


def _check_layer_input(X: object, in_channels: int, dtype: torch.dtype) -> Tensor:
    """The checks of :meth:`Conv2d.forward`: images ``(N, in_channels, I, J)`` of the weights' dtype."""
    X = _check_images(X)
    if X.shape[1] != in_channels:
        raise ValueError(
            f"expected X of shape (N, {in_channels}, I, J) (in_channels={in_channels}), got {tuple(X.shape)}"
        )
    if X.dtype != dtype:
        raise TypeError(f"expected X of dtype {dtype} (the layer's weights), got {X.dtype}")
    return X


# ---------------------------------------------------------------- sizes


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    r"""Output size of a convolution or pooling along one dimension: :math:`\lfloor (I + 2P - F) / S \rfloor + 1`.

    The kernel's top-left corner visits positions :math:`0, S, 2S, \dots` of the
    padded input of size :math:`I + 2P`, as long as the kernel still fits.

    Args:
        size (int): input size :math:`I` along the dimension (rows or columns), ``>= 1``.
        kernel_size (int): kernel side :math:`F`, ``>= 1``.
        stride (int): stride :math:`S`, ``>= 1``. Default: 1.
        padding (int): zero padding :math:`P` on each side, ``>= 0``. Default: 0.

    Returns:
        int: the output size, ``>= 1``.

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if ``size``, ``kernel_size`` or ``stride`` is below 1,
            ``padding`` is negative, or the kernel is larger than the padded
            input (:math:`F > I + 2P`).

    Example:
        >>> conv_output_size(8, 3, stride=1, padding=1)  # "same" size
        8
        >>> conv_output_size(8, 3, stride=2, padding=0)  # floor(5 / 2) + 1
        3

    Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep
    learning" (2016), relationship 6. Book section :ref:`sec-cnn-sizes`,
    equation :eq:`eq-cnn-output-size`.
    """
    I, F_, S, P = _check_output_size(size, kernel_size, stride, padding)  # F_: F is torch.nn.functional here
    return (I + 2 * P - F_) // S + 1


# ---------------------------------------------------------------- convolution


def conv2d_loops(
    X: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0
) -> Tensor:
    r"""2-D cross-correlation by explicit loops: :math:`Y[n,o,i,j] = b_o + \sum_{c,p,q} X[n,c,Si+p-P,Sj+q-P]\,W[o,c,p,q]`.

    One Python iteration per output element: readable, and slow (about
    :math:`N \cdot O \cdot I_{out} \cdot J_{out}` small tensor operations).
    Positions outside the input read zeros (zero padding).

    Args:
        X (Tensor): input images.
        weight (Tensor): kernels, one ``(C, F, F)`` stack per output channel (``F_I x F_J`` if not square).
        bias (Tensor | None): one bias per output channel. Default: ``None``.
        stride (int): step :math:`S` between kernel positions, ``>= 1``. Default: 1.
        padding (int): zeros :math:`P` added on every side, ``>= 0``. Default: 0.

    Shape:
        - X: :math:`(N, C, I, J)`; weight: :math:`(O, C, F_I, F_J)`; bias: :math:`(O,)`.
        - Output: :math:`(N, O, I_{out}, J_{out})` with
          :math:`I_{out} = \lfloor (I + 2P - F_I)/S \rfloor + 1` (and likewise :math:`J_{out}`).

    Returns:
        Tensor: equal to ``torch.nn.functional.conv2d(X, weight, bias, stride, padding)``;
        for NaN or infinite weights over padding see the Note of :func:`conv2d_im2col`.

    Raises:
        TypeError: if ``X``, ``weight`` and ``bias`` are not floating tensors of
            one dtype (no promotion, as in ``F.conv2d``), or ``stride``/``padding`` not ints.
        ValueError: if ``X`` is not ``(N, C, I, J)`` with :math:`C \ge 1`, ``weight``
            has no output channel, the channels of ``X`` and
            ``weight`` differ, ``weight`` or ``bias`` is on another device than
            ``X``, ``bias`` is not ``(O,)``, ``stride < 1``,
            ``padding < 0``, or the kernel is larger than the padded input.

    Reference: LeCun et al., "Gradient-based learning applied to document
    recognition" (1998), section II; Goodfellow et al. (2016), equation 9.6.
    Book section :ref:`sec-cnn-cross-correlation`, equation :eq:`eq-cnn-conv`.
    """
    X, weight, bias, S, P, I_out, J_out = _check_conv_args(X, weight, bias, stride, padding)
    N = X.shape[0]
    O, _, F_I, F_J = weight.shape  # kernel rows and columns (F_I = F_J = F for a square kernel)
    X_pad = F.pad(X, (P, P, P, P))  # (N, C, I + 2P, J + 2P): zeros around the border
    Y = X.new_zeros(N, O, I_out, J_out)
    for n in range(N):
        for o in range(O):
            for i in range(I_out):
                for j in range(J_out):
                    # The window the kernel covers, all input channels at once.
                    window = X_pad[n, :, S * i : S * i + F_I, S * j : S * j + F_J]  # (C, F_I, F_J)
                    Y[n, o, i, j] = (window * weight[o]).sum()  # sum over c, p, q
    if bias is not None:
        Y = Y + bias.reshape(1, O, 1, 1)  # (N, O, I_out, J_out) + (1, O, 1, 1): b_o everywhere
    if N == 0:  # no loop ran: tie the empty Y to X and weight for autograd, as F.conv2d's is
        Y = Y + (X.sum() + weight.sum())  # adds nothing to an empty tensor
    return Y


def conv2d_im2col(
    X: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0
) -> Tensor:
    r"""2-D cross-correlation as one matrix product over unfolded patches (im2col): :math:`Y = W_{\text{mat}}\, \text{cols}(X) + \mathbf b`.

    ``torch.nn.functional.unfold`` copies every :math:`C \times F_I \times F_J`
    window of the padded input into a column, so the :math:`L = I_{out} J_{out}`
    windows of image :math:`n` form a matrix of shape :math:`(C F_I F_J, L)`.
    Flattening each kernel to a row gives :math:`W_{\text{mat}}` of shape
    :math:`(O, C F_I F_J)`, and one (batched) matrix product computes every
    output at once. Autograd differentiates through both steps, so this
    function can be trained.

    Args:
        X (Tensor): input images.
        weight (Tensor): kernels.
        bias (Tensor | None): one bias per output channel. Default: ``None``.
        stride (int): step :math:`S` between kernel positions, ``>= 1``. Default: 1.
        padding (int): zeros :math:`P` added on every side, ``>= 0``. Default: 0.

    Shape:
        - X: :math:`(N, C, I, J)`; weight: :math:`(O, C, F_I, F_J)`; bias: :math:`(O,)`.
        - Output: :math:`(N, O, I_{out}, J_{out})`.

    Returns:
        Tensor: equal to ``torch.nn.functional.conv2d(X, weight, bias, stride, padding)``.

    Raises:
        TypeError: as :func:`conv2d_loops`.
        ValueError: as :func:`conv2d_loops`.

    Note:
        The column matrix holds every input value up to :math:`F_I F_J` times,
        so im2col trades memory for the speed of one large matrix product.
        Every product of the sum is computed, padded zeros included, so a
        zero weight times an infinite input, or an infinite or NaN weight over
        a padded zero, makes that output NaN (:math:`0 \cdot \infty = \text{NaN}`),
        in :func:`conv2d_loops` too. ``F.conv2d`` does the same in float64 and
        on an input padded beforehand (``F.pad``), but its float32 oneDNN
        kernel (which PyTorch picks for some shapes) differs in two places:
        it skips padded positions, so a NaN or infinite weight that only
        meets padding leaves the output finite; and its backward pass gives
        NaN, not 0, to the gradient of input pixels that no window covers
        (stride larger than the kernel) when a weight is NaN or infinite.
        Here, as in PyTorch's float64 kernel, such a pixel's gradient is 0:
        the output does not depend on it. With finite inputs and weights all
        of them agree.

    Reference: Chellapilla, Puri and Simard, "High performance convolutional
    neural networks for document processing" (2006), the unfolding of
    convolutions into a matrix product. Book section :ref:`sec-cnn-im2col`,
    equation :eq:`eq-cnn-im2col`.
    """
    X, weight, bias, S, P, I_out, J_out = _check_conv_args(X, weight, bias, stride, padding)
    N = X.shape[0]
    O, _, F_I, F_J = weight.shape
    cols = F.unfold(X, (F_I, F_J), padding=P, stride=S)  # (N, C*F_I*F_J, L), L = I_out * J_out
    W_mat = weight.reshape(O, -1)  # (O, C*F_I*F_J): one flattened kernel per row
    Y = W_mat @ cols  # (O, CFF) @ (N, CFF, L) -> (N, O, L)
    if bias is not None:
        Y = Y + bias.reshape(1, O, 1)  # (N, O, L) + (1, O, 1)
    return Y.reshape(N, O, I_out, J_out)  # (N, O, I_out, J_out): L back to rows and columns


# ---------------------------------------------------------------- pooling


def _pool_windows(X: Tensor, kernel_size: object, stride: object, padding: object, fill: float) -> tuple[Tensor, int, int, int]:
    """Unfold every pooling window of every channel; return ``(windows, I_out, J_out, F)``."""
    X, F_, S, P = _check_pool(X, kernel_size, stride, padding)  # F_: the window's side (F is torch.nn.functional)
    N, C, I, J = X.shape
    I_out, J_out = conv_output_size(I, F_, S, P), conv_output_size(J, F_, S, P)
    X_pad = F.pad(X, (P, P, P, P), value=fill)  # (N, C, I + 2P, J + 2P)
    # Channels are pooled separately: fold them into the batch, one channel each.
    windows = F.unfold(X_pad.reshape(N * C, 1, I + 2 * P, J + 2 * P), F_, stride=S)  # (N*C, F*F, L)
    return windows, I_out, J_out, F_


def _max_index(windows: Tensor, inside: Tensor) -> Tensor:
    """Position of the maximum of every window, chosen as PyTorch's ``max_pool2d`` chooses it.

    PyTorch scans a window in row-major order, starting at its first position
    inside the image, and moves on when a value is larger or is NaN. So a tie
    goes to the first maximum, a window with NaN to its last NaN, and a window
    of only ``-inf`` to its first position inside the image (never to padding).
    """
    K = windows.shape[1]  # F*F positions per window
    w = windows.detach()  # (M, K, L): choosing an index is not differentiated
    is_nan = w.isnan()
    position = torch.arange(1, K + 1, device=w.device).reshape(1, K, 1)
    last_nan = (is_nan * position).argmax(dim=1)  # (M, L): the largest position holding NaN
    is_max = (w == w.amax(dim=1, keepdim=True)) & inside  # (M, K, L), padding excluded
    first_max = is_max.to(torch.uint8).argmax(dim=1)  # (M, L): argmax returns the first of ties
    return torch.where(is_nan.any(dim=1), last_nan, first_max)


def max_pool2d(X: Tensor, kernel_size: int, stride: int | None = None, padding: int = 0) -> Tensor:
    r"""2-D max pooling over unfolded windows: :math:`Y[n,c,i,j] = \max_{p,q} X[n, c, S i + p - P, S j + q - P]`.

    Args:
        X (Tensor): input feature maps.
        kernel_size (int): side :math:`F` of the square window, ``>= 1``.
        stride (int | None): step :math:`S` between windows. Default: ``None``,
            which means ``kernel_size`` (non-overlapping windows), as in PyTorch.
        padding (int): :math:`-\infty` added on every side, at most ``kernel_size // 2``. Default: 0.

    Shape:
        - X: :math:`(N, C, I, J)`. Output: :math:`(N, C, I_{out}, J_{out})`,
          :math:`I_{out} = \lfloor (I + 2P - F)/S \rfloor + 1`.

    Returns:
        Tensor: equal to ``torch.nn.functional.max_pool2d(X, kernel_size, stride, padding)``.

    Raises:
        TypeError: if ``X`` is not a floating tensor or a size not an int.
        ValueError: if ``X`` is not ``(N, C, I, J)`` with :math:`C \ge 1`, a
            size is out of range, or the window is larger than the padded input.

    Note:
        The gradient of each output goes to one entry of its window, the one
        PyTorch picks: the first maximum in row-major order when the maximum
        is tied, the last NaN when the window holds NaN (the output is then
        NaN), and the first entry inside the image when every entry is
        :math:`-\infty`. ``windows.amax`` would give the same values but share
        the gradient among tied entries and spread NaN over the window.

    Reference: Goodfellow et al. (2016), section 9.3. Book section :ref:`sec-cnn-pooling`.
    """
    windows, I_out, J_out, _ = _pool_windows(X, kernel_size, stride, padding, fill=-math.inf)  # (N*C, F*F, L)
    ones = X.new_ones(1, 1, *X.shape[2:])  # 1 on the image, 0 on the padding
    inside = _pool_windows(ones, kernel_size, stride, padding, fill=0.0)[0] > 0  # (1, F*F, L)
    index = _max_index(windows, inside)  # (N*C, L): the entry of each window that is its maximum
    Y = windows.gather(1, index.unsqueeze(1)).squeeze(1)  # (N*C, L): gradient flows to that entry only
    N, C = X.shape[:2]
    return Y.reshape(N, C, I_out, J_out)  # (N*C, L) -> (N, C, I_out, J_out)


def avg_pool2d(X: Tensor, kernel_size: int, stride: int | None = None, padding: int = 0) -> Tensor:
    r"""2-D average pooling over unfolded windows: :math:`Y[n,c,i,j] = \frac{1}{F^2}\sum_{p,q} X[n, c, S i + p - P, S j + q - P]`.

    Padded zeros count in the average (PyTorch's ``count_include_pad=True``).
    Each window's entries are added one at a time in row-major order, as in
    PyTorch's CPU kernel, so the result equals ``F.avg_pool2d``'s bit for bit
    (float32 and float64), even where the sum overflows: the mean of
    :math:`F^2` entries equal to the largest float is then :math:`\infty` in
    both, and the order of the additions decides between :math:`\infty` and a
    finite value when large entries of both signs meet.

    Args:
        X (Tensor): input feature maps.
        kernel_size (int): side :math:`F` of the square window, ``>= 1``.
        stride (int | None): step :math:`S` between windows. Default: ``None`` (``kernel_size``).
        padding (int): zeros added on every side, at most ``kernel_size // 2``. Default: 0.

    Shape:
        - X: :math:`(N, C, I, J)`. Output: :math:`(N, C, I_{out}, J_{out})`.

    Returns:
        Tensor: equal to ``torch.nn.functional.avg_pool2d(X, kernel_size, stride, padding)``.

    Raises:
        TypeError: as :func:`max_pool2d`.
        ValueError: as :func:`max_pool2d`.

    Reference: Goodfellow et al. (2016), section 9.3. Book section :ref:`sec-cnn-pooling`.
    """
    windows, I_out, J_out, F_ = _pool_windows(X, kernel_size, stride, padding, fill=0.0)  # (N*C, F*F, L)
    # Add each window's entries one by one in row-major order, from 0, as PyTorch's kernel does, so that
    # even a sum that overflows (or loses a tiny entry to rounding) comes out as F.avg_pool2d's.
    total = torch.zeros_like(windows[:, 0])  # (N*C, L)
    for k in range(F_ * F_):
        total = total + windows[:, k]
    N, C = X.shape[:2]
    return (total / (F_ * F_)).reshape(N, C, I_out, J_out)  # (N*C, L) -> (N, C, I_out, J_out)


# ---------------------------------------------------------------- modules


class Conv2d(nn.Module):
    r"""A 2-D convolutional layer computed by :func:`conv2d_im2col`: :math:`Y = b + W \star X` (cross-correlation).

    Parameters, their names and shapes, and their initialisation match
    ``torch.nn.Conv2d`` (square kernels, zero padding, no dilation or
    groups), so ``state_dict``\ s load into each other. The weight is drawn by
    ``kaiming_uniform_(weight, a=sqrt(5))``, i.e. :math:`\mathcal U(-1/\sqrt{n}, 1/\sqrt{n})`
    with fan-in :math:`n = C F^2`, and the bias from the same range.

    Args:
        in_channels (int): input channels :math:`C`.
        out_channels (int): output channels :math:`O`, one kernel each.
        kernel_size (int): side :math:`F` of the square kernels.
        stride (int): step :math:`S` between kernel positions. Default: 1.
        padding (int): zeros :math:`P` added on every side. Default: 0.
        bias (bool): learn a bias per output channel. Default: ``True``.
        generator (torch.Generator | None): source of the initial weights;
            with a generator seeded ``s`` the weights equal those of
            ``nn.Conv2d`` built right after ``torch.manual_seed(s)``. Default: ``None``.

    Shape:
        - Input: :math:`(N, C, I, J)`.
        - Output: :math:`(N, O, I_{out}, J_{out})`, :math:`I_{out} = \lfloor (I + 2P - F)/S \rfloor + 1`.

    Attributes:
        weight (torch.nn.Parameter): :math:`(O, C, F, F)`.
        bias (torch.nn.Parameter | None): :math:`(O,)`.

    Raises:
        TypeError: if a size is not an int, ``bias`` not a bool or ``generator``
            not a generator; in ``forward``, if the input is not a floating
            tensor of the weights' dtype.
        ValueError: if a size is out of range; in ``forward``, if the input is
            not ``(N, C, I, J)``, has another number of channels than
            ``in_channels``, or is smaller than the kernel after padding.

    Reference: LeCun et al. (1998), section II; initialisation of
    ``torch.nn.Conv2d``. Book section :ref:`sec-cnn-layer`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        C, O, F_, S, P = _check_conv2d(in_channels, out_channels, kernel_size, stride, padding, bias, generator)
        self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding = C, O, F_, S, P
        self.weight = nn.Parameter(torch.empty(O, C, F_, F_))  # (O, C, F, F); F_ as F is torch.nn.functional
        self.bias = nn.Parameter(torch.empty(O)) if bias else None  # (O,)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw the weights as ``nn.Conv2d.reset_parameters`` does, in the same order."""
        _check_generator(generator)
        _reset_like_torch(self.weight, self.bias, generator)

    def forward(self, X: Tensor) -> Tensor:
        """Convolve a batch ``X`` of shape ``(N, in_channels, I, J)``; see the class docstring."""
        _check_layer_input(X, self.in_channels, self.weight.dtype)
        return conv2d_im2col(X, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )


def _check_digit_cnn(
    in_channels: object, hidden_channels: object, num_classes: object, image_size: object, conv: object,
    generator: object,
) -> tuple[int, int, int, int, int]:
    """The checks of :class:`DigitCNN`; return ``(C, C1, C2, K, I)``."""
    C = _check_int(in_channels, "in_channels", 1)
    C1, C2 = check_int_sequence(hidden_channels, "hidden_channels", 2)
    K = _check_int(num_classes, "num_classes", 1)
    I = _check_int(image_size, "image_size", 2)
    if I % 2:
        raise ValueError(f"expected an even image_size (pooling halves it), got {I}")
    _check_generator(generator)
    if not isinstance(conv, str):
        raise TypeError(f"conv must be a str, 'im2col' or 'torch', got {type(conv).__name__}: {conv!r}")
    if conv not in ("im2col", "torch"):
        raise ValueError(f"conv must be 'im2col' or 'torch', got {conv!r}")
    return C, C1, C2, K, I


def _check_model_input(X: object, C: int, I: int, dtype: torch.dtype) -> None:
    """The checks of :meth:`DigitCNN.forward`: a floating ``(N, C, I, I)`` batch of the weights' dtype."""
    if not isinstance(X, Tensor) or not X.dtype.is_floating_point:
        got = f"{type(X).__name__} {getattr(X, 'dtype', '')}".strip()
        raise TypeError(f"expected X to be a floating torch.Tensor, got {got}")
    if X.ndim != 4 or tuple(X.shape[1:]) != (C, I, I):
        raise ValueError(f"expected X of shape (N, {C}, {I}, {I}), got {tuple(X.shape)}")
    if X.dtype != dtype:
        raise TypeError(f"expected X of dtype {dtype} (the model's weights), got {X.dtype}")


class DigitCNN(nn.Module):
    r"""A small CNN for 8×8 digits, split into a backbone and a head: :math:`\hat Y = \text{head}(\text{features}(X))`.

    ``features`` is ``Conv(C→C_1, 3, pad 1) → ReLU → Conv(C_1→C_2, 3, pad 1) →
    ReLU → MaxPool(2) → Flatten``: the padded convolutions keep the
    :math:`I \times I` size, pooling halves it once, and each image becomes a
    feature vector of :math:`M = C_2 (I/2)^2` numbers (:math:`16 C_2` for
    8×8 digits). ``head`` is ``nn.Linear(M, num_classes)``. The two names are
    what transfer learning addresses: :func:`dlfoundations.transfer.freeze`
    freezes the backbone, :func:`dlfoundations.transfer.replace_head` replaces
    the head, :func:`dlfoundations.transfer.param_groups` gives them different
    learning rates. One class serves the CNN chapter, which trains it with
    the book's :class:`Conv2d` (``conv="im2col"``), and the transfer-learning
    chapter, which uses PyTorch's kernel (``conv="torch"``).

    Args:
        in_channels (int): image channels :math:`C`. Default: 1.
        hidden_channels (Sequence[int]): channels :math:`(C_1, C_2)` of the two
            convolutions. Default: ``(16, 32)``.
        num_classes (int): logits per image, :math:`K`. Default: 10.
        image_size (int): side :math:`I` of the square input, even, ``>= 2``. Default: 8.
        conv (str): ``"im2col"`` for the book's :class:`Conv2d` or ``"torch"``
            for ``torch.nn.Conv2d``. Default: ``"im2col"``.
        generator (torch.Generator | None): source of every initial weight,
            drawn layer by layer as PyTorch draws it; a generator seeded
            :math:`s` gives the weights PyTorch draws right after
            ``torch.manual_seed(s)``. Default: ``None`` (PyTorch's global
            generator, as the layers draw it when they are built).

    Shape:
        - Input: :math:`(N, C, I, I)`.
        - ``features`` output: :math:`(N, M)` with :math:`M = C_2 (I/2)^2`.
        - Output: :math:`(N, K)` logits.

    Attributes:
        features (torch.nn.Sequential): the backbone, convolutions to flattened features.
        head (torch.nn.Linear): the output layer, ``head.in_features == M``.

    Raises:
        TypeError: if a size is not an int, ``conv`` not a string or
            ``generator`` not a generator, or (in ``forward``) the input is
            not a floating tensor of the weights' dtype.
        ValueError: if a size is out of range, ``image_size`` is odd, ``conv``
            is unknown, or (in ``forward``) the input is not ``(N, C, I, I)``.

    Reference: LeCun et al. (1998), section II (LeNet-5 alternates
    convolutions and subsampling in the same way); Yosinski et al. (2014) for
    the backbone/head split. Book sections :ref:`sec-cnn-digits` and
    :ref:`sec-transfer-model`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        hidden_channels: Sequence[int] = (16, 32),
        num_classes: int = 10,
        image_size: int = 8,
        conv: str = "im2col",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        C, C1, C2, K, I = _check_digit_cnn(in_channels, hidden_channels, num_classes, image_size, conv, generator)
        Conv = Conv2d if conv == "im2col" else nn.Conv2d
        self.in_channels, self.image_size = C, I
        self.features = nn.Sequential(
            Conv(C, C1, 3, padding=1),  # (N, C, I, I) -> (N, C1, I, I)
            nn.ReLU(),
            Conv(C1, C2, 3, padding=1),  # (N, C1, I, I) -> (N, C2, I, I)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, C2, I, I) -> (N, C2, I/2, I/2)
            nn.Flatten(),  # -> (N, M), M = C2 * (I/2)^2: one feature vector per image
        )
        self.head = nn.Linear(C2 * (I // 2) ** 2, K)  # (N, M) -> (N, K)
        if generator is not None:  # redraw every layer, in order, as PyTorch draws it, from the generator
            for layer in self.modules():
                if isinstance(layer, (Conv2d, nn.Conv2d, nn.Linear)):
                    _reset_like_torch(layer.weight, layer.bias, generator)

    def forward(self, X: Tensor) -> Tensor:
        """Return logits ``(N, num_classes)`` for images ``X`` of shape ``(N, C, I, I)``."""
        _check_model_input(X, self.in_channels, self.image_size, self.head.weight.dtype)
        return self.head(self.features(X))  # (N, C, I, I) -> (N, M) -> (N, K)
