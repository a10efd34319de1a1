import math

import pytest
import torch

from dlfoundations import studies
from dlfoundations.data import NoisySine
from dlfoundations.studies import (
    SeedEnsemble,
    early_stopping_epoch,
    epochs_to_reach,
    format_mean_std,
    init_mlp,
    mean_std,
    run_seeds,
    standard_error,
    train_mlp,
    train_mlp_seeds,
)




def _sets(n_train=16, n_val=32):
    return NoisySine(n_train, noise_std=0.3, seed=1), NoisySine(n_val, noise_std=0.3, seed=2)


# --- summaries ---------------------------------------------------------------


def test_mean_std_equals_torch_unbiased():
    values = torch.randn(7, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mean, std = mean_std(values)
    torch.testing.assert_close(mean, values.mean(dim=0))
    torch.testing.assert_close(std, values.std(dim=0, correction=1))  # unbiased: divides by R - 1
    biased = values.std(dim=0, correction=0)
    assert not torch.allclose(std, biased)


def test_mean_std_accepts_lists_and_gives_0d_for_1d():
    mean, std = mean_std([1.0, 2.0, 3.0])
    assert mean.shape == () and mean.item() == 2.0
    assert std.item() == pytest.approx(1.0)  # sqrt(((-1)^2 + 0 + 1^2) / 2)


def test_standard_error_is_std_over_sqrt_k():
    values = torch.tensor([1.0, 4.0, 2.0, 8.0], dtype=torch.float64)
    assert standard_error(values).item() == pytest.approx(values.std().item() / 2.0)


def test_format_mean_std():
    assert format_mean_std([1.0, 2.0, 3.0], digits=2) == "2.00 ± 1.00"


@pytest.mark.parametrize("bad", [[], [1.0], torch.tensor(3.0)])
def test_summaries_need_two_runs(bad):
    with pytest.raises(ValueError, match="R >= 2"):
        mean_std(bad)


def test_summaries_reject_wrong_types():
    with pytest.raises(TypeError, match="values must be"):
        mean_std("abc")
    with pytest.raises(TypeError, match="digits must be an int"):
        format_mean_std([1.0, 2.0], digits=2.0)
    with pytest.raises(ValueError, match=r"expected values of shape \(R,\)"):
        format_mean_std(torch.ones(3, 2))


# --- run_seeds ---------------------------------------------------------------


def test_run_seeds_calls_once_per_seed_in_order():
    calls = []

    def fn(seed):
        calls.append(seed)
        return torch.randn(2, generator=torch.Generator().manual_seed(seed))

    out = run_seeds(fn, [3, 1, 4])
    assert calls == [3, 1, 4]
    assert out.shape == (3, 2) and out.dtype == torch.float64
    torch.testing.assert_close(out[1], torch.randn(2, generator=torch.Generator().manual_seed(1)).double())
    assert torch.equal(out, run_seeds(fn, [3, 1, 4]))  # deterministic


def test_run_seeds_errors():
    with pytest.raises(ValueError, match="seeds is empty"):
        run_seeds(float, [])
    with pytest.raises(ValueError, match="distinct"):
        run_seeds(float, [1, 1])
    with pytest.raises(TypeError, match="seeds must be ints"):
        run_seeds(float, [1.5])
    with pytest.raises(TypeError, match="fn must be callable"):
        run_seeds(3, [1])
    with pytest.raises(TypeError, match="must return a number or a Tensor"):
        run_seeds(str, [1])
    with pytest.raises(ValueError, match=r"expected \(1,\), got \(2,\) for seed 2"):
        run_seeds(lambda s: torch.zeros(s), [1, 2])


# --- training ----------------------------------------------------------------


def test_init_mlp_depends_on_seed_only():
    a = init_mlp(1, [8], 1, seed=5)
    torch.randn(100)  # move the global generator: must not matter
    b = init_mlp(1, [8], 1, seed=5)
    c = init_mlp(1, [8], 1, seed=6)
    for p, q, r in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q)
        assert not torch.equal(p, r)


def test_train_mlp_reproducible_and_seed_dependent():
    train, val = _sets()
    r1 = train_mlp(train, val, [8], seed=0, num_epochs=20)
    r2 = train_mlp(train, val, [8], seed=0, num_epochs=20)
    r3 = train_mlp(train, val, [8], seed=1, num_epochs=20)
    assert (r1.train_loss, r1.val_loss) == (r2.train_loss, r2.val_loss)
    assert r1.history.train_loss == r2.history.train_loss
    assert r1.train_loss != r3.train_loss and r1.val_loss != r3.val_loss
    assert r1.test_loss is None and len(r1.history.val_loss) == 20
    assert r1.history.train_loss[-1] < r1.history.train_loss[0]  # it learns


def test_train_mlp_errors():
    train, val = _sets()
    with pytest.raises(ValueError, match="hidden_sizes"):
        train_mlp(train, val, [0], seed=0, num_epochs=1)
    with pytest.raises(TypeError, match="hidden_sizes"):
        train_mlp(train, val, [2.5], seed=0, num_epochs=1)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        train_mlp(train, val, [4], seed=0, lr=-0.1)
    with pytest.raises(ValueError, match="Invalid num_epochs"):
        train_mlp(train, val, [4], seed=0, num_epochs=0)
    with pytest.raises(ValueError, match="Invalid weight_decay"):
        train_mlp(train, val, [4], seed=0, weight_decay=-1.0)
    with pytest.raises(TypeError, match="train_data must be a data set"):
        train_mlp(torch.zeros(3, 1), val, [4], seed=0)
    with pytest.raises(ValueError, match=r"val_data: expected X of shape \(N, 1\)"):
        train_mlp(train, (torch.zeros(4, 2), torch.zeros(4, 1)), [4], seed=0)


def test_ensemble_matches_separate_runs():
    train, val = _sets()
    seeds = [0, 3]
    runs = train_mlp_seeds(train, val, [8], seeds, test_data=val, activation="tanh", num_epochs=25)
    for k, seed in enumerate(seeds):
        single = train_mlp(train, val, [8], seed, test_data=val, activation="tanh", num_epochs=25)
        torch.testing.assert_close(runs.train_curve[:, k], torch.tensor(single.history.train_loss))
        torch.testing.assert_close(runs.val_curve[:, k], torch.tensor(single.history.val_loss))
        assert runs.train_loss[k].item() == pytest.approx(single.train_loss, rel=1e-5)
        assert runs.test_loss[k].item() == pytest.approx(single.test_loss, rel=1e-5)


def test_ensemble_batch_norm_matches_separate_models():
    train, val = _sets()
    ensemble = SeedEnsemble(1, [8, 4], 1, [0, 1], batch_norm=True)
    single = init_mlp(1, [8, 4], 1, 1, batch_norm=True)
    for mode in ("train", "eval"):  # batch statistics, then running statistics
        getattr(ensemble, mode)()
        getattr(single, mode)()
        torch.testing.assert_close(ensemble(train.X)[1], single(train.X))
    # Trained, the two agree only loosely: the biases before batch norm get
    # round-off-sized gradients, which Adam's normalisation turns into real
    # steps that differ between the two computations.
    runs = train_mlp_seeds(train, val, [8, 4], [0, 1], batch_norm=True, num_epochs=10)
    result = train_mlp(train, val, [8, 4], 1, batch_norm=True, num_epochs=10)
    torch.testing.assert_close(runs.val_curve[:, 1], torch.tensor(result.history.val_loss), rtol=0.05, atol=0.01)


def test_train_mlp_seeds_one_training_set_per_seed():
    val = NoisySine(32, seed=2)
    sets = [NoisySine(16, seed=10 + s) for s in range(2)]
    runs = train_mlp_seeds(sets, val, [4], [0, 1], num_epochs=5)
    single = train_mlp(sets[1], val, [4], 1, num_epochs=5)
    torch.testing.assert_close(runs.train_curve[:, 1], torch.tensor(single.history.train_loss))
    with pytest.raises(ValueError, match=r"one training set per seed \(2\), got 1"):
        train_mlp_seeds(sets[:1], val, [4], [0, 1], num_epochs=5)


def test_ensemble_input_errors():
    model = SeedEnsemble(1, [4], 1, [0, 1])
    assert model(torch.zeros(5, 1)).shape == (2, 5, 1)
    with pytest.raises(ValueError, match=r"expected X of shape \(N, 1\) or \(2, N, 1\), got \(5,\)"):
        model(torch.zeros(5))
    with pytest.raises(ValueError, match="seeds is empty"):
        SeedEnsemble(1, [4], 1, [])
    with pytest.raises(ValueError, match="hidden_sizes"):
        SeedEnsemble(1, [-1], 1, [0])


def test_early_stopping_epoch_matches_fit():
    train, val = NoisySine(12, noise_std=0.5, seed=3), NoisySine(32, noise_std=0.5, seed=4)
    runs = train_mlp_seeds(train, val, [64], [0], num_epochs=200, lr=0.03)
    single = train_mlp(train, val, [64], 0, num_epochs=200, lr=0.03, patience=10)
    best = early_stopping_epoch(runs.val_curve, patience=10)
    assert best.tolist() == [single.history.best_epoch]
    assert single.val_loss == pytest.approx(runs.val_curve[best[0], 0].item(), rel=1e-5)


def test_early_stopping_epoch_on_a_known_curve():
    curve = torch.tensor([[3.0], [2.0], [2.5], [2.6], [1.0]])
    assert early_stopping_epoch(curve, patience=2).tolist() == [1]
    assert early_stopping_epoch(curve, patience=3).tolist() == [4]
    with pytest.raises(ValueError, match=r"expected val_curve of shape \(E, R\)"):
        early_stopping_epoch(torch.ones(3), patience=2)


def test_epochs_to_reach():
    curve = torch.tensor([[1.0, 1.0], [0.5, 0.9], [0.2, 0.8]])
    out = epochs_to_reach(curve, 0.5)
    assert out[0].item() == 2.0 and math.isnan(out[1].item())
    with pytest.raises(ValueError, match=r"Invalid threshold: inf \(expected a finite number\)"):
        epochs_to_reach(curve, math.inf)
    with pytest.raises(TypeError, match="curve must be a Tensor"):
        epochs_to_reach([[1.0]], 0.5)



def test_check_claim_passes_and_fails_with_the_claim_quoted():
    from dlfoundations.studies import ClaimError, check_claim

    check_claim(True, "two is more than one")
    check_claim(torch.tensor(3.0) > 2, "three is more than two")
    with pytest.raises(ClaimError, match="the book claims that the RNN fails at T = 20"):
        check_claim(torch.tensor(0.1) > 0.8, "the RNN fails at T = 20")


def test_check_claim_rejects_ambiguous_conditions():
    from dlfoundations.studies import check_claim

    with pytest.raises(TypeError, match=r"one-element tensor, got a tensor of shape \(2,\)"):
        check_claim(torch.tensor([True, False]), "x")
    with pytest.raises(TypeError, match="holds must be a bool, got float"):
        check_claim(0.5, "x")
    with pytest.raises(TypeError, match="claim must be a non-empty str"):
        check_claim(True, "  ")


# --- paired_difference -------------------------------------------------------------------


def test_paired_difference_matches_scipy_ttest_rel():
    from scipy.stats import ttest_rel

    g = torch.Generator().manual_seed(0)
    a = torch.randn(7, generator=g, dtype=torch.float64)
    b = a - 0.3 + 0.1 * torch.randn(7, generator=g, dtype=torch.float64)
    for confidence in (0.9, 0.95, 0.99):
        got = studies.paired_difference(a, b, confidence=confidence)
        ref = ttest_rel(a.numpy(), b.numpy()).confidence_interval(confidence_level=confidence)
        assert got.n == 7 and got.confidence == confidence
        assert math.isclose(got.mean, (a - b).mean().item(), rel_tol=1e-12)
        assert math.isclose(got.low, ref.low, rel_tol=1e-10)
        assert math.isclose(got.high, ref.high, rel_tol=1e-10)
    assert got.positive and not got.negative


def test_paired_difference_interval_containing_zero_is_neither_sign():
    got = studies.paired_difference([1.0, 2.0, 3.0], [2.0, 1.0, 3.0])
    assert got.low < 0 < got.high
    assert not got.positive and not got.negative
    assert "CI" in str(got)


def test_paired_difference_pairs_cancel_a_shared_seed_effect():
    # Seeds move both methods by a lot; A is always 0.01 higher: the paired interval sees it.
    seed_effect = torch.tensor([0.0, 5.0, -3.0, 10.0])
    got = studies.paired_difference(seed_effect + 0.01 + torch.tensor([0, 1e-4, -1e-4, 0]), seed_effect)
    assert got.positive
    assert got.std < 1e-3


@pytest.mark.parametrize(
    "a, b, confidence, error",
    [
        ([1.0, 2.0], [1.0, 2.0, 3.0], 0.95, ValueError),
        ([1.0], [2.0], 0.95, ValueError),
        ([1.0, float("nan")], [1.0, 2.0], 0.95, ValueError),
        ([1.0, 2.0], [1.0, 2.0], 1.0, ValueError),
        ([1.0, 2.0], [1.0, 2.0], 0.0, ValueError),
        ([1.0, 2.0], [1.0, 2.0], "0.9", TypeError),
        ("ab", [1.0, 2.0], 0.95, TypeError),
    ],
)
def test_paired_difference_rejects_bad_input(a, b, confidence, error):
    with pytest.raises(error):
        studies.paired_difference(a, b, confidence=confidence)
