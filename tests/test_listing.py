"""The ``listing`` Sphinx extension (tools/listing.py) and the listing measurements (tools/measure_listings.py).

Unit tests of the docstring stripping and name resolution; every listing in
the book resolves; and a small Sphinx project built in strict mode shows that
a listing renders without docstrings, links to its autodoc entry, and fails
the build when that entry does not exist.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import listing  # noqa: E402
import measure_listings  # noqa: E402
from listing import ListingError, link_target, make_listing, split_target, strip_docstrings  # noqa: E402

SOURCE = textwrap.dedent(
    '''\
    """Module docstring."""

    import functools


    def plain(x):
        """One line."""
        return x + 1


    @functools.cache
    def decorated(x):
        """Several
        lines.
        """

        y = x * 2  # a comment stays
        return y


    def only_docstring():
        """Nothing else."""


    class Thing:
        """A class."""

        size = 3

        def method(self, x):
            """A method."""
            text = """not a docstring"""
            return text * x

        class Inner:
            """Inner."""

            def deep(self):
                """Deep."""
                return 1


    def plain(x):
        return x + 2
    '''
)


def _has_docstring(code: str) -> bool:
    tree = ast.parse(code)
    return any(
        isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node) is not None
        for node in ast.walk(tree)
    )


# ---------------------------------------------------------------- stripping


def test_strip_function_docstring_and_keep_signature():
    code = strip_docstrings(SOURCE, ["decorated"])
    assert code.splitlines()[0] == "@functools.cache"
    assert code.splitlines()[1] == "def decorated(x):"
    assert "Several" not in code and "lines." not in code
    assert "y = x * 2  # a comment stays" in code
    # the blank line after the dropped docstring goes with it
    assert code.splitlines()[2].strip() == "y = x * 2  # a comment stays"
    assert not _has_docstring(code)


def test_later_definition_wins_as_in_python():
    assert strip_docstrings(SOURCE, ["plain"]) == "def plain(x):\n    return x + 2"


def test_body_of_only_a_docstring_keeps_valid_python():
    code = strip_docstrings(SOURCE, ["only_docstring"])
    assert code == "def only_docstring():\n    ..."
    ast.parse(code)


def test_class_drops_nested_docstrings_but_keeps_other_strings():
    code = strip_docstrings(SOURCE, ["Thing"])
    ast.parse(code)
    assert not _has_docstring(code)
    assert 'text = """not a docstring"""' in code
    for gone in ("A class.", "A method.", "Inner.", "Deep."):
        assert gone not in code
    assert code.splitlines()[:2] == ["class Thing:", "    size = 3"]


def test_method_is_dedented():
    code = strip_docstrings(SOURCE, ["Thing", "method"])
    assert code.splitlines()[0] == "def method(self, x):"
    assert code.splitlines()[1] == '    text = """not a docstring"""'


def test_nested_path_and_missing_names():
    assert strip_docstrings(SOURCE, ["Thing", "Inner", "deep"]) == "def deep(self):\n    return 1"
    with pytest.raises(ListingError, match="no function or class 'missing'"):
        strip_docstrings(SOURCE, ["Thing", "missing"])


def test_whole_module_without_its_docstring():
    code = strip_docstrings(SOURCE, [])
    assert code.startswith("import functools")
    assert not _has_docstring(code)


# ---------------------------------------------------------------- names and links


def test_split_target_finds_the_module_file():
    source_dir = ROOT / "src" / "dlfoundations"
    module, path, names = split_target("dlfoundations.optim.SGD.step", source_dir)
    assert (module, path.name, names) == ("dlfoundations.optim", "optim.py", ["SGD", "step"])
    assert split_target("dlfoundations.losses", source_dir)[2] == []


@pytest.mark.parametrize("bad", ["losses.mse_loss", "dlfoundations", "torch.nn.functional.mse_loss", "dlfoundations.no_such_module.f", "dlfoundations.losses.mse loss"])
def test_split_target_rejects_bad_names(bad):
    with pytest.raises(ListingError):
        split_target(bad, ROOT / "src" / "dlfoundations")


def test_private_objects_link_to_their_module():
    assert link_target("dlfoundations.conv", ["_pool_windows"]) == ("dlfoundations.conv", "mod")
    assert link_target("dlfoundations.train", ["EarlyStopping", "step"]) == ("dlfoundations.train.EarlyStopping.step", "obj")
    assert link_target("dlfoundations.checkpoint", ["CheckpointOnImprovement", "__call__"]) == (
        "dlfoundations.checkpoint.CheckpointOnImprovement",
        "obj",
    )


def test_slice_options_apply_after_stripping(tmp_path):
    package = tmp_path / "toypkg"
    package.mkdir()
    (package / "mod.py").write_text(SOURCE)
    shown = make_listing("toypkg.mod.decorated", package, {"start-at": "y = x", "end-before": "return"}, package="toypkg")
    assert shown.code == "y = x * 2  # a comment stays"
    with pytest.raises(ListingError, match="no line contains"):
        make_listing("toypkg.mod.decorated", package, {"start-at": "absent"}, package="toypkg")


# ---------------------------------------------------------------- the book's listings

LISTING = re.compile(r"^```\{listing\} (\S+)\n((?::[a-z-]+:.*\n)*)```", re.MULTILINE)


def _book_listings() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for page in sorted((ROOT / "book").rglob("*.md")):
        for match in LISTING.finditer(page.read_text(encoding="utf-8")):
            options = {key: value.strip().strip('"') for key, value in re.findall(r":([a-z-]+):(.*)\n", match.group(2))}
            found.append((page.relative_to(ROOT).as_posix(), match.group(1), options))
    return found


BOOK_LISTINGS = _book_listings()


def test_the_book_uses_listings_not_literalinclude():
    assert len(BOOK_LISTINGS) >= 90
    for page in (ROOT / "book").rglob("*.md"):
        assert "{literalinclude}" not in page.read_text(encoding="utf-8"), f"{page}: use the listing directive"


@pytest.mark.parametrize(("page", "dotted", "options"), BOOK_LISTINGS, ids=[f"{p}:{d}" for p, d, _ in BOOK_LISTINGS])
def test_every_book_listing_resolves_without_docstrings(page, dotted, options):
    shown = make_listing(dotted, ROOT / "src" / "dlfoundations", options)
    if not options:
        ast.parse(shown.code)  # a whole object is valid Python on its own
    assert '"""' not in shown.code or not _has_docstring(shown.code)
    assert len(shown.code.splitlines()) <= measure_listings.MAX_TARGET, f"{page}: {dotted} shows {len(shown.code.splitlines())} lines"


# ---------------------------------------------------------------- a strict Sphinx build


def _write_project(root: Path, listed: str) -> None:
    package = root / "src" / "toypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(SOURCE.replace("\n\ndef plain(x):\n    return x + 2\n", "\n"))
    (root / "conf.py").write_text(
        textwrap.dedent(
            f"""\
            import sys
            sys.path.insert(0, {str(root / "src")!r})
            sys.path.insert(0, {str(ROOT / "tools")!r})
            extensions = ["sphinx.ext.autodoc", "listing"]
            listing_package = "toypkg"
            listing_source_dir = "src/toypkg"
            nitpicky = True
            """
        )
    )
    (root / "index.rst").write_text(f"Listings\n========\n\n.. listing:: {listed}\n\n.. toctree::\n\n   api\n")
    (root / "api.rst").write_text("API\n===\n\n.. automodule:: toypkg.mod\n   :members:\n")


def _build(root: Path) -> int:
    from sphinx.cmd.build import build_main

    return build_main(["-q", "-W", "-n", "-b", "html", str(root), str(root / "_build"), "-d", str(root / "_doctree")])


def test_sphinx_build_shows_code_without_docstring_and_links_to_api(tmp_path):
    _write_project(tmp_path, "toypkg.mod.decorated")
    assert _build(tmp_path) == 0
    html = (tmp_path / "_build" / "index.html").read_text(encoding="utf-8")
    assert "Several" not in html and "comment stays" in html
    assert 'href="api.html#toypkg.mod.decorated"' in html
    assert "dlf-listing" in html


def test_sphinx_build_fails_when_the_api_entry_is_missing(tmp_path):
    # `only_docstring` is documented, but a listing of a class attribute autodoc skips has no entry to link to.
    _write_project(tmp_path, "toypkg.mod.Thing.Inner.deep")
    (tmp_path / "api.rst").write_text("API\n===\n\n.. autofunction:: toypkg.mod.plain\n")
    assert _build(tmp_path) != 0


# ---------------------------------------------------------------- measuring


def test_measure_counts_lines_and_docstrings_outside_cells():
    html = textwrap.dedent(
        """\
        <div class="literal-block-wrapper"><div class="code-block-caption"><span class="caption-text">f</span></div>
        <div class="highlight-python notranslate"><div class="highlight"><pre><span class="k">def</span> <span class="nf">f</span>():
            <span class="sd">&quot;&quot;&quot;Doc</span>
        <span class="sd">    more.&quot;&quot;&quot;</span>
            <span class="k">return</span> <span class="mi">1</span>
        </pre></div></div></div>
        <div class="cell"><div class="highlight-ipython3"><div class="highlight"><pre>x = 1
        </pre></div></div></div>
        """
    )
    found = measure_listings.listings_in_html(html, "page.html")
    assert [(item.lines, item.docstring_lines, item.caption) for item in found] == [(4, 2, "f")]
    summary = measure_listings.summarise(found)
    assert summary.docstring_share == 0.5 and not summary.meets_targets
