import pytest
import torch
from torch import nn

from dlfoundations.conv import DigitCNN
from dlfoundations.seed import make_generator
from dlfoundations.transfer import (
    count_trainable,
    few_label_subset,
    freeze,
    param_groups,
    replace_head,
    select_classes,
    unfreeze,
)


def _images(N, seed=0):
    return torch.randn(N, 1, 8, 8, generator=make_generator(seed))


def _train_steps(model, optimizer, num_steps=5, seed=0):
    X = _images(16, seed)
    y = torch.randint(0, model.head.out_features, (16,), generator=make_generator(seed + 1))
    for _ in range(num_steps):
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()


def test_frozen_backbone_does_not_move_while_head_does():
    model = DigitCNN(conv="torch", num_classes=3, hidden_channels=(4, 8), generator=make_generator(0))
    freeze(model.features)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    # Hand the optimizer *every* parameter, momentum and weight decay included:
    # the frozen ones must still not move, because their .grad stays None.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    _train_steps(model, optimizer, num_steps=5)
    for name, p in model.named_parameters():
        if name.startswith("features."):
            assert p.grad is None
            assert torch.equal(p, before[name]), name
        else:
            assert not torch.equal(p, before[name]), name


def test_eval_mode_does_not_freeze():
    model = DigitCNN(conv="torch", num_classes=3, hidden_channels=(4, 8), generator=make_generator(0))
    model.eval()
    before = model.features[0].weight.detach().clone()
    _train_steps(model, torch.optim.SGD(model.parameters(), lr=0.1), num_steps=2)
    assert not torch.equal(model.features[0].weight, before)


def test_freeze_unfreeze_and_count_trainable():
    model = DigitCNN(conv="torch", num_classes=5, hidden_channels=(4, 8))
    total = sum(p.numel() for p in model.parameters())
    assert count_trainable(model) == (total, total)
    assert freeze(model.features) is model.features
    head = model.head.weight.numel() + model.head.bias.numel()
    assert count_trainable(model) == (head, total)
    unfreeze(model.features)
    assert count_trainable(model) == (total, total)


def test_replace_head_output_shape_and_keeps_backbone():
    model = DigitCNN(conv="torch", num_classes=5, hidden_channels=(4, 8), generator=make_generator(0))
    freeze(model.features)
    old_features = [p.detach().clone() for p in model.features.parameters()]
    assert replace_head(model, 7, generator=make_generator(1)) is model
    assert model(_images(4)).shape == (4, 7)
    assert model.head.in_features == 8 * 16
    assert all(p.requires_grad for p in model.head.parameters())
    assert all(torch.equal(p, q) for p, q in zip(model.features.parameters(), old_features))
    again = replace_head(DigitCNN(conv="torch", num_classes=5, hidden_channels=(4, 8)), 7, generator=make_generator(1))
    assert torch.equal(again.head.weight, model.head.weight)


def test_replace_head_rejects_bad_input():
    with pytest.raises(TypeError, match=r"model.head to be an nn.Linear, got NoneType"):
        replace_head(nn.Linear(2, 2), 3)
    with pytest.raises(ValueError, match=r"Invalid num_classes: 0 \(expected >= 1\)"):
        replace_head(DigitCNN(conv="torch"), 0)


def test_param_groups_lrs_and_exact_cover():
    model = DigitCNN(conv="torch", num_classes=5, hidden_channels=(4, 8))
    optimizer = torch.optim.Adam(param_groups(model, backbone_lr=1e-4, head_lr=1e-2))
    assert [g["lr"] for g in optimizer.param_groups] == [1e-4, 1e-2]
    ids = [id(p) for g in optimizer.param_groups for p in g["params"]]
    assert len(ids) == len(set(ids))  # no parameter twice
    assert set(ids) == {id(p) for p in model.parameters()}  # none missing
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == {id(p) for p in model.head.parameters()}


def test_param_groups_leave_out_frozen_parameters():
    model = DigitCNN(conv="torch", num_classes=5, hidden_channels=(4, 8))
    freeze(model.features)
    groups = param_groups(model, 1e-4, 1e-2)
    assert len(groups) == 1 and groups[0]["lr"] == 1e-2
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.head.parameters()}
    freeze(model.head)
    with pytest.raises(ValueError, match="no trainable parameter"):
        param_groups(model, 1e-4, 1e-2)


@pytest.mark.parametrize(
    ("model", "backbone_lr", "head_lr", "error", "match"),
    [
        (nn.Linear(2, 2), 1e-3, 1e-2, ValueError, "submodule named 'head'"),
        (None, 1e-3, 1e-2, TypeError, "model must be an nn.Module, got NoneType"),
        ("cnn", -1e-3, 1e-2, ValueError, "Invalid backbone_lr: -0.001"),
        ("cnn", 1e-3, float("nan"), ValueError, "Invalid head_lr: nan"),
        ("cnn", 1e-3, "0.1", TypeError, "head_lr must be a float, got str"),
    ],
)
def test_param_groups_rejects_bad_input(model, backbone_lr, head_lr, error, match):
    model = DigitCNN(conv="torch", hidden_channels=(2, 2)) if model == "cnn" else model
    with pytest.raises(error, match=match):
        param_groups(model, backbone_lr, head_lr)


def test_select_classes_keeps_and_relabels():
    y = torch.tensor([0, 5, 9, 3, 7, 5, 8, 6])
    X = torch.arange(8.0).unsqueeze(1)  # (8, 1): row i holds i, to see which rows were kept
    X_sub, y_sub = select_classes(X, y, [5, 6, 7, 8, 9])
    assert X_sub.flatten().tolist() == [1.0, 2.0, 4.0, 5.0, 6.0, 7.0]
    assert y_sub.tolist() == [0, 4, 2, 0, 3, 1]
    assert y_sub.dtype == torch.int64
    _, y_rev = select_classes(X, y, [9, 5])
    assert y_rev.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("X", "y", "classes", "error", "match"),
    [
        (torch.zeros(3, 1), torch.tensor([0, 1]), [0], ValueError, r"same first dimension N, got X of shape \(3, 1\)"),
        (torch.zeros(2, 1), torch.tensor([0.0, 1.0]), [0], TypeError, "integer tensor"),
        (torch.zeros(2, 1), torch.tensor([0, 1]), [], ValueError, "classes is empty"),
        (torch.zeros(2, 1), torch.tensor([0, 1]), [1, 1], ValueError, r"distinct, got \[1, 1\]"),
        (torch.zeros(2, 1), torch.tensor([0, 1]), [7], ValueError, r"no sample has a label in \[7\]"),
        (torch.zeros(2, 1), torch.tensor([0, 1]), [0.5], TypeError, "classes must hold ints"),
    ],
)
def test_select_classes_rejects_bad_input(X, y, classes, error, match):
    with pytest.raises(error, match=match):
        select_classes(X, y, classes)


def test_few_label_subset_is_balanced_seeded_and_nested():
    y = torch.randint(0, 4, (200,), generator=make_generator(0))
    idx = few_label_subset(y, 5, generator=make_generator(1))
    assert idx.shape == (20,) and len(torch.unique(idx)) == 20
    assert torch.bincount(y[idx], minlength=4).tolist() == [5, 5, 5, 5]
    assert torch.equal(idx, few_label_subset(y, 5, generator=make_generator(1)))
    assert not torch.equal(idx, few_label_subset(y, 5, generator=make_generator(2)))
    larger = few_label_subset(y, 8, generator=make_generator(1))
    assert set(idx.tolist()) <= set(larger.tolist())


def test_few_label_subset_rejects_bad_input():
    y = torch.tensor([0, 0, 1])
    with pytest.raises(ValueError, match="class 1 has 1 samples, expected at least num_per_class=2"):
        few_label_subset(y, 2)
    with pytest.raises(ValueError, match=r"Invalid num_per_class: 0 \(expected >= 1\)"):
        few_label_subset(y, 0)
    with pytest.raises(ValueError, match=r"expected y of shape \(N,\), got \(3, 1\)"):
        few_label_subset(y.unsqueeze(1), 1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        few_label_subset(y, 1, generator=3)
