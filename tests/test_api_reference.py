"""The API reference (book/api/) covers the whole package, and docstrings are reStructuredText.

Package tests (no build needed): every public module has a page in the TOC,
and no docstring holds MyST-only markup, which autodoc would show raw.
Site tests (``-m site``, after ``make book``): every name in each module's
``__all__`` has an entry with its anchor, listings link to those entries, and
the built reference shows no raw MyST role.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from book_pages import load_toc, toc_entries

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "src" / "dlfoundations"
MODULES = sorted(path.stem for path in SOURCE_DIR.glob("*.py") if not path.stem.startswith("_"))
# MyST roles ({ref}`x`, {eq}`x`, ...) and substitutions mean nothing to autodoc's reStructuredText parser.
MYST_ROLE = re.compile(r"\{(ref|eq|numref|doc|cite|cite:p|cite:t|glue|glue:text|term|math|download)\}`")


def _docstrings(path: Path) -> list[tuple[str, int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                found.append((getattr(node, "name", path.stem), node.body[0].lineno, doc))
    return found


def test_every_module_has_an_api_page_in_the_toc() -> None:
    entries = set(toc_entries(load_toc(ROOT), ROOT))
    for module in MODULES:
        page = ROOT / "book" / "api" / f"{module}.rst"
        assert page.is_file(), f"dlfoundations.{module} has no API page {page.relative_to(ROOT)}"
        assert f".. automodule:: dlfoundations.{module}" in page.read_text(encoding="utf-8")
        assert f"book/api/{module}" in entries, f"book/api/{module} is not in _toc.yml"


@pytest.mark.parametrize("module", ["__init__", "_validation", *MODULES])
def test_docstrings_hold_no_myst_markup(module: str) -> None:
    raw = [
        f"{name} (line {line}): {match.group(0)}"
        for name, line, doc in _docstrings(SOURCE_DIR / f"{module}.py")
        for match in MYST_ROLE.finditer(doc)
    ]
    assert not raw, f"dlfoundations.{module}: MyST markup in docstrings (use :ref:, :eq:, :func:): {raw}"


def test_the_myst_checker_catches_a_role(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('def f():\n    """See {ref}`sec-x` and {eq}`eq-y`."""\n')
    assert len([m for _, _, doc in _docstrings(bad) for m in MYST_ROLE.finditer(doc)]) == 2


# ---------------------------------------------------------------- the built reference


@pytest.mark.site
@pytest.mark.parametrize("module", MODULES)
def test_every_public_object_has_an_entry(built_html: Path, module: str) -> None:
    html = (built_html / "book" / "api" / f"{module}.html").read_text(encoding="utf-8")
    public = importlib.import_module(f"dlfoundations.{module}").__all__
    missing = [name for name in public if f'id="dlfoundations.{module}.{name}"' not in html]
    assert not missing, f"dlfoundations.{module}: no API entry for {missing}"
    assert not MYST_ROLE.search(html), f"book/api/{module}.html shows raw MyST markup"


@pytest.mark.site
def test_listings_link_to_the_api_reference(built_html: Path) -> None:
    linked = 0
    for page in sorted((built_html / "book").rglob("*.html")):
        if "api" in page.relative_to(built_html).parts:
            continue
        html = page.read_text(encoding="utf-8")
        for caption in re.findall(r'<div class="literal-block-wrapper dlf-listing[^"]*"[^>]*>\s*<div class="code-block-caption">(.*?)</div>', html, re.DOTALL):
            # An object's entry (#dlfoundations.mod.name), or a module's (#module-dlfoundations.mod) for a private helper.
            targets = re.findall(r'href="([^"]*api/[a-z_]+\.html#(?:module-)?dlfoundations[^"]*)"', caption)
            assert targets, f"{page.name}: a listing caption without an API link: {caption[:200]}"
            linked += 1
    assert linked >= 90
