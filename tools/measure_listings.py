"""Measure the code listings of the built book: how long they are, how much is docstring.

A listing is a Python code block (Pygments lexer `python` or Sphinx's `default`) a reader sees outside an executed cell: what
the ``listing`` directive (tools/listing.py) or a ``literalinclude`` shows, and
fenced Python blocks in the prose. Notebook cells are not listings (they are
the chapter's own code), and the API reference pages are not measured (showing
docstrings is their job).

For each listing the script counts the lines shown and the docstring lines
among them (lines Pygments highlights as ``String.Doc``, CSS class ``sd``).
Targets (issue 9): the median listing shows at most 25 lines, none more than
60, and docstring lines are at most 10 % of all listing lines.

Usage::

    python tools/measure_listings.py [_build/html] [--check] [--top N]

``--check`` exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

MEDIAN_TARGET = 25
MAX_TARGET = 60
DOCSTRING_SHARE_TARGET = 0.10
# Pages that are not chapters: generated source and the API reference.
SKIPPED_PARTS = ("_modules", "_static", "_sources", "api", "genindex", "search", "py-modindex")


@dataclass(frozen=True)
class Listing:
    page: str
    caption: str
    lines: int
    docstring_lines: int


@dataclass(frozen=True)
class Summary:
    count: int
    median: float
    longest: int
    total_lines: int
    docstring_lines: int

    @property
    def docstring_share(self) -> float:
        return self.docstring_lines / self.total_lines if self.total_lines else 0.0

    @property
    def meets_targets(self) -> bool:
        return (
            self.median <= MEDIAN_TARGET
            and self.longest <= MAX_TARGET
            and self.docstring_share <= DOCSTRING_SHARE_TARGET
        )


def listings_in_html(html: str, page: str) -> list[Listing]:
    """Every Python code block of one HTML page that is not inside a notebook cell."""
    soup = BeautifulSoup(html, "html.parser")
    found: list[Listing] = []
    for block in soup.select("div.highlight-python, div.highlight-python3, div.highlight-ipython3, div.highlight-default"):
        if block.find_parent(class_="cell") is not None:
            continue
        pre = block.find("pre")
        if pre is None:
            continue
        text_lines = pre.get_text().rstrip("\n").split("\n")
        docstring = 0
        for line in _html_lines(pre):
            if any("sd" in (span.get("class") or []) for span in line):
                docstring += 1
        wrapper = block.find_parent(class_="literal-block-wrapper")
        caption = ""
        if wrapper is not None and wrapper.find(class_="caption-text") is not None:
            caption = wrapper.find(class_="caption-text").get_text(" ", strip=True)
        elif wrapper is not None and wrapper.find(class_="code-block-caption") is not None:
            caption = wrapper.find(class_="code-block-caption").get_text(" ", strip=True)
        found.append(Listing(page=page, caption=caption or _first_code_line(text_lines), lines=len(text_lines), docstring_lines=docstring))
    return found


def _first_code_line(lines: list[str]) -> str:
    return next((line.strip() for line in lines if line.strip()), "")[:60]


def _html_lines(pre) -> list[list]:
    """The spans of each shown line (a span may cover several lines: a docstring)."""
    lines: list[list] = [[]]
    for node in pre.descendants:
        if isinstance(node, str):
            parent = node.parent
            pieces = str(node).split("\n")
            for i, _ in enumerate(pieces):
                if i:
                    lines.append([])
                if parent is not None and parent.name == "span":
                    lines[-1].append(parent)
    if lines and not lines[-1]:
        lines.pop()
    return lines


def measure(site: Path) -> list[Listing]:
    """All listings of the built site, page by page."""
    listings: list[Listing] = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site)
        if any(part in SKIPPED_PARTS for part in relative.parts) or relative.stem in SKIPPED_PARTS:
            continue
        listings.extend(listings_in_html(path.read_text(encoding="utf-8"), relative.as_posix()))
    return listings


def summarise(listings: list[Listing]) -> Summary:
    lengths = [listing.lines for listing in listings]
    return Summary(
        count=len(listings),
        median=statistics.median(lengths) if lengths else 0.0,
        longest=max(lengths, default=0),
        total_lines=sum(lengths),
        docstring_lines=sum(listing.docstring_lines for listing in listings),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="_build/html", help="the built HTML folder")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--top", type=int, default=10, help="how many of the longest listings to list")
    args = parser.parse_args(argv)
    site = Path(args.site)
    if not site.is_dir():
        parser.error(f"no built site at {site}: run `make book` first")
    listings = measure(site)
    summary = summarise(listings)
    print(f"listings: {summary.count} on {len({listing.page for listing in listings})} pages")
    print(f"shown lines: median {summary.median:g} (target <= {MEDIAN_TARGET}), longest {summary.longest} (target <= {MAX_TARGET}), total {summary.total_lines}")
    print(f"docstring lines: {summary.docstring_lines} = {100 * summary.docstring_share:.1f} % (target <= {100 * DOCSTRING_SHARE_TARGET:g} %)")
    print(f"longest {args.top}:")
    for listing in sorted(listings, key=lambda item: -item.lines)[: args.top]:
        print(f"  {listing.lines:4d} lines, {listing.docstring_lines:3d} docstring  {listing.page}  {listing.caption}")
    print("targets met" if summary.meets_targets else "targets MISSED")
    return 0 if summary.meets_targets or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
