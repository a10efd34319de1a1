"""Create a chapter from the template in CONTRIBUTING.md and add it to ``_toc.yml``.

``make chapter NAME=part4/debugging`` runs this. It

1. copies the chapter template (the ````` ````markdown ````` block under
   "## Chapter template" in ``CONTRIBUTING.md``, so the two never drift apart)
   to ``book/part4/debugging.md``, with the chapter's own prefix in every label
   (``chap-debugging``, ``eq-debugging-mse``, ``fig-debugging-curve``,
   ``ex-debugging-1``) and glue key (``debugging-mse-diff``), because labels are
   global across the book, and with its title;
2. adds the page to ``_toc.yml``: after the last chapter of the part whose chapters
   live in the same folder (``book/part4/``), or, when there is none, in a new
   numbered part placed after the last numbered one (before the back matter).
   The TOC file is edited as text, so its comments stay.

The chapter then builds as it is (its code runs, its labels resolve) and
passes the TOC tests; fill in the theory, the code and the exercises.

Usage::

    python tools/new_chapter.py part4/debugging [--title "Debugging networks"] [--part "Part IV: Practice"]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*(?:/[a-z0-9]+(?:_[a-z0-9]+)*)+$")
TEMPLATE = re.compile(r"^## Chapter template\n.*?^````markdown\n(?P<body>.*?)^````[ \t]*$", re.DOTALL | re.MULTILINE)
#: "example" as the template's label and glue prefix: ``(chap-example)=``, ``eq-example-mse``,
#: ``"example-mse-diff"``, ```example-mse-diff:.1e```.
TEMPLATE_PREFIX = re.compile(r"(?<=[-`\"(])example(?=[-)])")
TEMPLATE_TITLE = "# Example chapter\n"


def template(root: Path) -> str:
    """The chapter template of ``CONTRIBUTING.md``."""
    text = (root / "CONTRIBUTING.md").read_text(encoding="utf-8")
    match = TEMPLATE.search(text)
    if match is None:
        raise ValueError(f"no ````markdown block under '## Chapter template' in {root / 'CONTRIBUTING.md'}")
    return match.group("body")


def chapter_text(body: str, slug: str, title: str) -> str:
    """The template with the chapter's label prefix and title."""
    if TEMPLATE_TITLE not in body:
        raise ValueError(f"the template has no title line {TEMPLATE_TITLE.strip()!r}")
    return TEMPLATE_PREFIX.sub(slug, body).replace(TEMPLATE_TITLE, f"# {title}\n", 1)


def roman(number: int) -> str:
    numerals = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, letters in numerals:
        while number >= value:
            out += letters
            number -= value
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _line_of_file(lines: list[str], file: str) -> int:
    pattern = re.compile(rf"^\s*-?\s*file:\s*['\"]?{re.escape(file)}['\"]?\s*(#.*)?$")
    for index, line in enumerate(lines):
        if pattern.match(line):
            return index
    raise ValueError(f"cannot find the line of `file: {file}` in _toc.yml")


def _end_of_entry(lines: list[str], index: int) -> int:
    """The line after the entry starting at ``index`` and everything nested under it."""
    indent = _indent(lines[index])
    end = index + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    # Blank lines after the entry belong to what follows.
    while end > index + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def add_to_toc(toc_text: str, page: str, part_caption: str | None) -> tuple[str, str]:
    """Return ``_toc.yml`` with ``page`` added, and a sentence saying where it went."""
    toc = yaml.safe_load(toc_text)
    lines = toc_text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    folder = page.rsplit("/", 1)[0] + "/"
    parts = toc.get("parts")
    if not isinstance(parts, list):
        raise ValueError("_toc.yml has no `parts:` list; add the chapter by hand")

    # 1. A part whose chapters live in the same folder: append after its last chapter.
    for part in reversed(parts):
        files = [c.get("file", "") for c in part.get("chapters", []) if isinstance(c, dict)]
        if any(str(f).startswith(folder) for f in files):
            last = _line_of_file(lines, str(files[-1]))
            end = _end_of_entry(lines, last)
            entry = " " * _indent(lines[last]) + f"- file: {page}\n"
            lines.insert(end, entry)
            return "".join(lines), f"added to the part {part.get('caption', '')!r} after {files[-1]}"

    # 2. A new numbered part after the last numbered one.
    numbered = [i for i, part in enumerate(parts) if part.get("numbered")]
    caption_lines = [i for i, line in enumerate(lines) if re.match(r"^\s*-\s*caption:", line)]
    if len(caption_lines) != len(parts):
        raise ValueError("every part of _toc.yml must start with `- caption:`; add the chapter by hand")
    part_indent = _indent(lines[caption_lines[0]])
    if part_caption is None:
        number = re.search(r"(\d+)$", folder.rstrip("/"))
        part_caption = f"Part {roman(int(number.group(1)))}" if number else folder.rstrip("/").split("/")[-1].title()
    after = numbered[-1] if numbered else len(parts) - 1
    insert_at = caption_lines[after + 1] if after + 1 < len(parts) else len(lines)
    # Blank lines and comments just above the next part belong to it.
    while 0 < insert_at < len(lines) and (not lines[insert_at - 1].strip() or lines[insert_at - 1].lstrip().startswith("#")):
        insert_at -= 1
    pad = " " * part_indent
    block = [
        f"{pad}- caption: {yaml.safe_dump(part_caption, default_style=chr(34)).strip()}\n",
        f"{pad}  numbered: true\n",
        f"{pad}  chapters:\n",
        f"{pad}    - file: {page}\n",
    ]
    lines[insert_at:insert_at] = block
    return "".join(lines), f"added in a new part {part_caption!r}"


def create_chapter(root: Path, name: str, title: str | None = None, part: str | None = None) -> Path:
    """Write ``book/<name>.md`` from the template and list it in ``_toc.yml``; return its path."""
    if not NAME.match(name):
        raise ValueError(
            f"expected NAME as folder/name in lower case with underscores (e.g. part4/debugging), got {name!r}"
        )
    page = f"book/{name}"
    path = root / f"{page}.md"
    if path.exists() or (root / f"{page}.ipynb").exists():
        raise ValueError(f"{path.relative_to(root)} already exists")
    toc_path = root / "_toc.yml"
    toc_text = toc_path.read_text(encoding="utf-8")
    if re.search(rf"file:\s*['\"]?{re.escape(page)}(\.md|\.ipynb)?['\"]?\s*$", toc_text, re.MULTILINE):
        raise ValueError(f"{page} is already in _toc.yml")
    stem = name.rsplit("/", 1)[1]
    slug = stem.replace("_", "-")
    labels = set(re.findall(r"^\((chap-[a-z0-9-]+)\)=", "\n".join(
        p.read_text(encoding="utf-8") for p in (root / "book").rglob("*.md")), re.MULTILINE))
    if f"chap-{slug}" in labels:
        raise ValueError(f"the label chap-{slug} is taken by another chapter: choose another name")
    text = chapter_text(template(root), slug, title or stem.replace("_", " ").capitalize())
    new_toc, where = add_to_toc(toc_text, page, part)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    toc_path.write_text(new_toc, encoding="utf-8")
    print(f"new_chapter: wrote {path.relative_to(root)}; {where} in _toc.yml")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="folder/name under book/, e.g. part4/debugging")
    parser.add_argument("--title", help="the chapter's title (default: from the name)")
    parser.add_argument("--part", help="caption of a new part, when the folder has none yet")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    try:
        path = create_chapter(args.root, args.name, args.title, args.part)
    except ValueError as error:
        print(f"new_chapter: {error}", file=sys.stderr)
        return 2
    print(f"new_chapter: next: fill it in, then `make page FILE={path.relative_to(args.root)}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
