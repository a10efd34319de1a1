"""Build the book with Jupyter Book 1.x, re-executing chapters when their code changes.

``make book`` runs this script, which runs::

    jupyter-book build <root> -W -n --keep-going

after one extra step. MyST-NB's execution cache keys a notebook on the text of
its own code cells (MyST-NB issue 299), so it cannot see that a module the
chapter imports from ``src/`` changed, or that ``requirements.txt`` now pins a
different library: the book would keep showing stale outputs. This script hashes
every watched file; when the hash differs from the one stored beside the cache
after the last successful build, it deletes the execution cache and passes
``--all`` so Sphinx re-reads (and so re-executes) every chapter.

The whole cache is invalidated rather than per-chapter entries: a change under
``src/`` is rare next to prose edits.

A second, lighter group of files (``--reread``, by default the bibliography)
only makes every page be re-read (``--all``) with the execution cache kept:
sphinxcontrib-bibtex's incremental rebuild can fail with a ``KeyError`` when
``references.bib`` gains entries that unchanged pages do not cite yet.

Usage::

    python tools/build_book.py [--root DIR] [--watch PATH ...]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_WATCH = ("src", "requirements.txt", "pyproject.toml")
DEFAULT_REREAD = ("book/references.bib",)
HASH_FILE = "deps.sha256"
REREAD_HASH_FILE = "reread.sha256"


def _watched_files(root: Path, watch: list[str]) -> list[Path]:
    files: list[Path] = []
    for entry in watch:
        path = root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                and not any(part.endswith(".egg-info") for part in p.parts)
            )
    return sorted(files)


def dependency_hash(root: Path, watch: list[str]) -> str:
    """Return the SHA-256 over the relative paths and bytes of every watched file."""
    digest = hashlib.sha256()
    for path in _watched_files(root, watch):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="folder holding _config.yml and _toc.yml")
    parser.add_argument(
        "--watch",
        nargs="*",
        default=list(DEFAULT_WATCH),
        help="files or folders (relative to --root) whose change re-executes every chapter",
    )
    parser.add_argument(
        "--reread",
        nargs="*",
        default=list(DEFAULT_REREAD),
        help="files or folders (relative to --root) whose change re-reads every page, keeping the execution cache",
    )
    parser.add_argument(
        "--jupyter-book",
        default=str(Path(sys.executable).with_name("jupyter-book")),
        help="the jupyter-book executable",
    )
    args = parser.parse_args(argv)

    root = Path(args.root).resolve()
    cache_dir = root / "_build" / ".jupyter_cache"
    stamp = root / "_build" / HASH_FILE
    reread_stamp = root / "_build" / REREAD_HASH_FILE
    failed_marker = root / "_build" / "last-build-failed"
    current = dependency_hash(root, args.watch)
    previous = stamp.read_text().strip() if stamp.exists() else None
    current_reread = dependency_hash(root, args.reread)
    previous_reread = reread_stamp.read_text().strip() if reread_stamp.exists() else None

    command = [args.jupyter_book, "build", str(root), "-W", "-n", "--keep-going"]
    if previous != current:
        reason = "first build" if previous is None else "src/ or requirements changed"
        print(f"build_book: {reason}; clearing the execution cache and re-reading every chapter")
        shutil.rmtree(cache_dir, ignore_errors=True)
        command.append("--all")
        # From here on, whatever the cache holds was executed with the current
        # code, even if this build fails for another reason.
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(current + "\n")
    elif previous_reread != current_reread:
        print("build_book: the bibliography changed; re-reading every page (execution cache kept)")
        command.append("--all")
    elif failed_marker.exists():
        # Sphinx reports a page's warnings only when it reads the page: after a
        # failed build, an incremental one would skip unchanged pages and pass.
        print("build_book: the last build failed; re-reading every page (execution cache kept)")
        command.append("--all")
    reread_stamp.unlink(missing_ok=True)
    failed_marker.parent.mkdir(parents=True, exist_ok=True)
    failed_marker.write_text("a build started and has not succeeded yet\n")

    print("build_book: " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=root)
    if result.returncode != 0:
        return result.returncode
    reread_stamp.write_text(current_reread + "\n")
    failed_marker.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
