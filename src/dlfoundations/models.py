r"""Multilayer perceptrons, parameter counting and one-hot targets.

An MLP is a stack of ``torch.nn.Linear`` layers, each computing
:math:`Z = X W^\top + \mathbf b`, with an activation between them and none after
the last. This module builds the same network two ways, as an
``torch.nn.Sequential`` (:func:`mlp_sequential`) and as an
``torch.nn.Module`` subclass (:class:`MLP`), counts its parameters by formula
(:func:`count_linear_parameters`) and by inspection (:func:`count_parameters`),
and encodes class labels as one-hot rows (:func:`one_hot`).

Book section: :ref:`chap-building-models`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from dlfoundations._validation import check_module, check_positive_int as _check_positive_int

__all__ = [
    "ACTIVATION_NAMES",
    "MLP",
    "count_linear_parameters",
    "reset_linear_parameters_",
    "count_parameters",
    "make_activation",
    "mlp_sequential",
    "one_hot",
]

#: The activation names :class:`MLP` and :func:`mlp_sequential` accept.
ACTIVATION_NAMES: tuple[str, ...] = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "identity")


def _check_sizes(sizes: object, name: str, min_len: int) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"{name} must be a sequence of positive ints, got {type(sizes).__name__}: {sizes!r}")
    if len(sizes) < min_len:
        raise ValueError(f"{name} must have at least {min_len} sizes, got {len(sizes)}: {list(sizes)}")
    return [_check_positive_int(size, f"{name}[{i}]") for i, size in enumerate(sizes)]


def make_activation(name: str) -> nn.Module:
    """Return a new activation module by name: ``"relu"`` gives ``nn.ReLU()``, and so on.

    Args:
        name (str): one of :data:`ACTIVATION_NAMES`: ``"relu"``, ``"tanh"``,
            ``"sigmoid"``, ``"leaky_relu"`` (slope 0.01), ``"gelu"`` (exact erf
            form) or ``"identity"``.

    Returns:
        torch.nn.Module: a fresh module without parameters.

    Raises:
        TypeError: if ``name`` is not a string.
        ValueError: if ``name`` is unknown; the message lists the allowed names.

    Book section: :ref:`sec-models-activations`.
    """
    if not isinstance(name, str):
        raise TypeError(f"activation must be a str, one of {ACTIVATION_NAMES}, got {type(name).__name__}")
    modules = {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "leaky_relu": nn.LeakyReLU,
        "gelu": nn.GELU,
        "identity": nn.Identity,
    }
    if name not in modules:
        raise ValueError(f"Unknown activation {name!r}; expected one of {ACTIVATION_NAMES}")
    return modules[name]()


def count_linear_parameters(layer_sizes: Sequence[int]) -> int:
    r"""Parameters of a stack of linear layers, by formula: :math:`\sum_{l=1}^{L} n_l (n_{l-1} + 1)`.

    A layer from :math:`m` inputs to :math:`n` outputs has an :math:`n \times m`
    weight and :math:`n` biases, :math:`n(m + 1)` numbers in all. Activations
    have no parameters, so this is also the count of an :class:`MLP` without
    batch normalisation.

    Args:
        layer_sizes (Sequence[int]): :math:`(n_0, n_1, \dots, n_L)`, the input
            size, the hidden sizes and the output size, e.g. ``[D, H, O]``.

    Returns:
        int: the number of weights and biases.

    Raises:
        TypeError: if ``layer_sizes`` is not a sequence of ints.
        ValueError: if it has fewer than 2 sizes or a size is not positive.

    Example:
        >>> count_linear_parameters([4, 8, 3])  # 8 * (4 + 1) + 3 * (8 + 1)
        67

    Book section: :ref:`sec-models-counting`, equation :eq:`eq-models-count`.
    """
    sizes = _check_sizes(layer_sizes, "layer_sizes", min_len=2)
    return sum(n * (m + 1) for m, n in zip(sizes[:-1], sizes[1:]))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of a model: ``sum(p.numel() for p in model.parameters() if p.requires_grad)``.

    Args:
        model (torch.nn.Module): any module.

    Returns:
        int: the number of scalars that an optimizer would update. Buffers
        (such as batch normalisation's running statistics) are not counted.

    Raises:
        TypeError: if ``model`` is not an ``torch.nn.Module``.

    Book section: :ref:`sec-models-counting`.
    """
    check_module(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _mlp_layers(
    in_features: int,
    hidden_sizes: Sequence[int],
    out_features: int,
    activation: str,
    dropout: float,
    batch_norm: bool,
) -> list[nn.Module]:
    D = _check_positive_int(in_features, "in_features")
    O = _check_positive_int(out_features, "out_features")  # noqa: E741 - the book's shape letter
    hidden = _check_sizes(hidden_sizes, "hidden_sizes", min_len=0)
    make_activation(activation)  # validates the name before any layer is built
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
        raise TypeError(f"dropout must be a float in [0, 1), got {type(dropout).__name__}: {dropout!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if not isinstance(batch_norm, bool):
        raise TypeError(f"batch_norm must be a bool, got {type(batch_norm).__name__}: {batch_norm!r}")
    layers: list[nn.Module] = []
    fan_in = D
    for H in hidden:
        layers.append(nn.Linear(fan_in, H))  # (N, fan_in) -> (N, H)
        if batch_norm:
            layers.append(nn.BatchNorm1d(H))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        fan_in = H
    layers.append(nn.Linear(fan_in, O))  # (N, fan_in) -> (N, O): no activation after it
    return layers


def mlp_sequential(
    in_features: int,
    hidden_sizes: Sequence[int],
    out_features: int,
    activation: str = "relu",
) -> nn.Sequential:
    r"""An MLP as an ``torch.nn.Sequential``: :math:`\hat Y = f(\cdots f(X W_1^\top + \mathbf b_1) \cdots) W_L^\top + \mathbf b_L`.

    The layers are ``Linear, activation`` for each hidden size, then a final
    ``Linear`` with no activation, so the output is logits (or raw regression
    values). Its ``state_dict`` loads into ``MLP(...).net`` built with the same
    arguments.

    Args:
        in_features (int): input features :math:`D`.
        hidden_sizes (Sequence[int]): the hidden widths :math:`H_1, \dots`; may be empty.
        out_features (int): outputs :math:`O`.
        activation (str): one of :data:`ACTIVATION_NAMES`. Default: ``"relu"``.

    Shape:
        - Input: :math:`(N, D)`. Output: :math:`(N, O)`.

    Returns:
        torch.nn.Sequential: the network, with PyTorch's default initialisation.

    Raises:
        TypeError: if a size is not an int or ``activation`` not a string.
        ValueError: if a size is not positive or ``activation`` is unknown.

    Book section: :ref:`sec-models-two-ways`.
    """
    return nn.Sequential(*_mlp_layers(in_features, hidden_sizes, out_features, activation, 0.0, False))


class MLP(nn.Module):
    r"""Multilayer perceptron: :math:`A_l = f(A_{l-1} W_l^\top + \mathbf b_l)` for each hidden layer, then a linear output.

    Each hidden layer is ``Linear -> BatchNorm1d (if batch_norm) -> activation
    -> Dropout (if dropout > 0)``; the last layer is a ``Linear`` with no
    activation. The layers live in ``self.net``, a ``torch.nn.Sequential``,
    so ``MLP(D, hs, O, act).net`` has the same ``state_dict`` keys as
    ``mlp_sequential(D, hs, O, act)``.

    Args:
        in_features (int): input features :math:`D`.
        hidden_sizes (Sequence[int]): the hidden widths :math:`H_1, \dots`; may be empty
            (then the model is one linear layer).
        out_features (int): outputs :math:`O`.
        activation (str): one of :data:`ACTIVATION_NAMES`. Default: ``"relu"``.
        dropout (float): dropout probability in :math:`[0, 1)` after each hidden
            activation; 0 adds no dropout layer. Default: 0.0.
        batch_norm (bool): add ``torch.nn.BatchNorm1d`` after each hidden
            ``Linear``. Default: ``False``.

    Shape:
        - Input: :math:`(N, D)`.
        - Output: :math:`(N, O)`.

    Attributes:
        net (torch.nn.Sequential): the layers, in order.
        in_features (int): the constructor's argument.
        hidden_sizes (tuple[int, ...]): the constructor's argument, as a tuple.
        out_features (int): the constructor's argument.
        activation (str): the constructor's argument.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if a size is not positive, ``activation`` is unknown (the
            message lists the allowed names) or ``dropout`` is outside [0, 1).

    Note:
        ``nn.Dropout`` also accepts ``p=1``, which zeroes every activation in
        training; a network that can only output its last bias is refused here.

    Reference: Rumelhart, Hinton and Williams (1986); Goodfellow et al. (2016),
    chapter 6. Book section: :ref:`sec-models-two-ways`.
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: Sequence[int],
        out_features: int,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        layers = _mlp_layers(in_features, hidden_sizes, out_features, activation, dropout, batch_norm)
        self.in_features = in_features
        self.hidden_sizes = tuple(hidden_sizes)
        self.out_features = out_features
        self.activation = activation
        self.net = nn.Sequential(*layers)

    def forward(self, X: Tensor) -> Tensor:
        """Return the outputs (logits or regression values) for a batch ``X`` of shape ``(N, D)``.

        Raises:
            TypeError: if ``X`` is not a tensor, or its dtype is not the
                parameters' (``nn.Linear`` would raise a ``RuntimeError``), e.g.
                ``expected X of dtype torch.float32 (the model's), got torch.float64``.
            ValueError: if ``X`` is not 2-D or has the wrong number of features,
                e.g. ``expected X of shape (N, 4), got (4,)``.
        """
        _check_input(X, self.in_features, self.net[0].weight.dtype)
        return self.net(X)  # (N, D) -> (N, O)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, hidden_sizes={self.hidden_sizes}, out_features={self.out_features}"


def _check_input(X: object, D: int, dtype: torch.dtype) -> None:
    if not isinstance(X, Tensor):
        raise TypeError(f"expected X to be a torch.Tensor, got {type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(f"expected X of shape (N, {D}), got {tuple(X.shape)}")
    if X.dtype != dtype:
        raise TypeError(f"expected X of dtype {dtype} (the model's), got {X.dtype}; convert one with .to()")


def one_hot(y: Tensor, num_classes: int) -> Tensor:
    r"""One-hot encoding of class labels: :math:`Y_{ik} = \mathbb 1[y_i = k]`.

    Row :math:`i` is all zeros except a 1 in column :math:`y_i`.

    Args:
        y (Tensor): class labels, ``torch.int64``, each in ``[0, num_classes)``.
        num_classes (int): the number of classes :math:`K`.

    Shape:
        - y: :math:`(N,)`.
        - Output: :math:`(N, K)`, ``torch.int64``.

    Returns:
        Tensor: equal to ``torch.nn.functional.one_hot(y, num_classes)``.

    Raises:
        TypeError: if ``y`` is not an int64 tensor or ``num_classes`` not an int.
        ValueError: if ``y`` is not 1-D, ``num_classes`` is not positive, or a
            label is outside ``[0, num_classes)`` (the message names the first
            bad label and its position).

    Note:
        Stricter than ``F.one_hot``, which takes labels of any shape and
        ``num_classes=-1`` (inferred from the largest label): here ``y`` is a
        batch of labels, ``(N,)``, and :math:`K` is given, so that a batch
        that happens to lack the last class still gets :math:`K` columns.
        Bad labels raise ``ValueError`` instead of ``F.one_hot``'s ``RuntimeError``.

    Book section: :ref:`sec-models-heads`, equation :eq:`eq-models-one-hot`.
    """
    K = _check_one_hot(y, num_classes)
    classes = torch.arange(K, dtype=y.dtype, device=y.device)  # (K,)
    return (y.unsqueeze(1) == classes).to(torch.int64)  # (N, 1) == (K,) -> (N, K)


def _check_one_hot(y: object, num_classes: object) -> int:
    """The checks of :func:`one_hot`: int64 labels ``(N,)`` in ``[0, num_classes)``; return ``K``."""
    if not isinstance(y, Tensor):
        raise TypeError(f"expected y to be a torch.Tensor, got {type(y).__name__}")
    if y.dtype != torch.int64:
        raise TypeError(f"expected y of dtype torch.int64, got {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"expected y of shape (N,), got {tuple(y.shape)}")
    K = _check_positive_int(num_classes, "num_classes")
    bad = (y < 0) | (y >= K)
    if bad.any():
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"expected labels in [0, {K}), got label {int(y[i])} at position {i}")
    return K


def reset_linear_parameters_(model: nn.Module, generator: torch.Generator) -> nn.Module:
    r"""Redraw every ``nn.Linear``'s weight and bias from ``generator``, in PyTorch's default range.

    ``nn.Linear`` initialises itself from the *global* generator, so a model's
    initial weights depend on everything that drew random numbers before it.
    Redrawing them from a local, seeded generator makes each run's model depend
    on its seed alone. The range is the one ``nn.Linear.reset_parameters``
    uses: both weight and bias uniform on :math:`[-1/\sqrt{D}, 1/\sqrt{D}]`
    with :math:`D` = ``in_features`` (and a zero bias when :math:`D = 0`, as
    there). With ``generator`` seeded like the global generator, the draws are
    ``torch.equal`` to ``layer.reset_parameters()``'s.

    Args:
        model (torch.nn.Module): changed in place; layers other than ``nn.Linear`` are left alone.
        generator (torch.Generator): the source of the draws, e.g.
            ``dlfoundations.seed.make_generator(seed)``.

    Returns:
        torch.nn.Module: ``model`` itself, for chaining.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module`` or ``generator`` not a ``torch.Generator``.

    Book: :ref:`sec-models-heads` (every learning rate of a search starts
    from the same weights) and :ref:`chap-training-loop`.
    """
    check_module(model)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            _reset_like_torch(layer.weight, layer.bias, generator)
    return model


def _reset_like_torch(weight: Tensor, bias: Tensor | None, generator: torch.Generator | None) -> None:
    """PyTorch's default initialisation of ``nn.Linear`` and ``nn.Conv2d``, drawn from ``generator``.

    The one copy of ``reset_parameters`` with a generator, for :func:`reset_linear_parameters_`,
    :class:`dlfoundations.conv.Conv2d`, :class:`dlfoundations.conv.DigitCNN`,
    :func:`dlfoundations.transfer.replace_head` and the head of
    :class:`dlfoundations.rnn.SequenceRegressor`.
    """
    with torch.no_grad():
        # kaiming_uniform_ with a = sqrt(5) is the bound 1/sqrt(fan_in), computed as torch computes it
        # (so float64 draws agree to the last bit).
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        if bias is not None:
            fan_in = math.prod(weight.shape[1:])  # D for a linear layer, C * F * F for a kernel
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0  # no inputs: a zero bias, as in torch
            nn.init.uniform_(bias, -bound, bound, generator=generator)
