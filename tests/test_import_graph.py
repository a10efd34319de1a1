"""tools/import_graph.py: which package files a chapter's code imports, read with ``ast``.

The cache invalidation of ``tools/build_book.py`` is only as precise as this
graph: a missed import leaves a chapter stale, an extra one costs an execution.
The tests build small packages in ``tmp_path`` and check each kind of import.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))
import import_graph  # noqa: E402
from import_graph import (  # noqa: E402
    EVERYTHING,
    ImportGraph,
    closure,
    imported_modules,
    module_graph,
    notebook_imports,
    package_modules,
)

sys.path.remove(str(TOOLS))


def _package(root: Path, files: dict[str, str]) -> Path:
    src = root / "src"
    for name, text in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return src


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return _package(tmp_path, {
        "pkg/__init__.py": "from pkg.version import VERSION\n",
        "pkg/version.py": "VERSION = 1\n",
        "pkg/_check.py": "def check(x):\n    return x\n",
        "pkg/losses.py": "from ._check import check\n",
        "pkg/optim.py": "from pkg import losses\n\n\ndef step():\n    from .sub.deep import helper\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/deep.py": "from .. import _check\n",
        "pkg/plots.py": "import matplotlib.pyplot as plt\n",
        "pkg/__pycache__/optim.cpython-311.py": "ignored = True\n",
        "pkg/data/table.csv": "a,b\n",
        "notapkg/loose.py": "x = 1\n",
    })


def test_package_modules_maps_names_to_files(src: Path) -> None:
    modules = package_modules(src)
    assert modules["pkg"] == src / "pkg" / "__init__.py"
    assert modules["pkg.sub.deep"] == src / "pkg" / "sub" / "deep.py"
    # No __init__.py above it: not importable as a package module, so not a node.
    assert "notapkg.loose" not in modules
    assert not any("__pycache__" in str(path) for path in modules.values())
    assert set(modules) == {"pkg", "pkg.version", "pkg._check", "pkg.losses", "pkg.optim",
                            "pkg.sub", "pkg.sub.deep", "pkg.plots"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import pkg.losses", {"pkg", "pkg.losses"}),
        ("import pkg.losses as L", {"pkg", "pkg.losses"}),
        ("from pkg.losses import check", {"pkg", "pkg.losses"}),
        # A submodule imported by name, and a name defined in __init__.py.
        ("from pkg import optim, VERSION", {"pkg", "pkg.optim"}),
        ("from pkg import *", {"pkg"}),
        ("from pkg.sub import deep", {"pkg", "pkg.sub", "pkg.sub.deep"}),
        ("def f():\n    import pkg.plots\n", {"pkg", "pkg.plots"}),
        ("import numpy as np\nimport torch", set()),
        ("from pkgother import x", set()),
        # A relative import in a notebook cell cannot resolve to the package.
        ("from . import losses", set()),
        ("def broken(:", {EVERYTHING}),
        ("import importlib\nm = importlib.import_module('pkg.optim')", {EVERYTHING}),
        ("m = __import__('pkg.optim')", {EVERYTHING}),
    ],
)
def test_imported_modules_of_a_cell(src: Path, code: str, expected: set[str]) -> None:
    assert imported_modules(code, package_modules(src)) == expected


@pytest.mark.parametrize(
    ("current", "is_package", "code", "expected"),
    [
        ("pkg.losses", False, "from ._check import check", {"pkg", "pkg._check"}),
        ("pkg.losses", False, "from . import _check", {"pkg", "pkg._check"}),
        ("pkg.sub.deep", False, "from .. import _check", {"pkg", "pkg._check"}),
        ("pkg.sub.deep", False, "from ..losses import check", {"pkg", "pkg.losses"}),
        # In a package's __init__.py, "." is the package itself.
        ("pkg.sub", True, "from .deep import helper", {"pkg", "pkg.sub", "pkg.sub.deep"}),
        # Above the top of the package: nothing to resolve.
        ("pkg.losses", False, "from ... import x", set()),
    ],
)
def test_relative_imports_resolve_against_the_module(
    src: Path, current: str, is_package: bool, code: str, expected: set[str]
) -> None:
    assert imported_modules(code, package_modules(src), current=current, is_package=is_package) == expected


def test_module_graph_and_closure_follow_imports_transitively(src: Path) -> None:
    graph = module_graph(package_modules(src))
    assert graph["pkg.optim"] == {"pkg", "pkg.losses", "pkg.sub", "pkg.sub.deep"}
    assert graph["pkg"] == {"pkg.version"}  # a module never depends on itself
    reached = closure({"pkg.optim"}, graph)
    assert reached == {"pkg", "pkg.version", "pkg.optim", "pkg.losses", "pkg._check", "pkg.sub", "pkg.sub.deep"}
    assert "pkg.plots" not in reached
    assert closure({EVERYTHING}, graph) == set(graph)


def test_closure_terminates_on_import_cycles() -> None:
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": set()}
    assert closure({"a"}, graph) == {"a", "b", "c"}


def test_ipython_syntax_in_a_cell_is_read_as_python(src: Path) -> None:
    cells = ["%matplotlib inline\nfrom pkg import losses", "!ls\n%timeit losses.check(1)", "x = 1"]
    assert notebook_imports(cells, package_modules(src)) == {"pkg", "pkg.losses"}


def test_files_of_a_chapter(src: Path) -> None:
    graph = ImportGraph(src)
    files = graph.files_of(["from pkg.losses import check"])
    names = {path.relative_to(src).as_posix() for path in files}
    # Its modules, the package above them, what they import, and the package's data files.
    assert names == {"pkg/__init__.py", "pkg/version.py", "pkg/losses.py", "pkg/_check.py", "pkg/data/table.csv"}
    # A chapter that imports nothing from the package depends on none of its files.
    assert graph.files_of(["import torch"]) == []
    # A module that does not parse makes its importers depend on everything.
    (src / "pkg" / "plots.py").write_text("def broken(:\n", encoding="utf-8")
    broken = ImportGraph(src)
    assert set(broken.modules_of(["import pkg.plots"])) == set(broken.modules)


def test_the_real_book_chapters_depend_on_what_they_import() -> None:
    """Spot checks on the book itself: the graph sees through the package's own imports."""
    root = Path(__file__).resolve().parents[1]
    graph = ImportGraph(root / "src")
    assert "dlfoundations.optim" in graph.graph and "dlfoundations._validation" in graph.graph["dlfoundations.optim"]
    modules = graph.modules_of(["from dlfoundations.studies import paired_difference"])
    # studies imports train, which imports the shared argument checks.
    assert {"dlfoundations.studies", "dlfoundations.train", "dlfoundations._validation"} <= modules
    assert "dlfoundations.rnn" not in modules


def test_command_line_prints_the_graph(src: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert import_graph.main(["--root", str(src.parent)]) == 0
    out = capsys.readouterr().out
    assert "pkg.optim: pkg, pkg.losses, pkg.sub, pkg.sub.deep" in out
