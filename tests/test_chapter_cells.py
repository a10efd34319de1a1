"""Plumbing stays out of the reader's way: a static check of every chapter's code cells.

Issue 9 asks that a cell which only glues numbers into the text or only checks a
claim (``glue(...)``, ``check_claim(...)`` and the assignments and imports that
feed them) is removed from the page with the ``remove-cell`` tag, and that the
first code cell a reader sees in a chapter takes only a few lines. The chapters
go one step further, and this module holds them to it: code the page shows
never calls ``glue`` or ``check_claim``; a cell that computes what the reader
should see stays visible, and the calls that glue its results follow in a
``remove-cell`` cell. (Drawing cells behind ``hide-input`` may glue a figure.)

This module reads the MyST sources (no execution): it finds the
``{code-cell}`` fences and their ``:tags:`` option (or ``tags:`` in a YAML
option block) and parses each cell's code with :mod:`ast`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((REPO_ROOT / "book").glob("part*/*.md"))

#: Calls that only move a number into the text or guard a sentence of it.
PLUMBING_CALLS = frozenset({"glue", "check_claim"})
#: The first code cell a reader sees may be at most this many non-blank lines.
MAX_FIRST_VISIBLE_LINES = 8
#: Tags under which the cell's code is not on the page (the output may be).
HIDDEN_INPUT_TAGS = frozenset({"remove-cell", "remove-input", "hide-input", "hide-cell"})

_FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*\{code-cell\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
_SHORT_OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")


@dataclass
class Cell:
    """One ``{code-cell}`` of a MyST page: where it starts, its options and its code."""

    line: int  # 1-based line of the opening fence
    options: dict = field(default_factory=dict)
    source: str = ""

    @property
    def tags(self) -> list[str]:
        tags = self.options.get("tags") or []
        return [str(tag) for tag in tags] if isinstance(tags, list) else [str(tags)]

    @property
    def input_visible(self) -> bool:
        """True when the page shows the cell's code (not removed, not behind a toggle)."""
        return not HIDDEN_INPUT_TAGS.intersection(self.tags)

    @property
    def shown_lines(self) -> int:
        """Number of non-blank lines of code the cell puts on the page."""
        return sum(1 for line in self.source.splitlines() if line.strip())


def parse_cells(text: str) -> list[Cell]:
    """Return every code cell of a MyST page, with its options (``:key: value`` or YAML)."""
    cells = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        lines = match.group("body").splitlines()
        options: dict = {}
        if lines and lines[0].strip() == "---":
            end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
            if end is None:
                raise ValueError(f"line {line}: a YAML option block opened with --- is never closed")
            options = yaml.safe_load("\n".join(lines[1:end])) or {}
            lines = lines[end + 1 :]
        else:
            while lines and (option := _SHORT_OPTION.match(lines[0])):
                options[option["key"]] = yaml.safe_load(option["value"]) if option["value"] else None
                lines = lines[1:]
        if not isinstance(options, dict):
            raise ValueError(f"line {line}: expected the cell's options to be a mapping, got {options!r}")
        cells.append(Cell(line=line, options=options, source="\n".join(lines)))
    return cells


def _called_name(node: ast.AST) -> str | None:
    """The name a call statement calls (``glue`` for ``glue(...)`` or ``myst_nb.glue(...)``)."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def _bound_names(statement: ast.stmt) -> set[str]:
    """Names a statement binds (assignment targets, imports, loop variables)."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    return {
        node.id
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del))
    }


def _loaded_names(statement: ast.stmt) -> set[str]:
    return {node.id for node in ast.walk(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _is_sink(statement: ast.stmt) -> bool:
    """A ``glue``/``check_claim`` call, or a loop, ``if`` or ``with`` whose body only glues or checks."""
    if _called_name(statement) in PLUMBING_CALLS:
        return True
    if isinstance(statement, (ast.For, ast.If, ast.With)):
        return _is_plumbing_block(statement.body + getattr(statement, "orelse", []))
    return False


def _is_feeder_shape(statement: ast.stmt) -> bool:
    """An import, or an assignment to plain names (not to an item or attribute of another object)."""
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    else:
        return False
    return all(
        isinstance(node, (ast.Name, ast.Tuple, ast.List, ast.Starred, ast.Store))
        for target in targets
        for node in ast.walk(target)
    )


def _is_plumbing_block(statements: list[ast.stmt], used_later: frozenset[str] = frozenset()) -> bool:
    """Glue/claim calls plus imports and assignments whose names only those calls spend."""
    sinks = [s for s in statements if _is_sink(s)]
    feeders = [s for s in statements if not _is_sink(s)]
    if not sinks or not all(_is_feeder_shape(s) for s in feeders):
        return False
    used_by_plumbing = set().union(*(_loaded_names(s) for s in statements))
    return all(
        isinstance(s, ast.Pass)
        or (_bound_names(s) and _bound_names(s) <= used_by_plumbing and not _bound_names(s) & used_later)
        for s in feeders
    )


def is_plumbing_only(source: str, used_later: frozenset[str] = frozenset()) -> bool:
    """True when a cell does nothing a reader sees but glue numbers or check claims.

    Its statements are ``glue(...)``/``check_claim(...)`` calls (or loops over
    them) and assignments or imports whose names are used only by those calls
    within the cell (and by no later cell: ``used_later`` holds the names the
    later cells read). A cell that prints, draws, ends in an expression the page
    displays, or computes a name the chapter goes on to use is not.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    statements = [
        s
        for s in tree.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
    ]
    return _is_plumbing_block(statements, used_later)


def names_read(source: str) -> set[str]:
    """Every name a cell's code reads (empty when the code does not parse)."""
    try:
        return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    except SyntaxError:
        return set()


def plumbing_call_lines(source: str) -> list[int]:
    """Lines of the cell (1-based) on which ``glue(...)`` or ``check_claim(...)`` is called, at any depth."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return sorted(
        {
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in PLUMBING_CALLS
        }
    )


def cell_problems(text: str) -> list[str]:
    """Every way a chapter's code cells put plumbing in the reader's way, as messages."""
    problems = []
    cells = parse_cells(text)
    read = [names_read(cell.source) for cell in cells]
    for index, cell in enumerate(cells):
        if "remove-cell" in cell.tags:
            continue
        used_later = frozenset().union(*read[index + 1 :]) - PLUMBING_CALLS
        if is_plumbing_only(cell.source, used_later):
            problems.append(
                f"line {cell.line}: a cell that only glues numbers or checks claims should be tagged "
                f"remove-cell, got tags {cell.tags}"
            )
        elif cell.input_visible and (lines := plumbing_call_lines(cell.source)):
            problems.append(
                f"line {cell.line}: the page shows glue/check_claim calls (lines {lines} of the cell); "
                "expected them in a remove-cell cell after the code whose results they glue"
            )
    visible = [cell for cell in cells if cell.input_visible]
    if visible and visible[0].shown_lines > MAX_FIRST_VISIBLE_LINES:
        first = visible[0]
        problems.append(
            f"line {first.line}: the first visible code cell shows {first.shown_lines} lines, expected at most "
            f"{MAX_FIRST_VISIBLE_LINES} (move seeding, style and glue imports into a remove-cell cell)"
        )
    return problems


# ---------------------------------------------------------------- the real chapters


def test_chapters_are_found() -> None:
    assert len(CHAPTERS) >= 10, f"expected the chapters under book/part*/, found {[p.name for p in CHAPTERS]}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_chapter_keeps_plumbing_out_of_the_way(chapter: Path) -> None:
    text = chapter.read_text(encoding="utf-8")
    cells = parse_cells(text)
    assert cells, f"expected code cells in {chapter}"
    for cell in cells:  # the checks below read the code with ast: a cell it cannot parse would pass unread
        try:
            ast.parse(cell.source)
        except SyntaxError as error:
            pytest.fail(f"{chapter.relative_to(REPO_ROOT)} line {cell.line}: expected Python code, got {error}")
    problems = cell_problems(text)
    assert not problems, f"{chapter.relative_to(REPO_ROOT)}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- the checker on synthetic chapters

SYNTHETIC = """\
# A chapter

```{code-cell} ipython3
# Set-up every chapter runs first.
import matplotlib.pyplot as plt
import numpy as np
import torch
from myst_nb import glue

from dlfoundations.plotting import use_book_style
from dlfoundations.seed import seed_everything

generator = seed_everything(0)
use_book_style()
```

Text.

```{code-cell} ipython3
losses = [0.5, 0.25]
print(losses)
glue("x-first", losses[0], display=False)
```

```{code-cell} ipython3
final = losses[-1]
glue("x-final", final, display=False)
```

```{code-cell} ipython3
:tags: [remove-cell]
from dlfoundations.studies import check_claim

check_claim(losses[-1] < losses[0], "the loss falls")
```

````{solution} ex-x-1
```{code-cell} ipython3
---
mystnb:
  figure:
    name: fig-x
tags: [hide-input]
---
fig, ax = plt.subplots()
ax.plot(losses)
glue("x-fig", fig, display=False)
```
````
"""


def test_parser_reads_short_and_yaml_options_and_nested_fences() -> None:
    cells = parse_cells(SYNTHETIC)
    assert [cell.line for cell in cells] == [3, 19, 25, 30, 38]
    assert [cell.tags for cell in cells] == [[], [], [], ["remove-cell"], ["hide-input"]]
    assert cells[4].options["mystnb"]["figure"]["name"] == "fig-x"
    assert cells[4].source.startswith("fig, ax = plt.subplots()\n")
    assert cells[3].source.startswith("from dlfoundations.studies import check_claim")
    assert cells[0].shown_lines == 9
    assert not cells[4].input_visible and cells[1].input_visible


def test_checker_flags_a_long_first_cell_a_glue_only_cell_and_shown_glue_calls() -> None:
    problems = cell_problems(SYNTHETIC)
    assert len(problems) == 3, problems
    assert problems[0].startswith("line 19:") and "shows glue/check_claim calls (lines [3]" in problems[0]
    assert problems[1].startswith("line 25:") and "should be tagged remove-cell" in problems[1]
    assert problems[2].startswith("line 3:") and "9 lines" in problems[2]


def test_a_cell_whose_result_a_later_cell_uses_is_not_plumbing_but_still_may_not_show_glue() -> None:
    source = 'model = fit(X, y)\nglue("k", model.loss, display=False)'
    assert is_plumbing_only(source)
    assert not is_plumbing_only(source, frozenset({"model"}))
    chapter = f"```{{code-cell}} ipython3\nx = 1\n```\n\n```{{code-cell}} ipython3\n{source}\n```\n"
    (problem,) = cell_problems(chapter)
    assert "should be tagged remove-cell" in problem
    chapter += "\n```{code-cell} ipython3\nprint(model)\n```\n"
    (problem,) = cell_problems(chapter)
    assert "shows glue/check_claim calls (lines [2]" in problem


def test_plumbing_call_lines_finds_calls_at_any_depth() -> None:
    source = 'for k in ks:\n    print(k)\n    myst_nb.glue(f"x-{k}", k, display=False)\nif ok:\n    check_claim(ok, "ok")'
    assert plumbing_call_lines(source) == [3, 5]
    assert plumbing_call_lines("print(glue)\nglued(1)") == []


def test_checker_passes_the_chapter_once_fixed() -> None:
    fixed = (
        SYNTHETIC.replace(
            'print(losses)\nglue("x-first", losses[0], display=False)\n```',
            'print(losses)\n```\n\n```{code-cell} ipython3\n:tags: [remove-cell]\nglue("x-first", losses[0], display=False)\n```',
        )
        .replace("```{code-cell} ipython3\nfinal", "```{code-cell} ipython3\n:tags: [remove-cell]\nfinal")
        .replace("```{code-cell} ipython3\n# Set-up", "```{code-cell} ipython3\n:tags: [remove-cell]\n# Set-up")
    )
    assert cell_problems(fixed) == []
    # Now the first visible cell is the two-line one, and the hide-input figure may glue its figure.
    assert [cell.line for cell in parse_cells(fixed) if cell.input_visible][0] == 20


@pytest.mark.parametrize(
    "source",
    [
        'glue("k", 1.0, display=False)',
        'from myst_nb import glue\nglue("k", 1.0, display=False)',
        'diff = (a - b).abs().max().item()\nglue("k-diff", diff, display=False)',
        'x = f(a)\ny = x + 1\nglue("k", y, display=False)\ncheck_claim(y > 0, "positive")',
        'for key, value in results.items():\n    glue(f"k-{key}", value, display=False)',
        '"""A docstring."""\nmyst_nb.glue("k", 1, display=False)',
        'if ok:\n    check_claim(a < b, "a is below b")',
    ],
)
def test_plumbing_only_cells_are_recognised(source: str) -> None:
    assert is_plumbing_only(source), source


@pytest.mark.parametrize(
    "source",
    [
        "",
        "x = 1",
        'print(a)\nglue("k", a, display=False)',
        'diff = a - b\nglue("k", diff, display=False)\ndiff',
        'fig, ax = plt.subplots()\nglue("k", 1, display=False)',
        'glue("k", 1, display=False)\nplt.show()',
        'for key, value in results.items():\n    print(key)\n    glue(f"k-{key}", value, display=False)',
        'for seed in seeds:\n    runs[seed] = train(seed)\n    glue(f"k-{seed}", runs[seed], display=False)',
        'results["a"] = f(x)\nglue("k", results["a"], display=False)',
        "def f(:\n    pass",
    ],
)
def test_cells_a_reader_sees_are_not_plumbing(source: str) -> None:
    assert not is_plumbing_only(source), source
