"""tools/build_book.py: parallel execution and cache invalidation by dependency, on fixture books.

MyST-NB keys its execution cache on a notebook's own code cells (MyST-NB issue
299), so a change to a module the notebook imports would leave stale outputs.
The build script executes out-of-date chapters on a pool of workers before
Sphinx runs and stores, with each cached execution, the digests of the package
files the chapter imports (read with ``ast``). These tests build tiny books in
``tmp_path`` whose chapters print what modules of a fixture package return,
change one module at a time, and check that exactly the chapters importing it
are executed again and that their new outputs reach the HTML.

About 50 s: ten small builds, some executing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_books import CODE, edit, kernel_env, write, write_book, write_chapter

pytestmark = pytest.mark.build

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO_ROOT / "tools" / "build_book.py"
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

#: build_book.py's line for a chapter its pool executed.
EXECUTED = re.compile(r"build_book:\s+executed (\S+) in")
#: MyST-NB's line when it executes a notebook itself during the Sphinx pass.
SPHINX_EXECUTED = "Executing notebook"
FROM_CACHE = "Using cached notebook"

def _run(root: Path, *extra: str) -> subprocess.CompletedProcess:
    if not JUPYTER_BOOK.is_file():
        pytest.fail(f"{JUPYTER_BOOK} is missing: install requirements.txt into this Python's environment")
    return subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--root", str(root), "--jupyter-book", str(JUPYTER_BOOK), *extra],
        cwd=root, env=kernel_env(), capture_output=True, text=True, timeout=600,
    )


def _build(root: Path, *extra: str) -> tuple[set[str], str]:
    """Build the fixture book; return (chapters the pool executed, the whole log)."""
    result = _run(root, *extra)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"build of the fixture book failed:\n{log[-4000:]}"
    assert SPHINX_EXECUTED not in log, f"MyST-NB executed a notebook itself; the pool should have:\n{log[-4000:]}"
    return set(EXECUTED.findall(log)), log


def _page(root: Path, name: str) -> str:
    return (root / "_build" / "html" / "book" / f"{name}.html").read_text(encoding="utf-8")


@pytest.fixture
def book(tmp_path: Path) -> Path:
    write_book(tmp_path, CODE)
    return tmp_path


def test_a_changed_module_re_executes_only_the_chapters_that_import_it(book: Path) -> None:
    pkg = book / "src" / "fixturepkg"

    # 1. First build: the pool executes all three; Sphinx takes them from the cache.
    executed, log = _build(book, "--jobs", "2")
    assert executed == {"book/a", "book/b", "book/c"}, log[-3000:]
    assert "on 2 workers" in log
    assert log.count(FROM_CACHE) == 3
    assert "shared-v1:alpha-v1" in _page(book, "a")
    assert "beta-v1" in _page(book, "b")
    assert "no-package-output" in _page(book, "c")

    # 2. A module only chapter b imports (by name from the package, inside a
    #    function): b alone is executed again, and its new output reaches the HTML.
    edit(pkg / "beta.py", "beta-v1", "beta-v2")
    executed, log = _build(book)
    assert executed == {"book/b"}, log[-3000:]
    assert "changed: src/fixturepkg/beta.py" in log
    assert "beta-v2" in _page(book, "b") and "beta-v1" not in _page(book, "b")
    assert "shared-v1:alpha-v1" in _page(book, "a")

    # 3. A module chapter a reaches only through another package module.
    edit(pkg / "_shared.py", "shared-v1", "shared-v2")
    executed, log = _build(book)
    assert executed == {"book/a"}, log[-3000:]
    assert "changed: src/fixturepkg/_shared.py" in log
    assert "shared-v2:alpha-v1" in _page(book, "a")

    # 4. A new package file that no chapter imports, and a prose-only edit: nothing
    #    is executed; the edited page is re-read with its outputs from the cache.
    write(pkg / "unused.py", "VALUE = 1\n")
    write_chapter(book, "c", CODE["c"], prose="A chapter, reworded.")
    executed, log = _build(book)
    assert executed == set(), log[-3000:]
    assert "all 3 executable chapters are up to date" in log
    assert FROM_CACHE in log
    assert "A chapter, reworded." in _page(book, "c") and "no-package-output" in _page(book, "c")

    # 5. The requirements changed: every chapter is executed again.
    write(book / "requirements.txt", "fixture-requirement==2\n")
    executed, log = _build(book)
    assert executed == {"book/a", "book/b", "book/c"}, log[-3000:]

    # 6. The one-page loop: two modules change, `--page` executes its own chapter
    #    only and names the other one it leaves; the next full build executes that.
    edit(pkg / "beta.py", "beta-v2", "beta-v3")
    edit(pkg / "_shared.py", "shared-v2", "shared-v3")
    executed, log = _build(book, "--page", "book/a.md")
    assert executed == {"book/a"}, log[-3000:]
    assert "left for `make book`: book/b" in log
    assert "shared-v3:alpha-v1" in _page(book, "a")
    executed, log = _build(book)
    assert executed == {"book/b"}, log[-3000:]
    assert "beta-v3" in _page(book, "b")


def test_chapters_run_concurrently_and_a_failure_names_its_chapter(tmp_path: Path) -> None:
    # Each chapter appends when it started and ended; the third one then fails.
    record = (
        "import json, time\n"
        "start = time.time()\n"
        "time.sleep(1.5)\n"
        'with open("../times.jsonl", "a") as f:\n'
        '    f.write(json.dumps([start, time.time()]) + "\\n")\n'
    )
    write_book(tmp_path, {
        "slow1": record + 'print("slow1 done")',
        "slow2": record + 'print("slow2 done")',
        "broken": record + 'raise ValueError("deliberate failure in the broken chapter")',
    })
    result = _run(tmp_path, "--jobs", "2")
    log = result.stdout + result.stderr
    assert result.returncode != 0, f"a failing chapter did not fail the build:\n{log[-3000:]}"
    assert "Executing chapter book/broken failed" in log, log[-3000:]
    assert "ValueError: deliberate failure in the broken chapter" in log, log[-3000:]
    assert "FAILED: book/broken raised an error" in log
    # The other chapters finished and were cached; Sphinx never ran.
    assert set(EXECUTED.findall(log)) == {"book/slow1", "book/slow2"}
    assert "jupyter-book build" not in log
    spans = [json.loads(line) for line in (tmp_path / "times.jsonl").read_text().splitlines()]
    assert len(spans) == 3
    overlapping = any(s1 < e2 and s2 < e1 for i, (s1, e1) in enumerate(spans) for (s2, e2) in spans[i + 1:])
    assert overlapping, f"no two chapters ran at the same time with --jobs 2: {spans}"

    # With the chapter fixed, one worker: only the broken chapter runs, and the build passes.
    write_chapter(tmp_path, "broken", record + 'print("fixed")', prose="A chapter.")
    executed, log = _build(tmp_path, "--jobs", "1")
    assert executed == {"book/broken"}, log[-3000:]
    assert "on 1 worker" in log
    assert "fixed" in _page(tmp_path, "broken")
