"""Helpers for empirical studies over several seeds: run, summarise, train.

One training run is one sample of a random quantity: its result depends on the
initial weights, the data drawn and the order of the batches. A claim about a
method is a claim about the *distribution* of that quantity, so it needs several
runs and a summary with its spread.

- :func:`run_seeds`: call a function once per seed and stack the results.
- :func:`mean_std`, :func:`standard_error`, :func:`format_mean_std`: summaries.
- :func:`paired_difference`: "A beats B" as a paired difference over seeds with
  its Student-t confidence interval.
- :func:`init_mlp`: an :class:`~dlfoundations.models.MLP` whose weights come from one seed.
- :func:`train_mlp`: train one MLP configuration with :func:`~dlfoundations.train.fit`.
- :class:`SeedEnsemble` and :func:`train_mlp_seeds`: the same training for
  :math:`R` seeds at once, vectorised, with per-seed loss curves.
- :func:`early_stopping_epoch`, :func:`epochs_to_reach`: read loss curves.

Book chapter: :ref:`chap-generalization`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from dlfoundations._validation import check_float, check_int, check_lr
from dlfoundations.data import InMemoryLoader
from dlfoundations.models import MLP, make_activation, reset_linear_parameters_
from dlfoundations.seed import make_generator
from dlfoundations.train import EarlyStopping, History, evaluate, fit

__all__ = [
    "ClaimError",
    "RunResult",
    "check_claim",
    "SeedEnsemble",
    "SeedRuns",
    "early_stopping_epoch",
    "epochs_to_reach",
    "format_mean_std",
    "init_mlp",
    "mean_std",
    "PairedDifference",
    "paired_difference",
    "run_seeds",
    "standard_error",
    "train_mlp",
    "train_mlp_seeds",
]


def _check_seeds(seeds: object) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, range)):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    seeds = list(seeds)
    if len(seeds) == 0:
        raise ValueError("seeds is empty: expected at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"seeds must be ints, got {type(s).__name__}: {s!r}")
    seeds = [int(s) for s in seeds]  # NumPy integers too
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    return seeds


def _check_run_seeds_args(fn: object, seeds: object) -> list[int]:
    if not callable(fn):
        raise TypeError(f"fn must be callable as fn(seed), got {type(fn).__name__}")
    return _check_seeds(seeds)


def _as_result(r: object, seed: int, first: Tensor | None) -> Tensor:
    """One run's result as a detached float64 tensor, of the shape of the ``first`` result."""
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, (numbers.Real, Tensor)):  # np.float32 is a number too
        raise TypeError(f"fn(seed) must return a number or a Tensor, got {type(r).__name__} for seed {seed}")
    r = torch.as_tensor(r, dtype=torch.float64).detach()
    if first is not None and r.shape != first.shape:
        raise ValueError(
            f"fn(seed) must return one shape for every seed: expected {tuple(first.shape)}, "
            f"got {tuple(r.shape)} for seed {seed}"
        )
    return r


def run_seeds(fn: Callable[[int], float | Tensor], seeds: Sequence[int]) -> Tensor:
    r"""Call ``fn(seed)`` once for each seed and stack the results: :math:`v_r = \mathrm{fn}(s_r)`.

    Args:
        fn (Callable[[int], float | Tensor]): one run; it must draw all of its
            randomness from its seed (e.g. with :func:`dlfoundations.seed.make_generator`).
        seeds (Sequence[int]): distinct seeds :math:`s_1, \dots, s_K`, in order.

    Shape:
        - each result: a number or a tensor of one shape ``shape`` for every seed.
        - Output: :math:`(R, *shape)`, float64.

    Returns:
        Tensor: the results, row :math:`r` from seed :math:`s_r`.

    Raises:
        TypeError: if ``fn`` is not callable, ``seeds`` is not a sequence of
            ints, or a result is not a number or a tensor.
        ValueError: if ``seeds`` is empty or repeats a seed, or the results
            disagree in shape (the first shape and the odd one are named).

    Book section: :ref:`sec-gen-seeds`.
    """
    seeds = _check_run_seeds_args(fn, seeds)
    results: list[Tensor] = []
    for seed in seeds:
        results.append(_as_result(fn(seed), seed, results[0] if results else None))  # float64, detached
    return torch.stack(results)  # (R, *shape)


def _as_values(values: object, min_len: int) -> Tensor:
    if isinstance(values, Tensor):
        if values.is_complex():
            raise TypeError(f"values must be real numbers, got a tensor of dtype {values.dtype}")
        t = values.detach().to(torch.float64)
    elif isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
        try:
            t = torch.tensor(values, dtype=torch.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"values must be numbers or a Tensor, got {values!r}") from err
    else:
        raise TypeError(f"values must be a sequence of numbers or a Tensor, got {type(values).__name__}")
    if t.ndim == 0 or t.shape[0] < min_len:
        raise ValueError(
            f"expected values of shape (R, ...) with R >= {min_len} runs, got shape {tuple(t.shape)}"
        )
    return t


def mean_std(values: Sequence[float] | Tensor) -> tuple[Tensor, Tensor]:
    r"""Mean and unbiased standard deviation over runs: :math:`\bar v = \frac1R\sum_r v_r`, :math:`s = \sqrt{\frac{1}{R-1}\sum_r (v_r - \bar v)^2}`.

    The standard deviation divides by :math:`R - 1` (Bessel's correction), as
    ``torch.Tensor.std`` does by default (``correction=1``) and as
    ``numpy.std(values, axis=0, ddof=1)``. A NaN result makes its column's mean
    and standard deviation NaN, an infinite one makes the mean infinite and the
    standard deviation NaN, as in NumPy: a diverged run is not hidden.

    Note:
        The results are summaries of finished runs, so they are detached from
        any autograd graph and computed in float64. One run has no spread:
        NumPy returns NaN (with a warning) for :math:`R = 1`, this raises ``ValueError``.

    Args:
        values (Sequence[float] | Tensor): one result per run along dimension 0.

    Shape:
        - values: :math:`(R, *)` with :math:`R \ge 2`.
        - Output: two float64 tensors of shape :math:`(*)` (0-d for :math:`(R,)`).

    Returns:
        tuple[Tensor, Tensor]: ``(mean, std)`` over dimension 0. Runs that are all
        equal have a standard deviation of exactly 0 (the mean is taken as
        their value, which summing and dividing by :math:`R` can round off).

    Raises:
        TypeError: if ``values`` is not numbers or a tensor.
        ValueError: if there are fewer than 2 runs (one run has no spread).

    Book section: :ref:`sec-gen-seeds`, equation :eq:`eq-gen-std`.
    """
    t = _as_values(values, min_len=2)  # (R, *), float64
    R = t.shape[0]
    mean = t.mean(dim=0)
    # Equal runs have no spread: their mean is their value, not value * R / R rounded.
    mean = torch.where((t == t[0]).all(dim=0), t[0] + 0.0, mean)  # + 0.0: a sum of -0.0 is +0.0
    std = (((t - mean) ** 2).sum(dim=0) / (R - 1)).sqrt()  # Bessel: divide by R - 1
    return mean, std


def standard_error(values: Sequence[float] | Tensor) -> Tensor:
    r"""Standard error of the mean over :math:`R` runs: :math:`\mathrm{SE} = s / \sqrt R`.

    Args:
        values (Sequence[float] | Tensor): one result per run along dimension 0.

    Shape:
        - values: :math:`(R, *)` with :math:`R \ge 2`. Output: :math:`(*)`, float64.

    Returns:
        Tensor: the unbiased standard deviation of :func:`mean_std` divided by
        :math:`\sqrt R`, NaN where a run is NaN or infinite (as ``scipy.stats.sem``).

    Raises:
        TypeError: if ``values`` is not numbers or a tensor.
        ValueError: if there are fewer than 2 runs.

    Reference: Cochran, *Sampling Techniques* (1977), section 2.5. Book
    section :ref:`sec-gen-seeds`, equation :eq:`eq-gen-sem`.
    """
    t = _as_values(values, min_len=2)
    return mean_std(t)[1] / math.sqrt(t.shape[0])


def format_mean_std(values: Sequence[float] | Tensor, digits: int = 3) -> str:
    """Format the results of several runs as ``"mean ± std"``, e.g. ``"0.123 ± 0.004"``.

    Args:
        values (Sequence[float] | Tensor): one number per run, :math:`R \\ge 2` of them.
        digits (int): digits after the decimal point. Default: 3.

    Shape:
        - values: :math:`(R,)`.

    Returns:
        str: the mean and the unbiased standard deviation of :func:`mean_std`;
        ``"nan ± nan"`` when a run is NaN.

    Raises:
        TypeError: if ``values`` is not numbers or ``digits`` is not an int.
        ValueError: if ``values`` is not 1-D with ``R >= 2`` or ``digits < 0``.

    Book section: :ref:`sec-gen-seeds`.
    """
    check_int(digits, "digits", 0)
    t = _as_values(values, min_len=2)
    if t.ndim != 1:
        raise ValueError(f"expected values of shape (R,), got {tuple(t.shape)}")
    mean, std = mean_std(t)
    return f"{mean.item():.{digits}f} ± {std.item():.{digits}f}"


class PairedDifference(NamedTuple):
    """What :func:`paired_difference` returns, all as Python floats."""

    #: Mean of the per-seed differences :math:`\bar d`.
    mean: float
    #: Their unbiased standard deviation :math:`s_d`.
    std: float
    #: Lower end of the confidence interval for the mean difference.
    low: float
    #: Upper end of the interval.
    high: float
    #: The interval's confidence level, e.g. 0.95.
    confidence: float
    #: The number of pairs :math:`R`.
    n: int

    @property
    def positive(self) -> bool:
        """``True`` when the whole interval lies above 0, so that A is larger than B at this confidence."""
        return self.low > 0

    @property
    def negative(self) -> bool:
        """``True`` when the whole interval lies below 0, so that A is smaller than B at this confidence."""
        return self.high < 0

    def __str__(self) -> str:
        pct = round(100 * self.confidence)
        return f"{self.mean:+.3g} ({pct} % CI {self.low:+.3g} to {self.high:+.3g})"


def _check_paired_args(a: object, b: object, confidence: object) -> tuple[Tensor, Tensor, float]:
    """Check the arguments of :func:`paired_difference`; return ``a`` and ``b`` as float64 tensors and ``confidence``."""
    confidence = check_float(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    ta, tb = _as_values(a, min_len=2), _as_values(b, min_len=2)
    if ta.shape != tb.shape or ta.ndim != 1:
        raise ValueError(f"expected a and b of one shape (R,), got {tuple(ta.shape)} and {tuple(tb.shape)}")
    if not torch.isfinite(ta - tb).all():
        raise ValueError(f"expected finite results, got differences {(ta - tb).tolist()}")
    return ta, tb, confidence


def paired_difference(a: Sequence[float] | Tensor, b: Sequence[float] | Tensor,
                      confidence: float = 0.95) -> PairedDifference:
    r"""The mean paired difference over seeds with its Student-t interval: :math:`\bar d \pm t_{R-1,\,1-\alpha/2}\, s_d/\sqrt R`.

    Run :math:`r` of A and run :math:`r` of B share a seed (the same data
    split, the same initial weights where the models allow it), so their
    difference :math:`d_r = a_r - b_r` cancels what the seed does to both.
    The interval treats :math:`d_1, \dots, d_R` as independent draws from a
    normal distribution and covers the mean difference with probability
    ``confidence``. "A beats B" is claimed only when the whole interval lies
    on one side of 0 (:attr:`PairedDifference.positive` or ``.negative``);
    an interval that contains 0 means no difference was shown.

    Note:
        When every difference is the same, :math:`s_d = 0` and the interval is
        the single point :math:`[\bar d, \bar d]`: a degenerate interval, which
        is ``positive`` or ``negative`` unless :math:`\bar d = 0`.
        ``scipy.stats.ttest_rel(a, b).confidence_interval(confidence)`` gives
        the same point (``[0, 0]`` when every difference is 0, with a NaN
        statistic), which shows no difference. A NaN or infinite result raises
        ``ValueError`` here, where SciPy would return NaN.

    Args:
        a (Sequence[float] | Tensor): one result per seed for method A.
        b (Sequence[float] | Tensor): the results for method B, seed by seed.
        confidence (float): the interval's level, in ``(0, 1)``. Default: 0.95.

    Shape:
        - a, b: :math:`(R,)` with :math:`R \ge 2`, in the same seed order.

    Returns:
        PairedDifference: the mean and standard deviation of :math:`a_r - b_r`
        and the interval.

    Raises:
        TypeError: if ``a`` or ``b`` is not numbers, or ``confidence`` not a float.
        ValueError: if ``a`` and ``b`` differ in shape, are not 1-D with at
            least 2 entries, hold a non-finite value, or ``confidence`` is not in ``(0, 1)``.

    Reference: Student (1908), "The probable error of a mean"; the paired
    t-interval as in Wasserman, *All of Statistics* (2004), section 10.
    Book section :ref:`sec-gen-seeds`, equation :eq:`eq-gen-paired`.
    """
    from scipy.stats import t as student_t  # scipy comes with scikit-learn; imported only when used

    ta, tb, confidence = _check_paired_args(a, b, confidence)  # (R,) each, float64
    d = ta - tb  # (R,): d_r = a_r - b_r
    R = d.shape[0]
    mean, std = (v.item() for v in mean_std(d))
    half = float(student_t.ppf(0.5 + confidence / 2, df=R - 1)) * std / math.sqrt(R)
    return PairedDifference(mean, std, mean - half, mean + half, confidence, R)


def _as_xy(data: object, name: str) -> tuple[Tensor, Tensor]:
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
    elif hasattr(data, "X") and hasattr(data, "y"):
        X, y = data.X, data.y
    else:
        raise TypeError(f"{name} must be a data set with .X and .y (e.g. NoisySine) or a pair (X, y), "
                        f"got {type(data).__name__}")
    if not isinstance(X, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"{name}: expected tensors X and y, got {type(X).__name__} and {type(y).__name__}")
    if X.ndim != 2 or y.ndim != 2 or len(X) != len(y):
        raise ValueError(f"{name}: expected X of shape (N, D) and y of shape (N, O), "
                         f"got {tuple(X.shape)} and {tuple(y.shape)}")
    return X, y


def _check_config(lr: object, weight_decay: object, num_epochs: object) -> None:
    check_lr(lr)  # lr = 0 is accepted, as torch.optim.AdamW does
    check_float(weight_decay, "weight_decay", low=0.0)
    check_int(num_epochs, "num_epochs", 1)


def _eval_sets(
    val_data: object, test_data: object, D: int, O: int  # noqa: E741 - the book's shape letter
) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor] | None]:
    """The validation set and the optional test set as pairs ``(X, y)`` with ``D`` features and ``O`` outputs."""
    val = _as_xy(val_data, "val_data")
    test = None if test_data is None else _as_xy(test_data, "test_data")
    for name, pair in (("val_data", val), ("test_data", test)):
        if pair is not None and (pair[0].shape[1] != D or pair[1].shape[1] != O):
            raise ValueError(f"{name}: expected X of shape (N, {D}) and y of shape (N, {O}), "
                             f"got {tuple(pair[0].shape)} and {tuple(pair[1].shape)}")
    return val, test


def _check_run_args(
    train_data: object, val_data: object, test_data: object, lr: object, weight_decay: object, num_epochs: object
) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor], tuple[Tensor, Tensor] | None]:
    """Check the arguments of :func:`train_mlp`; return the train, validation and test pairs ``(X, y)``."""
    X, y = _as_xy(train_data, "train_data")
    val, test = _eval_sets(val_data, test_data, X.shape[1], y.shape[1])
    _check_config(lr, weight_decay, num_epochs)
    return (X, y), val, test


def init_mlp(
    in_features: int,
    hidden_sizes: Sequence[int],
    out_features: int,
    seed: int,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> MLP:
    r"""An :class:`~dlfoundations.models.MLP` whose weights are drawn from ``make_generator(seed)``: :math:`W, \mathbf b \sim \mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`.

    ``nn.Linear`` draws its initial weights from PyTorch's *global* generator,
    so a model's weights would depend on everything that ran before. This
    redraws every ``Linear`` layer, in order, weight then bias, from a local
    generator, in PyTorch's default range, so the weights depend on ``seed`` alone.

    Args:
        in_features (int): input features :math:`D`, as for :class:`~dlfoundations.models.MLP`.
        hidden_sizes (Sequence[int]): the hidden widths, as for :class:`~dlfoundations.models.MLP`.
        out_features (int): outputs :math:`O`, as for :class:`~dlfoundations.models.MLP`.
        seed (int): seed of the initial weights.
        activation (str): hidden activation, as for :class:`~dlfoundations.models.MLP`. Default: ``"relu"``.
        dropout (float): dropout probability, as for :class:`~dlfoundations.models.MLP`. Default: 0.
        batch_norm (bool): batch normalisation, as for :class:`~dlfoundations.models.MLP`. Default: ``False``.

    Shape:
        - Input: :math:`(N, D)`. Output: :math:`(N, O)`.

    Returns:
        MLP: the freshly initialised network.

    Raises:
        TypeError: as :class:`~dlfoundations.models.MLP` and
            :func:`~dlfoundations.seed.make_generator` raise for arguments of the wrong type.
        ValueError: as they raise for values out of range.

    Book section: :ref:`sec-gen-seeds`.
    """
    model = MLP(in_features, hidden_sizes, out_features, activation=activation, dropout=dropout,
                batch_norm=batch_norm)
    return reset_linear_parameters_(model, make_generator(seed))


class RunResult(NamedTuple):
    """What :func:`train_mlp` returns."""

    #: Mean loss on the whole training set after training, in ``eval()`` mode.
    train_loss: float
    #: Mean loss on the validation set, in ``eval()`` mode.
    val_loss: float
    #: Mean loss on the test set, or ``None`` without one.
    test_loss: float | None
    #: The per-epoch record of :func:`~dlfoundations.train.fit`.
    history: History
    #: The trained network (with the best epoch's weights under early stopping).
    model: MLP


def train_mlp(
    train_data: object,
    val_data: object,
    hidden_sizes: Sequence[int],
    seed: int,
    *,
    test_data: object | None = None,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    num_epochs: int = 300,
    patience: int | None = None,
) -> RunResult:
    r"""Train one MLP configuration, full batch with AdamW, and return its final losses: :math:`\mathcal L_{\text{train}}`, :math:`\mathcal L_{\text{val}}`, :math:`\mathcal L_{\text{test}}`.

    The model is :func:`init_mlp` with ``seed``, trained by
    :func:`~dlfoundations.train.fit` on the whole training set as one batch
    (one step per epoch, so the data order plays no part) with
    ``torch.optim.AdamW(lr=lr, weight_decay=weight_decay)`` on the mean squared
    error. With ``weight_decay=0`` this is Adam. Without ``patience`` the last
    epoch's weights are kept; with it, training stops after ``patience`` epochs
    without a better validation loss and the best epoch's weights are restored.

    Args:
        train_data (dlfoundations.data.NoisySine | tuple[Tensor, Tensor]): a data set
            with ``.X`` of ``(N, D)`` and ``.y`` of ``(N, O)``, or a pair ``(X, y)``.
        val_data (dlfoundations.data.NoisySine | tuple[Tensor, Tensor]): the validation set, the same way.
        hidden_sizes (Sequence[int]): hidden widths, e.g. ``[64]``.
        seed (int): seed of the initial weights (and of the dropout masks).
        test_data (dlfoundations.data.NoisySine | tuple[Tensor, Tensor] | None): a third data set,
            touched only after training. Default: ``None``.
        activation (str): hidden activation. Default: ``"relu"``.
        dropout (float): dropout probability after each hidden activation. Default: 0.
        batch_norm (bool): batch normalisation after each hidden ``Linear``. Default: ``False``.
        lr (float): learning rate :math:`\eta \ge 0` (0 is accepted, as by ``torch.optim``). Default: 0.01.
        weight_decay (float): AdamW's decoupled weight decay :math:`\lambda \ge 0`. Default: 0.
        num_epochs (int): epochs (= steps), ``>= 1``. Default: 300.
        patience (int | None): early-stopping patience. Default: ``None``.

    Shape:
        - ``X``: :math:`(N, D)`, ``y``: :math:`(N, O)` for every data set, one ``D`` and ``O``.

    Returns:
        RunResult: final train/validation/test losses, the history and the model.

    Raises:
        TypeError: if a data set is not a data set or pair of tensors, or an
            argument has the wrong type.
        ValueError: if shapes disagree, a hyper-parameter is out of range, or a
            width is not positive (as :class:`~dlfoundations.models.MLP` raises).

    Reference: Loshchilov and Hutter (2019) for AdamW; Prechelt (1998) for
    early stopping. Book section :ref:`sec-gen-capacity`.
    """
    (X, y), (X_val, y_val), test = _check_run_args(train_data, val_data, test_data, lr, weight_decay, num_epochs)
    model = init_mlp(X.shape[1], hidden_sizes, y.shape[1], seed, activation, dropout, batch_norm)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.MSELoss()
    val_loader = InMemoryLoader(X_val, y_val, batch_size=len(X_val))
    # Dropout draws its masks from the global generator: seed it for this run.
    torch.manual_seed(seed)
    history = fit(
        model, InMemoryLoader(X, y, batch_size=len(X)), optimizer, loss_fn, num_epochs,
        val_loader=val_loader, patience=patience, restore_best=patience is not None,
    )
    train_loss = evaluate(model, InMemoryLoader(X, y, batch_size=len(X)), loss_fn)
    val_loss = evaluate(model, val_loader, loss_fn)
    test_loss = None if test is None else evaluate(model, InMemoryLoader(*test, batch_size=len(test[0])), loss_fn)
    return RunResult(train_loss, val_loss, test_loss, history, model)


class SeedEnsemble(nn.Module):
    r"""``R`` independent MLPs of one architecture, evaluated together: :math:`A^{(r)}_l = f(A^{(r)}_{l-1} W_l^{(r)\top} + \mathbf b^{(r)}_l)`.

    The weights of layer :math:`l` for all members are one tensor of shape
    :math:`(R, H_l, H_{l-1})`, so one batched matrix product (``@`` on 3-D tensors)
    computes the layer for every member. Member :math:`r` starts from the
    weights of ``init_mlp(..., seed=seeds[r])``, and its output depends only on
    its own weights, so gradients of the *sum* of the members' losses are each
    member's own gradient: training the ensemble with an element-wise optimizer
    (Adam, AdamW, SGD) trains :math:`R` separate networks in one loop.

    Batch normalisation normalises each member's units over that member's batch
    (a ``BatchNorm1d`` over :math:`R H` features); dropout draws independent
    masks for every member.

    Args:
        in_features (int): input features :math:`D`, as for :class:`~dlfoundations.models.MLP`.
        hidden_sizes (Sequence[int]): the hidden widths, as for :class:`~dlfoundations.models.MLP`.
        out_features (int): outputs :math:`O`, as for :class:`~dlfoundations.models.MLP`.
        seeds (Sequence[int]): one seed per member, :math:`R` of them, distinct.
        activation (str): hidden activation, as for :class:`~dlfoundations.models.MLP`. Default: ``"relu"``.
        dropout (float): dropout probability, as for :class:`~dlfoundations.models.MLP`. Default: 0.
        batch_norm (bool): batch normalisation, as for :class:`~dlfoundations.models.MLP`. Default: ``False``.

    Shape:
        - Input: :math:`(N, D)` (shared by every member) or :math:`(R, N, D)` (one batch per member).
        - Output: :math:`(R, N, O)`.

    Raises:
        TypeError: as :class:`~dlfoundations.models.MLP` raises for arguments of the wrong type.
        ValueError: as :class:`~dlfoundations.models.MLP` raises, for an empty or
            repeated seed list, or for an input of the wrong shape.

    Book section: :ref:`sec-gen-seeds`.
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: Sequence[int],
        out_features: int,
        seeds: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        seeds = _check_seeds(seeds)
        members = [init_mlp(in_features, hidden_sizes, out_features, s, activation, dropout, batch_norm)
                   for s in seeds]
        linears = [[m for m in member.modules() if isinstance(m, nn.Linear)] for member in members]
        self.R = len(seeds)
        self.in_features = in_features
        self.seeds = tuple(seeds)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([lin[i].weight.detach() for lin in linears]))  # (R, H_out, H_in)
            for i in range(len(linears[0]))
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([lin[i].bias.detach() for lin in linears]).unsqueeze(1))  # (R, 1, H_out)
            for i in range(len(linears[0]))
        )
        hidden = list(members[0].hidden_sizes)
        self.norms = nn.ModuleList(nn.BatchNorm1d(self.R * H) for H in hidden) if batch_norm else None
        self.activation = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, X: Tensor) -> Tensor:
        """Return every member's outputs, ``(R, N, O)``, for ``X`` of ``(N, D)`` or ``(R, N, D)``."""
        A = self._members_input(X)  # (R, N, D)
        for i, (W, b) in enumerate(zip(self.weights[:-1], self.biases[:-1])):  # the hidden layers
            Z = A @ W.mT + b  # (R, N, H_in) @ (R, H_in, H_out) + (R, 1, H_out) -> (R, N, H_out)
            if self.norms is not None:
                R, N, H = Z.shape
                flat = Z.transpose(0, 1).reshape(N, R * H)  # (N, R*H): member r's units are a block
                Z = self.norms[i](flat).reshape(N, R, H).transpose(0, 1)  # back to (R, N, H)
            A = self.activation(Z)
            if self.dropout is not None:
                A = self.dropout(A)
        return A @ self.weights[-1].mT + self.biases[-1]  # (R, N, O): no activation after the output layer

    def _members_input(self, X: object) -> Tensor:
        """Check ``X``; return it as ``(R, N, D)``, a shared ``(N, D)`` batch expanded without a copy."""
        if not isinstance(X, Tensor):
            raise TypeError(f"expected X to be a torch.Tensor, got {type(X).__name__}")
        D = self.in_features
        if X.ndim == 2 and X.shape[1] == D:
            return X.unsqueeze(0).expand(self.R, -1, -1)  # (N, D) -> (R, N, D), no copy
        if X.ndim == 3 and X.shape[0] == self.R and X.shape[2] == D:
            return X
        raise ValueError(f"expected X of shape (N, {D}) or ({self.R}, N, {D}), got {tuple(X.shape)}")


class SeedRuns(NamedTuple):
    """What :func:`train_mlp_seeds` returns; ``R`` seeds, ``E`` epochs."""

    #: ``(E, R)``, each epoch's training loss, measured in ``train()`` mode before that epoch's step (as ``fit``'s
    #: ``History.train_loss``).
    train_curve: Tensor
    #: ``(E, R)``, validation loss after each epoch, ``eval()`` mode.
    val_curve: Tensor
    #: ``(E, R)``, test loss after each epoch, or ``None``.
    test_curve: Tensor | None
    #: ``(R,)``, loss on the whole training set after training, ``eval()`` mode.
    train_loss: Tensor
    #: ``(R,)``, final validation loss.
    val_loss: Tensor
    #: ``(R,)``, final test loss, or ``None``.
    test_loss: Tensor | None
    #: The trained members.
    model: SeedEnsemble


def _member_losses(y_hat: Tensor, y: Tensor) -> Tensor:
    return ((y_hat - y) ** 2).mean(dim=(1, 2))  # (R, N, O) - (N, O) or (R, N, O) -> (R,)


def _check_seed_runs_args(
    train_data: object, val_data: object, test_data: object, seeds: object, lr: object, weight_decay: object,
    num_epochs: object,
) -> tuple[list[int], tuple[Tensor, Tensor], tuple[Tensor, Tensor], tuple[Tensor, Tensor] | None]:
    """Check the arguments of :func:`train_mlp_seeds`; return the seeds and the train, validation and test pairs.

    The training pair is ``(N, D)``, ``(N, O)`` when one set is shared, or
    ``(R, N, D)``, ``(R, N, O)`` stacked from one set per seed.
    """
    seeds = _check_seeds(seeds)
    R = len(seeds)
    if isinstance(train_data, (list, tuple)) and not (len(train_data) == 2 and isinstance(train_data[0], Tensor)):
        if len(train_data) != R:
            raise ValueError(f"expected one training set per seed ({R}), got {len(train_data)}")
        pairs = [_as_xy(d, f"train_data[{r}]") for r, d in enumerate(train_data)]
        if any(Xr.shape != pairs[0][0].shape or yr.shape != pairs[0][1].shape for Xr, yr in pairs):
            raise ValueError("expected training sets of one shape, got "
                             f"{[tuple(Xr.shape) for Xr, _ in pairs]}")
        X = torch.stack([Xr for Xr, _ in pairs])  # (R, N, D)
        y = torch.stack([yr for _, yr in pairs])  # (R, N, O)
    else:
        X, y = _as_xy(train_data, "train_data")
    val, test = _eval_sets(val_data, test_data, X.shape[-1], y.shape[-1])
    _check_config(lr, weight_decay, num_epochs)
    return seeds, (X, y), val, test


def train_mlp_seeds(
    train_data: object | Sequence[object],
    val_data: object,
    hidden_sizes: Sequence[int],
    seeds: Sequence[int],
    *,
    test_data: object | None = None,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    num_epochs: int = 300,
) -> SeedRuns:
    r"""Train one MLP configuration for every seed at once (a :class:`SeedEnsemble`), full batch with AdamW, and record each seed's loss curves.

    Member :math:`r` follows the same steps as ``train_mlp(..., seed=seeds[r])``
    without early stopping: the loss minimised is
    :math:`\sum_r \mathcal L^{(r)}`, whose gradient with respect to member
    :math:`r`'s weights is :math:`\nabla \mathcal L^{(r)}`, and AdamW updates
    every weight separately. The losses agree to float32 round-off (tested
    against :func:`train_mlp`); dropout masks differ, since they are drawn
    for all members together. Early stopping needs no retraining: a full-batch
    run does not depend on the stopping rule, so :func:`early_stopping_epoch`
    reads the epoch it would restore off ``val_curve``.

    Args:
        train_data (dlfoundations.data.NoisySine | tuple[Tensor, Tensor] | Sequence): one data set
            (``.X``/``.y`` or a pair ``(X, y)``) shared by every seed, or a
            sequence of ``R`` data sets of one size, one per seed.
        val_data (dlfoundations.data.NoisySine | tuple[Tensor, Tensor]): the validation set, shared.
        hidden_sizes (Sequence[int]): hidden widths, as for :func:`train_mlp`.
        seeds (Sequence[int]): :math:`R` distinct seeds of the initial weights.
        test_data (dlfoundations.data.NoisySine | tuple[Tensor, Tensor] | None): the test set, shared. Default: ``None``.
        activation (str): as for :func:`train_mlp`. Default: ``"relu"``.
        dropout (float): as for :func:`train_mlp`. Default: 0.
        batch_norm (bool): as for :func:`train_mlp`. Default: ``False``.
        lr (float): as for :func:`train_mlp`. Default: 0.01.
        weight_decay (float): as for :func:`train_mlp`. Default: 0.
        num_epochs (int): as for :func:`train_mlp`. Default: 300.

    Shape:
        - ``X``: :math:`(N, D)`, ``y``: :math:`(N, O)`; curves :math:`(E, R)`; final losses :math:`(R,)`.

    Returns:
        SeedRuns: per-seed curves and final losses, and the trained ensemble.

    Raises:
        TypeError: if a data set or argument has the wrong type.
        ValueError: if ``seeds`` is empty or repeats a seed, the number of
            training sets differs from the number of seeds, shapes disagree, or
            a hyper-parameter or width is out of range.

    Book section: :ref:`sec-gen-seeds`.
    """
    seeds, (X, y), (X_val, y_val), test = _check_seed_runs_args(
        train_data, val_data, test_data, seeds, lr, weight_decay, num_epochs
    )
    R, D, O = len(seeds), X.shape[-1], y.shape[-1]  # seeds, input features, outputs
    model = SeedEnsemble(D, hidden_sizes, O, seeds, activation, dropout, batch_norm)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    torch.manual_seed(seeds[0])  # dropout masks come from the global generator
    train_curve = torch.empty(num_epochs, R)
    val_curve = torch.empty(num_epochs, R)
    test_curve = None if test is None else torch.empty(num_epochs, R)
    for epoch in range(num_epochs):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        losses = _member_losses(model(X), y)  # (R,)
        losses.sum().backward()  # member r's weights get the gradient of its own loss
        optimizer.step()
        train_curve[epoch] = losses.detach()
        model.eval()
        with torch.no_grad():
            val_curve[epoch] = _member_losses(model(X_val), y_val)
            if test is not None:
                test_curve[epoch] = _member_losses(model(test[0]), test[1])
    model.eval()
    with torch.no_grad():
        train_loss = _member_losses(model(X), y)
    return SeedRuns(train_curve, val_curve, test_curve, train_loss, val_curve[-1].clone(),
                    None if test_curve is None else test_curve[-1].clone(), model)


def _check_curve(curve: object, name: str) -> Tensor:
    if not isinstance(curve, Tensor):
        raise TypeError(f"{name} must be a Tensor of shape (E, R), got {type(curve).__name__}")
    if curve.ndim != 2 or curve.shape[0] == 0:
        raise ValueError(f"expected {name} of shape (E, R) with E >= 1, got {tuple(curve.shape)}")
    if curve.is_complex():
        raise TypeError(f"{name} must hold real losses, got dtype {curve.dtype}")
    return curve


def _check_early_stopping_args(val_curve: object, patience: object) -> Tensor:
    curve = _check_curve(val_curve, "val_curve")
    EarlyStopping(patience, keep_best_state=False)  # checks patience, even for R = 0 seeds
    return curve


def early_stopping_epoch(val_curve: Tensor, patience: int) -> Tensor:
    r"""The epoch early stopping would restore, per seed: the best epoch :math:`e^\star` before :math:`e - e^\star \ge p` first holds.

    Replays :class:`~dlfoundations.train.EarlyStopping` on each column of a
    validation curve, which gives the epoch ``fit(..., patience=patience)``
    restores, as long as training does not depend on the stopping rule (true
    for a full-batch run: stopping only cuts it short).

    Args:
        val_curve (Tensor): validation losses, one column per seed.
        patience (int): epochs without improvement to tolerate, ``>= 1``.

    Shape:
        - val_curve: :math:`(E, R)`. Output: :math:`(R,)`, int64, 0-based epochs.

    Returns:
        Tensor: the restored epoch of each seed. A NaN loss never improves (as
        in :class:`~dlfoundations.train.EarlyStopping`). When no epoch of a
        seed ever improves (every loss NaN or :math:`+\infty`), ``fit`` has no
        best weights to restore and keeps those of the epoch it stopped at, so
        that epoch is returned: ``patience - 1``, or ``E - 1`` if the curve is shorter.

    Raises:
        TypeError: if ``val_curve`` is not a tensor or ``patience`` not an int.
        ValueError: if ``val_curve`` is not 2-D with at least one epoch, or ``patience < 1``.

    Reference: Prechelt (1998). Book section :ref:`sec-gen-regularization`.
    """
    curve = _check_early_stopping_args(val_curve, patience)
    best = []
    for r in range(curve.shape[1]):
        tracker = EarlyStopping(patience, keep_best_state=False)
        for epoch, loss in enumerate(curve[:, r].tolist()):
            # keep_best_state=False: the tracker never reads the model.
            if tracker.step(loss, None, epoch):  # type: ignore[arg-type]
                break
        # Nothing improved (all NaN or +inf): fit keeps the weights of the epoch it stopped at.
        best.append(tracker.best_epoch if tracker.best_epoch is not None else epoch)
    return torch.tensor(best, dtype=torch.int64)


def epochs_to_reach(curve: Tensor, threshold: float) -> Tensor:
    r"""Epochs until each seed's loss first reaches a threshold: :math:`\min\{e : \mathcal L_e \le \tau\} + 1`.

    Args:
        curve (Tensor): losses per epoch, one column per seed.
        threshold (float): the target loss :math:`\tau`.

    Shape:
        - curve: :math:`(E, R)`. Output: :math:`(R,)`, float64.

    Returns:
        Tensor: the number of epochs (1-based) of each seed, ``nan`` for a seed
        that never reaches :math:`\tau`. A NaN loss does not reach any
        threshold (``nan <= tau`` is false), so a run that diverges before
        reaching :math:`\tau` gives ``nan``.

    Raises:
        TypeError: if ``curve`` is not a tensor or ``threshold`` not a number.
        ValueError: if ``curve`` is not 2-D with at least one epoch, or ``threshold`` is not finite.

    Book section: :ref:`sec-gen-activations`.
    """
    curve = _check_curve(curve, "curve")
    threshold = check_float(threshold, "threshold")
    reached = curve <= threshold  # (E, R)
    first = reached.to(torch.int64).argmax(dim=0).to(torch.float64) + 1  # first True, 1-based
    return torch.where(reached.any(dim=0), first, torch.full_like(first, math.nan))


class ClaimError(RuntimeError):
    """A sentence in the book's prose is no longer supported by the numbers the build measured."""


def check_claim(holds: object, claim: str) -> None:
    """Fail the build when a qualitative claim in the prose stops being true.

    Numbers in the prose are glued, so they can never disagree with the code;
    but a sentence such as "the LSTM succeeds where the RNN fails" rests on
    those numbers too. A chapter calls this in a hidden cell right after it
    computes them, so a change that breaks the claim fails the build instead of
    leaving a false sentence in the book.

    Args:
        holds (bool | Tensor): the condition the claim rests on (a one-element
            bool tensor or a NumPy ``bool_``, e.g. from ``np.all``, is accepted).
        claim (str): the claim, as the prose states it.

    Raises:
        ClaimError: if ``holds`` is false; the message quotes ``claim``.
        TypeError: if ``claim`` is not a non-empty string, or ``holds`` is not a bool or 0-d tensor.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"claim must be a non-empty str, got {claim!r}")
    if isinstance(holds, torch.Tensor):
        if holds.numel() != 1:
            raise TypeError(f"holds must be a bool or a one-element tensor, got a tensor of shape {tuple(holds.shape)}")
        holds = bool(holds.item())
    if isinstance(holds, np.bool_):  # e.g. np.all(...)
        holds = bool(holds)
    if not isinstance(holds, bool):
        raise TypeError(f"holds must be a bool, got {type(holds).__name__}")
    if not holds:
        raise ClaimError(f"the book claims that {claim}, but the measured numbers no longer show it")
