"""Serve the book on localhost and rebuild it on every save (``make preview``), with sphinx-autobuild.

Jupyter Book 1 builds through its own command and has no live preview, so this
script writes the Sphinx configuration that ``jupyter-book build`` would use
(from ``_config.yml``, through Jupyter Book's ``get_final_config``) into
``_build/preview/conf/conf.py``, and runs::

    sphinx-autobuild <root> _build/preview/html -c _build/preview/conf -d _build/preview/doctrees -n
        --pre-build "python tools/build_book.py --execute-only --doctree-dir _build/preview/doctrees"

On each save, the pre-build step executes the chapters that the change made
out of date, in parallel, exactly as ``make book`` does (a change under
``src/`` re-executes the chapters that import the module), and Sphinx then
re-reads the changed pages with their outputs from the shared execution cache
(``_build/.jupyter_cache``). The preview has its own doctrees and HTML, so it
never disturbs ``_build/html``; warnings are shown but do not stop the server
(``make book`` is the strict build). A chapter that fails to execute prints its
traceback and the server keeps the last good pages.

Usage::

    python tools/preview.py [--port 8000] [--host 127.0.0.1] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PREVIEW = Path("_build") / "preview"


def sphinx_config(root: Path) -> dict:
    """The configuration ``jupyter-book build <root>`` passes to Sphinx."""
    from jupyter_book.config import get_final_config

    config, _ = get_final_config(
        user_yaml=root / "_config.yml",
        cli_config={
            "latex_individualpages": False,
            "external_toc_path": (root / "_toc.yml").as_posix(),
            "nitpicky": True,
        },
        sourcedir=root,
    )
    return config


def local_extension_paths(root: Path) -> list[str]:
    """The folders ``_config.yml`` names for local extensions (``sphinx.local_extensions``)."""
    user = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    extensions = (user.get("sphinx") or {}).get("local_extensions") or {}
    return sorted({(root / path).resolve().as_posix() for path in extensions.values()})


#: Settings whose relative paths Sphinx or an extension resolves against the folder of
#: conf.py; ``jupyter-book build`` keeps conf.py's folder at the root, the preview does not.
CONFDIR_PATHS = ("bibtex_bibfiles", "html_static_path", "html_extra_path", "templates_path",
                 "locale_dirs", "html_logo", "html_favicon")


def _absolute(root: Path, value):
    if isinstance(value, str):
        return value if not value or "://" in value or Path(value).is_absolute() else (root / value).as_posix()
    if isinstance(value, (list, tuple)):
        return [_absolute(root, item) for item in value]
    return value


def write_conf(root: Path, confdir: Path) -> Path:
    """Write ``conf.py`` for the book at ``root`` into ``confdir``; return its path."""
    config = sphinx_config(root)
    for key in CONFDIR_PATHS:
        if key in config:
            config[key] = _absolute(root, config[key])
    lines = [
        "# Written by tools/preview.py from _config.yml on each `make preview`; edit _config.yml instead.",
        "import sys",
        "",
        f"sys.path[:0] = {local_extension_paths(root)!r}",
        "",
    ]
    lines += [f"{key} = {config[key]!r}" for key in sorted(config)]
    confdir.mkdir(parents=True, exist_ok=True)
    path = confdir / "conf.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def autobuild_command(root: Path, host: str, port: int, jobs: int | None, python: str = sys.executable) -> list[str]:
    """The sphinx-autobuild command line for the book at ``root``."""
    preview = root / PREVIEW
    pre_build = [python, str(Path(__file__).resolve().with_name("build_book.py")), "--root", str(root), "--execute-only",
                 "--doctree-dir", str(preview / "doctrees")]
    if jobs:
        pre_build += ["--jobs", str(jobs)]
    autobuild = Path(python).with_name("sphinx-autobuild")
    return [
        str(autobuild) if autobuild.exists() else "sphinx-autobuild",
        str(root), str(preview / "html"),
        "-c", str(preview / "conf"),
        "-d", str(preview / "doctrees"),
        "-n",
        "--host", host, "--port", str(port),
        "--pre-build", shlex.join(pre_build),
        # Sources Sphinx does not read but the pre-build step does.
        "--watch", str(root / "src"),
        "--ignore", str(root / "_build"),
        "--re-ignore", r"(__pycache__|\.ipynb_checkpoints|\.egg-info|\.pytest_cache|\.hypothesis)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--jobs", "-j", type=int, default=None, help="chapters executed at once")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if shutil.which("sphinx-autobuild", path=str(Path(sys.executable).parent)) is None:
        print("preview: sphinx-autobuild is missing: install requirements.txt (make preview does)", file=sys.stderr)
        return 1
    write_conf(root, root / PREVIEW / "conf")
    command = autobuild_command(root, args.host, args.port, args.jobs)
    print("preview: " + shlex.join(command), flush=True)
    os.chdir(root)  # MyST-NB resolves the execution cache path against the working directory
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
