"""tools/parallel_execute.py and build_book.py's helpers, without building a book.

The end-to-end builds are in test_build_cache.py; these check the decisions
one by one: how a page is read, when a cached execution is out of date, and
which pages the one-page loop executes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))
import build_book  # noqa: E402
import parallel_execute as pe  # noqa: E402

sys.path.remove(str(TOOLS))

from fixture_books import front_matter  # noqa: E402


def _book(root: Path, config_extra: str = "") -> Path:
    (root / "book").mkdir(parents=True)
    (root / "_config.yml").write_text(
        "title: T\nexecute:\n  execute_notebooks: cache\n  timeout: 77\n" + config_extra, encoding="utf-8"
    )
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nchapters:\n  - file: book/nb\n  - file: book/slow\n"
        "  - file: book/skipped\n",
        encoding="utf-8",
    )
    (root / "book" / "index.md").write_text("# Plain page, no kernel\n", encoding="utf-8")
    cell = "```{code-cell} ipython3\nimport pkg.mod\n```\n"
    (root / "book" / "nb.md").write_text(front_matter() + "# NB\n\n" + cell, encoding="utf-8")
    (root / "book" / "slow.md").write_text(
        front_matter("mystnb:\n  execution_timeout: 900\n") + "# Slow\n\n" + cell, encoding="utf-8"
    )
    (root / "book" / "skipped.md").write_text(front_matter() + "# S\n\n" + cell, encoding="utf-8")
    return root


def test_load_book_reads_the_toc_and_the_execution_settings(tmp_path: Path) -> None:
    book = pe.load_book(_book(tmp_path))
    assert book.docnames == ["book/index", "book/nb", "book/slow", "book/skipped"]
    assert book.nb_config.execution_timeout == 77
    assert book.cache_path == tmp_path / "_build" / ".jupyter_cache"


def test_read_chapter_mirrors_myst_nb(tmp_path: Path) -> None:
    book = pe.load_book(_book(tmp_path, "  exclude_patterns: ['*skipped*']\n"))
    assert pe.read_chapter(book, "book/index") is None  # Markdown without a kernel: not executed
    assert pe.read_chapter(book, "book/skipped") is None  # excluded from execution
    assert pe.read_chapter(book, "book/missing") is None
    chapter = pe.read_chapter(book, "book/nb")
    assert chapter is not None and chapter.timeout == 77 and chapter.code_cells == ["import pkg.mod"]
    # A notebook's own `mystnb:` front matter overrides the book's settings, as in MyST-NB.
    assert pe.read_chapter(book, "book/slow").timeout == 900


def test_the_pre_execution_and_myst_nb_hash_a_page_the_same_way(tmp_path: Path) -> None:
    """The cache record written for the page must be the one MyST-NB looks up."""
    from jupyter_cache import get_cache
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    book = pe.load_book(_book(tmp_path))
    chapter = pe.read_chapter(book, "book/nb")
    cache = get_cache(str(tmp_path / "cache"))
    ours, _ = cache.create_hashed_notebook(chapter.notebook)
    text = chapter.path.read_text(encoding="utf-8")
    theirs = create_nb_reader(str(chapter.path), MdParserConfig(), NbParserConfig(), text).read(text)
    assert cache.create_hashed_notebook(theirs)[1] == cache.create_hashed_notebook(chapter.notebook)[1]
    assert ours.cells[0].source == "import pkg.mod"


def test_changed_dependencies() -> None:
    current = {"requirements.txt": "r1", "src/pkg/a.py": "a2"}
    assert pe.changed_dependencies(dict(current), current) == []
    assert pe.changed_dependencies({"requirements.txt": "r1", "src/pkg/a.py": "a1"}, current) == ["src/pkg/a.py"]
    # A file the chapter no longer imports, or newly imports, is a change too.
    assert pe.changed_dependencies({"requirements.txt": "r1", "src/pkg/b.py": "b"}, current) == [
        "src/pkg/a.py", "src/pkg/b.py"]
    assert pe.changed_dependencies(None, current) == ["(executed without dependency record)"]


def _chapter(tmp_path: Path, code: str, dependencies: dict[str, str]) -> pe.Chapter:
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "P"}})
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    return pe.Chapter("book/x", tmp_path / "x.md", notebook, 30, False, False, dependencies)


def test_decide_against_a_real_cache(tmp_path: Path) -> None:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(tmp_path / "cache"))
    cached = _chapter(tmp_path, "print(1)", {"src/pkg/a.py": "a1"})
    cache.cache_notebook_bundle(
        CacheBundleIn(cached.notebook, "x.md", data={"execution_seconds": 2.5, pe.DEPENDENCIES_KEY: {"src/pkg/a.py": "a1"}}),
        check_validity=False,
    )
    same, moved, new_code = pe.decide([
        cached,
        _chapter(tmp_path, "print(1)", {"src/pkg/a.py": "a2"}),
        _chapter(tmp_path, "print(2)", {"src/pkg/a.py": "a1"}),
    ], cache)
    assert (same.execute, same.reason, same.previous_seconds) == (False, "cached", 2.5)
    assert moved.execute and moved.reason == "changed: src/pkg/a.py" and moved.record_pk is not None
    assert new_code.execute and new_code.record_pk is None and "not in the cache" in new_code.reason


def test_limit_to_page_keeps_the_page_and_what_myst_nb_would_execute(tmp_path: Path) -> None:
    def decision(name: str, execute: bool, record: int | None) -> pe.Decision:
        chapter = _chapter(tmp_path, name, {})
        chapter.docname = name
        return pe.Decision(chapter, execute, "r", record)

    decisions = [
        decision("page", True, 1),  # the page itself: executed
        decision("read-no-record", True, None),  # Sphinx reads it and has no outputs: executed
        decision("read-stale-record", True, 3),  # Sphinx reads it, old outputs exist: left
        decision("unread", True, None),  # Sphinx does not read it: left
        decision("current", False, 5),  # up to date: nothing to do
    ]
    left = build_book.limit_to_page(decisions, "page", lambda name: name.startswith("read"))
    assert [d.chapter.docname for d in decisions if d.execute] == ["page", "read-no-record"]
    assert [d.chapter.docname for d in left] == ["read-stale-record", "unread"]


def test_page_docname(tmp_path: Path) -> None:
    assert build_book.page_docname(tmp_path, "book/part2/optimizers.md") == "book/part2/optimizers"
    assert build_book.page_docname(tmp_path, str(tmp_path / "book" / "a.ipynb")) == "book/a"
    assert build_book.page_docname(tmp_path, "book/intro") == "book/intro"


def test_files_hash_sees_bytes_and_paths_not_bytecode(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "a.bib").write_text("@a{}", encoding="utf-8")
    first = build_book.files_hash(tmp_path, ["refs"])
    (tmp_path / "refs" / "__pycache__").mkdir()
    (tmp_path / "refs" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert build_book.files_hash(tmp_path, ["refs"]) == first
    (tmp_path / "refs" / "a.bib").write_text("@b{}", encoding="utf-8")
    second = build_book.files_hash(tmp_path, ["refs"])
    assert second != first
    (tmp_path / "refs" / "a.bib").rename(tmp_path / "refs" / "b.bib")
    assert build_book.files_hash(tmp_path, ["refs"]) != second


def test_jobs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_book.main(["--jobs", "0"])
    assert "--jobs must be a positive integer, got 0" in capsys.readouterr().err


def test_default_jobs_is_the_usable_cores() -> None:
    assert pe.default_jobs() >= 1
