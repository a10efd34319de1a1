r"""Activation functions and their derivatives, written from their formulas.

Each activation :math:`f` sits next to its derivative :math:`f'` (for softmax,
which mixes its inputs, the Jacobian), so the math of a function and of its
backward pass can be read side by side. The tests check every function against
PyTorch's own (``torch.relu``, ``F.leaky_relu``, ``F.gelu``, ``torch.sigmoid``,
``torch.tanh``, ``torch.softmax``) and every derivative against autograd.

These are the package's only implementations of these functions:
:mod:`dlfoundations.backprop` pairs them with their derivatives for its
hand-written backward pass, and :func:`dlfoundations.losses.cross_entropy_grad`
takes its probabilities from :func:`softmax` (the log-softmax is
:func:`dlfoundations.losses.log_softmax`).

Book section: :ref:`sec-models-activations` in the Building models chapter.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "gelu",
    "gelu_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "softmax",
    "softmax_jacobian",
]


def _check_input(x: object, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"expected {name} to be a floating tensor, got dtype {x.dtype}")
    return x


def _check_slope(negative_slope: object) -> float:
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
        raise TypeError(f"negative_slope must be a float, got {type(negative_slope).__name__}: {negative_slope!r}")
    if not math.isfinite(negative_slope):
        raise ValueError(f"negative_slope must be finite, got {negative_slope}")
    return float(negative_slope)


def _check_softmax_input(x: object, dim: object) -> int:
    """The checks of :func:`softmax`: a floating tensor with at least one dimension, and a valid ``dim``."""
    _check_input(x)
    return _check_dim(x, dim)  # type: ignore[arg-type]


def _check_jacobian_input(x: object) -> None:
    """The checks of :func:`softmax_jacobian`: a floating tensor of shape ``(K,)`` or ``(N, K)``."""
    _check_input(x)
    if x.ndim not in (1, 2):  # type: ignore[union-attr]
        raise ValueError(f"expected x of shape (K,) or (N, K), got {tuple(x.shape)}")  # type: ignore[union-attr]


def _check_dim(x: Tensor, dim: object) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}: {dim!r}")
    if x.ndim == 0:
        raise ValueError("softmax expected a tensor with at least 1 dimension, got a 0-d tensor")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"dim must be in [{-x.ndim}, {x.ndim - 1}] for a {x.ndim}-d input, got {dim}")
    return dim


# ---------------------------------------------------------------- ReLU


def relu(x: Tensor) -> Tensor:
    r"""Rectified linear unit, element-wise: :math:`\mathrm{ReLU}(x) = \max(0, x)`.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: any shape :math:`(*)`.
        - Output: :math:`(*)`, same as the input.

    Returns:
        Tensor: equal to ``torch.relu(x)``, NaN included: a NaN input stays NaN
        (a ReLU that turned NaN into 0 would hide a diverging model).

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Reference: Nair and Hinton (2010); Glorot et al. (2011). Book: equation
    :eq:`eq-models-relu` in :ref:`sec-models-activations`.
    """
    _check_input(x)
    # Zero out where x <= 0, keep x elsewhere: NaN fails the comparison, so it is kept (and so is
    # its gradient, 1), as in torch.relu. Writing where(x > 0, x, 0) would map NaN to 0.
    return torch.where(x <= 0, torch.zeros_like(x), x)


def relu_grad(x: Tensor) -> Tensor:
    r"""Derivative of ReLU: :math:`\mathrm{ReLU}'(x) = \mathbb 1[x > 0]`.

    At the kink :math:`x = 0` the derivative does not exist; like autograd,
    this returns 0 there. Where ``x`` is NaN it returns 1, as autograd does
    for ``torch.relu`` (whose backward zeroes the gradient only where
    :math:`x \le 0`): the upstream gradient passes through a NaN input.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`.

    Returns:
        Tensor: 0 where ``x <= 0``, else 1, in ``x``'s dtype.

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Book: equation :eq:`eq-models-relu` in :ref:`sec-models-activations`.
    """
    _check_input(x)
    return (~(x <= 0)).to(x.dtype)


# ---------------------------------------------------------------- LeakyReLU


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    r"""Leaky ReLU, element-wise: :math:`x` for :math:`x > 0`, else :math:`\alpha x`.

    Args:
        x (Tensor): input, floating.
        negative_slope (float): the slope :math:`\alpha` for negative inputs.
            Default: 0.01 (as ``torch.nn.functional.leaky_relu``).

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`.

    Returns:
        Tensor: equal to ``F.leaky_relu(x, negative_slope)``.

    Raises:
        TypeError: if ``x`` is not a floating tensor or ``negative_slope`` not a number.
        ValueError: if ``negative_slope`` is not finite.

    Reference: Maas et al. (2013). Book: equation :eq:`eq-models-leaky-relu` in
    :ref:`sec-models-activations`.
    """
    _check_input(x)
    alpha = _check_slope(negative_slope)
    return torch.where(x > 0, x, alpha * x)


def leaky_relu_grad(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    r"""Derivative of leaky ReLU: 1 for :math:`x > 0`, else :math:`\alpha`.

    Args:
        x (Tensor): input, floating.
        negative_slope (float): the slope :math:`\alpha`. Default: 0.01.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`.

    Returns:
        Tensor: the derivative at every element, in ``x``'s dtype.

    Raises:
        TypeError: if ``x`` is not a floating tensor or ``negative_slope`` not a number.
        ValueError: if ``negative_slope`` is not finite.

    Book: equation :eq:`eq-models-leaky-relu` in :ref:`sec-models-activations`.
    """
    _check_input(x)
    alpha = _check_slope(negative_slope)
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))


# ---------------------------------------------------------------- GELU

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu(x: Tensor) -> Tensor:
    r"""Gaussian error linear unit, exact form: :math:`\mathrm{GELU}(x) = x\,\Phi(x) = \tfrac{x}{2}\bigl(1 + \mathrm{erf}(x/\sqrt 2)\bigr)`.

    :math:`\Phi` is the standard normal cumulative distribution function.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`.

    Returns:
        Tensor: equal to ``F.gelu(x)`` (``approximate="none"``, the erf form).

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Note:
        The tanh approximation (``F.gelu(x, approximate="tanh")``) differs
        from this by at most about :math:`5 \times 10^{-4}`.

    Note:
        At :math:`x = +\infty` this returns :math:`+\infty`, and near
        float32's largest number it returns :math:`x` (as
        :math:`\Phi(x) = 1` there), which is what ``F.gelu`` returns in
        float64. ``F.gelu``'s vectorised float32 kernel returns ``nan`` at
        :math:`+\infty` and ``inf`` above about half of float32's largest
        number. At :math:`-\infty` both return ``nan``
        (:math:`-\infty \cdot 0`).

    Reference: Hendrycks and Gimpel (2016), section 2. Book: equation
    :eq:`eq-models-gelu` in :ref:`sec-models-activations`.
    """
    _check_input(x)
    Phi = 0.5 * (1.0 + torch.erf(x * _INV_SQRT2))  # standard normal CDF
    return x * Phi


def gelu_grad(x: Tensor) -> Tensor:
    r"""Derivative of GELU: :math:`\mathrm{GELU}'(x) = \Phi(x) + x\,\varphi(x)`, :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`.

    Returns:
        Tensor: the derivative at every element.

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Book: equation :eq:`eq-models-gelu` in :ref:`sec-models-activations`.
    """
    _check_input(x)
    Phi = 0.5 * (1.0 + torch.erf(x * _INV_SQRT2))
    phi = _INV_SQRT_2PI * torch.exp(-0.5 * x * x)  # standard normal density
    return Phi + x * phi


# ---------------------------------------------------------------- sigmoid


def sigmoid(x: Tensor) -> Tensor:
    r"""Logistic sigmoid, element-wise: :math:`\sigma(x) = 1 / (1 + e^{-x})`.

    Computed from :math:`e^{-|x|} \le 1`, which never overflows:
    :math:`\sigma(x) = 1/(1 + e^{-|x|})` for :math:`x \ge 0` and
    :math:`e^{-|x|}/(1 + e^{-|x|})` for :math:`x < 0`.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`, values in :math:`[0, 1]`.

    Returns:
        Tensor: equal to ``torch.sigmoid(x)`` (to round-off), except where
        ``torch.sigmoid`` has already reached 0 (see the Note).

    Note:
        Mathematically :math:`\sigma(x) \in (0, 1)`, but rounding reaches the
        ends: in float32 the result is exactly 1 from :math:`x = 24 \ln 2
        \approx 16.64` on (where :math:`1 + e^{-x}` rounds to 1), as with
        ``torch.sigmoid``, and exactly 0 below about :math:`-103.97` (where
        :math:`e^{-|x|}` underflows). ``torch.sigmoid`` is 0 already below
        about :math:`-88.72`, where its :math:`e^{-x}` overflows, so the two
        differ there. :ref:`sec-loss-bce` measures both thresholds.

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Book: equation :eq:`eq-models-sigmoid` in :ref:`sec-models-activations`.
    """
    _check_input(x)
    # e^{-|x|} in (0, 1]: no overflow for any x. |x| is written as a where on x >= 0 rather than
    # x.abs(), whose derivative at 0 is 0, which would make autograd's sigma'(0) 0 instead of 1/4.
    z = torch.exp(-torch.where(x >= 0, x, -x))
    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_grad(x: Tensor) -> Tensor:
    r"""Derivative of the sigmoid: :math:`\sigma'(x) = \sigma(x)\,(1 - \sigma(x))`.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`, values in :math:`(0, 1/4]`.

    Returns:
        Tensor: the derivative at every element.

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Book: equation :eq:`eq-models-sigmoid` in :ref:`sec-models-activations`.
    """
    s = sigmoid(x)
    return s * (1.0 - s)


# ---------------------------------------------------------------- tanh


def tanh(x: Tensor) -> Tensor:
    r"""Hyperbolic tangent, element-wise: :math:`\tanh(x) = (e^{x} - e^{-x}) / (e^{x} + e^{-x})`.

    Computed as :math:`\operatorname{sign}(x)\,(1 - e^{-2|x|}) / (1 + e^{-2|x|})`
    with ``expm1`` for the numerator, which neither overflows for large
    :math:`|x|` nor loses digits near 0. The sign and :math:`|x|` are taken
    with one ``torch.where`` on :math:`x \ge 0`, so that autograd
    differentiates one smooth branch and gets :math:`\tanh'(0) = 1`.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`, values in :math:`(-1, 1)`.

    Returns:
        Tensor: equal to ``torch.tanh(x)``.

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Book: equation :eq:`eq-models-tanh` in :ref:`sec-models-activations`.
    """
    _check_input(x)
    # Not sign(x) * f(x.abs()): sign and abs have derivative 0 at x = 0, so autograd would give 0.
    a = torch.where(x >= 0, x, -x)  # |x|, with derivative 1 at x = 0 (the x >= 0 branch)
    t = -torch.expm1(-2.0 * a) / (1.0 + torch.exp(-2.0 * a))  # tanh(|x|), in [0, 1]
    return torch.where(x >= 0, t, -t)


def tanh_grad(x: Tensor) -> Tensor:
    r"""Derivative of tanh: :math:`\tanh'(x) = 1 - \tanh^2(x)`.

    Args:
        x (Tensor): input, floating.

    Shape:
        - Input: :math:`(*)`. Output: :math:`(*)`, values in :math:`(0, 1]`.

    Returns:
        Tensor: the derivative at every element.

    Raises:
        TypeError: if ``x`` is not a floating tensor.

    Book: equation :eq:`eq-models-tanh` in :ref:`sec-models-activations`.
    """
    t = tanh(x)
    return 1.0 - t * t


# ---------------------------------------------------------------- softmax


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    r"""Softmax along ``dim``: :math:`\mathrm{softmax}(\mathbf z)_k = e^{z_k} / \sum_j e^{z_j}`.

    Subtracts :math:`\max_j z_j` first; the result is unchanged (numerator and
    denominator both gain the factor :math:`e^{-\max_j z_j}`), and no
    exponential can overflow.

    Args:
        x (Tensor): the logits, floating.
        dim (int): the dimension to normalise over. Default: -1.

    Shape:
        - Input: any shape with at least one dimension, e.g. :math:`(N, K)`.
        - Output: the same shape; entries along ``dim`` are positive and sum to 1.

    Returns:
        Tensor: equal to ``torch.softmax(x, dim)``; an empty ``dim`` gives an
        empty result, and a NaN or :math:`+\infty` makes its whole slice NaN,
        as in PyTorch.

    Raises:
        TypeError: if ``x`` is not a floating tensor or ``dim`` not an int.
        ValueError: if ``x`` is 0-d or ``dim`` is out of range.

    Reference: Bridle (1990). Book: equation :eq:`eq-models-softmax` in
    :ref:`sec-models-activations`.
    """
    dim = _check_softmax_input(x, dim)
    if x.shape[dim] == 0:  # nothing to normalise (and amax refuses an empty dimension)
        return torch.exp(x)
    # The shift is a constant for the gradient too: softmax does not change when it does.
    shifted = x - x.amax(dim=dim, keepdim=True).detach()  # every entry <= 0
    e = torch.exp(shifted)
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x: Tensor) -> Tensor:
    r"""Jacobian of softmax over the last dimension: :math:`J = \mathrm{diag}(\mathbf s) - \mathbf s \mathbf s^\top`.

    With :math:`\mathbf s = \mathrm{softmax}(\mathbf z)`,
    :math:`J_{kj} = \partial s_k / \partial z_j = s_k(\delta_{kj} - s_j)`.
    For a batch, one Jacobian per row (rows do not interact).

    Args:
        x (Tensor): the logits, floating, 1-D or 2-D.

    Shape:
        - Input: :math:`(K,)` or :math:`(N, K)`.
        - Output: :math:`(K, K)` or :math:`(N, K, K)`.

    Returns:
        Tensor: the Jacobian(s); equal to
        ``torch.autograd.functional.jacobian(lambda z: torch.softmax(z, -1), x)``
        for a 1-D input (for 2-D, its diagonal blocks).

    Raises:
        TypeError: if ``x`` is not a floating tensor.
        ValueError: if ``x`` is not 1-D or 2-D.

    Book: equation :eq:`eq-models-softmax-jacobian` in :ref:`sec-models-activations`.
    """
    _check_jacobian_input(x)
    s = softmax(x, dim=-1)  # (K,) or (N, K)
    outer = s.unsqueeze(-1) * s.unsqueeze(-2)  # (..., K, 1) * (..., 1, K) -> (..., K, K)
    return torch.diag_embed(s) - outer  # (..., K, K)
