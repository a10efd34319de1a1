"""Seeded synthetic data sets whose true parameters are known.

Every generator here draws all of its randomness from an explicit
:class:`torch.Generator` (from :func:`dlfoundations.seed.make_generator` or the
one :func:`dlfoundations.seed.seed_everything` returns), so the same seed gives
bit-identical tensors, and returns the parameters it used, so a chapter can
compare what a model learned with the truth.

Book section: {ref}`chap-linear-regression`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["InMemoryLoader", "NoisySine", "RegressionData", "make_linear_regression"]


class RegressionData(NamedTuple):
    """A synthetic regression data set and the parameters that generated it.

    Attributes:
        X (Tensor): inputs, shape ``(N, D)``.
        y (Tensor): targets, shape ``(N, O)``.
        weight (Tensor): the true weight, shape ``(O, D)`` (as in :class:`torch.nn.Linear`).
        bias (Tensor): the true bias, shape ``(O,)``.
        noise_std (float): standard deviation of the Gaussian noise added to ``y``.
    """

    X: Tensor
    y: Tensor
    weight: Tensor
    bias: Tensor
    noise_std: float


def _check_positive_int(value: object, name: str) -> int:
    # bool is a subclass of int, but `n_samples=True` is a mistake, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__}: {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def _as_parameter(value: object, name: str, dtype: torch.dtype) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().to(dtype=dtype).clone()
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, a sequence of numbers or a Tensor, got bool")
    if isinstance(value, (int, float)) or (isinstance(value, Sequence) and not isinstance(value, str)):
        try:
            return torch.tensor(value, dtype=dtype)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be numbers, got {value!r}") from err
    raise TypeError(f"{name} must be a number, a sequence of numbers or a Tensor, got {type(value).__name__}")


def make_linear_regression(
    n_samples: int = 100,
    n_features: int = 1,
    *,
    weight: Tensor | Sequence[float] | float | None = None,
    bias: Tensor | Sequence[float] | float | None = None,
    noise_std: float = 0.1,
    x_range: tuple[float, float] = (-1.0, 1.0),
    n_outputs: int = 1,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> RegressionData:
    r"""Draw a data set from a known linear model: :math:`y = X W^\top + b + \varepsilon`.

    Each input is uniform on ``x_range``, independently per sample and feature;
    the noise :math:`\varepsilon_{io} \sim \mathcal N(0, \sigma^2)` with
    :math:`\sigma` = ``noise_std`` is independent of the inputs. Parameters not
    given are drawn from :math:`\mathcal N(0, 1)`.

    The draws happen in a fixed order (weight, bias, ``X``, noise) from
    ``generator``, so the same seed gives ``torch.equal`` tensors.

    Args:
        n_samples (int): number of samples ``N``. Default: 100.
        n_features (int): number of input features ``D``. Default: 1.
        weight (Tensor | sequence | float, optional): true weight of shape
            ``(O, D)``; a 1-D ``(D,)`` value or a scalar (when ``D = 1``) means
            ``O = 1``. Default: drawn from a standard normal.
        bias (Tensor | sequence | float, optional): true bias of shape ``(O,)``;
            a scalar means ``O = 1``. Default: drawn from a standard normal.
        noise_std (float): standard deviation :math:`\sigma \ge 0` of the
            additive Gaussian noise. Default: 0.1.
        x_range (tuple[float, float]): ``(low, high)`` of the uniform inputs,
            ``low < high``. Default: ``(-1.0, 1.0)``.
        n_outputs (int): number of outputs ``O``, used only when neither
            ``weight`` nor ``bias`` fixes it. Default: 1.
        dtype (torch.dtype): floating dtype of every returned tensor. Default: ``torch.float32``.
        generator (torch.Generator, optional): source of all randomness.
            Default: PyTorch's global generator.

    Shape:
        - X: :math:`(N, D)`
        - y: :math:`(N, O)`
        - weight: :math:`(O, D)`, bias: :math:`(O,)`

    Returns:
        RegressionData: ``(X, y, weight, bias, noise_std)``, a named tuple.

    Raises:
        TypeError: if a size is not an ``int``, a parameter is not numeric,
            ``dtype`` is not floating, or ``generator`` is not a ``torch.Generator``.
        ValueError: if a size is not positive, ``noise_std`` is negative or not
            finite, ``x_range`` is not ``(low, high)`` with ``low < high``, or
            ``weight`` and ``bias`` have shapes that disagree with ``D`` or with
            each other (the message names expected and received shapes).

    Book section: {ref}`chap-linear-regression`.
    """
    N = _check_positive_int(n_samples, "n_samples")
    D = _check_positive_int(n_features, "n_features")
    O = _check_positive_int(n_outputs, "n_outputs")  # noqa: E741 - the book's shape letter
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)):
        raise TypeError(f"noise_std must be a float, got {type(noise_std).__name__}: {noise_std!r}")
    if not math.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"noise_std must be a finite float >= 0, got {noise_std}")
    low, high = _check_range(x_range)

    w = None if weight is None else _as_parameter(weight, "weight", dtype)
    b = None if bias is None else _as_parameter(bias, "bias", dtype)
    if w is not None:
        if w.ndim == 0 and D == 1:
            w = w.reshape(1, 1)  # a scalar slope: (1, 1)
        elif w.ndim == 1:
            w = w.reshape(1, -1)  # (D,) -> (1, D): one output
        if w.ndim != 2 or w.shape[1] != D:
            raise ValueError(f"expected weight of shape (O, {D}), got {tuple(w.shape)}")
        O = w.shape[0]  # noqa: E741
    if b is not None:
        if b.ndim == 0:
            b = b.reshape(1)  # a scalar intercept: (1,)
        if b.ndim != 1 or (w is not None and b.shape[0] != O):
            raise ValueError(f"expected bias of shape ({O},), got {tuple(b.shape)}")
        O = b.shape[0]  # noqa: E741
    # Draw in a fixed order so that fixing one parameter does not shift the others' draws.
    w_draw = torch.randn(O, D, generator=generator, dtype=dtype)
    b_draw = torch.randn(O, generator=generator, dtype=dtype)
    w = w_draw if w is None else w
    b = b_draw if b is None else b
    X = low + (high - low) * torch.rand(N, D, generator=generator, dtype=dtype)  # (N, D)
    noise = noise_std * torch.randn(N, O, generator=generator, dtype=dtype)  # (N, O)
    y = X @ w.T + b + noise  # (N, D) @ (D, O) -> (N, O)
    return RegressionData(X=X, y=y, weight=w, bias=b, noise_std=float(noise_std))


def _check_range(x_range: object) -> tuple[float, float]:
    if (
        not isinstance(x_range, Sequence)
        or len(x_range) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x_range)
    ):
        raise ValueError(f"x_range must be a pair (low, high) of floats, got {x_range!r}")
    low, high = float(x_range[0]), float(x_range[1])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"x_range must satisfy low < high with finite values, got {x_range!r}")
    return low, high


class NoisySine(Dataset):
    r"""Samples of :math:`y = \sin(x) + \varepsilon`, :math:`x \sim \mathcal U(\text{low}, \text{high})`, :math:`\varepsilon \sim \mathcal N(0, \sigma^2)`.

    A :class:`torch.utils.data.Dataset`: it says *what* the data is; a
    :class:`~torch.utils.data.DataLoader` or :class:`InMemoryLoader` says *how*
    it is read. The whole set is drawn once, at construction, from a generator
    seeded with ``seed``, so the same arguments give identical tensors.

    Args:
        n_samples (int): number of samples ``N``, ``>= 1``.
        noise_std (float): standard deviation :math:`\sigma \ge 0` of the noise. Default: 0.1.
        x_range (tuple[float, float]): ``(low, high)`` of the inputs. Default: :math:`(-\pi, \pi)`.
        seed (int): seed of the data's own generator. Default: 0.

    Shape:
        - ``dataset[i]``: a pair ``(x, y)`` of shape ``(1,)`` each, float32.
        - ``dataset.X``, ``dataset.y``: the whole set, ``(N, 1)`` each.

    Raises:
        TypeError: if ``n_samples`` or ``seed`` is not an ``int``, or ``noise_std`` not a number.
        ValueError: if ``n_samples < 1``, ``noise_std < 0`` or ``x_range`` is not ``low < high``.

    Book chapter: "Data pipelines" (label ``chap-data-pipelines``).
    """

    def __init__(
        self,
        n_samples: int,
        noise_std: float = 0.1,
        x_range: tuple[float, float] = (-math.pi, math.pi),
        seed: int = 0,
    ) -> None:
        from dlfoundations.seed import make_generator

        N = _check_positive_int(n_samples, "n_samples")
        if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)):
            raise TypeError(f"noise_std must be a float, got {type(noise_std).__name__}: {noise_std!r}")
        if not math.isfinite(noise_std) or noise_std < 0:
            raise ValueError(f"noise_std must be a finite float >= 0, got {noise_std}")
        low, high = _check_range(x_range)
        generator = make_generator(seed)
        self.noise_std = float(noise_std)
        self.x_range = (low, high)
        self.X = low + (high - low) * torch.rand(N, 1, generator=generator)  # (N, 1)
        self.y = torch.sin(self.X) + self.noise_std * torch.randn(N, 1, generator=generator)  # (N, 1)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.X[index], self.y[index]


class InMemoryLoader:
    r"""Batches of tensors already in memory, by slicing: a fast stand-in for ``DataLoader``.

    ``DataLoader`` over a map-style ``Dataset`` calls ``__getitem__`` once per
    sample and then ``collate_fn`` stacks the samples into a batch: Python work
    per *sample*. When the whole data set is two tensors in memory, one index
    operation per *batch* does the same job. Iterating yields ``(X_batch,
    y_batch)`` pairs like ``DataLoader(TensorDataset(X, y), batch_size, shuffle)``.

    Args:
        X (Tensor): inputs, ``(N, ...)``.
        y (Tensor): targets, ``(N, ...)``: same first dimension as ``X``.
        batch_size (int): samples per batch, ``>= 1``. Default: 64.
        shuffle (bool): draw a new permutation every epoch. Default: ``False``.
        drop_last (bool): drop a last batch smaller than ``batch_size``. Default: ``False``.
        generator (torch.Generator | None): source of the permutations when
            shuffling; give a seeded one for reproducible epochs. Default: ``None``
            (PyTorch's global generator).

    Shape:
        - yields ``X[idx]`` of ``(B, ...)`` and ``y[idx]`` of ``(B, ...)``, ``B <= batch_size``.

    Raises:
        TypeError: if ``X``/``y`` are not tensors, ``batch_size`` is not an int,
            or ``generator`` is not a ``torch.Generator``.
        ValueError: if ``X`` and ``y`` disagree on ``N`` (both shapes named), ``N`` is 0,
            or ``batch_size < 1``.

    Book chapter: "Data pipelines" (label ``chap-data-pipelines``).
    """

    def __init__(
        self,
        X: Tensor,
        y: Tensor,
        batch_size: int = 64,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if not isinstance(X, Tensor) or not isinstance(y, Tensor):
            raise TypeError(f"X and y must be tensors, got {type(X).__name__} and {type(y).__name__}")
        if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
            raise ValueError(
                f"X and y must have the same first dimension N, got X of shape {tuple(X.shape)} "
                f"and y of shape {tuple(y.shape)}"
            )
        if len(X) == 0:
            raise ValueError("X and y are empty: expected at least one sample")
        self.batch_size = _check_positive_int(batch_size, "batch_size")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.X, self.y = X, y
        self.shuffle, self.drop_last, self.generator = bool(shuffle), bool(drop_last), generator

    def __len__(self) -> int:
        """Number of batches per epoch."""
        N = len(self.X)
        return N // self.batch_size if self.drop_last else -(-N // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        N = len(self.X)
        order = torch.randperm(N, generator=self.generator) if self.shuffle else None
        for batch in range(len(self)):
            start = batch * self.batch_size
            if order is None:  # a slice is a view: no copy at all
                yield self.X[start : start + self.batch_size], self.y[start : start + self.batch_size]
            else:
                idx = order[start : start + self.batch_size]  # (B,)
                yield self.X[idx], self.y[idx]
