"""Measure the book's build, test and size budgets and print them as a table.

``make benchmark`` runs this from the repository root. It measures:

a. a clean ``make book`` (``_build`` removed first; ``--skip-clean`` keeps it),
b. a second ``make book`` with nothing changed (make's up-to-date check),
c. a forced ``jupyter-book build . -W -n --keep-going`` with nothing changed, and
   the same with ``--all`` (every chapter re-read, outputs from the execution
   cache: nothing may execute),
d. ``make test`` on top of the up-to-date build (``--skip-test`` leaves it out),
e. per TOC page, the size of its HTML plus the images it references,
f. per chapter, the execution time stored in the Jupyter cache (and the clean
   build's log).

g. per part of the book, the summed execution time, and Part I's share of the
   clean build (the clean build minus the execution of the other parts).

Budgets (from the issues): a clean build of Part I < 180 s including execution;
Part II's chapters execute in < 300 s together and < 90 s each; Part III's in
< 360 s together and < 120 s each; so the whole clean build < 840 s. A second
build < 30 s, make test < 120 s, a page with its images < 1.5 MB (10^6 bytes).
Exits 1 when a step fails or a budget is exceeded.

Usage::

    python benchmarks/book_budget.py [--root DIR] [--skip-clean] [--skip-test]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

# The TOC is read by the same code the tests use (tests/book_pages.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from book_pages import resolve_entry, toc_pages  # noqa: E402

BUDGET_PART1_CLEAN_S = 180.0
#: caption prefix in _toc.yml -> (budget for the part's total execution, budget per chapter), seconds
BUDGET_PART_EXEC_S = {"Part II": (300.0, 90.0), "Part III": (360.0, 120.0)}
BUDGET_CLEAN_S = BUDGET_PART1_CLEAN_S + sum(total for total, _ in BUDGET_PART_EXEC_S.values())
BUDGET_SECOND_S = 30.0
BUDGET_TEST_S = 120.0
BUDGET_PAGE_MB = 1.5
MB = 1_000_000

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXECUTED = re.compile(r"^(?P<path>\S+): Executed notebook in (?P<seconds>[0-9.]+) seconds", re.MULTILINE)


@dataclass
class Row:
    measure: str
    value: str
    budget: str = ""
    ok: bool | None = None  # None: informational

    @property
    def status(self) -> str:
        return {True: "ok", False: "OVER", None: ""}[self.ok]


@dataclass
class Run:
    seconds: float
    returncode: int
    output: str


def run(command: list[str], root: Path, env: dict[str, str], label: str) -> Run:
    print(f"book_budget: {label}: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    output = ANSI.sub("", result.stdout)
    status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    print(f"book_budget: {label}: {seconds:.1f} s, {status}", flush=True)
    if result.returncode != 0:
        print(output[-3000:], file=sys.stderr)
    return Run(seconds, result.returncode, output)


def timed_row(measure: str, result: Run, budget: float | None) -> Row:
    failed = result.returncode != 0
    value = f"{result.seconds:.1f} s" + (f" (exit {result.returncode})" if failed else "")
    if budget is None:
        return Row(measure, value, "", False if failed else None)
    return Row(measure, value, f"< {budget:.0f} s", not failed and result.seconds < budget)


# ----------------------------------------------------------------- the TOC


def page_source(root: Path, page: str) -> Path | None:
    """The source file (.md or .ipynb) of a TOC page, or None."""
    return resolve_entry(root, page)


# --------------------------------------------------------- (e) page sizes


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            src = dict(attrs).get("src")
            if src:
                self.sources.append(src)


def page_size(html_dir: Path, page: str) -> tuple[int, int, list[str]]:
    """Return (bytes of HTML + local images, number of images, problems)."""
    html_file = html_dir / (page + ".html")
    if not html_file.is_file():
        return 0, 0, [f"{html_file} missing"]
    parser = _Images()
    parser.feed(html_file.read_text(encoding="utf-8", errors="replace"))
    total = html_file.stat().st_size
    problems: list[str] = []
    seen: set[Path] = set()
    for src in parser.sources:
        parts = urlsplit(src)
        if parts.scheme or src.startswith("//"):
            continue  # data: URIs are inside the HTML already; remote ones are the site tests' business
        image = (html_file.parent / unquote(parts.path)).resolve()
        if image in seen:
            continue
        seen.add(image)
        if image.is_file():
            total += image.stat().st_size
        else:
            problems.append(f"missing image {src}")
    return total, len(seen), problems


# --------------------------------------------------- (f) execution times


def cache_path(root: Path) -> Path:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    path = (config.get("execute") or {}).get("cache") or "_build/.jupyter_cache"
    return root / path


def cached_execution_seconds(root: Path, pages: list[str]) -> dict[str, tuple[float | None, str]]:
    """Per executed page: (seconds, note) from the Jupyter cache record matching its code.

    MyST-NB stores ``execution_seconds`` in each cache record's ``data``. Pages
    with identical code cells share one record (and so one execution).
    """
    try:
        import nbformat
        from jupyter_cache import get_cache
        from myst_nb.core.read import read_myst_markdown_notebook
    except ImportError as error:
        return {page: (None, f"cannot read the cache: {error}") for page in pages}
    path = cache_path(root)
    if not path.is_dir():
        return {page: (None, f"no cache at {path}") for page in pages}
    cache = get_cache(str(path))
    times: dict[str, tuple[float | None, str]] = {}
    owners: dict[int, str] = {}
    for page in pages:
        source = page_source(root, page)
        if source is None:
            continue
        text = source.read_text(encoding="utf-8")
        if source.suffix == ".ipynb":
            notebook = nbformat.reads(text, as_version=4)
            if "kernelspec" not in notebook.metadata:
                continue
        else:
            if not re.match(r"\A---\s*\n.*?^kernelspec:", text, re.DOTALL | re.MULTILINE):
                continue
            notebook = read_myst_markdown_notebook(text, path=str(source))
        try:
            record = cache.match_cache_notebook(notebook)
        except KeyError:
            times[page] = (None, "not in the cache")
            continue
        seconds = (record.data or {}).get("execution_seconds")
        note = f"cache record {record.pk}"
        if record.pk in owners:
            note += f" (same code as {owners[record.pk]})"
        owners.setdefault(record.pk, page)
        times[page] = (seconds, note)
    return times


def logged_execution_seconds(root: Path, output: str) -> dict[str, float]:
    """Per page: 'Executed notebook in X seconds' from a build's log."""
    times: dict[str, float] = {}
    for match in EXECUTED.finditer(output):
        path = Path(match.group("path"))
        try:
            page = path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
        except ValueError:
            page = path.as_posix()
        times[page] = float(match.group("seconds"))
    return times


# ------------------------------------------------------------------- main


def toc_parts(root: Path) -> dict[str, list[str]]:
    """Return ``{part caption: [page, ...]}`` from ``_toc.yml``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    parts: dict[str, list[str]] = {}
    for part in toc.get("parts", []):
        parts[part.get("caption", "")] = [chapter["file"] for chapter in part.get("chapters", []) if "file" in chapter]
    return parts


def print_table(rows: list[Row]) -> None:
    headers = ("measure", "value", "budget", "status")
    table = [headers] + [(r.measure, r.value, r.budget, r.status) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print()
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if index == 0:
            print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="repository root (holds the Makefile, _config.yml, _toc.yml)")
    parser.add_argument("--skip-clean", action="store_true", help="keep _build: (a) is then an incremental build")
    parser.add_argument("--skip-test", action="store_true", help="do not time `make test`")
    parser.add_argument("--make", default=os.environ.get("MAKE", "make"), help="the make program")
    args = parser.parse_args(argv)

    root = Path(args.root).resolve()
    html_dir = root / "_build" / "html"
    venv_bin = root / ".venv" / "bin"
    jupyter_book = venv_bin / "jupyter-book"
    if not jupyter_book.exists():
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)  # run make as a user would, not as our parent make's child
    env.pop("MAKELEVEL", None)
    env.setdefault("JUPYTER_PATH", str(root / ".venv" / "share" / "jupyter"))
    env.setdefault("PYTHONHASHSEED", "0")

    rows: list[Row] = []

    # (a) clean build
    if not args.skip_clean:
        print(f"book_budget: removing {root / '_build'}", flush=True)
        shutil.rmtree(root / "_build", ignore_errors=True)
    first = run([args.make, "book"], root, env, "make book (clean)" if not args.skip_clean else "make book")
    rows.append(timed_row("a. make book, clean" if not args.skip_clean else "a. make book (not clean)",
                          first, BUDGET_CLEAN_S if not args.skip_clean else None))

    # (b) nothing changed: make's up-to-date check
    second = run([args.make, "book"], root, env, "make book (nothing changed)")
    rows.append(timed_row("b. make book, nothing changed", second, BUDGET_SECOND_S))

    # (c) jupyter-book itself with nothing changed, without and with --all
    command = [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"]
    forced = run(command, root, env, "jupyter-book build (nothing changed)")
    rows.append(timed_row("c. jupyter-book build, nothing changed", forced, None))
    forced_all = run(command + ["--all"], root, env, "jupyter-book build --all (from cache)")
    rows.append(timed_row("c. jupyter-book build --all (cache)", forced_all, None))
    executed = forced.output.count("Executing notebook") + forced_all.output.count("Executing notebook")
    from_cache = forced_all.output.count("Using cached notebook")
    rows.append(Row("c. notebooks executed / from cache", f"{executed} / {from_cache}", "0 executed", executed == 0))

    # (d) make test on the up-to-date build
    if not args.skip_test:
        tested = run([args.make, "test"], root, env, "make test")
        rows.append(timed_row("d. make test", tested, BUDGET_TEST_S))
        summary = re.findall(r"=+ (.*(?:passed|failed|error|skipped).*) in [0-9.]+s", tested.output)
        if summary:
            rows.append(Row("d. pytest summaries", " | ".join(summary)))

    # (e) page sizes, (f) execution times
    pages = toc_pages(root)
    cached = cached_execution_seconds(root, pages)
    logged = logged_execution_seconds(root, first.output)
    for page in pages:
        size, images, problems = page_size(html_dir, page)
        value = f"{size / MB:.3f} MB ({images} image{'s' if images != 1 else ''})"
        if problems:
            value += "; " + "; ".join(problems)
        rows.append(Row(f"e. {page}", value, f"< {BUDGET_PAGE_MB} MB",
                        not problems and size / MB < BUDGET_PAGE_MB))
    for page in pages:
        if page not in cached and page not in logged:
            continue
        seconds, note = cached.get(page, (None, "not in the cache"))
        parts = [f"{seconds:.2f} s" if seconds is not None else "?", note]
        if page in logged:
            parts.append(f"clean build log: {logged[page]:.2f} s")
        rows.append(Row(f"f. execute {page}", "; ".join(parts)))

    # (g) per part: summed execution, and Part I's clean build
    seconds_of = {page: (cached.get(page, (None, ""))[0] or logged.get(page)) for page in pages}
    other_parts_exec = 0.0
    for caption, part_pages in toc_parts(root).items():
        key = next((k for k in BUDGET_PART_EXEC_S if caption.startswith(k + ":")), None)
        times = [seconds_of[p] for p in part_pages if seconds_of.get(p) is not None]
        if not times:
            continue
        total, slowest = sum(times), max(times)
        if key is None:
            rows.append(Row(f"g. {caption}: execution", f"{total:.1f} s in all, slowest {slowest:.1f} s"))
            continue
        other_parts_exec += total
        budget_total, budget_each = BUDGET_PART_EXEC_S[key]
        rows.append(Row(f"g. {caption}: execution", f"{total:.1f} s in all, slowest {slowest:.1f} s",
                        f"< {budget_total:.0f} s, each < {budget_each:.0f} s",
                        total < budget_total and slowest < budget_each))
    if not args.skip_clean and first.returncode == 0:
        part1 = first.seconds - other_parts_exec
        rows.append(Row("g. Part I clean build (a. minus Parts II-III execution)", f"{part1:.1f} s",
                        f"< {BUDGET_PART1_CLEAN_S:.0f} s", part1 < BUDGET_PART1_CLEAN_S))

    print_table(rows)
    over = [row.measure for row in rows if row.ok is False]
    if over:
        print(f"\nbook_budget: over budget or failed: {', '.join(over)}")
        return 1
    print("\nbook_budget: every budget met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
