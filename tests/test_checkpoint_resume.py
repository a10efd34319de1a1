"""Scheduler state in checkpoints, and train_resumable: a resumed run equals the uninterrupted one bit for bit."""
import pytest
import torch
from torch import nn

from dlfoundations.checkpoint import CheckpointError, CheckpointOnImprovement, load_checkpoint, save_checkpoint, train_resumable
from dlfoundations.data import InMemoryLoader
from dlfoundations.models import MLP


def setup(seed=0):
    """A model with dropout, AdamW, a StepLR schedule and a shuffling loader, all seeded: a fresh process."""
    torch.manual_seed(seed)  # the global generator: initial weights, then the dropout masks
    model = MLP(4, [16], 3, dropout=0.3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    data = torch.Generator().manual_seed(100)
    X, y = torch.randn(40, 4, generator=data), torch.randint(0, 3, (40,), generator=data)
    loader_generator = torch.Generator().manual_seed(7)
    loader = InMemoryLoader(X, y, batch_size=8, shuffle=True, generator=loader_generator)
    return model, optimizer, scheduler, loader, {"loader": loader_generator}


def run(path, num_epochs, stop_after=None, seed=0):
    model, optimizer, scheduler, loader, generators = setup(seed)
    losses = train_resumable(path, model, loader, optimizer, scheduler, nn.functional.cross_entropy, num_epochs,
                             generators=generators, stop_after=stop_after)
    return model, optimizer, scheduler, losses


def assert_same_state(a, b):
    (model_a, opt_a, sched_a, losses_a), (model_b, opt_b, sched_b, losses_b) = a, b
    assert losses_a == losses_b
    for (k, v), (k2, v2) in zip(model_a.state_dict().items(), model_b.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), k
    state_a, state_b = opt_a.state_dict(), opt_b.state_dict()
    assert state_a["param_groups"] == state_b["param_groups"]
    for i in state_a["state"]:
        for name, value in state_a["state"][i].items():
            assert torch.equal(value, state_b["state"][i][name]), (i, name)
    assert sched_a.state_dict() == sched_b.state_dict()


@pytest.mark.parametrize("stop_after", [1, 3])
def test_a_resumed_run_equals_the_uninterrupted_run_bit_for_bit(tmp_path, stop_after):
    uninterrupted = run(tmp_path / "straight.pt", num_epochs=5)
    first = run(tmp_path / "resumed.pt", num_epochs=5, stop_after=stop_after)
    assert len(first[3]) == stop_after
    torch.manual_seed(12345)  # the new process's global generator is anything: the checkpoint restores it
    resumed = run(tmp_path / "resumed.pt", num_epochs=5, seed=99)  # other initial weights too: all overwritten
    assert_same_state(uninterrupted, resumed)
    assert resumed[2].get_last_lr() == [0.05 * 0.5 ** 2]  # the schedule continued: 5 steps of StepLR(2, 0.5)


def test_resuming_without_the_rng_states_differs(tmp_path):
    """The test above can fail: dropping the loader's generator from the checkpoint changes the run."""
    uninterrupted = run(tmp_path / "straight.pt", num_epochs=4)
    run(tmp_path / "resumed.pt", num_epochs=4, stop_after=2)
    model, optimizer, scheduler, loader, _ = setup(0)
    losses = train_resumable(tmp_path / "resumed.pt", model, loader, optimizer, scheduler,
                             nn.functional.cross_entropy, 4, generators=None)
    assert losses[:2] == uninterrupted[3][:2]
    assert losses[2:] != uninterrupted[3][2:]


def test_a_finished_run_does_not_train_again(tmp_path):
    first = run(tmp_path / "run.pt", num_epochs=2)
    again = run(tmp_path / "run.pt", num_epochs=2, seed=3)
    assert_same_state(first, again)


def test_scheduler_round_trip_and_refusals(tmp_path):
    model, optimizer, scheduler, *_ = setup(0)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    path = tmp_path / "s.pt"
    save_checkpoint(path, model, optimizer, scheduler=scheduler, epoch=2, best_val_loss=1.0)
    assert torch.load(path, weights_only=True)["scheduler"]["last_epoch"] == 3

    model2, optimizer2, scheduler2, *_ = setup(1)
    load_checkpoint(path, model2, optimizer2, scheduler=scheduler2)
    assert scheduler2.state_dict() == scheduler.state_dict()
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()

    # another scheduler class: refused, and nothing changed
    model3, optimizer3, *_ = setup(2)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer3, T_max=10)
    before = cosine.state_dict()
    weight_before = model3.net[0].weight.clone()
    with pytest.raises(CheckpointError, match="another scheduler's state"):
        load_checkpoint(path, model3, optimizer3, scheduler=cosine)
    assert cosine.state_dict() == before
    assert torch.equal(model3.net[0].weight, weight_before)

    # a checkpoint with no scheduler state, when a scheduler is given
    save_checkpoint(tmp_path / "none.pt", model, optimizer, epoch=0, best_val_loss=1.0)
    with pytest.raises(CheckpointError, match="holds no scheduler state"):
        load_checkpoint(tmp_path / "none.pt", model2, optimizer2, scheduler=scheduler2)


def test_bad_scheduler_arguments_are_refused(tmp_path):
    model, optimizer, scheduler, loader, _ = setup(0)
    other_optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="scheduler must be a torch.optim.lr_scheduler.LRScheduler or None, got str"):
        save_checkpoint(tmp_path / "x.pt", model, optimizer, scheduler="step", epoch=0, best_val_loss=1.0)
    with pytest.raises(ValueError, match="got no optimizer"):
        save_checkpoint(tmp_path / "x.pt", model, scheduler=scheduler, epoch=0, best_val_loss=1.0)
    with pytest.raises(ValueError, match="a scheduler of another optimizer"):
        load_checkpoint(tmp_path / "x.pt", model, other_optimizer, scheduler=scheduler)
    with pytest.raises(ValueError, match="a scheduler of another optimizer"):
        CheckpointOnImprovement(tmp_path / "x.pt", model, other_optimizer, scheduler=scheduler)
    loss = nn.functional.cross_entropy
    with pytest.raises(TypeError, match="got None"):
        train_resumable(tmp_path / "x.pt", model, loader, optimizer, None, loss, 2)
    with pytest.raises(ValueError, match="Invalid num_epochs: 0"):
        train_resumable(tmp_path / "x.pt", model, loader, optimizer, scheduler, loss, 0)
    with pytest.raises(ValueError, match="Invalid stop_after: 0"):
        train_resumable(tmp_path / "x.pt", model, loader, optimizer, scheduler, loss, 2, stop_after=0)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got str"):
        train_resumable(tmp_path / "x.pt", model, loader, "adam", scheduler, loss, 2)
    assert not (tmp_path / "x.pt").exists()


def test_checkpoint_on_improvement_saves_the_scheduler(tmp_path):
    model, optimizer, scheduler, *_ = setup(0)
    optimizer.step()
    scheduler.step()
    save = CheckpointOnImprovement(tmp_path / "best.pt", model, optimizer, scheduler=scheduler)
    save(0, 0.5)
    assert torch.load(tmp_path / "best.pt", weights_only=True)["scheduler"] == scheduler.state_dict()
