"""Shared set-up for the tests: a headless matplotlib and the book's paths."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports matplotlib: tests never open a window.
os.environ["MPLBACKEND"] = "Agg"

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# The helper module beside this file (book_pages.py) must import whatever
# pytest's import mode.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root: the folder holding _config.yml and _toc.yml."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def html_dir(repo_root: Path) -> Path:
    """``_build/html``, whether or not it has been built."""
    return repo_root / "_build" / "html"


@pytest.fixture(scope="session")
def built_html(html_dir: Path) -> Path:
    """``_build/html``, failing the test with the fix when the book was not built."""
    if not (html_dir / "index.html").is_file():
        pytest.fail(
            f"{html_dir / 'index.html'} is missing: run `make book` first "
            "(`make test` builds the book before the site tests)",
            pytrace=False,
        )
    return html_dir
