"""The book's single plotting style, and figure helpers shared by chapters.

Every figure in the book is drawn by matplotlib while the book builds. Chapters
call :func:`use_book_style` once; after that ``plt.subplots`` gives figures of
the book's size, fonts and colours.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

__all__ = ["COLORS", "BOOK_RC", "use_book_style", "draw_broadcast"]

#: Colour-blind-safe palette (Okabe & Ito), used in this order by every figure.
COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
)

#: The rcParams :func:`use_book_style` applies.
BOOK_RC: dict[str, object] = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    # PNG at 110 dpi keeps a chapter's images small and sharp enough on screen.
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (:data:`BOOK_RC` and the :data:`COLORS` cycle).

    Safe to call more than once. Also makes the inline backend emit PNG, so
    figures look the same in every chapter.
    """
    mpl.rcParams.update(BOOK_RC)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=list(COLORS))
    try:  # Only inside IPython/Jupyter: choose PNG output for inline figures.
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # noqa: BLE001 - outside a kernel there is nothing to set
        pass


def _as_shape(shape: Sequence[int], name: str) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(shape).__name__}")
    for s in shape:
        # bool is an int subclass, but True is not a size; NumPy integers are.
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{name} must be a sequence of ints, got {type(s).__name__} {s!r} in {tuple(shape)}")
    if not 1 <= len(shape) <= 2 or any(s < 1 for s in shape):
        raise ValueError(f"{name} must have 1 or 2 positive int sizes to be drawn, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def _draw_grid(ax: Axes, shape2d: tuple[int, int], x0: float, color: str, stretched: tuple[int, int] | None) -> None:
    rows, cols = shape2d
    full_rows, full_cols = stretched or shape2d
    for r in range(full_rows):
        for c in range(full_cols):
            real = r < rows and c < cols
            ax.add_patch(
                Rectangle(
                    (x0 + c, -r - 1), 1, 1,
                    facecolor=color if real else "white",
                    edgecolor=color,
                    alpha=0.85 if real else 1.0,
                    hatch=None if real else "//",
                    linewidth=1.2,
                )
            )


def draw_broadcast(ax: Axes, shape_a: Sequence[int], shape_b: Sequence[int]) -> tuple[int, ...]:
    """Draw how two tensors of at most two dimensions broadcast, on ``ax``.

    Solid cells are the tensor's own elements; hatched cells are the virtual
    copies broadcasting adds when a size-1 (or missing) dimension is stretched.

    Args:
        ax (matplotlib.axes.Axes): where to draw.
        shape_a (Sequence[int]): shape of the left operand, 1 or 2 sizes.
        shape_b (Sequence[int]): shape of the right operand, 1 or 2 sizes.

    Returns:
        tuple[int, ...]: the broadcast result shape, from
        :func:`dlfoundations.shapes.broadcast_shape`.

    Raises:
        TypeError: if ``ax`` is not a matplotlib ``Axes`` or a shape is not a sequence of ints.
        ValueError: if a shape is not 1 or 2 positive sizes, or the two shapes
            do not broadcast (the message names both shapes).
    """
    from dlfoundations.shapes import broadcast_shape

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    a = _as_shape(shape_a, "shape_a")
    b = _as_shape(shape_b, "shape_b")
    out = broadcast_shape(a, b)
    # Align on the right, as broadcasting does: a 1-D shape (n,) is a row (1, n).
    a2 = (1,) * (2 - len(a)) + a
    b2 = (1,) * (2 - len(b)) + b
    o2 = (1,) * (2 - len(out)) + out
    x = 0.0
    labels = [(a2, COLORS[0], f"a: {a}"), (b2, COLORS[1], f"b: {b}"), (o2, COLORS[2], f"a + b: {out}")]
    for i, (shape2d, color, label) in enumerate(labels):
        _draw_grid(ax, shape2d, x, color, None if i == 2 else o2)
        ax.text(x + o2[1] / 2, 0.35, label, ha="center", va="bottom", fontsize=10)
        if i < 2:
            ax.text(x + o2[1] + 0.6, -o2[0] / 2, "+" if i == 0 else "=", ha="center", va="center", fontsize=16)
        x += o2[1] + 1.2
    ax.set_xlim(-0.3, x - 0.9)
    ax.set_ylim(-o2[0] - 0.3, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return out
