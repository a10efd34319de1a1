"""The handwritten digits that ship with scikit-learn, as tensors, split and normalised.

The data: 1,797 grey-scale images of 8×8 pixels (values 0–16) of the digits
0–9. They are the *test* part of the UCI "Optical Recognition of Handwritten
Digits" data set (Alpaydin & Kaynak, 1998), written by 13 people; UCI's
training part, written by other people, is not bundled. scikit-learn ships
this copy (``sklearn.datasets.load_digits``; its ``DESCR`` says so), so nothing
is downloaded.

The images carry no writer labels, so a random split, stratified or not, puts
digits of the same 13 writers in the training, validation and test splits. A
test score on such a split measures accuracy on new images by writers the
model has already seen, not on new writers, and is optimistic for the latter.

Book chapters: Part III, :ref:`chap-digits-project` and the chapters after it.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset
from dlfoundations._validation import check_floating_dtype, check_label_vector

__all__ = ["DigitSplits", "DigitsDataset", "Standardizer", "load_digits_tensors", "stratified_split"]

#: Number of classes (the digits 0–9).
NUM_CLASSES = 10
#: Side of one image in pixels.
IMAGE_SIZE = 8


def load_digits_tensors(dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """Return scikit-learn's bundled digits as tensors ``(X, y)``.

    Args:
        dtype (torch.dtype): floating dtype of ``X``. Default: ``torch.float32``.

    Shape:
        - X: :math:`(N, 64)`, pixel intensities in ``[0, 16]``, row-major 8×8 images.
        - y: :math:`(N,)`, ``torch.int64`` labels in ``[0, 9]``; :math:`N = 1797`.

    Returns:
        tuple[Tensor, Tensor]: ``X`` and ``y`` of UCI's test part (13 writers,
        no writer labels; see the module docstring).

    Raises:
        TypeError: if ``dtype`` is not a floating ``torch.dtype``.
    """
    check_floating_dtype(dtype)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = torch.as_tensor(bunch.data, dtype=dtype)  # (N, 64)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)  # (N,)
    return X, y


class DigitSplits(NamedTuple):
    """Index tensors of a train/validation/test split (disjoint, covering every sample)."""

    train: Tensor
    val: Tensor
    test: Tensor


def stratified_split(
    y: Tensor, val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> DigitSplits:
    """Split sample indices into train/validation/test with the class proportions of ``y`` in each.

    Uses scikit-learn's ``train_test_split(..., stratify=...)`` twice: first
    the test set off the whole, then the validation set off the rest.

    Note:
        The split is by image, not by writer: on the bundled digits (13
        writers, no writer labels) every split holds images of the same
        writers, so the test score measures generalisation to new images of
        seen writers. A writer-independent test needs writer labels and a
        group split (``sklearn.model_selection.GroupShuffleSplit``), or UCI's
        separate training part, written by other people.

    Args:
        y (Tensor): class labels, ``(N,)``, integer dtype.
        val_fraction (float): fraction of all samples for validation, in ``(0, 1)``. Default: 0.15.
        test_fraction (float): fraction of all samples for testing, in ``(0, 1)``. Default: 0.15.
        seed (int): seed of the shuffling. Default: 0.

    Returns:
        DigitSplits: sorted ``int64`` index tensors ``train``, ``val``, ``test``.

    Raises:
        TypeError: if ``y`` is not an integer tensor, a fraction not a number
            or ``seed`` not an int.
        ValueError: if ``y`` is not 1-D, the fractions are not in ``(0, 1)``
            with a sum below 1, ``seed`` is not in ``[0, 2**32 - 1]``, a class
            has fewer than 2 samples, or a split would hold fewer samples than
            there are classes (the message names the split and the counts).
    """
    _check_split_arguments(y, val_fraction, test_fraction, seed)
    val_fraction, test_fraction = float(val_fraction), float(test_fraction)
    indices = torch.arange(len(y)).numpy()
    labels = y.to(torch.int64).numpy()
    rest, test = _stratified(indices, labels, test_fraction, int(seed), "test split")
    # The validation fraction is of the whole set, so rescale it to what is left.
    train, val = _stratified(rest, labels[rest], val_fraction / (1.0 - test_fraction), int(seed), "validation split")
    as_sorted = lambda a: torch.as_tensor(a, dtype=torch.int64).sort().values  # noqa: E731
    return DigitSplits(as_sorted(train), as_sorted(val), as_sorted(test))


def _check_split_arguments(y: object, val_fraction: object, test_fraction: object, seed: object) -> None:
    check_label_vector(y)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32 - 1] (NumPy's seeds), got {seed}")
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a float in (0, 1), got {type(value).__name__}: {value!r}")
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be below 1, got {val_fraction + test_fraction}")
    classes, counts = torch.unique(y, return_counts=True)
    too_few = [(int(c), int(n)) for c, n in zip(classes, counts) if n < 2]
    if too_few:
        raise ValueError(f"a stratified split needs at least 2 samples of every class, got (class, count) {too_few[:5]}")


def _stratified(indices, labels, fraction: float, seed: int, what: str):
    """``train_test_split(indices, test_size=fraction, stratify=labels)``, its errors said in the split's terms."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(indices, test_size=fraction, stratify=labels, random_state=seed)
    except ValueError as err:  # too few samples for a class or for the number of classes
        raise ValueError(
            f"cannot take the stratified {what} ({fraction:.4g} of {len(indices)} samples of "
            f"{len(set(labels.tolist()))} classes): {err}"
        ) from None


class Standardizer:
    r"""Per-feature standardisation :math:`x' = (x - \mu) / \sigma`, with :math:`\mu, \sigma` fitted on training data only.

    Fitting on the training split alone keeps any information about the
    validation and test samples out of the model. A feature that is constant
    in training (all its values equal, e.g. a corner pixel that is always 0)
    is only centred: :math:`\sigma` is taken as 1 and :math:`\mu` as that
    value. "Constant" is tested exactly, not as :math:`\sigma = 0`, because a
    rounded mean makes the computed :math:`\sigma` of a constant column a
    tiny positive number (about 1e-8 for seven float32 copies of 0.1), and
    dividing by it would blow the column up.

    Note:
        :math:`\sigma` is the sample standard deviation (``torch.std``,
        divisor :math:`N - 1`); scikit-learn's ``StandardScaler`` divides by
        :math:`N`, so its ``scale_`` is :math:`\sigma \sqrt{(N-1)/N}`. NaN and
        ±inf in ``X`` propagate into :math:`\mu` and :math:`\sigma` (and so
        into ``transform``), as in PyTorch; ``StandardScaler`` refuses them.

    Shape:
        - fit: ``X`` of ``(N, D)``; ``mean`` and ``std`` become ``(D,)``.
        - transform: ``(M, D)`` → ``(M, D)``, of the dtype PyTorch promotes
          ``X``'s and the fitted statistics' dtypes to.

    Raises:
        RuntimeError: on ``transform`` or ``state_dict`` before ``fit``.
        TypeError: if ``X`` is not a floating tensor.
        ValueError: if ``X`` is not 2-D, has fewer than 2 samples in ``fit``,
            or has another ``D`` than was fitted.
    """

    def __init__(self) -> None:
        self.mean: Tensor | None = None
        self.std: Tensor | None = None

    @staticmethod
    def _check(X: object, minimum: int = 0) -> Tensor:
        if not isinstance(X, Tensor) or not X.dtype.is_floating_point:
            raise TypeError(f"expected a floating tensor X, got {type(X).__name__} {getattr(X, 'dtype', '')}")
        if X.ndim != 2:
            raise ValueError(f"expected X of shape (N, D), got {tuple(X.shape)}")
        if len(X) < minimum:
            raise ValueError(f"need at least {minimum} samples to fit, got X of shape {tuple(X.shape)}")
        return X

    def fit(self, X: Tensor) -> Standardizer:
        """Compute the per-feature mean and standard deviation of ``X``; return ``self``."""
        X = self._check(X, minimum=2)  # a standard deviation needs two samples
        constant = X.amax(dim=0) == X.amin(dim=0)  # (D,): every value equal (False for a NaN column)
        self.mean = torch.where(constant, X[0], X.mean(dim=0))  # (D,)
        std = X.std(dim=0) if X.shape[1] else torch.ones_like(self.mean)  # (D,); D = 0 would warn
        self.std = torch.where(constant, torch.ones_like(self.mean), std)  # (D,)
        return self

    def transform(self, X: Tensor) -> Tensor:
        """Return ``(X - mean) / std`` with the fitted statistics."""
        X = self._check(X)
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.transform called before fit")
        if X.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected X with {self.mean.shape[0]} features, got {tuple(X.shape)}")
        return (X - self.mean) / self.std

    def state_dict(self) -> dict[str, Tensor]:
        """The fitted statistics as plain tensors (safe for ``torch.load(weights_only=True)``)."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.state_dict called before fit")
        return {"mean": self.mean.clone(), "std": self.std.clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore statistics saved by :meth:`state_dict`; on an error nothing changes.

        Raises:
            TypeError: if ``state`` is not a dict of floating tensors.
            ValueError: if its keys are not ``mean`` and ``std``, their shapes or
                dtypes differ or are not ``(D,)``, or a ``std`` is not positive.
        """
        if not isinstance(state, dict):
            raise TypeError(f"expected a dict with keys 'mean' and 'std', got {type(state).__name__}")
        if set(state) != {"mean", "std"}:
            raise ValueError(f"expected keys {{'mean', 'std'}}, got {sorted(state, key=str)}")
        for name, value in state.items():
            if not isinstance(value, Tensor) or not value.dtype.is_floating_point:
                raise TypeError(f"expected {name} to be a floating tensor, got {type(value).__name__} "
                                f"{getattr(value, 'dtype', '')}")
        mean, std = state["mean"], state["std"]
        if mean.shape != std.shape or mean.ndim != 1 or mean.dtype != std.dtype:
            raise ValueError(f"expected mean and std of one shape (D,) and dtype, got {tuple(mean.shape)} "
                             f"{mean.dtype} and {tuple(std.shape)} {std.dtype}")
        if (std <= 0).any():
            raise ValueError(f"expected std > 0 (fit takes a constant feature's std as 1), got {std.min().item()}")
        self.mean, self.std = mean.clone(), std.clone()


class DigitsDataset(Dataset):
    """A map-style dataset over digit images and labels, flat or as 1-channel images.

    Args:
        X (Tensor): pixel features, ``(N, 64)``, already normalised as wanted.
        y (Tensor): labels, ``(N,)``, ``int64`` in ``[0, 9]``.
        as_images (bool): return each sample as ``(1, 8, 8)`` (for convolutional
            networks) instead of ``(64,)``. Default: ``False``.

    Shape:
        - ``dataset[i]``: ``(x, y)`` with ``x`` of ``(64,)`` or ``(1, 8, 8)`` and ``y`` a 0-d int64.

    Raises:
        ValueError: if ``X`` is not ``(N, 64)``, ``y`` not ``(N,)``, or a label is outside ``[0, 9]``.
        TypeError: if ``X`` is not a tensor, ``y`` is not ``int64`` or ``as_images`` not a bool.
    """

    def __init__(self, X: Tensor, y: Tensor, as_images: bool = False) -> None:
        _check_digits_dataset(X, y, as_images)
        self.X = X.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE) if as_images else X  # (N, 1, 8, 8) or (N, 64)
        self.y = y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.X[index], self.y[index]


def _check_digits_dataset(X: object, y: object, as_images: object) -> None:
    """The checks of :class:`DigitsDataset`: ``X`` of ``(N, 64)``, int64 labels ``(N,)`` in ``[0, 9]``, a bool."""
    if not isinstance(X, Tensor):
        raise TypeError(f"expected X to be a tensor of shape (N, 64), got {type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != IMAGE_SIZE * IMAGE_SIZE:
        raise ValueError(f"expected X of shape (N, 64), got {tuple(X.shape)}")
    if not isinstance(as_images, bool):
        raise TypeError(f"as_images must be a bool, got {type(as_images).__name__}: {as_images!r}")
    if not isinstance(y, Tensor) or y.dtype != torch.int64:
        raise TypeError(f"expected y of dtype torch.int64, got {getattr(y, 'dtype', type(y).__name__)}")
    if y.shape != (len(X),):
        raise ValueError(f"expected y of shape ({len(X)},), got {tuple(y.shape)}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= NUM_CLASSES):
        bad = int(y[(y < 0) | (y >= NUM_CLASSES)][0])
        raise ValueError(f"labels must be in [0, {NUM_CLASSES}), got {bad}")
