r"""Weight initialisation from variance preservation, measuring gradient flow, and clipping.

A layer :math:`Z = X W^\top + \mathbf b` multiplies the variance of its input
by :math:`n_{\text{in}} \operatorname{Var}[w]` on the way forward and the
variance of the incoming gradient by :math:`n_{\text{out}} \operatorname{Var}[w]`
on the way back. The fill functions here choose :math:`\operatorname{Var}[w]`
so that these factors are one (Glorot and Bengio, 2010; He et al., 2015), and
mirror ``torch.nn.init``'s names and arguments (``gain``, ``a``, ``mode``,
``nonlinearity``, ``generator``): with the same generator they draw the same
numbers. :func:`deep_mlp` and :func:`gradient_flow` measure, layer by layer,
what an initialisation does to a deep network, and :func:`clip_grad_norm_`
rescales gradients whose total norm is too large (Pascanu et al., 2013).

Book section: :ref:`chap-initialization`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from dlfoundations._validation import (
    check_bool,
    check_float,
    check_floating_dtype,
    check_floating_tensor,
    check_generator,
    check_number,
    check_positive_int,
)

__all__ = [
    "GradientFlow",
    "calculate_fan_in_and_fan_out",
    "calculate_gain",
    "clip_grad_norm_",
    "deep_mlp",
    "gradient_flow",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "uniform_",
    "uniform_bound",
    "xavier_normal_",
    "xavier_uniform_",
]

_MODES = ("fan_in", "fan_out")
_LINEAR_LIKE = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid",
)
_NONLINEARITIES = (*_LINEAR_LIKE, "tanh", "relu", "leaky_relu", "selu")
_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
}

# ---------------------------------------------------------------- validation


def _check_weight(tensor: object) -> Tensor:
    """A tensor (of any dtype: fans depend on the shape only) with at least two dimensions."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.ndim < 2:
        raise ValueError(
            "fan in and fan out need a tensor with at least 2 dimensions (O, D, ...), "
            f"got shape {tuple(tensor.shape)}"
        )
    return tensor


def _check_uniform_args(tensor: object, a: object, b: object, generator: object) -> tuple[float, float]:
    check_floating_tensor(tensor, "tensor")
    check_generator(generator)
    a, b = check_float(a, "a"), check_float(b, "b")
    if a > b:
        raise ValueError(f"uniform_ expects a <= b, got a={a} and b={b}")
    if not math.isfinite(b - a):
        raise ValueError(f"uniform_ expects a finite width b - a, got a={a} and b={b} (b - a = {b - a})")
    return a, b


def _check_normal_args(tensor: object, mean: object, std: object, generator: object) -> tuple[float, float]:
    check_floating_tensor(tensor, "tensor")
    check_generator(generator)
    return check_float(mean, "mean"), check_float(std, "std", low=0.0)


def _check_xavier_args(tensor: object, gain: object) -> float:
    check_floating_tensor(tensor, "tensor")
    return check_float(gain, "gain", low=0.0)


def _check_kaiming_args(tensor: object, mode: object) -> None:
    check_floating_tensor(tensor, "tensor")
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")


# ---------------------------------------------------------------- fans and gains


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    r"""Fan-in and fan-out of a weight: :math:`n_{\text{in}} = D`, :math:`n_{\text{out}} = O`, times the kernel's size for a convolution.

    A weight of shape ``(O, D)`` (as in ``torch.nn.Linear``) feeds each of
    its ``O`` outputs from ``D`` inputs, so :math:`n_{\text{in}} = D` and each
    input reaches :math:`n_{\text{out}} = O` outputs. A convolution weight of
    shape ``(C_out, C_in, F_1, ..., F_m)`` has a receptive field of
    :math:`F_1 \cdots F_m` inputs per channel, which multiplies both.

    Args:
        tensor (Tensor): a weight with at least two dimensions.

    Shape:
        - tensor: :math:`(O, D, *)`.

    Returns:
        tuple[int, int]: ``(fan_in, fan_out)``, as ``torch.nn.init._calculate_fan_in_and_fan_out``
        (of any dtype; a zero-sized side gives a fan of 0, as there).

    Raises:
        TypeError: if ``tensor`` is not a tensor.
        ValueError: if ``tensor`` has fewer than two dimensions (as PyTorch).

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-forward`.
    """
    _check_weight(tensor)
    receptive_field = math.prod(tensor.shape[2:])  # 1 for a linear layer's (O, D)
    fan_in = tensor.shape[1] * receptive_field
    fan_out = tensor.shape[0] * receptive_field
    return fan_in, fan_out


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""Gain :math:`g` of a nonlinearity, so that :math:`\operatorname{Var}[w] = g^2 / n`.

    ReLU keeps half of a symmetric input's second moment,
    :math:`\mathbb E[\operatorname{relu}(z)^2] = \tfrac12 \operatorname{Var}[z]`,
    so :math:`g = \sqrt 2`; a leaky ReLU of negative slope :math:`a` keeps
    :math:`\tfrac{1 + a^2}{2}`, so :math:`g = \sqrt{2 / (1 + a^2)}`. Linear
    layers and the sigmoid get :math:`g = 1`. For tanh, :math:`g = 5/3` is
    PyTorch's empirical value (tanh is the identity near zero, but squashes larger
    inputs).

    Convolutions (``"conv1d"`` ... ``"conv_transpose3d"``) are linear maps
    and get :math:`g = 1` too; ``"selu"`` gets PyTorch's :math:`3/4`.

    Note:
        ``torch.nn.init.calculate_gain("leaky_relu", param)`` returns NaN or 0
        for a NaN or infinite slope; here those raise ``ValueError``. A
        ``bool`` slope raises ``TypeError`` here, ``ValueError`` there.

    Args:
        nonlinearity (str): one of ``"linear"``, ``"conv1d"``, ``"conv2d"``,
            ``"conv3d"``, ``"conv_transpose1d"``, ``"conv_transpose2d"``,
            ``"conv_transpose3d"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``,
            ``"leaky_relu"``, ``"selu"``.
        param (float | None): the negative slope of ``"leaky_relu"``.
            Default: ``None``, meaning 0.01 as in ``torch.nn.LeakyReLU``.

    Returns:
        float: the gain, equal to ``torch.nn.init.calculate_gain(nonlinearity, param)``.

    Raises:
        TypeError: if ``nonlinearity`` is not a string or ``param`` is not a number.
        ValueError: if ``nonlinearity`` is unknown or ``param`` is not finite.

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-gain`; He et
    al. (2015), equations (10) and (15).
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(f"nonlinearity must be a str, one of {_NONLINEARITIES}, got {type(nonlinearity).__name__}")
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {_NONLINEARITIES}, got {nonlinearity!r}")
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4.0  # PyTorch's value, chosen to keep SELU's self-normalisation
    negative_slope = 0.01 if param is None else check_float(param, "param", label="param (negative slope)")
    return math.sqrt(2.0 / (1.0 + negative_slope**2))


def uniform_bound(std: float) -> float:
    r"""Half-width of the uniform distribution of a given standard deviation: :math:`a = \sqrt 3\, \sigma`.

    :math:`\mathcal U(-a, a)` has variance :math:`a^2 / 3`.

    Args:
        std (float): the wanted standard deviation :math:`\sigma \ge 0`.

    Returns:
        float: :math:`a = \sqrt{3}\,\sigma`.

    Raises:
        TypeError: if ``std`` is not a number.
        ValueError: if ``std`` is negative or not finite.

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-uniform-bound`.
    """
    return math.sqrt(3.0) * check_float(std, "std", low=0.0)


# ---------------------------------------------------------------- fills


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    r"""Fill ``tensor`` in place with :math:`w = a + (b - a)\,u`, :math:`u \sim \mathcal U(0, 1)`.

    Args:
        tensor (Tensor): the floating-point tensor to fill.
        a (float): lower bound. Default: 0.
        b (float): upper bound, :math:`b \ge a`. Default: 1.
        generator (torch.Generator | None): source of the draws. Default: ``None``
            (PyTorch's global generator).

    Shape:
        - tensor: any shape; it keeps its shape, dtype and device.

    Returns:
        Tensor: ``tensor`` itself, equal (to round-off) to
        ``torch.nn.init.uniform_(tensor, a, b, generator=generator)`` after the same draws.

    Note:
        The draws are the same as PyTorch's, and ``generator`` ends in the same
        state, but the affine map :math:`a + (b - a) u` is rounded in a
        different order than PyTorch's kernel, so a value may differ from it in
        the last bit (one unit in the last place).

    Raises:
        TypeError: if ``tensor`` is not a floating tensor, a bound is not a number
            or ``generator`` is not a ``torch.Generator``.
        ValueError: if a bound is not finite, ``a > b``, or ``b - a`` overflows
            (PyTorch raises ``RuntimeError`` for the last two).

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-uniform-bound`.
    """
    a, b = _check_uniform_args(tensor, a, b, generator)
    u = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    with torch.no_grad():  # initialisation is not part of the graph
        return tensor.copy_(a + (b - a) * u)


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    r"""Fill ``tensor`` in place with :math:`w = \mu + \sigma \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, 1)`.

    Args:
        tensor (Tensor): the floating-point tensor to fill.
        mean (float): :math:`\mu`. Default: 0.
        std (float): :math:`\sigma \ge 0`. Default: 1.
        generator (torch.Generator | None): source of the draws. Default: ``None``.

    Shape:
        - tensor: any shape; it keeps its shape, dtype and device.

    Returns:
        Tensor: ``tensor`` itself, equal to
        ``torch.nn.init.normal_(tensor, mean, std, generator=generator)`` after the same draws.

    Raises:
        TypeError: if ``tensor`` is not a floating tensor, ``mean`` or ``std`` is
            not a number, or ``generator`` is not a ``torch.Generator``.
        ValueError: if ``mean`` or ``std`` is not finite or ``std`` is negative.

    Book section: :ref:`chap-initialization`.
    """
    mean, std = _check_normal_args(tensor, mean, std, generator)
    eps = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    with torch.no_grad():
        return tensor.copy_(mean + std * eps)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    r"""Glorot/Xavier uniform fill: :math:`\mathcal U(-a, a)`, :math:`a = g \sqrt{6 / (n_{\text{in}} + n_{\text{out}})}`.

    The variance :math:`g^2 \cdot 2 / (n_{\text{in}} + n_{\text{out}})` is the
    compromise between the forward condition :math:`n_{\text{in}}
    \operatorname{Var}[w] = 1` and the backward one :math:`n_{\text{out}}
    \operatorname{Var}[w] = 1`; the bound follows from :func:`uniform_bound`.

    Args:
        tensor (Tensor): weight to fill in place, at least 2-D.
        gain (float): scale factor :math:`g \ge 0` (see :func:`calculate_gain`). Default: 1.
        generator (torch.Generator | None): source of the draws. Default: ``None``.

    Shape:
        - tensor: :math:`(O, D, *)`.

    Returns:
        Tensor: ``tensor``, equal to ``torch.nn.init.xavier_uniform_(tensor, gain, generator)``
        after the same draws.

    Raises:
        TypeError: if ``tensor`` is not a floating tensor or ``gain`` not a number.
        ValueError: if ``tensor`` has fewer than 2 dimensions or ``gain`` is negative or not finite.

    Note:
        A tensor with no element is returned untouched and no number is drawn
        (``torch.nn.init.xavier_*_`` raises ``ZeroDivisionError`` for shape
        ``(0, 0)``). A negative gain raises ``ValueError`` here; PyTorch raises
        ``RuntimeError`` from its kernel. Values equal PyTorch's to round-off
        (see :func:`uniform_`).

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-xavier`;
    Glorot and Bengio (2010), section 4.2.1, equation (16).
    """
    gain = _check_xavier_args(tensor, gain)
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor  # nothing to fill (PyTorch divides by fan_in + fan_out = 0 for shape (0, 0))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = uniform_bound(std)
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    r"""Glorot/Xavier normal fill: :math:`\mathcal N(0, \sigma^2)`, :math:`\sigma = g \sqrt{2 / (n_{\text{in}} + n_{\text{out}})}`.

    Args:
        tensor (Tensor): the weight :math:`(O, D, *)` to fill in place.
        gain (float): scale factor :math:`g \ge 0`. Default: 1.
        generator (torch.Generator | None): source of the draws. Default: ``None``.

    Returns:
        Tensor: ``tensor``, equal to ``torch.nn.init.xavier_normal_(tensor, gain, generator)``
        after the same draws.

    Raises:
        TypeError: as :func:`xavier_uniform_` raises.
        ValueError: as :func:`xavier_uniform_` raises.

    Note:
        Where it differs from PyTorch (an empty tensor, a negative gain,
        round-off), it does as :func:`xavier_uniform_` does; see the note there.

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-xavier`;
    Glorot and Bengio (2010), section 4.2.1 (the variance of their equation (16)).
    """
    gain = _check_xavier_args(tensor, gain)
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor  # nothing to fill (PyTorch divides by fan_in + fan_out = 0 for shape (0, 0))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    _check_kaiming_args(tensor, mode)
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    gain = calculate_gain(nonlinearity, a)
    if tensor.numel() == 0:
        # As torch.nn.init.kaiming_*_: a no-op with a warning, and no number drawn.
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = fan_in if mode == "fan_in" else fan_out
    return gain / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Kaiming/He uniform fill: :math:`\mathcal U(-b, b)`, :math:`b = g \sqrt{3 / n}`, :math:`n` = fan-in or fan-out.

    With ``nonlinearity="relu"`` the variance is :math:`2 / n`, the value that
    makes a ReLU layer keep the second moment of its input.

    Args:
        tensor (Tensor): weight to fill in place, at least 2-D.
        a (float): negative slope of the leaky ReLU (only used with
            ``"leaky_relu"``). Default: 0.
        mode (str): ``"fan_in"`` preserves the forward variance, ``"fan_out"``
            the backward one. Default: ``"fan_in"``.
        nonlinearity (str): passed to :func:`calculate_gain`. Default: ``"leaky_relu"``
            (as in PyTorch; with ``a=0`` it equals ``"relu"``).
        generator (torch.Generator | None): source of the draws. Default: ``None``.

    Shape:
        - tensor: :math:`(O, D, *)`.

    Returns:
        Tensor: ``tensor``, equal to ``torch.nn.init.kaiming_uniform_`` with the
        same arguments after the same draws.

    Note:
        A tensor with no element is returned untouched, with PyTorch's warning
        "Initializing zero-element tensors is a no-op", and no number is drawn.
        Values equal PyTorch's to round-off (see :func:`uniform_`).

    Raises:
        TypeError: if ``tensor`` is not a floating tensor.
        ValueError: if ``tensor`` has fewer than 2 dimensions, or ``mode`` or
            ``nonlinearity`` is unknown.

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-he`;
    He et al. (2015), equation (10).
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = uniform_bound(std)
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Kaiming/He normal fill: :math:`\mathcal N(0, \sigma^2)`, :math:`\sigma = g / \sqrt n`, :math:`n` = fan-in or fan-out.

    Args:
        tensor (Tensor): the weight :math:`(O, D, *)` to fill in place.
        a (float): negative slope of the leaky ReLU. Default: 0.
        mode (str): ``"fan_in"`` or ``"fan_out"``. Default: ``"fan_in"``.
        nonlinearity (str): passed to :func:`calculate_gain`. Default: ``"leaky_relu"``.
        generator (torch.Generator | None): source of the draws. Default: ``None``.

    Returns:
        Tensor: ``tensor``, equal to ``torch.nn.init.kaiming_normal_`` with the
        same arguments after the same draws.

    Raises:
        TypeError: as :func:`kaiming_uniform_` raises.
        ValueError: as :func:`kaiming_uniform_` raises.

    Note:
        An empty tensor and round-off are handled as in :func:`kaiming_uniform_`; see the note there.

    Book section: :ref:`chap-initialization`, equation :eq:`eq-init-he`;
    He et al. (2015), equations (10) and (14).
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator=generator)


# ---------------------------------------------------------------- measuring gradient flow


def _check_deep_mlp_args(
    in_features: object, hidden_size: object, out_features: object, num_layers: object, nonlinearity: object,
    init: object, generator: object, dtype: object,
) -> None:
    for value, name in ((in_features, "in_features"), (hidden_size, "hidden_size"), (num_layers, "num_layers"),
                        (out_features, "out_features")):
        check_positive_int(value, name)
    if nonlinearity not in _ACTIVATIONS:
        raise ValueError(f"nonlinearity must be one of {tuple(_ACTIVATIONS)}, got {nonlinearity!r}")
    if not callable(init):
        raise TypeError(f"init must be callable as init(weight, generator=...), got {type(init).__name__}")
    check_generator(generator)
    check_floating_dtype(dtype)


def deep_mlp(
    in_features: int,
    hidden_size: int,
    out_features: int,
    num_layers: int,
    nonlinearity: str = "tanh",
    init: Callable[..., Tensor] = xavier_uniform_,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    r"""A deep MLP :math:`A_l = f(A_{l-1} W_l^\top + \mathbf b_l)`, :math:`l = 1..L`, then a linear output layer.

    Every weight (the output layer's too) is filled by ``init(weight, generator=generator)``
    and every bias is zero, as in Glorot and Bengio (2010) and He et al. (2015).

    Args:
        in_features (int): :math:`D`, the input size.
        hidden_size (int): :math:`H`, the width of every hidden layer.
        out_features (int): :math:`O`, the output size.
        num_layers (int): :math:`L`, the number of hidden layers.
        nonlinearity (str): ``"tanh"``, ``"relu"`` or ``"sigmoid"``. Default: ``"tanh"``.
        init (Callable): fills a weight in place; called as
            ``init(weight, generator=generator)``, e.g. :func:`xavier_uniform_` or
            ``functools.partial(kaiming_normal_, nonlinearity="relu")``.
            Default: :func:`xavier_uniform_`.
        generator (torch.Generator | None): passed to ``init``. Default: ``None``.
        dtype (torch.dtype): parameter dtype. Default: ``torch.float32``.

    Shape:
        - Input: :math:`(N, D)`. Output: :math:`(N, O)`.

    Returns:
        nn.Sequential: ``[Linear(D, H), f, Linear(H, H), f, ..., Linear(H, O)]``,
        :math:`2L + 1` modules.

    Raises:
        TypeError: if a size is not an int, ``init`` is not callable or ``dtype`` is not floating.
        ValueError: if a size is not positive or ``nonlinearity`` is unknown.

    Book section: :ref:`chap-initialization`.
    """
    _check_deep_mlp_args(in_features, hidden_size, out_features, num_layers, nonlinearity, init, generator, dtype)
    sizes = [in_features, *[hidden_size] * num_layers, out_features]  # D, H, ..., H, O
    modules: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = nn.Linear(n_in, n_out, dtype=dtype)
        init(layer.weight, generator=generator)
        nn.init.zeros_(layer.bias)
        modules.append(layer)
        if k < len(sizes) - 2:  # no nonlinearity after the output layer
            modules.append(_ACTIVATIONS[nonlinearity]())
    return nn.Sequential(*modules)


class GradientFlow(NamedTuple):
    r"""Standard deviations measured in each hidden layer :math:`l = 1..L` by :func:`gradient_flow`."""

    #: Std of :math:`A_l = f(Z_l)` over the batch and units, shape ``(L,)``.
    activation_std: Tensor
    #: Std of :math:`\partial \mathcal L / \partial Z_l`, shape ``(L,)``.
    preactivation_grad_std: Tensor
    #: Std of :math:`\partial \mathcal L / \partial W_l`, shape ``(L,)``.
    weight_grad_std: Tensor
    #: The loss of the batch.
    loss: float


def _check_gradient_flow_args(model: object, X: object) -> None:
    if not isinstance(model, nn.Sequential) or len(model) < 3 or len(model) % 2 == 0:
        raise TypeError(
            "model must be an nn.Sequential [Linear, f, ..., Linear] with at least one hidden layer, "
            f"got {type(model).__name__}"
        )
    linears = list(model)[0::2]
    if not all(isinstance(m, nn.Linear) for m in linears):
        raise TypeError(f"expected nn.Linear at even positions of model, got {[type(m).__name__ for m in linears]}")
    check_floating_tensor(X, "X")
    D = linears[0].in_features
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(f"expected X of shape (N, {D}), got {tuple(X.shape)}")
    if X.dtype != linears[0].weight.dtype:  # nn.Linear does not promote: F.linear would raise a RuntimeError
        raise TypeError(f"expected X of the model's dtype {linears[0].weight.dtype}, got {X.dtype}")


def _scalar_loss(loss_fn: Callable[[Tensor, Tensor], Tensor], y_hat: Tensor, y: object) -> Tensor:
    """``loss_fn(y_hat, y)``, checked to be a scalar tensor; PyTorch's shape errors become ``ValueError``."""
    try:
        loss = loss_fn(y_hat, y)
    except (RuntimeError, IndexError) as err:  # e.g. cross_entropy on targets of the wrong shape or range
        raise ValueError(
            f"loss_fn could not compare outputs of shape {tuple(y_hat.shape)} with y of shape "
            f"{tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__}: {err}"
        ) from err
    if not isinstance(loss, Tensor):
        raise TypeError(f"loss_fn must return a Tensor, got {type(loss).__name__}")
    if loss.ndim != 0:
        raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
    return loss


def gradient_flow(
    model: nn.Sequential,
    X: Tensor,
    y: Tensor,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
) -> GradientFlow:
    r"""Forward and backward one batch through a :func:`deep_mlp`, recording per-layer standard deviations.

    The loop applies the modules one by one, keeping every hidden pre-activation
    :math:`Z_l` and activation :math:`A_l`; one call to ``torch.autograd.grad``
    then gives :math:`\partial \mathcal L / \partial Z_l` and
    :math:`\partial \mathcal L / \partial W_l` without touching ``.grad``.

    Args:
        model (torch.nn.Sequential): ``[Linear, f, Linear, f, ..., Linear]`` as built by :func:`deep_mlp`.
        X (Tensor): a batch of inputs.
        y (Tensor): targets for ``loss_fn``.
        loss_fn (Callable): ``loss_fn(y_hat, y)`` returns a scalar. Default:
            ``torch.nn.functional.cross_entropy`` (``y`` holds class indices).

    Shape:
        - X: :math:`(N, D)` with :math:`D` the first layer's ``in_features``.
        - y: what ``loss_fn`` expects, :math:`(N,)` for cross-entropy.

    Returns:
        GradientFlow: three tensors of shape ``(L,)`` and the loss.

    Raises:
        TypeError: if ``model`` is not an ``nn.Sequential`` of alternating
            ``nn.Linear`` and activation modules ending with ``nn.Linear``, or
            ``X`` is not a floating tensor of the model's dtype (both dtypes named).
        ValueError: if ``X`` is not of shape ``(N, D)``, ``loss_fn`` cannot take
            ``y`` (wrong shape or class index out of range), or the loss is not a scalar.

    Book section: :ref:`chap-initialization`; the measurements of Glorot and
    Bengio (2010), section 4.2.
    """
    _check_gradient_flow_args(model, X)
    Zs: list[Tensor] = []
    As: list[Tensor] = []
    A = X
    for k, module in enumerate(model):
        if k % 2 == 0:
            Z = module(A)  # A @ W.T + b: (N, H), or (N, O) for the output layer
            if k < len(model) - 1:
                Zs.append(Z)
            A = Z
        else:
            A = module(A)  # (N, H)
            As.append(A)
    loss = _scalar_loss(loss_fn, A, y)
    weights = [m.weight for m in model[0:-1:2]]  # W_1, ..., W_L: the hidden layers' weights
    grads = torch.autograd.grad(loss, Zs + weights)
    L = len(Zs)
    return GradientFlow(
        activation_std=torch.stack([a.detach().std() for a in As]),
        preactivation_grad_std=torch.stack([g.std() for g in grads[:L]]),
        weight_grad_std=torch.stack([g.std() for g in grads[L:]]),
        loss=loss.item(),
    )


# ---------------------------------------------------------------- clipping


def _check_clip_args(
    parameters: object, max_norm: object, norm_type: object, error_if_nonfinite: object
) -> tuple[list[Tensor], float, float]:
    """Check the arguments of :func:`clip_grad_norm_`; return the parameters as a list, ``max_norm`` and ``norm_type``."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters must be tensors, got {type(p).__name__}")
        if p.grad is not None and not p.grad.is_floating_point():
            raise TypeError(f"gradients must have a floating dtype, got {p.grad.dtype}")
    max_norm = check_float(max_norm, "max_norm", low=0.0)
    norm_type = check_number(norm_type, "norm_type")  # inf is allowed: the largest |g_i|
    if not norm_type >= 1:  # also refuses NaN
        raise ValueError(f"norm_type must be >= 1 or inf, got {norm_type}")
    check_bool(error_if_nonfinite, "error_if_nonfinite")
    return params, max_norm, norm_type


def _nonfinite_norm_error(total_norm: Tensor, norm_type: float, count: int) -> ValueError:
    return ValueError(
        f"The total norm of order {norm_type} for gradients from {count} parameters is "
        f"non-finite ({total_norm.item()}), so it cannot be clipped: expected a finite norm "
        "(set error_if_nonfinite=False to multiply the gradients by the NaN or 0 factor)"
    )


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    r"""Rescale all gradients by :math:`\min\bigl(1, \tfrac{c}{\lVert g \rVert_p + 10^{-6}}\bigr)`, :math:`\lVert g \rVert_p` their joint norm.

    The total norm treats every parameter's gradient as one piece of a single
    vector, :math:`\lVert g \rVert_p = \bigl(\sum_m \lVert g_m \rVert_p^p\bigr)^{1/p}`
    (the largest :math:`|g_{m,i}|` for :math:`p = \infty`). When it exceeds
    :math:`c` = ``max_norm`` every gradient is multiplied by the same factor, so
    the update keeps its direction and gets length :math:`c`.

    As PyTorch does, the norm of each gradient is taken first and then the
    norm of those norms, which is the same number.

    Note:
        As in ``torch.nn.utils.clip_grad_norm_``, :math:`10^{-6}` is added to
        the norm before dividing (Pascanu et al. divide by the norm itself), so a
        clipped gradient has norm slightly below ``max_norm``; parameters whose
        ``.grad`` is ``None`` are skipped, and with no gradient at all the result
        is ``tensor(0.)``. A NaN or infinite norm makes the factor NaN or 0 and
        is multiplied in, as PyTorch does, unless ``error_if_nonfinite``.
        On purpose, three edges differ from PyTorch: ``error_if_nonfinite=True``
        raises ``ValueError`` (PyTorch: ``RuntimeError``) and leaves the gradients
        untouched; an empty gradient counts as norm 0 for ``norm_type=inf``
        (PyTorch raises ``RuntimeError``: "cannot compute the infinity norm on an
        empty tensor"); and ``max_norm`` must be finite and ``>= 0``, ``norm_type``
        at least 1 (PyTorch does not check them). Like PyTorch's, the powers
        :math:`|g_i|^p` are not rescaled, so a float32 gradient whose entries
        are near :math:`10^{20}` has an infinite 2-norm (and is multiplied by 0),
        and one near :math:`10^{-25}` a 2-norm of 0, exactly as there.

    Args:
        parameters (Iterable[Tensor] or Tensor): parameters whose ``.grad`` is rescaled in place.
        max_norm (float): :math:`c \ge 0`, the largest total norm allowed.
        norm_type (float): :math:`p \ge 1`, or ``float("inf")``. Default: 2.
        error_if_nonfinite (bool): raise if the total norm is NaN or infinite,
            instead of multiplying the gradients by a NaN or 0 factor. Default: ``False``.

    Returns:
        Tensor: the total norm *before* clipping, a 0-d tensor of the gradients'
        promoted dtype, as ``torch.nn.utils.clip_grad_norm_`` returns.

    Raises:
        TypeError: if ``parameters`` holds something that is not a tensor, a
            gradient is not floating, a number argument is not a number, or
            ``error_if_nonfinite`` is not a bool.
        ValueError: if ``max_norm`` is negative or not finite, ``norm_type < 1``
            or NaN, or the total norm is not finite and ``error_if_nonfinite``.

    Book section: :ref:`chap-initialization`, equations :eq:`eq-init-total-norm`
    and :eq:`eq-init-clip`; Pascanu et al. (2013), algorithm 1.
    """
    params, max_norm, norm_type = _check_clip_args(parameters, max_norm, norm_type, error_if_nonfinite)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    with torch.no_grad():
        def p_norm(v: Tensor) -> Tensor:  # ||v||_p of one flat set of numbers, 0 when it is empty
            if v.numel() == 0:
                return v.new_zeros(())
            if math.isinf(norm_type):
                return v.abs().amax()  # max_i |v_i|
            return (v.abs() ** norm_type).sum() ** (1.0 / norm_type)  # (sum_i |v_i|^p)^(1/p)

        # ||(||g_1||_p, ..., ||g_M||_p)||_p: the p-norm of all gradients as one vector
        total_norm = p_norm(torch.stack([p_norm(g) for g in grads]))  # stack promotes mixed dtypes
        if error_if_nonfinite and not torch.isfinite(total_norm):
            raise _nonfinite_norm_error(total_norm, norm_type, len(grads))
        scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)  # never scale up
        for g in grads:
            g.mul_(scale)
    return total_norm
