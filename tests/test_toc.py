"""`_toc.yml` and `book/` agree, and every executed chapter seeds its randomness.

CONTRIBUTING rule 11 (every page is in the TOC, every TOC entry exists) and
rule 5 (an executed chapter calls ``seed_everything``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from book_pages import (
    calls_seed_everything,
    check_toc,
    code_cells,
    is_executed,
    load_toc,
    resolve_entry,
    toc_entries,
    toc_pages,
)

from fixture_books import FRONT_MATTER as NOTEBOOK_FRONT_MATTER  # noqa: E402


# ---------------------------------------------------------------- the real book


def test_toc_parses_as_jupyter_book(repo_root: Path) -> None:
    toc = load_toc(repo_root)
    assert toc.get("format") == "jb-book", f"expected `format: jb-book`, got {toc.get('format')!r}"
    assert "root" in toc, "_toc.yml has no `root:` entry"
    entries = toc_entries(toc, repo_root)
    assert len(entries) >= 2, f"expected a root and chapters in _toc.yml, got {entries}"
    duplicates = sorted({entry for entry in entries if entries.count(entry) > 1})
    assert not duplicates, f"pages listed twice in _toc.yml: {duplicates}"


def test_every_toc_entry_exists(repo_root: Path) -> None:
    missing, _ = check_toc(repo_root)
    assert not missing, (
        f"_toc.yml lists pages with no .md/.ipynb file: {missing} "
        "(create the file or remove the entry)"
    )


def test_every_page_is_in_the_toc(repo_root: Path) -> None:
    _, orphans = check_toc(repo_root)
    assert not orphans, (
        f"pages under book/ missing from _toc.yml: {orphans} "
        "(add them to _toc.yml, or delete them)"
    )


def _executed_pages(root: Path) -> list[str]:
    pages = []
    for page in toc_pages(root):
        source = resolve_entry(root, page)
        if source is not None and is_executed(source):
            pages.append(page)
    return pages


@pytest.mark.parametrize("page", _executed_pages(Path(__file__).resolve().parents[1]))
def test_executed_chapter_calls_seed_everything(repo_root: Path, page: str) -> None:
    source = resolve_entry(repo_root, page)
    assert source is not None
    assert calls_seed_everything(source), (
        f"{source.relative_to(repo_root)} runs code (it has a kernelspec) but no code cell "
        "calls seed_everything(...) from dlfoundations.seed (CONTRIBUTING rule 5)"
    )


# ------------------------------------------- the checking functions, on a fake book


def _write(path: Path, text: str = "# A page\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def fake_book(tmp_path: Path) -> Path:
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "parts": [
            {
                "caption": "Part",
                "chapters": [
                    {"file": "book/part1/one", "sections": [{"file": "book/part1/one_a"}]},
                    {"file": "book/part1/two.ipynb"},
                    {"url": "https://example.org", "title": "A link, not a page"},
                ],
            }
        ],
    }
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc), encoding="utf-8")
    _write(tmp_path / "book/intro.md")
    _write(tmp_path / "book/part1/one.md")
    _write(tmp_path / "book/part1/one_a.md")
    _write(tmp_path / "book/part1/two.ipynb", '{"cells": [], "metadata": {}}')
    # Not pages: private and hidden folders, and other files.
    _write(tmp_path / "book/_templates/layout.md")
    _write(tmp_path / "book/part1/.ipynb_checkpoints/one-checkpoint.md")
    _write(tmp_path / "book/references.bib", "")
    return tmp_path


def test_check_toc_accepts_a_consistent_book(fake_book: Path) -> None:
    assert check_toc(fake_book) == ([], [])
    assert toc_pages(fake_book) == ["book/intro", "book/part1/one", "book/part1/one_a", "book/part1/two"]


def test_check_toc_finds_an_orphan_page(fake_book: Path) -> None:
    _write(fake_book / "book/part1/forgotten.md")
    _write(fake_book / "book/part2/draft.ipynb", "{}")
    assert check_toc(fake_book) == ([], ["book/part1/forgotten.md", "book/part2/draft.ipynb"])


def test_check_toc_finds_a_missing_file(fake_book: Path) -> None:
    (fake_book / "book/part1/one_a.md").unlink()
    (fake_book / "book/intro.md").rename(fake_book / "book/intro.txt")
    missing, orphans = check_toc(fake_book)
    assert missing == ["book/intro", "book/part1/one_a"]
    assert orphans == []


def test_check_toc_expands_globs(fake_book: Path) -> None:
    toc = load_toc(fake_book)
    toc["parts"].append({"caption": "Globbed", "chapters": [{"glob": "book/extra/*"}]})
    _write(fake_book / "book/extra/a.md")
    _write(fake_book / "book/extra/b.md")
    assert check_toc(fake_book, toc) == ([], [])
    assert check_toc(fake_book) == ([], ["book/extra/a.md", "book/extra/b.md"])


def test_seed_check_on_myst_pages(tmp_path: Path) -> None:
    seeded = _write(
        tmp_path / "seeded.md",
        NOTEBOOK_FRONT_MATTER
        + "# Seeded\n\n```{code-cell} ipython3\nfrom dlfoundations.seed import seed_everything\n"
        "generator = seed_everything(0)\n```\n",
    )
    # Importing, or calling it only in a comment or in prose, is not seeding.
    unseeded = _write(
        tmp_path / "unseeded.md",
        NOTEBOOK_FRONT_MATTER
        + "# Unseeded\n\nCall `seed_everything(0)` first.\n\n```{code-cell} ipython3\n"
        "from dlfoundations.seed import seed_everything\n# seed_everything(0)\nimport torch\n```\n",
    )
    prose = _write(tmp_path / "prose.md", "# Prose only\n\n```python\nseed_everything(0)\n```\n")
    assert is_executed(seeded) and is_executed(unseeded)
    assert not is_executed(prose)
    assert calls_seed_everything(seeded)
    assert not calls_seed_everything(unseeded)
    assert len(code_cells(unseeded)) == 1


def test_seed_check_on_ipynb(tmp_path: Path) -> None:
    import json

    def notebook(source: list[str]) -> str:
        return json.dumps(
            {
                "cells": [{"cell_type": "code", "source": source, "metadata": {}, "outputs": []}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )

    good = _write(tmp_path / "good.ipynb", notebook(["g = seed_everything(1)\n"]))
    bad = _write(tmp_path / "bad.ipynb", notebook(["import torch\n"]))
    assert is_executed(good)
    assert calls_seed_everything(good)
    assert not calls_seed_everything(bad)
