"""Seeded synthetic data sets, and the pieces that read them in batches.

Every generator here draws all of its randomness from an explicit
``torch.Generator`` (from :func:`dlfoundations.seed.make_generator` or the
one :func:`dlfoundations.seed.seed_everything` returns), so the same seed gives
bit-identical tensors, and returns the parameters it used, so a chapter can
compare what a model learned with the truth.

- :func:`make_linear_regression`: data from a known linear model.
- :class:`NoisySine`: a map-style ``Dataset`` of noisy sine samples.
- :class:`InMemoryLoader`: batches by slicing tensors, shuffled with a seeded generator.
- :func:`pad_collate`: a ``collate_fn`` that pads variable-length sequences.
- :func:`seed_worker`: a ``worker_init_fn`` that seeds NumPy and ``random``.
- :func:`measure_throughput`: samples per second of one pass over a loader.

Book sections: :ref:`chap-linear-regression`, :ref:`chap-data-pipelines`.
"""

from __future__ import annotations

import math
import numbers
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset
from dlfoundations._validation import (
    check_bool,
    check_floating_dtype,
    check_generator,
    check_positive_int as _check_positive_int,
)

__all__ = [
    "InMemoryLoader",
    "NoisySine",
    "RegressionData",
    "make_linear_regression",
    "measure_throughput",
    "pad_collate",
    "seed_worker",
]


class RegressionData(NamedTuple):
    """A synthetic regression data set and the parameters that generated it (the fields below)."""

    #: Inputs, shape ``(N, D)``.
    X: Tensor
    #: Targets, shape ``(N, O)``.
    y: Tensor
    #: The true weight, shape ``(O, D)`` (as in ``torch.nn.Linear``).
    weight: Tensor
    #: The true bias, shape ``(O,)``.
    bias: Tensor
    #: Standard deviation of the Gaussian noise added to ``y``.
    noise_std: float


def _as_parameter(value: object, name: str, dtype: torch.dtype) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().to(dtype=dtype).clone()
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, a sequence of numbers or a Tensor, got bool")
    if isinstance(value, numbers.Real) or (isinstance(value, Sequence) and not isinstance(value, str)):
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
        weight (Tensor | Sequence[float] | float | None): true weight of shape
            ``(O, D)``; a 1-D ``(D,)`` value or a scalar (when ``D = 1``) means
            ``O = 1``. Default: drawn from a standard normal.
        bias (Tensor | Sequence[float] | float | None): true bias of shape ``(O,)``;
            a scalar means ``O = 1``. Default: drawn from a standard normal.
        noise_std (float): standard deviation :math:`\sigma \ge 0` of the
            additive Gaussian noise. Default: 0.1.
        x_range (tuple[float, float]): ``(low, high)`` of the uniform inputs,
            ``low < high``. Default: ``(-1.0, 1.0)``.
        n_outputs (int): number of outputs ``O``, used only when neither
            ``weight`` nor ``bias`` fixes it. Default: 1.
        dtype (torch.dtype): floating dtype of every returned tensor. Default: ``torch.float32``.
        generator (torch.Generator | None): source of all randomness.
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

    Book section: :ref:`chap-linear-regression`.
    """
    N, D, O, w, b, (low, high) = _check_regression(  # noqa: E741 - O is the book's shape letter
        n_samples, n_features, n_outputs, weight, bias, noise_std, x_range, dtype, generator
    )
    # Draw in a fixed order so that fixing one parameter does not shift the others' draws.
    w_draw = torch.randn(O, D, generator=generator, dtype=dtype)
    b_draw = torch.randn(O, generator=generator, dtype=dtype)
    w = w_draw if w is None else w
    b = b_draw if b is None else b
    X = low + (high - low) * torch.rand(N, D, generator=generator, dtype=dtype)  # (N, D)
    noise = noise_std * torch.randn(N, O, generator=generator, dtype=dtype)  # (N, O)
    y = X @ w.T + b + noise  # (N, D) @ (D, O) -> (N, O)
    return RegressionData(X=X, y=y, weight=w, bias=b, noise_std=float(noise_std))


def _check_regression(
    n_samples: object, n_features: object, n_outputs: object, weight: object, bias: object, noise_std: object,
    x_range: object, dtype: object, generator: object,
) -> tuple[int, int, int, Tensor | None, Tensor | None, tuple[float, float]]:
    """The checks of :func:`make_linear_regression`; return ``N, D, O``, the given weight and bias
    (``None`` where not given) shaped ``(O, D)`` and ``(O,)``, and ``x_range``."""
    N = _check_positive_int(n_samples, "n_samples")
    D = _check_positive_int(n_features, "n_features")
    O = _check_positive_int(n_outputs, "n_outputs")  # noqa: E741 - the book's shape letter
    check_floating_dtype(dtype)
    check_generator(generator)
    _check_noise_std(noise_std)
    x_range = _check_range(x_range)
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
    return N, D, O, w, b, x_range


def _check_noise_std(noise_std: object) -> float:
    if isinstance(noise_std, bool) or not isinstance(noise_std, numbers.Real):
        raise TypeError(f"noise_std must be a float, got {type(noise_std).__name__}: {noise_std!r}")
    if not math.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"noise_std must be a finite float >= 0, got {noise_std}")
    return float(noise_std)


def _check_range(x_range: object) -> tuple[float, float]:
    if (
        not isinstance(x_range, Sequence)
        or len(x_range) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in x_range)
    ):
        raise ValueError(f"x_range must be a pair (low, high) of floats, got {x_range!r}")
    low, high = float(x_range[0]), float(x_range[1])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"x_range must satisfy low < high with finite values, got {x_range!r}")
    return low, high



class NoisySine(Dataset):
    r"""Samples of :math:`y = \sin(x) + \varepsilon` with :math:`x \sim \mathcal U(a, b)`, :math:`\varepsilon \sim \mathcal N(0, \sigma^2)`.

    A map-style ``torch.utils.data.Dataset``: it says *what* the data is
    (``__len__`` and ``__getitem__``); a ``DataLoader``
    or :class:`InMemoryLoader` says *how* it is read. The whole set is drawn
    once, at construction, from a generator seeded with ``seed`` (first every
    ``x``, then every noise value), so the same arguments give identical tensors
    whatever else has drawn random numbers before.

    Args:
        n_samples (int): number of samples ``N``, ``>= 1``.
        noise_std (float): standard deviation :math:`\sigma \ge 0` of the noise. Default: 0.1.
        x_range (tuple[float, float]): ``(a, b)`` of the inputs, ``a < b``.
            Default: :math:`(-\pi, \pi)`.
        seed (int): seed of the data's own generator, in ``[0, 2**63)``. Default: 0.

    Shape:
        - ``dataset[i]``: a pair ``(x, y)`` of shape ``(1,)`` each, float32.
        - ``dataset.X``, ``dataset.y``: the whole set, ``(N, 1)`` each, float32.

    Raises:
        TypeError: if ``n_samples`` or ``seed`` is not an ``int``, or ``noise_std`` is not a number.
        ValueError: if ``n_samples < 1``, ``seed`` is out of range, ``noise_std < 0``
            or ``x_range`` is not ``(a, b)`` with ``a < b``.

    Book section: :ref:`chap-data-pipelines` (the ``Dataset`` protocol and its figure).
    """

    def __init__(
        self,
        n_samples: int,
        noise_std: float = 0.1,
        x_range: tuple[float, float] = (-math.pi, math.pi),
        seed: int = 0,
    ) -> None:
        from dlfoundations.seed import make_generator

        N, self.noise_std, (low, high) = _check_sine(n_samples, noise_std, x_range)
        generator = make_generator(seed)  # the data's own generator (it checks the seed)
        self.x_range = (low, high)
        self.X = low + (high - low) * torch.rand(N, 1, generator=generator)  # (N, 1)
        self.y = torch.sin(self.X) + self.noise_std * torch.randn(N, 1, generator=generator)  # (N, 1)

    def __len__(self) -> int:
        """Number of samples ``N``."""
        return len(self.X)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """The ``index``-th sample ``(x, y)``, each of shape ``(1,)``: one row of ``X`` and of ``y``."""
        return self.X[index], self.y[index]


def _check_sine(n_samples: object, noise_std: object, x_range: object) -> tuple[int, float, tuple[float, float]]:
    """The checks of :class:`NoisySine`; return ``N``, ``noise_std`` as a float and ``x_range``."""
    return _check_positive_int(n_samples, "n_samples"), _check_noise_std(noise_std), _check_range(x_range)


def _check_loader(X: object, y: object, batch_size: object, shuffle: object, drop_last: object, generator: object) -> None:
    """The checks of :class:`InMemoryLoader`."""
    if not isinstance(X, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"X and y must be tensors, got {type(X).__name__} and {type(y).__name__}")
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same first dimension N, got X of shape {tuple(X.shape)} "
            f"and y of shape {tuple(y.shape)}"
        )
    if len(X) == 0:
        raise ValueError("X and y are empty: expected at least one sample")
    _check_positive_int(batch_size, "batch_size")
    check_generator(generator)
    check_bool(shuffle, "shuffle")
    check_bool(drop_last, "drop_last")


class InMemoryLoader:
    r"""Batches of tensors already in memory, by slicing, shuffled with a seeded generator: :math:`\lceil N/B \rceil` batches per epoch (:math:`\lfloor N/B \rfloor` with ``drop_last``).

    Every epoch visits each of the :math:`N` samples once: in order, or, with
    ``shuffle=True``, in the order of a fresh ``torch.randperm(N,
    generator=generator)``. The order is cut into batches of :math:`B`
    samples, the last one smaller unless ``drop_last``, and each batch is one
    indexing operation on ``X`` and ``y``. ``DataLoader`` over a map-style
    ``Dataset`` instead calls ``__getitem__`` once per sample and then
    ``collate_fn`` stacks the samples: Python work per *sample*, where this
    loader does one operation per *batch*. The same seed gives the same
    sequence of epochs.

    Args:
        X (Tensor): inputs, ``(N, ...)``.
        y (Tensor): targets, ``(N, ...)``: same first dimension as ``X``.
        batch_size (int): samples per batch ``B``, ``>= 1``. Default: 64.
        shuffle (bool): draw a new permutation every epoch. Default: ``False``.
        drop_last (bool): drop a last batch smaller than ``batch_size``. Default: ``False``.
        generator (torch.Generator | None): source of the permutations when
            shuffling; give a seeded one for reproducible epochs. Default: ``None``
            (PyTorch's global generator).

    Shape:
        - yields ``X[idx]`` of ``(B, ...)`` and ``y[idx]`` of ``(B, ...)``, ``B <= batch_size``.
        - without shuffling the batches are views (slices) of ``X`` and ``y``, not copies.

    Raises:
        TypeError: if ``X``/``y`` are not tensors, ``batch_size`` is not an int,
            ``shuffle``/``drop_last`` are not bools, or ``generator`` is not a ``torch.Generator``.
        ValueError: if ``X`` and ``y`` disagree on ``N`` (both shapes named), ``N`` is 0,
            or ``batch_size < 1``.

    Note:
        So that a chapter can swap this loader for
        ``DataLoader(TensorDataset(X, y), batch_size, shuffle, drop_last=drop_last,
        generator=generator)`` without changing a number, an epoch also makes
        the other draws from ``generator`` that ``DataLoader`` makes, in its
        order: one int64 first (its workers' base seed; also without shuffling
        when a generator is given) and, once the last batch has been taken, a
        second ``randperm(N)`` that its ``RandomSampler`` draws and discards.
        Neither changes a batch; with them, both loaders yield the same batches
        and leave the generator in the same state. This imitates private
        behaviour of ``DataLoader``, not a documented promise:
        ``tests/test_data_properties.py`` checks it against the pinned PyTorch
        version, and fails, rather than the book drifting silently, if a new
        version draws differently. On purpose, an unshuffled loader with
        ``generator=None`` draws nothing, where ``DataLoader`` draws its base
        seed from PyTorch's global generator: reading data in order does not
        move the global random stream (dropout masks, ``nn.Linear``
        initialisation). ``N = 0`` raises ``ValueError``, where ``DataLoader``
        yields no batch (or raises when shuffling).

    Book section: :ref:`chap-data-pipelines`; shuffled minibatches as in
    Bottou, "Stochastic Gradient Descent Tricks" (2012).
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
        _check_loader(X, y, batch_size, shuffle, drop_last, generator)
        self.X, self.y = X, y
        self.batch_size, self.shuffle, self.drop_last, self.generator = batch_size, shuffle, drop_last, generator

    def __len__(self) -> int:
        """Number of batches per epoch: ``ceil(N / B)``, or ``floor(N / B)`` with ``drop_last``."""
        N = len(self.X)
        return N // self.batch_size if self.drop_last else -(-N // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        N, B = len(self.X), self.batch_size
        if self.shuffle or self.generator is not None:  # DataLoader's base-seed draw: no batch depends on it
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        order = torch.randperm(N, generator=self.generator) if self.shuffle else None  # (N,): this epoch's order
        for start in range(0, len(self) * B, B):
            if order is None:  # in order: a slice is a view, no copy at all
                yield self.X[start : start + B], self.y[start : start + B]
            else:
                idx = order[start : start + B]  # (B,): the samples of this batch
                yield self.X[idx], self.y[idx]
        if self.shuffle:  # the permutation DataLoader's sampler draws and discards at the end of an epoch
            torch.randperm(N, generator=self.generator)


def pad_collate(batch: Sequence[tuple[Tensor, Tensor]], padding_value: float = 0.0) -> dict[str, Tensor]:
    r"""Collate ``(x_i, y_i)`` pairs of lengths :math:`T_i` into a padded batch: :math:`X_{i,t} = x_{i,t}` for :math:`t < T_i`, else ``padding_value``.

    A ``collate_fn`` for ``DataLoader`` when samples are
    sequences of different lengths, which the default collate cannot stack.
    Each sequence is copied to the start of its row (right padding), as
    ``torch.nn.utils.rnn.pad_sequence(xs, batch_first=True)`` does, and the
    true lengths are returned so a model can ignore the padding
    (``mask = torch.arange(T)[None, :] < lengths[:, None]``).

    Args:
        batch (Sequence[tuple[Tensor, Tensor]]): pairs ``(x_i, y_i)`` with ``x_i`` of shape ``(T_i, *)``,
            ``T_i >= 0``, and every ``y_i`` of one shape. All ``x_i`` share their trailing
            shape ``*`` and dtype.
        padding_value (float): value written after the end of each sequence. Default: 0.0.

    Shape:
        - ``X``: :math:`(N, T, *)` with :math:`T = \max_i T_i`, dtype of the ``x_i``.
        - ``y``: :math:`(N, \ldots)`, the ``y_i`` stacked.
        - ``lengths``: :math:`(N,)`, int64.

    Returns:
        dict[str, Tensor]: ``{"X": X, "y": y, "lengths": lengths}``.

    Raises:
        TypeError: if ``batch`` is not a sequence of ``(Tensor, Tensor)`` pairs,
            ``padding_value`` is not a number, or the ``x_i`` disagree on dtype
            (both dtypes named).
        ValueError: if ``batch`` is empty, an ``x_i`` is 0-d, the ``x_i`` disagree on
            trailing shape or the ``y_i`` on shape (expected and received named), or
            ``padding_value`` is not a whole number for integer ``x_i``.

    Note:
        Where ``pad_sequence`` converts silently, this raises: ``x_i`` of
        different dtypes (``pad_sequence`` casts all to the first one's, 1.5 to 1
        in an int64 batch) and a fractional or non-finite ``padding_value`` for
        integer ``x_i``. The ``y_i`` are stacked with ``torch.stack``, so mixed
        dtypes there follow PyTorch's type promotion. Empty sequences
        (:math:`T_i = 0`) are rows of padding; if every one is empty, ``X`` is
        :math:`(N, 0, *)`, as ``pad_sequence`` gives.

    Book section: :ref:`chap-data-pipelines` (custom ``collate_fn``).
    """
    xs, ys = _check_pad_batch(batch, padding_value)  # the sequences x_i and the targets y_i
    lengths = torch.tensor([len(x) for x in xs], dtype=torch.int64)  # (N,)
    T = int(lengths.max())
    X = torch.full((len(xs), T, *xs[0].shape[1:]), padding_value, dtype=xs[0].dtype)  # (N, T, *)
    for i, x in enumerate(xs):
        X[i, : len(x)] = x  # row i: the sequence, then the padding already there
    return {"X": X, "y": torch.stack(ys), "lengths": lengths}


def _check_pad_batch(batch: object, padding_value: object) -> tuple[list[Tensor], list[Tensor]]:
    """The checks of :func:`pad_collate`; return the ``x_i`` and the ``y_i`` as two lists."""
    if not isinstance(batch, Sequence) or isinstance(batch, str):
        raise TypeError(f"batch must be a sequence of (x, y) pairs, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("batch is empty: expected at least one (x, y) pair")
    if isinstance(padding_value, bool) or not isinstance(padding_value, numbers.Real):
        raise TypeError(f"padding_value must be a number, got {type(padding_value).__name__}")
    for i, pair in enumerate(batch):
        if (
            not isinstance(pair, (tuple, list))
            or len(pair) != 2
            or not all(isinstance(t, Tensor) for t in pair)
        ):
            raise TypeError(f"expected batch[{i}] to be a pair (x, y) of tensors, got {pair!r}")
    xs = [x for x, _ in batch]
    ys = [y for _, y in batch]
    first = xs[0]
    if first.ndim == 0:
        raise ValueError("expected sequences x of shape (T, *), got a 0-d tensor at batch[0]")
    for i, (x, y) in enumerate(zip(xs, ys)):
        if x.ndim == 0 or x.shape[1:] != first.shape[1:]:
            raise ValueError(
                f"expected x of shape (T, {', '.join(map(str, first.shape[1:]))}) at batch[{i}], "
                f"got {tuple(x.shape)}"
            )
        if x.dtype != first.dtype:
            # pad_sequence would cast silently to the first dtype (1.5 -> 1 in an int64 batch)
            raise TypeError(f"expected x of dtype {first.dtype} at batch[{i}], got {x.dtype}")
        if y.shape != ys[0].shape:
            raise ValueError(f"expected y of shape {tuple(ys[0].shape)} at batch[{i}], got {tuple(y.shape)}")
    if not (first.is_floating_point() or first.is_complex()):
        # torch.full and pad_sequence would truncate 0.5 to 0 (and NaN to garbage) in an integer batch
        fits = math.isfinite(padding_value) and float(padding_value).is_integer()
        if first.dtype == torch.bool:
            fits = fits and padding_value in (0, 1)
        if not fits:
            raise ValueError(f"padding_value {padding_value!r} cannot be stored in x of dtype {first.dtype}: "
                             "expected a whole number")
    return xs, ys


def seed_worker(worker_id: int) -> None:
    r"""Seed NumPy and Python's ``random`` in a ``DataLoader`` worker from its torch seed: :math:`s = \text{torch.initial\_seed}() \bmod 2^{32}`.

    Pass it as ``DataLoader(..., worker_init_fn=seed_worker, generator=g)``.
    PyTorch seeds each worker's torch generator with ``base_seed + worker_id``,
    where ``base_seed`` is drawn from ``g`` every epoch; this function derives
    the seeds of the other two libraries from that one, so random
    augmentations written with NumPy or ``random`` are reproducible too and
    differ between workers (recipe of PyTorch's "Reproducibility" notes).

    Args:
        worker_id (int): the worker's index, ``>= 0`` (``DataLoader`` passes it).

    Returns:
        None: it seeds the global generators of NumPy and ``random`` in place.

    Raises:
        TypeError: if ``worker_id`` is not an ``int``.
        ValueError: if ``worker_id`` is negative.

    Book section: :ref:`chap-data-pipelines` (workers).
    """
    _check_worker_id(worker_id)
    # NumPy's legacy seed takes 32 bits; torch's initial seed is 64 bits.
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def _check_worker_id(worker_id: object) -> int:
    if isinstance(worker_id, bool) or not isinstance(worker_id, int):
        raise TypeError(f"worker_id must be an int, got {type(worker_id).__name__}: {worker_id!r}")
    if worker_id < 0:
        raise ValueError(f"worker_id must be >= 0, got {worker_id}")
    return worker_id


def _batch_len(batch: object) -> int:
    """The number of samples in a batch ``(X, ...)``: ``len(X)``."""
    first = batch[0] if isinstance(batch, (tuple, list)) else None
    if not isinstance(first, Tensor):
        raise TypeError(f"expected batches (X, ...) with a tensor X first, got {type(batch).__name__}")
    return len(first)


def measure_throughput(loader: Iterable, num_repeats: int = 3) -> float:
    r"""Best samples per second over ``num_repeats`` full passes: :math:`\max_r N / t_r`.

    Each pass iterates ``loader`` once, counting ``len(batch[0])`` samples per
    batch, and is timed with ``time.perf_counter``. The best pass is the one
    least disturbed by other work on the machine, so it is the fairest estimate
    of what the loader itself costs.

    Args:
        loader (Iterable): yields batches whose first element is a tensor of
            ``(B, ...)`` (a pair ``(X, y)`` or a list), re-iterable.
        num_repeats (int): number of timed passes, ``>= 1``. Default: 3.

    Returns:
        float: samples per second of the fastest pass.

    Raises:
        TypeError: if ``num_repeats`` is not an ``int`` or a batch has no tensor first.
        ValueError: if ``num_repeats < 1`` or a pass yields no sample.

    Book section: :ref:`chap-data-pipelines` (throughput).
    """
    repeats = _check_positive_int(num_repeats, "num_repeats")
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        num_samples = sum(_batch_len(batch) for batch in loader)  # one full pass
        # a pass shorter than the clock's resolution still took some time: no division by 0
        elapsed = max(time.perf_counter() - start, 1e-9)
        if num_samples == 0:
            raise ValueError("the loader yielded no sample: expected at least one batch")
        best = max(best, num_samples / elapsed)
    return best
