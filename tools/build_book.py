"""Build the book with Jupyter Book 1.x: chapters executed in parallel, re-executed by dependency.

``make book`` runs this script. It does two things, then the Sphinx pass::

    jupyter-book build <root> -W -n --keep-going

1. **Parallel execution.** Every chapter whose cached outputs are out of date is
   executed first, on a pool of ``--jobs`` worker processes (default: the
   machine's cores; ``make book JOBS=1`` runs one at a time), into the same
   jupyter-cache that MyST-NB reads (``tools/parallel_execute.py``). The Sphinx
   pass then takes every output from the cache and stays serial: Jupyter Book
   1's command line has no ``-j``, and MyST-NB's parallel reading is not vetted
   for every extension the book uses. A chapter that fails stops the build with
   its name and its traceback; the other chapters still finish and are cached.

2. **Cache invalidation by dependency.** MyST-NB's cache keys a chapter on its
   own code cells (MyST-NB issue 299), so it cannot see that a module the
   chapter imports changed. Each cache record here also stores the SHA-256 of
   every package file the chapter imports, directly or through other package
   modules (read with ``ast`` by ``tools/import_graph.py``), and of
   ``requirements.txt`` and ``pyproject.toml``. A change in ``src/`` re-executes
   only the chapters that import the changed module; a change in the
   requirements re-executes every chapter.

Two groups of files make pages be re-read without re-executing anything:
``--reread`` (by default the bibliography: sphinxcontrib-bibtex's incremental
rebuild can fail with a ``KeyError`` when ``references.bib`` gains entries that
unchanged pages do not cite yet), and a failed last build (Sphinx reports a
page's warnings only when it reads the page). Both pass ``--all``.

``--page FILE`` is the one-chapter loop (``make page``): it executes that page
when it is out of date, and any other page that Sphinx is about to read and
whose code is not in the cache at all; other out-of-date chapters keep their
outputs until the next full ``make book``.

Usage::

    python tools/build_book.py [--root DIR] [--jobs N] [--page FILE] [--execute-only]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parallel_execute import (  # noqa: E402
    DEFAULT_GLOBAL_FILES,
    TIMES_FILE,
    Decision,
    attach_dependencies,
    decide,
    default_jobs,
    execute_chapters,
    failure_report,
    load_book,
    read_chapter,
    source_of,
)

DEFAULT_REREAD = ("book/references.bib",)
REREAD_HASH_FILE = "reread.sha256"
#: Doctrees of the builds that share the execution cache: `make book`'s and `make preview`'s.
OTHER_DOCTREES = (".doctrees", "preview/doctrees")
FAILED_MARKER = "last-build-failed"
#: MyST-NB logs this when it executes a notebook itself (the pre-execution missed it).
SPHINX_EXECUTED = "Executing notebook"


def log(message: str) -> None:
    print(f"build_book: {message}", flush=True)


def files_hash(root: Path, entries: list[str]) -> str:
    """Return the SHA-256 over the relative paths and bytes of the files (or folders) named."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for entry in entries:
        path = root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def page_docname(root: Path, page: str) -> str:
    """``book/part2/optimizers.md`` (relative to the root, or absolute) -> ``book/part2/optimizers``."""
    path = Path(page)
    if path.is_absolute():
        path = path.resolve().relative_to(root)
    return path.with_suffix("").as_posix() if path.suffix in (".md", ".ipynb", ".rst") else path.as_posix()


def sphinx_will_read(root: Path, doctree_dir: Path, docname: str, read_all: bool) -> bool:
    """Whether an incremental Sphinx build reads the page (mirrors ``get_outdated_files``)."""
    if read_all or not (doctree_dir / "environment.pickle").is_file():
        return True
    doctree = doctree_dir / (docname + ".doctree")
    source = source_of(root, docname)
    if not doctree.is_file() or source is None:
        return True
    return source.stat().st_mtime > doctree.stat().st_mtime


def limit_to_page(decisions: list[Decision], page: str, will_read) -> list[Decision]:
    """In page mode, keep executing only ``page`` and pages Sphinx reads that have no cache record.

    Returns the out-of-date chapters left for the next full build.
    """
    left = []
    for decision in decisions:
        if not decision.execute or decision.chapter.docname == page:
            continue
        if will_read(decision.chapter.docname) and decision.record_pk is None:
            continue  # MyST-NB would execute it during the Sphinx pass, one at a time
        decision.execute = False
        left.append(decision)
    return left


def run_sphinx(command: list[str], root: Path) -> tuple[int, int]:
    """Run the Sphinx pass, echoing its output; return (exit code, notebooks MyST-NB executed itself)."""
    log(" ".join(command))
    executed = 0
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True, errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:
            if SPHINX_EXECUTED in line:
                executed += 1
            sys.stdout.write(line)
            sys.stdout.flush()
    return process.returncode, executed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="folder holding _config.yml and _toc.yml")
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help="chapters executed at once (default: the machine's cores)")
    parser.add_argument("--page", help="build for one page: execute it (and only what Sphinx needs)")
    parser.add_argument("--execute-only", action="store_true", help="execute into the cache, skip the Sphinx pass")
    parser.add_argument("--doctree-dir", default=None,
                        help="the Sphinx doctrees to invalidate (default: _build/.doctrees)")
    parser.add_argument("--src", default="src", help="the package folder whose modules chapters import")
    parser.add_argument("--global-deps", nargs="*", default=list(DEFAULT_GLOBAL_FILES),
                        help="files (relative to --root) whose change re-executes every chapter")
    parser.add_argument("--reread", nargs="*", default=list(DEFAULT_REREAD),
                        help="files (relative to --root) whose change re-reads every page, executing nothing")
    parser.add_argument("--jupyter-book", default=str(Path(sys.executable).with_name("jupyter-book")),
                        help="the jupyter-book executable")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")

    root = Path(args.root).resolve()
    os.chdir(root)  # MyST-NB resolves the cache path against the working directory
    build_dir = root / "_build"
    doctree_dir = Path(args.doctree_dir).resolve() if args.doctree_dir else build_dir / ".doctrees"
    reread_stamp = build_dir / REREAD_HASH_FILE
    failed_marker = build_dir / FAILED_MARKER
    (build_dir / "deps.sha256").unlink(missing_ok=True)  # the whole-cache stamp of earlier versions

    current_reread = files_hash(root, args.reread)
    previous_reread = reread_stamp.read_text().strip() if reread_stamp.exists() else None
    read_all_reason = None
    if previous_reread is not None and previous_reread != current_reread:
        read_all_reason = "the bibliography changed; re-reading every page (execution cache kept)"
    elif failed_marker.exists():
        read_all_reason = "the last build failed; re-reading every page (execution cache kept)"

    # ---- which chapters to execute
    from jupyter_cache import get_cache

    book = load_book(root)
    chapters = [chapter for docname in book.docnames if (chapter := read_chapter(book, docname)) is not None]
    attach_dependencies(chapters, root, root / args.src, args.global_deps)
    cache = get_cache(str(book.cache_path))
    decisions = decide(chapters, cache)
    if args.page:
        page = page_docname(root, args.page)
        if page not in book.docnames:
            log(f"{args.page} is not a page of _toc.yml")
            return 2
        left = limit_to_page(decisions, page,
                             lambda d: sphinx_will_read(root, doctree_dir, d, read_all_reason is not None))
        if left:
            log(f"{len(left)} other chapter(s) out of date, left for `make book`: "
                + ", ".join(d.chapter.docname for d in left))
    stale = [d for d in decisions if d.execute]
    if not stale:
        log(f"all {len(chapters)} executable chapters are up to date in the cache")
    jobs = args.jobs or default_jobs()
    # Every build folder that reads this cache must re-read the pages executed now.
    doctree_dirs = sorted({doctree_dir, *(build_dir / folder for folder in OTHER_DOCTREES)})
    outcomes = execute_chapters(decisions, cache, jobs, build_dir / TIMES_FILE, doctree_dirs, log=log)
    failures = [outcome for outcome in outcomes if outcome.error is not None]
    if failures:
        for outcome in failures:
            print(failure_report(outcome), file=sys.stderr, flush=True)
        log("FAILED: " + ", ".join(f"{outcome.docname} raised an error" for outcome in failures))
        failed_marker.parent.mkdir(parents=True, exist_ok=True)
        failed_marker.write_text("a chapter failed to execute\n")
        return 1
    if args.execute_only:
        return 0

    # ---- the Sphinx pass, serial, every output from the cache
    command = [args.jupyter_book, "build", str(root), "-W", "-n", "--keep-going"]
    if read_all_reason:
        log(read_all_reason)
        command.append("--all")
    reread_stamp.unlink(missing_ok=True)
    failed_marker.parent.mkdir(parents=True, exist_ok=True)
    failed_marker.write_text("a build started and has not succeeded yet\n")
    returncode, executed_by_sphinx = run_sphinx(command, root)
    if executed_by_sphinx:
        log(f"note: MyST-NB executed {executed_by_sphinx} notebook(s) itself during the Sphinx pass "
            "(a source changed while building, or the pre-execution did not match its cache key)")
    if returncode != 0:
        return returncode
    reread_stamp.write_text(current_reread + "\n")
    failed_marker.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
