"""dlfoundations.export: a dynamic-batch ExportedProgram equals eager mode, survives .pt2, refuses bad input."""
import pytest
import torch
from torch import nn

from dlfoundations.export import export_for_inference, max_export_error
from dlfoundations.models import MLP


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MLP(4, [8], 3, dropout=0.5, batch_norm=True).eval()


@pytest.fixture(scope="module")
def program(model):
    return export_for_inference(model, torch.randn(5, 4), max_batch=64)


def test_exported_program_equals_eager_on_several_batch_sizes(model, program):
    g = torch.Generator().manual_seed(1)
    inputs = [torch.randn(n, 4, generator=g) for n in (1, 2, 5, 17, 64)]
    assert max_export_error(program, model, inputs) == [0.0] * len(inputs)
    # the batch dimension is one symbol with the requested range
    (constraint,) = program.range_constraints.values()
    assert (constraint.lower, constraint.upper) == (1, 64)


def test_save_and_load_pt2_round_trip(model, program, tmp_path):
    path = tmp_path / "model.pt2"
    torch.export.save(program, path)
    loaded = torch.export.load(path)
    X = torch.randn(9, 4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(loaded.module()(X), model(X))
    assert max_export_error(loaded, model, [X, X[:3]]) == [0.0, 0.0]


def test_guards_refuse_other_shapes(program):
    with pytest.raises(AssertionError, match="<= 64"):
        program.module()(torch.randn(65, 4))
    with pytest.raises(AssertionError, match=r"size\(\)\[1\] == 4"):
        program.module()(torch.randn(3, 5))


def test_max_export_error_sees_a_difference(model, program):
    other = MLP(4, [8], 3, dropout=0.5, batch_norm=True).eval()  # other weights
    assert max_export_error(program, other, [torch.randn(4, 4)])[0] > 0
    assert max_export_error(program, model, [torch.randn(0, 4)]) == [0.0]  # an empty batch has no difference


@pytest.mark.parametrize("kwargs, error, match", [
    ({"model": "net"}, TypeError, "model must be an nn.Module, got str"),
    ({"example_X": [[1.0] * 4] * 3}, TypeError, "example_X must be a floating Tensor, got list"),
    ({"example_X": torch.ones(3, 4, dtype=torch.long)}, TypeError, "floating Tensor, got Tensor of dtype torch.int64"),
    ({"example_X": torch.tensor(1.0)}, ValueError, "expected example_X with a batch dimension"),
    ({"example_X": torch.randn(1, 4)}, ValueError, r"\[2, 1024\], got 1"),
    ({"min_batch": 8}, ValueError, r"\[8, 1024\], got 5"),
    ({"max_batch": 4}, ValueError, r"\[2, 4\], got 5"),
    ({"min_batch": 0}, ValueError, "Invalid min_batch: 0"),
    ({"max_batch": 2.5}, TypeError, "max_batch must be an int"),
])
def test_export_refuses_bad_input(model, kwargs, error, match):
    args = {"model": model, "example_X": torch.randn(5, 4)} | kwargs
    model_arg, X = args.pop("model"), args.pop("example_X")
    with pytest.raises(error, match=match):
        export_for_inference(model_arg, X, **args)


def test_export_refuses_a_model_in_training_mode():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    with pytest.raises(ValueError, match="eval mode"):
        export_for_inference(model, torch.randn(3, 4))


@pytest.mark.parametrize("args, error, match", [
    (("program", None, [torch.ones(2, 4)]), TypeError, "program must be a torch.export.ExportedProgram, got str"),
    ((None, "model", [torch.ones(2, 4)]), TypeError, "model must be an nn.Module, got str"),
    ((None, None, torch.ones(2, 4)), TypeError, "inputs must be a sequence of tensors, got Tensor"),
    ((None, None, []), ValueError, "at least one input"),
    ((None, None, [torch.ones(2, 4), "x"]), TypeError, r"inputs\[1\] must be a tensor, got str"),
])
def test_max_export_error_refuses_bad_input(model, program, args, error, match):
    p, m, inputs = args
    with pytest.raises(error, match=match):
        max_export_error(program if p is None else p, model if m is None else m, inputs)


def test_a_shape_mismatch_between_program_and_model_is_refused(program):
    wider = MLP(4, [8], 5).eval()
    with pytest.raises(ValueError, match=r"equal shapes, got \(2, 3\) from the program and \(2, 5\)"):
        max_export_error(program, wider, [torch.randn(2, 4)])
