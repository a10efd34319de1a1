"""Property-based tests for dlfoundations.graph: random programs, checked against autograd's own graph.

Hypothesis writes small programs over leaves of both float dtypes (some needing gradients,
some not, some used twice, some of size 0 or 1); the reference is a plain recursive walk of
``grad_fn.next_functions`` and, for the layers, a brute-force longest path.
"""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from strategies import DTYPES  # noqa: E402

from dlfoundations.graph import Graph, Node, draw_graph, graph_layers, walk_graph  # noqa: E402

UNARY = {"sin": torch.sin, "exp": torch.exp, "square": lambda t: t * t, "relu": torch.relu, "neg": torch.neg}
BINARY = {"add": torch.add, "mul": torch.mul, "sub": torch.sub}


@st.composite
def programs(draw):
    """``(output, leaves)``: a scalar computed by a random program from 1 to 3 leaves."""
    dtype = draw(st.sampled_from(DTYPES))
    size = draw(st.sampled_from([0, 1, 3]))
    n_leaves = draw(st.integers(1, 3))
    flags = draw(st.lists(st.booleans(), min_size=n_leaves, max_size=n_leaves))
    flags[draw(st.integers(0, n_leaves - 1))] = True  # at least one leaf needs a gradient
    leaves = [torch.ones(size, dtype=dtype, requires_grad=f) for f in flags]
    values = list(leaves)
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            op = UNARY[draw(st.sampled_from(sorted(UNARY)))]
            values.append(op(draw(st.sampled_from(values))))
        else:
            op = BINARY[draw(st.sampled_from(sorted(BINARY)))]
            values.append(op(draw(st.sampled_from(values)), draw(st.sampled_from(values))))
    needing = [v for v in values if v.requires_grad]
    out = draw(st.sampled_from(needing)).sum() * 2.0  # a grad_fn even when a leaf is summed
    return out, leaves


def _reference(out):
    """Distinct backward nodes, edge count and leaves reached, by a recursive walk of grad_fn."""
    seen, edges = set(), 0

    def visit(fn):
        nonlocal edges
        if fn in seen:
            return
        seen.add(fn)
        for next_fn, _ in fn.next_functions:
            if next_fn is not None:
                edges += 1
                visit(next_fn)

    visit(out.grad_fn)
    leaves = [fn.variable for fn in seen if hasattr(fn, "variable")]
    return seen, edges, leaves


@given(program=programs())
def test_walk_graph_finds_every_node_and_edge_autograd_has(program):
    out, leaves = program
    names = {f"x{i}": leaf for i, leaf in enumerate(leaves)}
    graph = walk_graph(out, names)
    nodes, n_edges, reached = _reference(out)
    assert len(graph.nodes) == len(nodes)
    assert sorted(node.id for node in graph.nodes) == list(range(len(nodes)))
    assert len(graph.edges) == n_edges
    assert graph.nodes[0].id == 0 and not graph.nodes[0].is_leaf
    # Every leaf autograd would write a .grad into is found, named, and needs a gradient.
    labels = {node.label for node in graph.nodes if node.is_leaf}
    expected = {f"AccumulateGrad (x{i})" for i, leaf in enumerate(leaves) if any(leaf is r for r in reached)}
    assert labels == expected
    assert all(leaf.requires_grad for leaf in reached)


@given(program=programs())
def test_leaves_reached_are_exactly_those_that_get_a_gradient(program):
    out, leaves = program
    graph = walk_graph(out, {f"x{i}": leaf for i, leaf in enumerate(leaves)})
    out.backward()
    got = {node.label for node in graph.nodes if node.is_leaf}
    assert got == {f"AccumulateGrad (x{i})" for i, leaf in enumerate(leaves) if leaf.grad is not None}


def _longest_path_layers(graph):
    children = {node.id: [] for node in graph.nodes}
    for src, dst in graph.edges:
        children[src].append(dst)

    @functools.cache
    def reach(src):  # longest distance from src to every node below it
        best = {src: 0}
        for dst in children[src]:
            for node, d in reach(dst).items():
                best[node] = max(best.get(node, -1), d + 1)
        return best

    return reach(0)


@given(program=programs())
def test_graph_layers_are_the_longest_path_from_the_output(program):
    graph = walk_graph(program[0])
    layer = graph_layers(graph)
    assert layer == _longest_path_layers(graph)
    assert all(layer[dst] > layer[src] for src, dst in graph.edges)  # every arrow points down


@settings(max_examples=15)  # drawing is slow; a few graphs of each kind are enough
@given(program=programs())
def test_draw_graph_draws_one_box_per_node_and_one_arrow_per_edge(program):
    graph = walk_graph(program[0])
    fig, ax = plt.subplots()
    try:
        artists = draw_graph(ax, graph)
        texts = [a for a in artists if isinstance(a, Text)]
        assert len(texts) == len(graph.nodes)
        assert len([a for a in artists if isinstance(a, FancyArrowPatch)]) == len(graph.edges)
        layer = graph_layers(graph)
        y_of = {node.id: t.get_position()[1] for node, t in zip(graph.nodes, texts)}
        assert all(y_of[i] == -layer[i] for i in y_of)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("graph", "error", "match"), [
    ("graph", TypeError, "expected graph to be a Graph from walk_graph, got str"),
    (Graph([Node(0, "a")], [(0, 1)]), ValueError, r"expected edges between node ids \[0\], got the edge \(0, 1\)"),
    (Graph([Node(0, "a"), Node(0, "b")], []), ValueError, r"expected distinct node ids, got \[0, 0\]"),
    (Graph([Node(0, "a"), Node(1, "b")], [(0, 1), (1, 0)]), ValueError, "cycle"),
])
def test_graph_layers_and_draw_graph_reject_bad_graphs(graph, error, match):
    with pytest.raises(error, match=match):
        graph_layers(graph)
    fig, ax = plt.subplots()
    try:
        with pytest.raises(error, match=match):
            draw_graph(ax, graph)
    finally:
        plt.close(fig)


@pytest.mark.parametrize(("ax", "fontsize", "error", "match"), [
    (None, 9, TypeError, "expected ax to be a matplotlib Axes, got NoneType"),
    ("axes", 9, TypeError, "expected ax to be a matplotlib Axes, got str"),
    ("ok", "big", TypeError, "fontsize must be a float, got str"),
    ("ok", True, TypeError, "fontsize must be a float, got bool"),
    ("ok", 0, ValueError, r"Invalid fontsize: 0 \(expected a finite number > 0\)"),
    ("ok", float("nan"), ValueError, r"Invalid fontsize: nan \(expected a finite number > 0\)"),
])
def test_draw_graph_rejects_bad_axes_and_fontsize(ax, fontsize, error, match):
    fig, real_ax = plt.subplots()
    try:
        with pytest.raises(error, match=match):
            draw_graph(real_ax if ax == "ok" else ax, Graph([Node(0, "a")]), fontsize=fontsize)
    finally:
        plt.close(fig)


@pytest.mark.parametrize("dtype", DTYPES)
def test_walk_graph_rejects_results_without_a_graph(dtype):
    x = torch.ones(2, dtype=dtype, requires_grad=True)
    with torch.no_grad():
        y = (x * 2).sum()
    for tensor in (x, y, torch.ones(2, dtype=dtype)):
        with pytest.raises(ValueError, match="expected a tensor with a grad_fn"):
            walk_graph(tensor)
    with pytest.raises(TypeError, match="expected tensor to be a torch.Tensor, got float"):
        walk_graph(1.0)
