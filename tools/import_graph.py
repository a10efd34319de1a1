"""Which files of the book's package a chapter runs: its import graph, read statically with ``ast``.

MyST-NB's execution cache keys a chapter on the text of its own code cells
(MyST-NB issue 299), so it cannot see that a module the chapter imports from
``src/`` changed. ``tools/build_book.py`` closes that hole per chapter: it asks
this module which package files a chapter's code imports, directly or through
other package modules, and re-executes the chapter when one of those files
changes, and no other chapter.

The graph is read without importing anything:

- ``import dlfoundations.optim`` and ``from dlfoundations.optim import SGD`` depend on
  ``dlfoundations/optim.py`` and on ``dlfoundations/__init__.py`` (Python runs every
  parent package first);
- ``from dlfoundations import optim`` depends on ``optim.py`` when ``optim`` is a
  submodule, and on ``__init__.py`` alone when it is a name defined there;
- relative imports inside the package (``from .losses import mse_loss``,
  ``from . import seed``) resolve against the importing module;
- imports inside functions count too (``ast.walk`` sees every ``import``), because
  the chapter may call the function;
- IPython syntax in a cell (``%timeit``, ``!ls``) is turned into Python first.

Conservative fallbacks: a cell or module that does not parse, or that imports
through ``importlib``/``__import__``, depends on every file of the package;
anything else under ``src/`` that is not a ``.py`` file (package data) is a
dependency of every chapter. Third-party imports are not followed: their
versions are pinned in ``requirements.txt``, whose change re-executes every chapter.

Usage, to see the graph of the book::

    python tools/import_graph.py [--root DIR] [--src src] PAGE.md ...
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Module name that stands for "every file of the package" (an unreadable import).
EVERYTHING = "*"


def package_modules(src: Path) -> dict[str, Path]:
    """Return ``{dotted module name: file}`` for every Python module under ``src``.

    A package maps to its ``__init__.py``; namespace folders without one are
    not modules. ``__pycache__`` folders and ``*.egg-info`` are skipped.
    """
    modules: dict[str, Path] = {}
    if not src.is_dir():
        return modules
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src)
        if "__pycache__" in relative.parts or any(part.endswith(".egg-info") for part in relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            if not parts:
                continue
        # A module counts only when every folder above it is a package.
        if all((src.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
            modules[".".join(parts)] = path
    return modules


def data_files(src: Path) -> list[Path]:
    """Return the files under ``src`` that are neither Python modules nor build litter."""
    files = []
    if not src.is_dir():
        return files
    for path in sorted(src.rglob("*")):
        relative = path.relative_to(src)
        if not path.is_file() or path.suffix in (".py", ".pyc"):
            continue
        if "__pycache__" in relative.parts or any(part.endswith(".egg-info") for part in relative.parts):
            continue
        files.append(path)
    return files


def _with_parents(name: str, modules: Mapping[str, Path]) -> set[str]:
    """``a.b.c`` and the packages above it that are modules of ``modules``."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in modules}


def _resolve_relative(level: int, module: str | None, current: str | None, is_package: bool) -> str | None:
    """The absolute name of ``from <level dots><module> import ...`` written in ``current``."""
    if level == 0:
        return module
    if current is None:
        return None  # a relative import outside a package (a notebook) cannot resolve
    package = current.split(".") if is_package else current.split(".")[:-1]
    if level - 1 > len(package):
        return None
    base = package[: len(package) - (level - 1)]
    if module:
        base = base + module.split(".")
    return ".".join(base) if base else None


def imported_modules(
    source: str,
    modules: Mapping[str, Path],
    current: str | None = None,
    is_package: bool = False,
) -> set[str]:
    """Return the modules of ``modules`` that Python code ``source`` imports.

    Args:
        source: Python source (a module, or a notebook cell already turned into Python).
        modules: the package's modules, as :func:`package_modules` returns them.
        current: the dotted name of the module ``source`` is, to resolve relative
            imports; ``None`` for a notebook cell.
        is_package: whether ``current`` is a package (its ``__init__.py``).

    Returns:
        The dotted names imported, with their parent packages; ``{EVERYTHING}``
        when the source does not parse or imports dynamically.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {EVERYTHING}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_parents(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(node.level, node.module, current, is_package)
            if base is None:
                continue
            found |= _with_parents(base, modules)
            for alias in node.names:
                # `from pkg import sub` imports the submodule when there is one.
                if alias.name != "*" and f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Name) and node.id == "__import__":
            found.add(EVERYTHING)
        elif isinstance(node, ast.Attribute) and node.attr == "import_module":
            found.add(EVERYTHING)
    if EVERYTHING not in found and "import_module" in source and "importlib" in source:
        found.add(EVERYTHING)  # `from importlib import import_module` then a bare call
    return found


def module_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Return ``{module: modules it imports}`` for every module of the package."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        imports = imported_modules(source, modules, current=name, is_package=path.name == "__init__.py")
        imports.discard(name)
        graph[name] = imports
    return graph


def closure(start: Iterable[str], graph: Mapping[str, set[str]]) -> set[str]:
    """Return ``start`` and every module reachable from it in ``graph``.

    ``EVERYTHING`` anywhere on the way expands to every module of the graph.
    """
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name == EVERYTHING:
            stack.extend(graph)
            continue
        stack.extend(graph.get(name, ()))
    seen.discard(EVERYTHING)
    return seen


def cell_to_python(source: str) -> str:
    """Turn a notebook cell's IPython syntax (``%magic``, ``!shell``) into plain Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # no IPython: parse the cell as it is
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot transform is parsed as it is
        return source


def notebook_imports(cells: Iterable[str], modules: Mapping[str, Path]) -> set[str]:
    """Return the package modules that the code cells ``cells`` import (without closure)."""
    found: set[str] = set()
    for cell in cells:
        found |= imported_modules(cell_to_python(cell), modules)
    return found


class ImportGraph:
    """The package under ``src`` and its import graph, read once and asked per chapter."""

    def __init__(self, src: Path) -> None:
        self.src = src
        self.modules = package_modules(src)
        self.graph = module_graph(self.modules)
        self.data = data_files(src)

    def modules_of(self, cells: Iterable[str]) -> set[str]:
        """The package modules a chapter with these code cells runs, directly or not."""
        return closure(notebook_imports(cells, self.modules), self.graph)

    def files_of(self, cells: Iterable[str]) -> list[Path]:
        """The package files a chapter with these code cells depends on: its modules and the package data."""
        files = {self.modules[name] for name in self.modules_of(cells)}
        if files:
            files.update(self.data)
        return sorted(files)


def _code_cells_of(path: Path) -> list[str]:
    """The code cells of a MyST markdown notebook or an .ipynb file (for the command line)."""
    import nbformat
    from myst_nb.core.read import read_myst_markdown_notebook

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        notebook = nbformat.reads(text, as_version=4)
    else:
        notebook = read_myst_markdown_notebook(text, path=str(path))
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="chapters to show (default: the package graph)")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root")
    parser.add_argument("--src", default="src", help="the package folder, relative to --root")
    args = parser.parse_args(argv)
    graph = ImportGraph(args.root / args.src)
    if not args.pages:
        for name in sorted(graph.graph):
            print(f"{name}: {', '.join(sorted(graph.graph[name])) or '-'}")
        return 0
    for page in args.pages:
        modules = sorted(graph.modules_of(_code_cells_of(page)))
        print(f"{page}: {', '.join(modules) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
