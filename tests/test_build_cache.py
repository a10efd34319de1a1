"""tools/build_book.py closes the execution-cache hole (MyST-NB issue 299).

MyST-NB keys its execution cache on a notebook's own code cells, so a change to
a module the notebook imports would leave stale outputs in the book. The build
script hashes ``src/`` and re-executes when it changes. This test builds a tiny
book in ``tmp_path`` whose only page prints what a module in ``src/`` returns,
changes the module, and checks the page follows, while a rebuild with nothing
changed, or with only prose changed, executes nothing.

Takes about half a minute (four small builds, two of them executing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.build

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO_ROOT / "tools" / "build_book.py"
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

EXECUTED = "Executing notebook"
FROM_CACHE = "Using cached notebook"

CONFIG = """\
title: Cache check
only_build_toc_files: true
execute:
  execute_notebooks: cache
"""

TOC = """\
format: jb-book
root: index
"""

PAGE = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Cache check

{prose}

```{{code-cell}} ipython3
# The kernel runs in the page's folder, the fixture root.
import sys

sys.path.insert(0, "src")
from fixturepkg import message

print(message())
```
"""

MODULE = 'def message():\n    return "{value}"\n'


def _write_module(root: Path, value: str) -> None:
    module = root / "src" / "fixturepkg" / "__init__.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(MODULE.format(value=value), encoding="utf-8")


@pytest.fixture
def fixture_book(tmp_path: Path) -> Path:
    if not JUPYTER_BOOK.is_file():
        pytest.fail(f"{JUPYTER_BOOK} is missing: install requirements.txt into this Python's environment")
    (tmp_path / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "_toc.yml").write_text(TOC, encoding="utf-8")
    (tmp_path / "index.md").write_text(PAGE.format(prose="A page."), encoding="utf-8")
    _write_module(tmp_path, "cache-check-v1")
    return tmp_path


def _build(root: Path) -> str:
    """Run tools/build_book.py on the fixture book; return its combined output."""
    env = dict(os.environ)
    # The kernel that executes the page is this Python's, whatever else is installed.
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--root", str(root), "--watch", "src",
         "--jupyter-book", str(JUPYTER_BOOK)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"build of the fixture book failed:\n{output[-4000:]}"
    return output


def _page(root: Path) -> str:
    return (root / "_build" / "html" / "index.html").read_text(encoding="utf-8")


def test_changed_module_re_executes_and_nothing_else_does(fixture_book: Path) -> None:
    # 1. First build: executes, shows v1.
    log = _build(fixture_book)
    assert EXECUTED in log, f"the first build did not execute the page:\n{log[-3000:]}"
    assert "cache-check-v1" in _page(fixture_book)

    # 2. Only the imported module changes: the cell text (MyST-NB's cache key)
    #    is the same, yet the page must show v2.
    _write_module(fixture_book, "cache-check-v2")
    log = _build(fixture_book)
    html = _page(fixture_book)
    assert "cache-check-v2" in html, "the page does not show the new module's output (stale cache)"
    assert "cache-check-v1" not in html, "the page still shows the old module's output (stale cache)"
    assert "src/ or requirements changed" in log, f"build_book did not see src/ change:\n{log[-3000:]}"
    assert EXECUTED in log, f"changing src/ did not re-execute the page:\n{log[-3000:]}"

    # 3. Nothing changed: nothing is executed, the page keeps v2.
    log = _build(fixture_book)
    assert EXECUTED not in log, f"a rebuild with nothing changed re-executed the page:\n{log[-3000:]}"
    assert "clearing the execution cache" not in log
    assert "cache-check-v2" in _page(fixture_book)

    # 4. Only prose changed: the page is re-read but its outputs come from the cache.
    (fixture_book / "index.md").write_text(PAGE.format(prose="A page, reworded."), encoding="utf-8")
    log = _build(fixture_book)
    assert EXECUTED not in log, f"a prose-only edit re-executed the page:\n{log[-3000:]}"
    assert FROM_CACHE in log, f"a prose-only edit did not use the execution cache:\n{log[-3000:]}"
    html = _page(fixture_book)
    assert "A page, reworded." in html and "cache-check-v2" in html


def test_dependency_hash_sees_src_changes(tmp_path: Path) -> None:
    """The hash build_book.py stores changes with a file's bytes and with its path."""
    sys.path.insert(0, str(BUILD_SCRIPT.parent))
    try:
        import build_book
    finally:
        sys.path.remove(str(BUILD_SCRIPT.parent))

    _write_module(tmp_path, "a")
    (tmp_path / "src" / "fixturepkg" / "__pycache__").mkdir()
    first = build_book.dependency_hash(tmp_path, ["src"])
    # Bytecode is not a source: it must not trigger a re-execution.
    (tmp_path / "src" / "fixturepkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert build_book.dependency_hash(tmp_path, ["src"]) == first
    _write_module(tmp_path, "b")
    second = build_book.dependency_hash(tmp_path, ["src"])
    assert second != first
    (tmp_path / "src" / "fixturepkg" / "__init__.py").rename(tmp_path / "src" / "fixturepkg" / "other.py")
    assert build_book.dependency_hash(tmp_path, ["src"]) != second
