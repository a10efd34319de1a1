"""Walking and drawing the graph autograd records during a forward pass.

Every tensor computed from tensors with ``requires_grad=True`` carries a
``grad_fn``: the backward node of the operation that made it. Each node lists
the nodes of its inputs in ``next_functions``, down to one ``AccumulateGrad``
node per leaf, which writes the leaf's ``.grad``. :func:`walk_graph` turns that
chain of nodes into plain data, and :func:`draw_graph` draws it with matplotlib
(no graphviz needed).

Book section: :ref:`sec-autograd-graph` in the Autograd chapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch

from dlfoundations._validation import check_float
from dlfoundations.plotting import COLORS

__all__ = ["Node", "Graph", "walk_graph", "graph_layers", "draw_graph"]


@dataclass(frozen=True)
class Node:
    """One backward node of an autograd graph.

    Attributes:
        id (int): position in the walk, 0 for the output's ``grad_fn``.
        label (str): the node's class name, e.g. ``"MulBackward0"``; a leaf's
            ``AccumulateGrad`` node reads ``"AccumulateGrad (x)"`` when the
            caller named the leaf ``x``.
        is_leaf (bool): whether the node accumulates into a leaf's ``.grad``.
    """

    id: int
    label: str
    is_leaf: bool = False


@dataclass(frozen=True)
class Graph:
    """An autograd graph as plain data.

    Attributes:
        nodes (list[Node]): every node once, in breadth-first order from the output.
        edges (list[tuple[int, int]]): ``(node, input_node)`` id pairs, one per
            entry of ``node.next_functions`` that needs a gradient; they point
            the way the backward pass sends gradients. An input used twice
            (``x * x``) gives two edges.
    """

    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)


def _check_walk_args(tensor: object, names: object) -> Mapping[str, torch.Tensor]:
    """Check the arguments of :func:`walk_graph`; return ``names`` (``{}`` for ``None``)."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"expected tensor to be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.grad_fn is None:
        raise ValueError(
            "expected a tensor with a grad_fn (computed from tensors with requires_grad=True), "
            f"got a tensor with grad_fn=None (is_leaf={tensor.is_leaf}, requires_grad={tensor.requires_grad})"
        )
    names = {} if names is None else names
    if not isinstance(names, Mapping):
        raise TypeError(f"expected names to be a mapping {{name: tensor}}, got {type(names).__name__}")
    for name, leaf in names.items():
        if not isinstance(name, str) or not isinstance(leaf, torch.Tensor):
            raise TypeError(
                f"expected names to map str to torch.Tensor, got {type(name).__name__} -> {type(leaf).__name__}"
            )
    return names


def walk_graph(tensor: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None) -> Graph:
    r"""Return the backward graph behind ``tensor``, found by following ``grad_fn.next_functions``.

    The walk is breadth-first from ``tensor.grad_fn``; a node reached along
    several paths (a leaf used twice) appears once. ``None`` entries of
    ``next_functions`` (inputs that need no gradient, such as constants) are
    skipped.

    Args:
        tensor (torch.Tensor): a result computed from tensors with
            ``requires_grad=True``, so that ``tensor.grad_fn`` is not ``None``.
        names (Mapping[str, torch.Tensor] | None): leaf tensors by name; the
            ``AccumulateGrad`` node of a leaf found here (compared by identity)
            is labelled ``"AccumulateGrad (<name>)"``. Default: no names.

    Returns:
        Graph: nodes (id 0 is ``tensor.grad_fn``) and edges ``(node, input)``.

    Raises:
        TypeError: if ``tensor`` is not a tensor, or ``names`` is not a mapping
            from ``str`` to tensors.
        ValueError: if ``tensor.grad_fn`` is ``None`` (a leaf, or computed
            without gradient tracking).

    Reference: the graph is the "tape" of reverse-mode automatic
    differentiation (Baydin et al., 2018, Sec. 3.2); book section
    :ref:`sec-autograd-graph`.
    """
    names = _check_walk_args(tensor, names)
    ids: dict[object, int] = {tensor.grad_fn: 0}  # backward node -> its id
    nodes: list[Node] = []
    edges: list[tuple[int, int]] = []
    queue = [tensor.grad_fn]
    while queue:
        fn = queue.pop(0)
        label, is_leaf = type(fn).__name__, hasattr(fn, "variable")
        if is_leaf:  # AccumulateGrad keeps the leaf it writes .grad into
            name = next((n for n, t in names.items() if t is fn.variable), None)
            label = label if name is None else f"{label} ({name})"
        nodes.append(Node(ids[fn], label, is_leaf))
        for next_fn, _ in fn.next_functions:
            if next_fn is None:  # this input needs no gradient
                continue
            if next_fn not in ids:
                ids[next_fn] = len(ids)
                queue.append(next_fn)
            edges.append((ids[fn], ids[next_fn]))
    return Graph(nodes, edges)


def _check_graph(graph: object) -> None:
    if not isinstance(graph, Graph):
        raise TypeError(f"expected graph to be a Graph from walk_graph, got {type(graph).__name__}")
    ids = [node.id for node in graph.nodes]
    known = set(ids)
    if len(known) != len(ids):
        raise ValueError(f"expected distinct node ids, got {ids}")
    for src, dst in graph.edges:
        if src not in known or dst not in known:
            raise ValueError(f"expected edges between node ids {sorted(ids)}, got the edge {(src, dst)}")


def graph_layers(graph: Graph) -> dict[int, int]:
    r"""Return each node's layer: its longest-path distance from the output, :math:`d(v) = \max_{(u, v)} d(u) + 1`.

    The longest (not shortest) path puts every node below all nodes that send
    it a gradient, so every edge of a drawing points down.

    Args:
        graph (Graph): from :func:`walk_graph` (acyclic, output has id 0).

    Returns:
        dict[int, int]: node id -> layer; the output is layer 0.

    Raises:
        TypeError: if ``graph`` is not a :class:`Graph`.
        ValueError: if ``graph`` has a cycle (autograd graphs never do), two
            nodes with one id, or an edge to an id that is not a node.
    """
    _check_graph(graph)
    indegree = {node.id: 0 for node in graph.nodes}
    children: dict[int, list[int]] = {node.id: [] for node in graph.nodes}
    for src, dst in graph.edges:
        indegree[dst] += 1
        children[src].append(dst)
    # Kahn's topological order: a node is placed once all its parents are.
    layer = {node_id: 0 for node_id, deg in indegree.items() if deg == 0}
    ready = list(layer)
    while ready:
        src = ready.pop(0)
        for dst in children[src]:
            layer[dst] = max(layer.get(dst, 0), layer[src] + 1)
            indegree[dst] -= 1
            if indegree[dst] == 0:
                ready.append(dst)
    if any(deg > 0 for deg in indegree.values()):
        raise ValueError("expected an acyclic graph, got one with a cycle")
    return layer


def draw_graph(ax: Axes, graph: Graph, fontsize: float = 9) -> list[Artist]:
    """Draw ``graph`` on ``ax``: one rounded box per node, layered top (output) to bottom (leaves).

    Layers come from :func:`graph_layers`. Within a layer, nodes are ordered by
    the mean position of the nodes that point at them, which keeps edges from
    crossing in small graphs, and spaced by the length of their labels (the
    x axis counts characters), so a panel about as many characters wide as its
    widest layer keeps the boxes apart. Arrows follow the edges, i.e. the direction the
    backward pass sends gradients; leaf (``AccumulateGrad``) boxes are green.

    Args:
        ax (matplotlib.axes.Axes): where to draw; its axis is switched off.
        graph (Graph): from :func:`walk_graph`.
        fontsize (float): label size in points. Default: 9.

    Returns:
        list[matplotlib.artist.Artist]: the boxes (text artists) then the arrows
        added to ``ax``.

    Raises:
        TypeError: if ``ax`` is not a matplotlib ``Axes``, ``graph`` is not a
            :class:`Graph`, or ``fontsize`` is not a number.
        ValueError: if ``graph`` has no nodes, is not a valid graph (see
            :func:`graph_layers`), or ``fontsize`` is not positive.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"expected ax to be a matplotlib Axes, got {type(ax).__name__}")
    _check_graph(graph)
    fontsize = check_float(fontsize, "fontsize", low=0.0, low_open=True)  # in points
    if not graph.nodes:
        raise ValueError("expected a graph with at least one node, got an empty graph")
    layer = graph_layers(graph)
    parents: dict[int, list[int]] = {node.id: [] for node in graph.nodes}
    for src, dst in graph.edges:
        parents[dst].append(src)
    x: dict[int, float] = {}
    by_layer: dict[int, list[int]] = {}
    for node in graph.nodes:
        by_layer.setdefault(layer[node.id], []).append(node.id)
    label = {node.id: node.label for node in graph.nodes}
    row_width = {}
    for depth in sorted(by_layer):
        # Barycentre ordering: sit below the average of the parents already placed.
        row = sorted(by_layer[depth], key=lambda i: (sum(x[p] for p in parents[i]) / max(len(parents[i]), 1), i))
        # x is measured in characters: each box gets its label's length plus a gap.
        widths = [len(label[i]) + 4 for i in row]
        row_width[depth] = sum(widths)
        left = -row_width[depth] / 2
        for node_id, width in zip(row, widths):
            x[node_id] = left + width / 2
            left += width

    artists: list[Artist] = []
    boxes = {}
    for node in graph.nodes:
        color = COLORS[2] if node.is_leaf else COLORS[0]
        boxes[node.id] = ax.text(
            x[node.id], -layer[node.id], node.label, ha="center", va="center", fontsize=fontsize, zorder=2,
            bbox=dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor=color, linewidth=1.5),
        )
        artists.append(boxes[node.id])
    seen: dict[tuple[int, int], int] = {}
    for src, dst in graph.edges:
        # Repeated edges (x * x) bend apart symmetrically so that all stay visible.
        repeat = seen[(src, dst)] = seen.get((src, dst), -1) + 1
        bend = 0.8 * (repeat - (graph.edges.count((src, dst)) - 1) / 2)
        arrow = FancyArrowPatch(
            (x[src], -layer[src]), (x[dst], -layer[dst]),
            patchA=boxes[src].get_bbox_patch(), patchB=boxes[dst].get_bbox_patch(),
            arrowstyle="-|>", mutation_scale=12, color="0.3", linewidth=1.2,
            connectionstyle=f"arc3,rad={bend}",
            zorder=3,  # drawn after the boxes, whose outlines clip the arrow ends
        )
        ax.add_patch(arrow)
        artists.append(arrow)
    widest = max(row_width.values())
    ax.set_xlim(-widest / 2, widest / 2)
    ax.set_ylim(-max(layer.values()) - 0.5, 0.5)
    ax.axis("off")
    return artists
