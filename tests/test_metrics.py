import pytest
import torch
from sklearn import metrics as skm

from dlfoundations.metrics import PrecisionRecallF1, accuracy, confusion_matrix, precision_recall_f1


def random_labels(seed, N, C):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, C, (N,), generator=g), torch.randint(0, C, (N,), generator=g)


@pytest.mark.parametrize(("seed", "N", "C"), [(0, 50, 3), (1, 200, 10), (2, 7, 5), (3, 1, 2)])
def test_confusion_matrix_matches_sklearn(seed, N, C):
    y_true, y_pred = random_labels(seed, N, C)
    M = confusion_matrix(y_true, y_pred, C)
    expected = torch.as_tensor(skm.confusion_matrix(y_true.numpy(), y_pred.numpy(), labels=list(range(C))))
    assert M.dtype == torch.int64 and M.shape == (C, C)
    torch.testing.assert_close(M, expected.to(torch.int64))
    assert int(M.sum()) == N
    torch.testing.assert_close(M.sum(dim=1), torch.bincount(y_true, minlength=C))


def test_confusion_matrix_rows_are_true_classes():
    M = confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 1]), 2)
    torch.testing.assert_close(M, torch.tensor([[0, 2], [0, 1]]))


@pytest.mark.parametrize("average", [None, "macro"])
@pytest.mark.parametrize("zero_division", [0.0, 1.0])
@pytest.mark.parametrize(("seed", "N", "C"), [(0, 60, 4), (1, 300, 10), (2, 6, 8)])
def test_precision_recall_f1_match_sklearn(seed, N, C, average, zero_division):
    # N=6 with C=8 leaves classes never present or never predicted: the 0/0 cases.
    y_true, y_pred = random_labels(seed, N, C)
    ours = precision_recall_f1(y_true, y_pred, C, average=average, zero_division=zero_division)
    p, r, f, s = skm.precision_recall_fscore_support(
        y_true.numpy(), y_pred.numpy(), labels=list(range(C)), average=average, zero_division=zero_division
    )
    assert isinstance(ours, PrecisionRecallF1)
    for mine, theirs in ((ours.precision, p), (ours.recall, r), (ours.f1, f)):
        torch.testing.assert_close(mine, torch.as_tensor(theirs, dtype=torch.float64))
    assert ours.precision.shape == ((C,) if average is None else ())
    torch.testing.assert_close(ours.support, torch.bincount(y_true, minlength=C))
    if average is None:
        torch.testing.assert_close(ours.support, torch.as_tensor(s, dtype=torch.int64))


def test_perfect_predictions_give_ones():
    y = torch.arange(5)
    out = precision_recall_f1(y, y, 5, average="macro")
    assert out.precision.item() == out.recall.item() == out.f1.item() == 1.0
    assert accuracy(y, y) == 1.0


@pytest.mark.parametrize(("seed", "N", "C"), [(0, 100, 10), (1, 3, 2)])
def test_accuracy_matches_sklearn_and_the_trace(seed, N, C):
    y_true, y_pred = random_labels(seed, N, C)
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true.numpy(), y_pred.numpy()))
    assert accuracy(y_true, y_pred) == pytest.approx(confusion_matrix(y_true, y_pred, C).trace().item() / N)


def test_int32_labels_are_accepted():
    y_true, y_pred = random_labels(0, 30, 3)
    torch.testing.assert_close(
        confusion_matrix(y_true.int(), y_pred.int(), 3), confusion_matrix(y_true, y_pred, 3)
    )


@pytest.mark.parametrize(
    ("y_true", "y_pred", "num_classes", "error", "match"),
    [
        (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), 2, TypeError, "y_true of an integer dtype"),
        ([0, 1], torch.tensor([0, 1]), 2, TypeError, "y_true to be a torch.Tensor"),
        (torch.tensor([0, 1]), torch.tensor([True, False]), 2, TypeError, "y_pred of an integer dtype"),
        (torch.tensor([[0, 1]]), torch.tensor([[0, 1]]), 2, ValueError, r"y_true of shape \(N,\), got \(1, 2\)"),
        (torch.tensor([0, 1]), torch.tensor([0, 1, 1]), 2, ValueError, r"same shape \(N,\), got \(2,\) and \(3,\)"),
        (torch.tensor([0, 2]), torch.tensor([0, 1]), 2, ValueError, r"y_true labels in \[0, 2\), got label 2 at position 1"),
        (torch.tensor([0, 1]), torch.tensor([-1, 1]), 2, ValueError, "y_pred labels .* got label -1 at position 0"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), 0, ValueError, r"num_classes must be in \[1, 2147483647\], got 0"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), 2.0, TypeError, "num_classes must be an int, got float"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), True, TypeError, "num_classes must be an int, got bool"),
        (torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64), 2, ValueError, "at least one sample"),
    ],
)
def test_confusion_matrix_rejects_bad_input(y_true, y_pred, num_classes, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(y_true, y_pred, num_classes)


def test_precision_recall_f1_rejects_bad_options():
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="average must be one of .* got .samples."):
        precision_recall_f1(y, y, 2, average="samples")
    with pytest.raises(ValueError, match=r"zero_division must be in \[0, 1\] or nan, got 2.0"):
        precision_recall_f1(y, y, 2, zero_division=2)
    with pytest.raises(TypeError, match="zero_division must be a float .* got str"):
        precision_recall_f1(y, y, 2, zero_division="warn")
    with pytest.raises(ValueError, match="got label 5 at position 0"):
        precision_recall_f1(torch.tensor([5, 0]), y, 2)


def test_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match=r"same shape \(N,\), got \(2,\) and \(1,\)"):
        accuracy(torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(TypeError, match="y_pred of an integer dtype"):
        accuracy(torch.tensor([0, 1]), torch.tensor([0.0, 1.0]))
