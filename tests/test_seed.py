import random

import numpy as np
import pytest
import torch

from dlfoundations.seed import make_generator, seed_everything


def test_same_seed_gives_identical_draws():
    a = torch.randn(5, 3, generator=make_generator(123))
    b = torch.randn(5, 3, generator=make_generator(123))
    assert torch.equal(a, b)


def test_different_seeds_give_different_draws():
    a = torch.randn(100, generator=make_generator(1))
    b = torch.randn(100, generator=make_generator(2))
    assert not torch.equal(a, b)


def test_seed_everything_seeds_all_global_generators():
    seed_everything(5)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(5)
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    assert first == second


def test_seed_everything_returns_a_seeded_generator():
    g = seed_everything(11)
    assert torch.equal(torch.randn(4, generator=g), torch.randn(4, generator=make_generator(11)))


def test_large_seed_is_accepted_for_numpy():
    seed_everything(2**40)  # NumPy's legacy seed only takes 32 bits: must be reduced, not crash
    assert torch.initial_seed() == 2**40


@pytest.mark.parametrize("bad", [1.5, "0", None, True])
def test_non_int_seed_is_a_type_error(bad):
    with pytest.raises(TypeError, match="seed must be an int"):
        make_generator(bad)


@pytest.mark.parametrize("bad", [-1, 2**63])
def test_out_of_range_seed_is_a_value_error(bad):
    with pytest.raises(ValueError, match=rf"got {bad}"):
        seed_everything(bad)
