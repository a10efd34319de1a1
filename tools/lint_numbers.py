"""Find numbers typed into what a reader sees: prose, captions, alt text, exercise text.

The book's rule is that every measured number a reader sees comes from the
build (myst-nb ``glue``). A number typed into the text cannot follow the code
when the code changes, so this lint looks for digit runs in the parts of a
chapter that a reader reads and that no cell computes:

- paragraphs, lists, tables, headings and admonition/exercise/solution bodies;
- directive titles (``{exercise} Title``);
- figure captions and alt text, both in a code cell's ``mystnb:`` options and in
  ``:alt:`` options.

It skips what is not prose: the front matter, code cells and code blocks,
``$...$`` and ``$$...$$`` math and math directives, inline code, every MyST role
(``{glue:text}``, ``{cite:p}``, ``{eq}``, ``{ref}``, ``{math}`` ...), labels
``(name)=``, directive options other than alt text, link targets and HTML comments.

A digit run glued to letters (``float32``, ``L2``, ``conv2d``) is a name, not
a number, and is not reported. What remains is checked against
:data:`ALLOWLIST`: facts that are not measurements (the data set has 1,797
images; a year in a citation; an optimizer's published default). Each entry
says why it is allowed.

Usage::

    python tools/lint_numbers.py [FILE.md ...]     # default: every page in _toc.yml
    python tools/lint_numbers.py --count           # only the number of findings

Exit status 1 when anything is found, so ``make test`` (through
``tests/test_lint_numbers.py``) fails on a typed number.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each entry: (regular expression matched against the text around a digit run, why it is allowed).
# A finding is allowed when one pattern matches a span of the prose line that covers the digit run.
# Keep every entry a *fact*, never a measurement: a measured number is glued.
ALLOWLIST: list[tuple[str, str]] = [
    # Years: citations in running text ("Glorot and Bengio 2010") and dates of papers.
    (r"\b(19|20)\d\d[a-z]?\b", "a year, e.g. of a paper"),
    # The data sets' sizes, as their documentation states them (not measured by the book).
    (r"\b8\s*[×x]\s*8\b", "the digits are 8 × 8 images (scikit-learn's documentation)"),
    (r"\b1,797\b", "the digits data set has 1,797 images (scikit-learn's documentation)"),
    (r"\b64 (pixels|features|inputs|input features)\b", "8 × 8 = 64 pixels per digit image"),
    (r"\b(569|30) (examples|tumou?rs|features|samples|measurements)\b",
     "the breast-cancer data set: 569 tumours, 30 features (scikit-learn's documentation)"),
    (r"\b13 (people|writers)\b", "scikit-learn's description: the digits were written by 13 people"),
    (r"\b(10|ten) (classes|digits)\b", "ten digit classes"),
    (r"\b0[–-]9\b", "the digit labels run from 0 to 9"),
    (r"\b0[–-]16\b", "a pixel of the digits data holds an integer from 0 to 16"),
    (r"\b(16|17) (grey|gray|intensity|intensities|levels)\b", "the digits' 17 grey levels 0..16"),
    # Counting words the text uses as plain facts of its own construction.
    (r"\b\d+-(D|d)\b", "dimensionality of an array, e.g. 2-D"),
    (r"\b\d+D\b", "dimensionality, e.g. 1D convolution"),
    (r"\b(1|2|3) × (1|2|3)\b", "a small kernel or matrix size, e.g. a 3 × 3 kernel"),
    (r"\b(Part|part) [IVX]+\b", "a part of the book"),
    # Floating-point formats: a property of IEEE 754, not a measurement.
    (r"\b(16|32|64)-bit\b", "the width of a floating-point format"),
    (r"\b(2|10)\^", "a power of two or ten written in the text"),
    # Algorithm and equation numbers of cited papers ("Algorithm 1, line 12").
    (r"\b(Algorithm|algorithm|line|lines|eq\.|equation|Equation|section|Section|Table|table|Figure|figure|chapter|Chapter) \d+(\.\d+)*\b",
     "a numbered part of a cited paper or book"),
    # Indices and small counts that define an object in the text (the first layer, step 1).
    (r"\b(step|layer|epoch|seed|element|row|column|entry|index|class|digit|sample) \d+\b",
     "an index that names an object (step 1, layer 2)"),
    # Ordinals.
    (r"\b\d+(st|nd|rd|th)\b", "an ordinal such as 1st or 2nd"),
    # A lone digit 0-9 is structure, not a measurement: "dimension 0", "size 1", "three
    # layers of 2 units", a shape the text constructs. It is still reported where it reads
    # as a result: a percentage, a factor ("3×"), a count of runs ("2 of 3"), or a number
    # of epochs, steps or seeds, all of which the code decides and the text must glue.
    (r"(?<!of )(?<![\d.,])\b[0-9]\b(?![.,]?\d)(?!\s*(%|×|x\b|of\s+\d|out of\s+\d|times\b|epochs?\b|steps?\b|seeds?\b|runs?\b))",
     "a single-digit integer that names or sizes something the text constructs"),
]

_ALLOW = [(re.compile(p), why) for p, why in ALLOWLIST]

# A digit run standing alone: not glued to a letter, underscore or digit before it.
_NUMBER = re.compile(r"(?<![A-Za-z_\d\\])\d+(?:[.,]\d+)*")
_ROLE = re.compile(r"\{[A-Za-z][\w:.-]*\}`[^`]*`", re.S)
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$])+?\$", re.S)
_DISPLAY_MATH_INLINE = re.compile(r"\$\$.*?\$\$", re.S)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s")
_LABEL = re.compile(r"^\s*\([\w:.-]+\)=\s*$")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(\{([\w:.-]+)\})?\s*(.*)$")

# Directives whose body is prose a reader reads; every other fenced block is skipped.
PROSE_DIRECTIVES = {
    "exercise", "solution", "note", "tip", "warning", "important", "caution", "attention",
    "admonition", "hint", "seealso", "margin", "sidebar", "epigraph", "figure", "dropdown",
    "topic", "danger", "error", "card", "tab-item", "div",
}
# Directives whose argument is a label, not a title.
LABEL_ARGUMENT = {"solution"}
# Options of a directive or a code cell whose value is text a reader sees.
READER_OPTIONS = re.compile(r"^\s*:?(alt|caption)\s*:\s*(.*)$")


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    number: str
    text: str

    def __str__(self) -> str:
        rel = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{rel}:{self.line}: typed number {self.number!r} in: {self.text.strip()}"


def strip_markup(line: str) -> str:
    """Blank out the parts of one prose line that are not read as prose (keeping columns)."""

    def blank(m: re.Match) -> str:
        # Keep line breaks, so positions still map to lines.
        return re.sub(r"[^\n]", " ", m.group(0))

    for pattern in (_HTML_COMMENT, _ROLE, _INLINE_CODE, _DISPLAY_MATH_INLINE, _INLINE_MATH, _LINK_TARGET):
        line = pattern.sub(blank, line)
    return line


def allowed(text: str, start: int, end: int) -> bool:
    """Whether an allowlist pattern matches a span of ``text`` that covers ``[start, end)``."""
    for pattern, _why in _ALLOW:
        for m in pattern.finditer(text):
            if m.start() <= start and end <= m.end():
                return True
    return False


def numbers_in(text: str) -> list[tuple[str, int, int]]:
    """Digit runs in a prose line (already stripped of markup) that the allowlist does not cover."""
    found = []
    for m in _NUMBER.finditer(text):
        if not allowed(text, m.start(), m.end()):
            found.append((m.group(0), m.start(), m.end()))
    return found


def prose_lines(source: str) -> list[tuple[int, str]]:
    """The lines of a MyST notebook that a reader reads as text, with their 1-based numbers.

    Lines of skipped blocks are left out; caption and alt options are returned
    with only their value.
    """
    lines = source.splitlines()
    out: list[tuple[int, str]] = []
    i = 0
    # Front matter.
    if lines and lines[0].strip() == "---":
        i = 1
        while i < len(lines) and lines[i].strip() != "---":
            i += 1
        i += 1
    # Stack of open fences: (fence string, is_prose).
    stack: list[tuple[str, bool]] = []
    in_math = False
    in_options = False  # a ``---`` YAML block at the top of a directive
    value_indent: int | None = None  # indentation of a caption/alt key whose value may continue
    while i < len(lines):
        line = lines[i]
        n = i + 1
        i += 1
        stripped = line.strip()
        skipping = any(not prose for _, prose in stack)
        m = _FENCE.match(line)
        if m and not in_math:
            fence, name, rest = m.group(2), m.group(4), m.group(5)
            if stack and fence[0] == stack[-1][0][0] and len(fence) >= len(stack[-1][0]) and not name and not rest:
                stack.pop()
                in_options = False
                continue
            if not skipping:
                prose = name in PROSE_DIRECTIVES
                stack.append((fence, prose))
                if prose and rest and name not in LABEL_ARGUMENT:
                    out.append((n, rest))  # the directive's title
                # Caption and alt text of a code cell or figure live in its option block.
                if i < len(lines) and lines[i].strip() == "---":
                    in_options = True
                    i += 1
                continue
            stack.append((fence, False))
            continue
        if in_options:
            if stripped == "---":
                in_options = False
                value_indent = None
                continue
            indent = len(line) - len(line.lstrip())
            if value_indent is not None and stripped and indent > value_indent:
                # A continuation line of a multi-line caption or alt text (plain or ``|``/``>`` block).
                if not skipping_below(stack):
                    out.append((n, line))
                continue
            value_indent = None
            o = READER_OPTIONS.match(line)
            if o and not skipping_below(stack):
                value = o.group(2)
                if value.strip() not in ("|", ">", "|-", ">-"):
                    out.append((n, value))
                value_indent = indent
            continue
        if skipping:
            continue
        if stack and stripped.startswith(":") and not stripped.startswith(":::"):
            o = READER_OPTIONS.match(line)
            if o:
                out.append((n, o.group(2)))
            continue  # other directive options (:label:, :class:, :name:)
        if stripped.startswith("$$"):
            # ``$$ ... $$ (label)`` on one line, or the start or end of a display block.
            if stripped.count("$$") >= 2:
                continue
            in_math = not in_math
            continue
        if in_math:
            continue
        if _LABEL.match(line) or stripped.startswith("<!--"):
            continue
        out.append((n, line))
    return out


def skipping_below(stack: list[tuple[str, bool]]) -> bool:
    """Whether a block enclosing the innermost one is skipped (so its options are too)."""
    return any(not prose for _, prose in stack[:-1])


def lint_file(path: Path) -> list[Finding]:
    """Every typed number in one page, with its line.

    Consecutive prose lines are joined into one block before the markup is
    stripped, so inline math and roles that wrap across lines are skipped whole.
    """
    findings = []
    lines = prose_lines(path.read_text(encoding="utf-8"))
    blocks: list[list[tuple[int, str]]] = []
    for n, text in lines:
        if blocks and blocks[-1][-1][0] == n - 1 and text.strip():
            blocks[-1].append((n, text))
        elif text.strip():
            blocks.append([(n, text)])
    for block in blocks:
        joined = "\n".join(_LIST_MARKER.sub(lambda m: " " * len(m.group(0)), t) for _, t in block)
        clean = strip_markup(joined)
        for number, start, _end in numbers_in(clean):
            row = clean.count("\n", 0, start)
            findings.append(Finding(path, block[row][0], number, block[row][1]))
    return findings


def toc_pages(root: Path = ROOT) -> list[Path]:
    """Every page the table of contents lists, as paths to their ``.md`` files."""
    files = re.findall(r"^\s*-?\s*(?:file|root):\s*(\S+)\s*$", (root / "_toc.yml").read_text(), re.M)
    return [root / f"{f}.md" for f in files if (root / f"{f}.md").exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="pages to check (default: every page in _toc.yml)")
    parser.add_argument("--count", action="store_true", help="print only the number of findings per file and in all")
    args = parser.parse_args(argv)
    files = [p.resolve() for p in args.files] or toc_pages()
    total = 0
    for path in files:
        findings = lint_file(path)
        total += len(findings)
        if args.count:
            if findings:
                print(f"{len(findings):5d}  {path.relative_to(ROOT)}")
        else:
            for f in findings:
                print(f)
    print(f"{total} typed number(s) in {len(files)} page(s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
