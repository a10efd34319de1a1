"""Measure what parallel execution and cache invalidation by dependency buy (issue 10).

Run it in a clone, never in a working tree with edits in progress: it removes
``_build`` twice and edits one module of ``src/`` (and restores it)::

    git clone /path/to/book /tmp/bench && cd /tmp/bench
    make book                        # creates .venv; any build, to have the venv
    .venv/bin/python benchmarks/build_speed.py

It measures, with ``make`` as a reader runs it:

a. a clean ``make book JOBS=1`` and a clean ``make book`` (one worker per core),
   and their ratio (goal <= 0.6); then compares the numbers the two builds
   glued (``tools/compare_glue.py``): parallel execution must not change them;
b. the Sphinx pass for one chapter: ``make book`` after touching that chapter's
   source (it is re-read, nothing executes);
c. ``make book`` after a one-line change (a comment appended) in a module that
   only that chapter imports: it must re-execute that chapter and no other, in
   at most 1.5 x (the chapter's execution time + b.). The module is then restored
   and the book rebuilt, so the clone is left as it was.

The module defaults to the package module imported by exactly one chapter whose
chapter is the slowest such one (``--module`` picks another).

Usage::

    python benchmarks/build_speed.py [--root DIR] [--module src/dlfoundations/x.py] [--skip-clean]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from import_graph import ImportGraph  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXECUTED = re.compile(r"build_book:\s+executed (\S+) in ([0-9.]+) s")
GOAL_RATIO = 0.6
GOAL_CHANGE = 1.5


def make(root: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    command = [os.environ.get("MAKE", "make"), *args]
    print(f"build_speed: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    output = ANSI.sub("", result.stdout)
    if result.returncode != 0:
        print(output[-5000:], file=sys.stderr)
        raise SystemExit(f"build_speed: `{' '.join(command)}` failed (exit {result.returncode}) after {seconds:.0f} s")
    executed = EXECUTED.findall(output)
    print(f"build_speed:   {seconds:.1f} s, {len(executed)} chapter(s) executed", flush=True)
    return seconds, output


def executed(output: str) -> dict[str, float]:
    return {name: float(seconds) for name, seconds in EXECUTED.findall(output)}


def chapter_sources(root: Path) -> dict[str, Path]:
    """Executable chapters (docname -> source) as the build reads them."""
    sys.path.insert(0, str(root / "tools"))
    from parallel_execute import load_book, read_chapter

    book = load_book(root)
    chapters = {}
    for docname in book.docnames:
        chapter = read_chapter(book, docname)
        if chapter is not None:
            chapters[docname] = chapter
    return chapters


def single_user_modules(root: Path) -> dict[Path, str]:
    """Package modules imported (directly or not) by exactly one chapter -> that chapter."""
    graph = ImportGraph(root / "src")
    users: dict[Path, list[str]] = {}
    for docname, chapter in chapter_sources(root).items():
        for path in graph.files_of(chapter.code_cells):
            users.setdefault(path, []).append(docname)
    return {path: names[0] for path, names in users.items() if len(names) == 1 and path.suffix == ".py"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--module", type=Path, help="the module to change (default: see above)")
    parser.add_argument("--skip-clean", action="store_true", help="skip a. (the two clean builds)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    rows: list[tuple[str, str]] = []

    # a. clean builds, one worker and one per core
    if not args.skip_clean:
        shutil.rmtree(root / "_build", ignore_errors=True)
        serial, serial_log = make(root, "book", "JOBS=1")
        kept = Path(tempfile.mkdtemp(prefix="build_speed_serial_"))
        shutil.copytree(root / "_build" / "jupyter_execute", kept / "_build" / "jupyter_execute")
        shutil.rmtree(root / "_build", ignore_errors=True)
        parallel, parallel_log = make(root, "book")
        execution = sum(executed(serial_log).values())
        rows.append(("a. clean make book, JOBS=1", f"{serial:.1f} s ({execution:.0f} s of it executing "
                                                   f"{len(executed(serial_log))} chapters)"))
        jobs = re.search(r"on (\d+) workers?", parallel_log)
        rows.append((f"a. clean make book, {jobs.group(1) if jobs else '?'} workers", f"{parallel:.1f} s"))
        ratio = parallel / serial
        rows.append(("a. ratio parallel / JOBS=1", f"{ratio:.2f} (goal <= {GOAL_RATIO}: "
                                                   f"{'met' if ratio <= GOAL_RATIO else 'MISSED'})"))
        glue = subprocess.run([sys.executable, str(root / "tools" / "compare_glue.py"), str(kept), str(root)],
                              capture_output=True, text=True)
        rows.append(("a. glued numbers, JOBS=1 vs parallel", glue.stdout.splitlines()[0] if glue.stdout else "?"))
        if glue.returncode != 0:
            print(glue.stdout, file=sys.stderr)
        shutil.rmtree(kept, ignore_errors=True)
    else:
        make(root, "book")

    # b. and c. one chapter
    candidates = single_user_modules(root)
    if args.module is not None:
        module = (root / args.module).resolve()
        if module not in candidates:
            raise SystemExit(f"build_speed: {args.module} is not imported by exactly one chapter")
    else:
        times = {}
        for line in (root / "_build" / "execution-times.json").read_text().splitlines():
            match = re.match(r'\s*"(.+)": ([0-9.]+)', line)
            if match:
                times[match.group(1)] = float(match.group(2))
        module = max(candidates, key=lambda path: times.get(candidates[path], 0.0))
    chapter = candidates[module]
    source = chapter_sources(root)[chapter].path
    relative = module.relative_to(root).as_posix()
    print(f"build_speed: changing {relative}, imported only by {chapter}", flush=True)

    os.utime(source)  # b. the Sphinx pass: the chapter is re-read, nothing executes
    sphinx, sphinx_log = make(root, "book")
    if executed(sphinx_log):
        raise SystemExit(f"build_speed: touching {source} executed {sorted(executed(sphinx_log))}")
    rows.append((f"b. Sphinx pass re-reading {chapter}", f"{sphinx:.1f} s"))

    original = module.read_bytes()
    try:
        module.write_bytes(original + b"# a one-line change (benchmarks/build_speed.py)\n")
        changed, changed_log = make(root, "book")
    finally:
        module.write_bytes(original)
    ran = executed(changed_log)
    if set(ran) != {chapter}:
        raise SystemExit(f"build_speed: changing {relative} executed {sorted(ran)}, expected only {chapter}")
    budget = GOAL_CHANGE * (ran[chapter] + sphinx)
    rows.append((f"c. make book after a one-line change in {relative}",
                 f"{changed:.1f} s; {chapter} executed in {ran[chapter]:.1f} s; goal <= 1.5 x "
                 f"({ran[chapter]:.1f} + {sphinx:.1f}) = {budget:.1f} s: {'met' if changed <= budget else 'MISSED'}"))
    make(root, "book")  # the module restored: the chapter runs once more

    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
