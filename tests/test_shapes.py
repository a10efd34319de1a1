import itertools

import pytest
import torch

from dlfoundations.shapes import broadcast_shape


def _torch(a, b):
    try:
        return tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        return None


def _ours(a, b):
    """broadcast_shape's answer, or None when it refuses with the message that names both shapes."""
    try:
        return broadcast_shape(a, b)
    except ValueError as error:
        a, b = ((x,) if isinstance(x, int) else tuple(int(s) for s in x) for x in (a, b))
        assert f"shapes {a} and {b} do not broadcast" in str(error)
        return None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [((4, 1), (3,), (4, 3)), ((), (2, 3), (2, 3)), ((5, 1, 3), (4, 1), (5, 4, 3)), ((0,), (1,), (0,)), ((2, 3), (2, 3), (2, 3))],
)
def test_known_cases(a, b, expected):
    assert broadcast_shape(a, b) == expected


def test_agrees_with_torch_on_every_small_shape_pair():
    sizes = [1, 2, 3]
    shapes = [()] + [s for n in (1, 2, 3) for s in itertools.product(sizes, repeat=n)]
    checked = 0
    for a, b in itertools.product(shapes, repeat=2):
        assert _ours(a, b) == _torch(a, b), (a, b)
        checked += 1
    assert checked == len(shapes) ** 2


def test_accepts_torch_size():
    assert broadcast_shape(torch.Size([3, 1]), torch.ones(2).shape) == (3, 2)


def test_mismatch_names_both_shapes_and_the_dimension():
    with pytest.raises(ValueError, match=r"shapes \(3, 2\) and \(3,\) do not broadcast: dimension -1 has sizes 2 and 3"):
        broadcast_shape((3, 2), (3,))


@pytest.mark.parametrize("bad", ["32", 3.0, None, (2, 1.0), (2, True), (2, "3"), True])
def test_non_shape_is_a_type_error(bad):
    with pytest.raises(TypeError, match="shape_a"):
        broadcast_shape(bad, (1,))


def test_negative_size_is_a_value_error():
    with pytest.raises(ValueError, match=r"shape_b must contain sizes >= 0, got \(2, -1\)"):
        broadcast_shape((1,), (2, -1))
