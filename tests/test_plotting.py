import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dlfoundations.plotting import BOOK_RC, COLORS, draw_broadcast, use_book_style  # noqa: E402


def test_use_book_style_sets_rc_and_colour_cycle():
    use_book_style()
    assert tuple(matplotlib.rcParams["figure.figsize"]) == BOOK_RC["figure.figsize"]
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == list(COLORS)


def test_draw_broadcast_draws_every_cell_and_returns_shape():
    fig, ax = plt.subplots()
    out = draw_broadcast(ax, (3, 1), (4,))
    assert out == (3, 4)
    # three grids of the result's size: 3 * 12 cells
    assert len(ax.patches) == 3 * 12
    hatched = [p for p in ax.patches if p.get_hatch()]
    # (3, 1) stretched to (3, 4): 9 virtual cells; (1, 4) stretched to (3, 4): 8 virtual cells
    assert len(hatched) == 9 + 8
    plt.close(fig)


def test_draw_broadcast_refuses_incompatible_shapes():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"\(3, 2\) and \(3,\)"):
        draw_broadcast(ax, (3, 2), (3,))
    plt.close(fig)


@pytest.mark.parametrize("bad", [(2, 2, 2), (0, 2), ()])
def test_draw_broadcast_needs_one_or_two_positive_sizes(bad):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="1 or 2 positive int sizes"):
        draw_broadcast(ax, bad, (1,))
    plt.close(fig)
