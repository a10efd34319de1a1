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
from hypothesis import HealthCheck, settings  # noqa: E402

# Property-based tests (Hypothesis). The "ci" profile is the default, for `make test` and CI:
# derandomized, so every run tries the same examples and a failure reproduces, with no
# per-example deadline (a shared 2-core machine makes timings noisy) and a bounded number of
# examples so the suite stays within its time budget. HYPOTHESIS_PROFILE=dev searches
# with fresh random examples and more of them.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# The helper module beside this file (book_pages.py) must import whatever
# pytest's import mode.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test runs with one torch thread, as `make` runs the book: the tensors are tiny, and on
    a shared 2-core machine a second thread only adds synchronisation."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
