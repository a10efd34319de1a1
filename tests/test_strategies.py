"""The shared strategies reach what they promise: NaN, inf, zeros, empty tensors, rank deficiency."""

import torch
from hypothesis import given, settings
from strategies import tensors, finite_tensors, rank_deficient_matrices, assert_same, grads, scalars

seen = {"nan":0, "inf":0, "zero":0, "empty":0}
@settings(max_examples=200)
@given(X=tensors(torch.float32))
def _draw(X):
    assert X.dtype == torch.float32
    if X.numel()==0: seen["empty"]+=1
    if torch.isnan(X).any(): seen["nan"]+=1
    if torch.isinf(X).any(): seen["inf"]+=1
    if (X==0).any(): seen["zero"]+=1

@given(M=rank_deficient_matrices())
def test_rank_deficient_matrices_are_rank_deficient(M):
    assert torch.linalg.matrix_rank(M) < min(M.shape)

@given(X=finite_tensors(torch.float64, min_dims=2, max_dims=2))
def test_grads_of_relu_are_its_step(X):
    (g,) = grads(torch.relu, X)
    assert_same(g, (X > 0).to(X.dtype))

def test_strategies_reach_the_edges():
    _draw()
    assert all(v > 0 for v in seen.values())
