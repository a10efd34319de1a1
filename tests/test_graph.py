"""Tests for dlfoundations.graph: walking and drawing autograd's grad_fn graph."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from dlfoundations.graph import Graph, Node, draw_graph, graph_layers, walk_graph  # noqa: E402


@pytest.fixture
def poly():
    x = torch.tensor(2.0, requires_grad=True)
    y = x**2 + 3 * x + 1
    return x, y


def test_walk_polynomial_labels_and_edges(poly):
    x, y = poly
    graph = walk_graph(y, {"x": x})
    labels = [node.label for node in graph.nodes]
    assert labels[0] == "AddBackward0"  # the output's grad_fn comes first
    assert sorted(labels) == sorted(
        ["AddBackward0", "AddBackward0", "PowBackward0", "MulBackward0", "AccumulateGrad (x)"]
    )
    # (y = a + 1) -> (a = p + m); a -> Pow; a -> Mul; Pow -> x; Mul -> x. The constants add no edge.
    assert len(graph.edges) == 5
    leaves = [node for node in graph.nodes if node.is_leaf]
    assert [node.label for node in leaves] == ["AccumulateGrad (x)"]
    assert [node.id for node in graph.nodes] == list(range(5))


def test_walk_edges_point_from_output_to_leaf(poly):
    x, y = poly
    graph = walk_graph(y, {"x": x})
    by_id = {node.id: node.label for node in graph.nodes}
    edge_labels = sorted((by_id[a], by_id[b]) for a, b in graph.edges)
    assert edge_labels == sorted(
        [
            ("AddBackward0", "AddBackward0"),
            ("AddBackward0", "PowBackward0"),
            ("AddBackward0", "MulBackward0"),
            ("PowBackward0", "AccumulateGrad (x)"),
            ("MulBackward0", "AccumulateGrad (x)"),
        ]
    )


def test_walk_without_names_labels_plain_accumulategrad(poly):
    _, y = poly
    labels = [node.label for node in walk_graph(y).nodes]
    assert "AccumulateGrad" in labels
    assert not any("(" in label for label in labels)


def test_walk_linear_model_names_each_parameter():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(8, 3, generator=g), torch.randn(8, generator=g)
    w = torch.randn(3, generator=g, requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    y_hat = X @ w + b  # (N,)
    loss = ((y_hat - y) ** 2).mean()
    graph = walk_graph(loss, {"w": w, "b": b})
    labels = {node.label for node in graph.nodes}
    assert {"MeanBackward0", "AccumulateGrad (w)", "AccumulateGrad (b)"} <= labels
    assert len(graph.nodes) == 7 and len(graph.edges) == 6


def test_walk_repeated_input_gives_two_edges():
    x = torch.tensor(3.0, requires_grad=True)
    graph = walk_graph(x * x, {"x": x})
    assert [node.label for node in graph.nodes] == ["MulBackward0", "AccumulateGrad (x)"]
    assert graph.edges == [(0, 1), (0, 1)]


def test_walk_rejects_tensor_without_grad_fn():
    with pytest.raises(ValueError, match="grad_fn=None"):
        walk_graph(torch.ones(2) * 3)
    with pytest.raises(ValueError, match="is_leaf=True"):
        walk_graph(torch.ones(2, requires_grad=True))


def test_walk_rejects_bad_arguments(poly):
    x, y = poly
    with pytest.raises(TypeError, match="torch.Tensor, got list"):
        walk_graph([1.0])
    with pytest.raises(TypeError, match="mapping"):
        walk_graph(y, [x])
    with pytest.raises(TypeError, match="str to torch.Tensor, got str -> float"):
        walk_graph(y, {"x": 2.0})


def test_graph_layers_use_longest_path(poly):
    x, y = poly
    graph = walk_graph(y, {"x": x})
    layers = graph_layers(graph)
    by_label = {node.label: layers[node.id] for node in graph.nodes}
    assert layers[0] == 0
    assert by_label["PowBackward0"] == by_label["MulBackward0"] == 2
    assert by_label["AccumulateGrad (x)"] == 3  # the longest path, not the shortest


def test_graph_layers_shortcut_edge_goes_below_long_path():
    # 0 -> 1 -> 2 and a shortcut 0 -> 2: node 2 must sit below node 1.
    graph = Graph([Node(0, "a"), Node(1, "b"), Node(2, "c")], [(0, 1), (1, 2), (0, 2)])
    assert graph_layers(graph) == {0: 0, 1: 1, 2: 2}


def test_graph_layers_rejects_cycle():
    graph = Graph([Node(0, "a"), Node(1, "b")], [(0, 1), (1, 0)])
    with pytest.raises(ValueError, match="cycle"):
        graph_layers(graph)


def test_draw_graph_adds_one_box_per_node_and_one_arrow_per_edge(poly):
    x, y = poly
    graph = walk_graph(y, {"x": x})
    fig, ax = plt.subplots()
    artists = draw_graph(ax, graph)
    texts = [a for a in artists if isinstance(a, Text)]
    arrows = [a for a in artists if isinstance(a, FancyArrowPatch)]
    assert sorted(t.get_text() for t in texts) == sorted(node.label for node in graph.nodes)
    assert len(arrows) == len(graph.edges)
    assert all(t in ax.texts for t in texts) and all(a in ax.patches for a in arrows)
    fig.canvas.draw()  # the arrows clip against the boxes at draw time; this must not fail
    # Output on top, leaf at the bottom.
    y_of = {t.get_text(): t.get_position()[1] for t in texts}
    assert y_of["AccumulateGrad (x)"] < y_of["PowBackward0"] < max(y_of.values())
    plt.close(fig)


def test_draw_graph_keeps_boxes_in_a_layer_apart():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(4, 2, generator=g), torch.randn(4, generator=g)
    w, b = torch.randn(2, generator=g, requires_grad=True), torch.zeros((), requires_grad=True)
    graph = walk_graph(((X @ w + b - y) ** 2).mean(), {"w": w, "b": b})
    fig, ax = plt.subplots(figsize=(4, 4))
    texts = [a for a in draw_graph(ax, graph) if isinstance(a, Text)]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    plt.close(fig)


def test_draw_graph_rejects_bad_input():
    fig, ax = plt.subplots()
    with pytest.raises(TypeError, match="Graph from walk_graph, got dict"):
        draw_graph(ax, {"nodes": []})
    with pytest.raises(ValueError, match="empty graph"):
        draw_graph(ax, Graph())
    plt.close(fig)
