"""Execute the book's chapters in parallel, into the jupyter-cache that MyST-NB reads.

``tools/build_book.py`` calls this before Sphinx runs. Sphinx then finds every
chapter's outputs in the execution cache and executes nothing itself, so its
read and write stay serial (Jupyter Book 1 has no ``-j``) while the execution,
which is most of a clean build, uses every core.

What it does, per executable page of ``_toc.yml``:

1. **Read the page as MyST-NB reads it** (``myst_nb.core.read.create_nb_reader``
   with the book's own MyST and MyST-NB configuration from Jupyter Book), so the
   notebook matches the same cache record (``match_cache_notebook`` hashes the
   code cells and the kernelspec).
2. **Find what it depends on**: the package files its code imports, directly or
   through other package modules (``tools/import_graph.py``), and the files whose
   change re-executes everything (``requirements.txt``, ``pyproject.toml``). Their
   SHA-256 digests are stored in the cache record's ``data`` under
   ``"dependencies"``, beside MyST-NB's ``"execution_seconds"``.
3. **Decide**: a page is executed when no cache record matches its code, or the
   matching record was executed with other dependencies (or by plain MyST-NB,
   which stores none). A stale record is removed first, so that a page whose
   new execution fails never shows the old outputs.
4. **Execute** the pages to run on a pool of worker processes, longest first
   (by the last measured time, stored in ``_build/execution-times.json``), each
   worker running one kernel at a time with one torch thread
   (``OMP_NUM_THREADS=1`` unless set). Only the parent process writes the cache.
5. **Make Sphinx re-read** every executed page: its pickled doctree is deleted
   (Sphinx re-reads a document whose doctree is missing), because a page whose
   source did not change would otherwise keep its old outputs in the HTML. This
   is done in every build folder that reads the cache (``make book``'s and
   ``make preview``'s), since the next build of each must pick the outputs up.

jupyter-cache's own ``JupyterExecutorLocalMproc`` was the other option: it
takes ``os.cpu_count()`` workers with no setting, has every worker write the
SQLite database, and keeps no per-notebook data such as the dependencies.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from import_graph import ImportGraph

#: Files whose change re-executes every chapter (relative to the book's root).
DEFAULT_GLOBAL_FILES = ("requirements.txt", "pyproject.toml")
#: The key under which a cache record's ``data`` holds its dependencies' digests.
DEPENDENCIES_KEY = "dependencies"
#: Per chapter, the last measured execution time: the pool starts the longest first.
TIMES_FILE = "execution-times.json"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SOURCE_SUFFIXES = (".md", ".ipynb")


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class Chapter:
    """An executable page of the book, read as MyST-NB will read it."""

    docname: str
    path: Path
    notebook: object  # nbformat.NotebookNode
    timeout: int | None
    allow_errors: bool
    in_temp: bool
    dependencies: dict[str, str] = field(default_factory=dict)

    @property
    def code_cells(self) -> list[str]:
        return [cell.source for cell in self.notebook.cells if cell.cell_type == "code"]


@dataclass
class Book:
    """The book's settings that execution needs, from its ``_config.yml`` and ``_toc.yml``."""

    root: Path
    docnames: list[str]
    md_config: object  # myst_parser MdParserConfig
    nb_config: object  # myst_nb NbParserConfig
    cache_path: Path


def load_book(root: Path) -> Book:
    """Read the book at ``root`` through Jupyter Book's own configuration code."""
    from jupyter_book.config import get_final_config
    from myst_nb.core.config import NbParserConfig
    from myst_parser.config.main import MdParserConfig
    from sphinx_external_toc.parsing import parse_toc_yaml

    config, _ = get_final_config(
        user_yaml=root / "_config.yml",
        cli_config={"latex_individualpages": False},
        sourcedir=root,
    )
    md_values = {}
    for name, _, fld in MdParserConfig().as_triple():
        if not fld.metadata.get("sphinx_exclude") and f"myst_{name}" in config:
            md_values[name] = config[f"myst_{name}"]
    nb_values = {}
    for name, _, fld in NbParserConfig().as_triple():
        if not fld.metadata.get("sphinx_exclude") and f"nb_{name}" in config:
            nb_values[name] = config[f"nb_{name}"]
    nb_config = NbParserConfig(**nb_values)
    # MyST-NB resolves a relative cache path against the working directory, which
    # build_book.py sets to the root; with none, Sphinx puts it beside the HTML.
    cache = Path(nb_config.execution_cache_path or "_build/.jupyter_cache")
    docnames = list(parse_toc_yaml(root / "_toc.yml").keys())
    return Book(root, docnames, MdParserConfig(**md_values), nb_config, cache if cache.is_absolute() else root / cache)


def source_of(root: Path, docname: str) -> Path | None:
    for suffix in SOURCE_SUFFIXES:
        path = root / (docname + suffix)
        if path.is_file():
            return path
    return None


def read_chapter(book: Book, docname: str) -> Chapter | None:
    """Return the page as an executable notebook, or None when it is not one.

    Mirrors ``myst_nb.sphinx_.Parser.parse``: the reader, the kernel aliases and
    the notebook-level ``mystnb`` overrides of the configuration.
    """
    from myst_nb.core.nb_to_tokens import nb_node_to_dict
    from myst_nb.core.read import create_nb_reader

    path = source_of(book.root, docname)
    if path is None:
        return None
    text = path.read_text(encoding="utf-8")
    reader = create_nb_reader(str(path), book.md_config, book.nb_config, text)
    if reader is None:
        return None
    notebook = reader.read(text)
    nb_config = book.nb_config
    kernel = notebook.metadata.get("kernelspec", {}).get("name")
    if kernel is not None and nb_config.kernel_rgx_aliases:
        for pattern, alias in nb_config.kernel_rgx_aliases.items():
            if re.fullmatch(pattern, kernel):
                notebook.metadata["kernelspec"]["name"] = alias
                break
    if nb_config.metadata_key in notebook.metadata:
        overrides = nb_node_to_dict(notebook.metadata[nb_config.metadata_key])
        overrides.pop("output_folder", None)
        nb_config = nb_config.copy(**overrides)
    if nb_config.execution_mode != "cache":
        return None  # this page is not executed into the cache
    posix = Path(path.as_posix())
    if any(posix.match(pattern) for pattern in nb_config.execution_excludepatterns):
        return None
    return Chapter(
        docname=docname,
        path=path,
        notebook=notebook,
        timeout=nb_config.execution_timeout,
        allow_errors=nb_config.execution_allow_errors,
        in_temp=nb_config.execution_in_temp,
    )


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def attach_dependencies(chapters: list[Chapter], root: Path, src: Path, global_files: list[str]) -> None:
    """Fill each chapter's ``dependencies``: ``{path relative to root: SHA-256}``."""
    graph = ImportGraph(src)
    digests: dict[Path, str] = {}

    def digest(path: Path) -> str:
        if path not in digests:
            digests[path] = file_digest(path) if path.is_file() else "missing"
        return digests[path]

    for chapter in chapters:
        files = [root / name for name in global_files] + graph.files_of(chapter.code_cells)
        chapter.dependencies = {
            path.resolve().relative_to(root.resolve()).as_posix(): digest(path) for path in files
        }


def changed_dependencies(recorded: dict | None, current: dict[str, str]) -> list[str]:
    """The dependencies (paths) that differ between a cache record and now."""
    if recorded is None:
        return ["(executed without dependency record)"]
    names = sorted(set(recorded) | set(current))
    return [name for name in names if recorded.get(name) != current.get(name)]


@dataclass
class Decision:
    chapter: Chapter
    execute: bool
    reason: str
    record_pk: int | None = None
    previous_seconds: float | None = None


def decide(chapters: list[Chapter], cache) -> list[Decision]:
    """For each chapter: is its cached execution current, and if not, why."""
    decisions = []
    for chapter in chapters:
        try:
            record = cache.match_cache_notebook(chapter.notebook)
        except KeyError:
            decisions.append(Decision(chapter, True, "its code is not in the cache"))
            continue
        data = record.data or {}
        changed = changed_dependencies(data.get(DEPENDENCIES_KEY), chapter.dependencies)
        seconds = data.get("execution_seconds")
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            decisions.append(Decision(chapter, True, f"changed: {shown}", record.pk, seconds))
        else:
            decisions.append(Decision(chapter, False, "cached", record.pk, seconds))
    return decisions


# ------------------------------------------------------------------ the pool


def _execute_in_worker(task: dict) -> dict:
    """Run one notebook in this worker process; return plain, picklable results."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = nbformat.reads(task["notebook"], as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as temp:
        cwd = temp if task["in_temp"] else task["cwd"]
        try:
            result = single_nb_execution(
                notebook,
                cwd=cwd,
                timeout=task["timeout"],
                allow_errors=task["allow_errors"],
                meta_override=True,  # as MyST-NB calls it
            )
        except Exception as error:  # noqa: BLE001 - e.g. the kernel died or did not start
            import traceback

            return {"notebook": None, "seconds": time.perf_counter() - start,
                    "error": "".join(traceback.format_exception(error))}
    # nbclient's message shows the failing cell and the kernel's traceback; the
    # frames of nbclient itself (result.exc_string) would only bury it.
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"
    return {
        "notebook": nbformat.writes(result.nb) if error is None else None,
        "seconds": result.time,
        "error": error,
    }


@dataclass
class Outcome:
    docname: str
    seconds: float
    error: str | None = None


def _load_times(path: Path) -> dict[str, float]:
    try:
        return {k: float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def execute_chapters(
    decisions: list[Decision],
    cache,
    jobs: int,
    times_file: Path,
    doctree_dirs: list[Path],
    log=print,
) -> list[Outcome]:
    """Execute every chapter whose decision says so, ``jobs`` at a time; cache each success.

    Returns one :class:`Outcome` per executed chapter, in the order they finished.
    A failure does not stop the others: their results are cached for the next build.
    """
    import nbformat
    from jupyter_cache.base import CacheBundleIn

    todo = [d for d in decisions if d.execute]
    if not todo:
        return []
    times = _load_times(times_file)

    def estimate(decision: Decision) -> float:
        known = times.get(decision.chapter.docname, decision.previous_seconds)
        if known is not None:
            return float(known)
        # Never executed here: guess from the amount of code (a long page trains more).
        return sum(len(cell) for cell in decision.chapter.code_cells) / 200.0

    todo.sort(key=estimate, reverse=True)
    for decision in todo:
        if decision.record_pk is not None:
            try:
                cache.remove_cache(decision.record_pk)
            except KeyError:
                pass

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the workers' kernels
    jobs = max(1, min(jobs, len(todo)))
    log(f"executing {len(todo)} chapter{'s' if len(todo) != 1 else ''} on {jobs} worker{'s' if jobs != 1 else ''}")
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        running: dict[Future, Decision] = {}
        for decision in todo:
            chapter = decision.chapter
            task = {
                "notebook": nbformat.writes(chapter.notebook),
                "cwd": str(chapter.path.parent),
                "in_temp": chapter.in_temp,
                "timeout": chapter.timeout,
                "allow_errors": chapter.allow_errors,
            }
            log(f"  queued {chapter.docname} ({decision.reason})")
            running[pool.submit(_execute_in_worker, task)] = decision
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                decision = running.pop(future)
                chapter = decision.chapter
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - the worker process itself died
                    result = {"notebook": None, "seconds": 0.0, "error": f"worker failed: {error!r}"}
                if result["error"] is not None or result["notebook"] is None:
                    outcomes.append(Outcome(chapter.docname, result["seconds"], ANSI.sub("", result["error"] or "")))
                    log(f"  FAILED {chapter.docname} after {result['seconds']:.1f} s")
                    continue
                executed = nbformat.reads(result["notebook"], as_version=4)
                cache.cache_notebook_bundle(
                    CacheBundleIn(
                        executed,
                        str(chapter.path),
                        data={"execution_seconds": result["seconds"], DEPENDENCIES_KEY: chapter.dependencies},
                    ),
                    check_validity=False,
                    overwrite=True,
                )
                times[chapter.docname] = round(result["seconds"], 2)
                for doctree_dir in doctree_dirs:
                    (doctree_dir / (chapter.docname + ".doctree")).unlink(missing_ok=True)
                outcomes.append(Outcome(chapter.docname, result["seconds"]))
                log(f"  executed {chapter.docname} in {result['seconds']:.1f} s "
                    f"({len(outcomes)}/{len(todo)}, {time.perf_counter() - start:.0f} s so far)")
    times_file.parent.mkdir(parents=True, exist_ok=True)
    times_file.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    return outcomes


def failure_report(outcome: Outcome) -> str:
    """The message that names a failed chapter and shows its traceback."""
    return (
        f"\n{'=' * 78}\nExecuting chapter {outcome.docname} failed"
        f" (after {outcome.seconds:.1f} s):\n{outcome.error.rstrip()}\n{'=' * 78}"
    )


if __name__ == "__main__":  # pragma: no cover - a library for build_book.py
    sys.exit("run tools/build_book.py")
