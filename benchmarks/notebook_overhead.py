"""Measure the fixed cost of executing one notebook, and what it is made of.

Every chapter pays a fixed cost before its first line of real work: a kernel
starts, imports its libraries, and shuts down. The build report page computes
nothing, so its execution time is that cost. This script executes small
notebooks the way the build does (jupyter-cache's ``single_nb_execution``, the
venv's kernel, one torch thread) and reports the median of ``--repeat`` runs of:

- an empty cell: the kernel's start and shutdown;
- ``import torch``; ``import matplotlib.pyplot``;
- ``torch.use_deterministic_algorithms(True, warn_only=True)`` after ``import torch``
  (what ``seed_everything`` calls), against setting the same flag through
  ``torch._C._set_deterministic_algorithms``: the public function imports
  ``torch._inductor.config``, which pulls in ``torch._dynamo`` and ``sympy``;
- the set-up cells of the chapter template in CONTRIBUTING.md (matplotlib,
  torch, glue, the book's style and seed), which every chapter starts with;
- the build report page as it is (``book/build_report.md``);
- the build report without ``torch``: the same tables, with the machine's
  thread and CUDA rows dropped and no ``seed_everything`` (what a lighter
  set-up cell would save on a page that trains nothing).

Usage::

    python benchmarks/notebook_overhead.py [--root DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from pathlib import Path

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

DETERMINISTIC_PUBLIC = "import torch\ntorch.use_deterministic_algorithms(True, warn_only=True)"
# What the public function does besides setting inductor's flag (torch/__init__.py).
DETERMINISTIC_CORE = "import torch\ntorch._C._set_deterministic_algorithms(True, warn_only=True)"

BUILD_REPORT_WITHOUT_TORCH = [
    "from dlfoundations.buildinfo import library_versions\n"
    "import os, platform\n"
    "def markdown_table(rows, header):\n"
    "    from IPython.display import Markdown\n"
    "    lines = [f'| {header[0]} | {header[1]} |', '|---|---|']\n"
    "    lines += [f'| `{name}` | {value} |' for name, value in rows.items()]\n"
    "    return Markdown('\\n'.join(lines))\n"
    "markdown_table(library_versions(), ('library', 'version'))",
    "markdown_table({'system': platform.system(), 'logical CPUs': str(os.cpu_count())}, ('property', 'value'))",
]


def notebook(cells: list[str]):
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return nb


def template_setup_cells(root: Path) -> list[str]:
    """The code cells of CONTRIBUTING.md's chapter template that come before its theory."""
    from myst_nb.core.read import read_myst_markdown_notebook

    sys.path.insert(0, str(root / "tools"))
    from new_chapter import template

    text = template(root)
    head = text[: text.index("\n## ")] if "\n## " in text else text
    nb = read_myst_markdown_notebook(head)
    cells = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    if not cells:
        raise SystemExit("notebook_overhead: no set-up cell in CONTRIBUTING.md's template")
    return cells


def build_report_cells(root: Path) -> list[str]:
    from myst_nb.core.read import read_myst_markdown_notebook

    path = root / "book" / "build_report.md"
    nb = read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=str(path))
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def time_notebook(cells: list[str], cwd: Path, repeat: int) -> list[float]:
    from jupyter_cache.executors.utils import single_nb_execution

    times = []
    for _ in range(repeat):
        result = single_nb_execution(notebook(cells), cwd=str(cwd), timeout=300, allow_errors=False)
        if result.err is not None:
            raise SystemExit(f"notebook_overhead: a measured notebook failed:\n{result.err}")
        times.append(result.time)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    os.environ.setdefault("JUPYTER_PATH", str(root / ".venv" / "share" / "jupyter"))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    variants = {
        "empty cell (kernel start and shutdown)": ["pass"],
        "import torch": ["import torch"],
        "import matplotlib.pyplot": ["import matplotlib.pyplot"],
        # seed_everything's deterministic switch: the public call imports torch._inductor
        # (and with it torch._dynamo and sympy) only to set inductor's own flag.
        "torch + use_deterministic_algorithms": [DETERMINISTIC_PUBLIC],
        "torch + deterministic flag, no inductor": [DETERMINISTIC_CORE],
        "template set-up cells": template_setup_cells(root),
        "build report page": build_report_cells(root),
        "build report without torch": BUILD_REPORT_WITHOUT_TORCH,
    }
    cwd = root / "book"
    time_notebook(["pass"], cwd, 1)  # warm the file cache: the first kernel of a session is slower
    rows = []
    for name, cells in variants.items():
        times = time_notebook(cells, cwd, args.repeat)
        rows.append((name, statistics.median(times), min(times), max(times)))
        print(f"notebook_overhead: {name}: median {rows[-1][1]:.2f} s", flush=True)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'notebook':<{width}}  median   min    max   (seconds, {args.repeat} runs each)")
    for name, median, low, high in rows:
        print(f"{name:<{width}}  {median:5.2f}  {low:5.2f}  {high:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
