"""Read `_toc.yml` and the pages under `book/`: shared by test_toc.py and test_site.py.

Not a test module (pytest collects only ``test_*.py``). The functions take the
repository root as an argument so the unit tests can run them on a synthetic
book in ``tmp_path``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

PAGE_SUFFIXES = (".md", ".ipynb", ".rst")


def load_toc(root: Path) -> dict:
    """Return the parsed ``_toc.yml`` of the book at ``root``."""
    with open(root / "_toc.yml", encoding="utf-8") as handle:
        toc = yaml.safe_load(handle)
    if not isinstance(toc, dict):
        raise ValueError(f"expected a mapping in {root / '_toc.yml'}, got {type(toc).__name__}")
    return toc


def toc_entries(toc: dict, root: Path | None = None) -> list[str]:
    """Return every page of the TOC, in reading order, as written there (no suffix).

    Walks ``root``, every ``file:`` at any depth (parts, chapters, sections), and
    expands ``glob:`` entries against the files under ``root`` when it is given.
    ``url:`` entries are external links, not pages, and are skipped.
    """
    entries: list[str] = []
    if "root" in toc:
        entries.append(str(toc["root"]))

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node:
                entries.append(str(node["file"]))
            if "glob" in node and root is not None:
                for path in sorted(root.glob(str(node["glob"]))):
                    if path.suffix in PAGE_SUFFIXES:
                        entries.append(path.relative_to(root).with_suffix("").as_posix())
            for key, value in node.items():
                if key not in ("file", "glob", "root", "url", "title"):
                    walk(value)

    walk({key: value for key, value in toc.items() if key != "root"})
    return entries


def resolve_entry(root: Path, entry: str) -> Path | None:
    """Return the source file a TOC entry names (``.md`` or ``.ipynb``), or None."""
    path = root / entry
    if path.suffix in PAGE_SUFFIXES and path.is_file():
        return path
    for suffix in PAGE_SUFFIXES:
        candidate = root / (entry + suffix)
        if candidate.is_file():
            return candidate
    return None


def page_name(entry: str) -> str:
    """Return the TOC entry without a page suffix (``book/part1/tensors``)."""
    for suffix in PAGE_SUFFIXES:
        if entry.endswith(suffix):
            return entry[: -len(suffix)]
    return entry


def book_pages(root: Path, pages_dir: str = "book") -> list[Path]:
    """Return every .md/.ipynb page under ``root/pages_dir``.

    Folders starting with ``_`` or ``.`` (``_static``, ``.ipynb_checkpoints``)
    hold no pages and are skipped.
    """
    base = root / pages_dir
    pages = []
    for path in sorted(base.rglob("*")):
        if path.suffix not in PAGE_SUFFIXES or not path.is_file():
            continue
        folders = path.relative_to(base).parts[:-1]
        if any(part.startswith(("_", ".")) for part in folders):
            continue
        pages.append(path)
    return pages


def check_toc(root: Path, toc: dict | None = None, pages_dir: str = "book") -> tuple[list[str], list[str]]:
    """Compare the TOC with the pages on disk.

    Returns:
        ``(missing, orphans)``: TOC entries with no .md/.ipynb file, and pages
        under ``pages_dir`` that no TOC entry names (both as posix paths
        relative to ``root``). Both empty means the two agree.
    """
    toc = load_toc(root) if toc is None else toc
    missing: list[str] = []
    listed: set[Path] = set()
    for entry in toc_entries(toc, root):
        source = resolve_entry(root, entry)
        if source is None:
            missing.append(entry)
        else:
            listed.add(source.resolve())
    orphans = [
        path.relative_to(root).as_posix()
        for path in book_pages(root, pages_dir)
        if path.resolve() not in listed
    ]
    return missing, orphans


def front_matter(path: Path) -> dict:
    """Return the YAML front matter of a MyST page, or a notebook's metadata."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return json.loads(text).get("metadata", {})
    match = re.match(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*$", text, re.DOTALL | re.MULTILINE)
    if match is None:
        return {}
    data = yaml.safe_load(match.group(1))
    return data if isinstance(data, dict) else {}


_CODE_CELL = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*\{code-cell\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)


def code_cells(path: Path) -> list[str]:
    """Return the source of every code cell of a MyST page or notebook."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        return [
            "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for cell in cells
            if cell.get("cell_type") == "code"
        ]
    return [match.group("body") for match in _CODE_CELL.finditer(text)]


def is_executed(path: Path) -> bool:
    """True when a page is a notebook that runs at build time (it has a kernelspec)."""
    return "kernelspec" in front_matter(path)


_SEED_CALL = re.compile(r"^[^#\n]*\bseed_everything\s*\(", re.MULTILINE)


def calls_seed_everything(path: Path) -> bool:
    """True when a code cell (not a comment) of the page calls ``seed_everything(...)``."""
    return any(_SEED_CALL.search(cell) for cell in code_cells(path))


def toc_pages(root: Path) -> list[str]:
    """Return the TOC pages without suffix, in order, without duplicates.

    Used to parametrize the site tests, so it never raises: a broken TOC gives
    an empty list here and a failure in test_toc.py.
    """
    try:
        toc = load_toc(root)
    except (OSError, ValueError, yaml.YAMLError):
        return []
    seen: dict[str, None] = {}
    for entry in toc_entries(toc, root):
        seen.setdefault(page_name(entry), None)
    return list(seen)
