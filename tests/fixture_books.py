"""Tiny Jupyter Books for the build tests (test_build_cache.py, test_preview.py).

Not a test module. A fixture book has an index page and chapters in ``book/``
whose code cells import a small package, ``src/fixturepkg``: ``alpha`` (which
reaches ``_shared`` through a relative import) and ``beta``. Each chapter prints
what its module returns, so a test can change one module and look for the new
value in the HTML.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIG = """\
title: Cache check
only_build_toc_files: true
execute:
  execute_notebooks: cache
  cache: _build/.jupyter_cache
  timeout: 120
"""

TOC = """\
format: jb-book
root: book/index
chapters:
{chapters}
"""



def front_matter(extra: str = "") -> str:
    """The YAML front matter of an executable MyST page; ``extra`` holds more YAML lines (ending in a newline)."""
    return (
        "---\n"
        "jupytext:\n"
        "  text_representation:\n"
        "    extension: .md\n"
        "    format_name: myst\n"
        "kernelspec:\n"
        "  display_name: Python 3\n"
        "  language: python\n"
        "  name: python3\n"
        f"{extra}---\n"
    )


FRONT_MATTER = front_matter()

CHAPTER = FRONT_MATTER + """
# Chapter {name}

{prose}

```{{code-cell}} ipython3
# The kernel runs in the chapter's folder, book/.
import sys

sys.path.insert(0, "../src")
{code}
```
"""

PACKAGE = {
    "__init__.py": "",
    # alpha reaches _shared only through a relative import: a transitive dependency.
    "alpha.py": 'from ._shared import PREFIX\n\n\ndef message():\n    return PREFIX + "alpha-v1"\n',
    "_shared.py": 'PREFIX = "shared-v1:"\n',
    "beta.py": 'def message():\n    return "beta-v1"\n',
}

CODE = {
    "a": "from fixturepkg.alpha import message\n\nprint(message())",
    # A submodule imported by name from the package, inside a function.
    "b": "def show():\n    from fixturepkg import beta\n\n    print(beta.message())\n\n\nshow()",
    "c": 'print("no-package-" + "output")',
}


def write_book(root: Path, code: dict[str, str]) -> None:
    (root / "book").mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(CONFIG, encoding="utf-8")
    chapters = "\n".join(f"  - file: book/{name}" for name in code)
    (root / "_toc.yml").write_text(TOC.format(chapters=chapters), encoding="utf-8")
    (root / "book" / "index.md").write_text("# Fixture book\n", encoding="utf-8")
    for name, source in code.items():
        write_chapter(root, name, source, prose="A chapter.")
    for file, text in PACKAGE.items():
        write(root / "src" / "fixturepkg" / file, text)
    write(root / "requirements.txt", "fixture-requirement==1\n")


def write_chapter(root: Path, name: str, code: str, prose: str) -> None:
    write(root / "book" / f"{name}.md", CHAPTER.format(name=name, prose=prose, code=code))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def kernel_env() -> dict[str, str]:
    """The environment to build a fixture book in: this Python's kernel, no outside PYTHONPATH."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONPATH", None)
    return env
