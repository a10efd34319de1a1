"""Sphinx extension: show a package object's teaching core, linked to its API entry.

A chapter shows the code it explains with the ``listing`` directive::

    ```{listing} dlfoundations.losses.cross_entropy
    ```

The argument is the dotted name of a function, class or method of
``dlfoundations`` (or of a whole module). The directive finds the object in the
source file with :mod:`ast` (nothing is imported), drops every docstring in it
(the object's own and those of nested functions and classes), dedents it and
shows it as a Python code block. The caption names the object and links to its
entry on the API reference page, where autodoc shows the full docstring and
``sphinx.ext.viewcode`` the full source; an object the reference does not list
(a private helper) links to its module's entry instead. With ``nitpicky`` on,
a caption whose target does not exist fails the build.

Options, applied after the docstrings are dropped (as ``literalinclude``'s):

``:start-at:`` / ``:start-after:``
    show from the first line containing this text (inclusive / exclusive);
``:end-before:`` / ``:end-at:``
    stop at the first later line containing this text (exclusive / inclusive);
``:caption:``
    text shown before the linked name.

Enabled in ``_config.yml``::

    sphinx:
      local_extensions:
        listing: tools
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

# Defaults of the two settings (conf.py / _config.yml ``sphinx.config``):
# ``listing_package``, the package whose objects listings show, and
# ``listing_source_dir``, its source folder relative to the configuration's folder.
PACKAGE = "dlfoundations"
SOURCE_DIR = "src/dlfoundations"

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class ListingError(ValueError):
    """A listing's target or options cannot be resolved."""


@dataclass(frozen=True)
class Listing:
    """What the directive shows: the code, where it came from, and where it links."""

    code: str
    path: Path
    target: str  # dotted name the caption links to
    target_type: str  # "obj" or "mod"


def split_target(dotted: str, source_dir: Path, package: str = PACKAGE) -> tuple[str, Path, list[str]]:
    """Split ``dlfoundations.mod.Obj.attr`` into the module name, its file and ``["Obj", "attr"]``."""
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] != package or not all(part.isidentifier() for part in parts):
        raise ListingError(f"listing expected a dotted name under {package!r}, like '{package}.module.function'; got {dotted!r}")
    # The longest prefix that names a module file wins: dlfoundations.optim.SGD.step -> optim.py, ["SGD", "step"].
    for split in range(len(parts), 1, -1):
        path = source_dir.joinpath(*parts[1:split - 1], parts[split - 1] + ".py")
        if path.is_file():
            return ".".join(parts[:split]), path, parts[split:]
    raise ListingError(f"listing found no module file for {dotted!r} under {source_dir}")


def _find(tree: ast.Module, names: list[str], dotted: str) -> ast.AST:
    node: ast.AST = tree
    for name in names:
        body = getattr(node, "body", [])
        matches = [child for child in body if isinstance(child, _DEFS) and child.name == name]
        if not matches:
            raise ListingError(f"listing found no function or class {name!r} for {dotted!r}")
        node = matches[-1]  # as Python binds names: a later definition wins
    return node


def _docstring_lines(node: ast.AST) -> set[int]:
    """1-based line numbers of every docstring in ``node`` and the definitions nested in it."""
    lines: set[int] = set()
    for child in ast.walk(node):
        if not isinstance(child, (ast.Module, *_DEFS)) or not child.body:
            continue
        first = child.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def strip_docstrings(source: str, names: list[str], dotted: str = "") -> str:
    """Return the source of the object at ``names`` in ``source`` without its docstrings, dedented.

    ``names`` empty means the whole module. A definition whose body was only a
    docstring keeps a ``...`` so the code stays valid Python; the blank lines
    that followed a dropped docstring go with it.
    """
    tree = ast.parse(source)
    node = _find(tree, names, dotted or ".".join(names))
    lines = source.splitlines()
    if names:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno
    else:
        first, last = 1, len(lines)
    dropped = _docstring_lines(node)
    empty_bodies = {
        child.body[0].lineno
        for child in ast.walk(node)
        if isinstance(child, _DEFS) and len(child.body) == 1 and child.body[0].lineno in dropped
    }
    kept: list[str] = []
    previous_dropped = False
    for number in range(first, last + 1):
        line = lines[number - 1]
        if number in dropped:
            if number in empty_bodies:
                indent = line[: len(line) - len(line.lstrip())]
                kept.append(indent + "...")
            previous_dropped = True
            continue
        if previous_dropped and not line.strip():
            continue
        previous_dropped = False
        kept.append(line)
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    return textwrap.dedent("\n".join(kept))


def _slice(code: str, options: dict, dotted: str) -> str:
    lines = code.splitlines()
    start = 0
    for option, inclusive in (("start-at", True), ("start-after", False)):
        if option in options:
            text = options[option]
            hits = [i for i, line in enumerate(lines) if text in line]
            if not hits:
                raise ListingError(f"listing {dotted}: no line contains {option} text {text!r}")
            start = hits[0] if inclusive else hits[0] + 1
    end = len(lines)
    for option, inclusive in (("end-before", False), ("end-at", True)):
        if option in options:
            text = options[option]
            hits = [i for i, line in enumerate(lines) if i >= start and text in line]
            if not hits:
                raise ListingError(f"listing {dotted}: no line after the start contains {option} text {text!r}")
            end = hits[0] + 1 if inclusive else hits[0]
    return textwrap.dedent("\n".join(lines[start:end])).strip("\n")


def link_target(module: str, names: list[str]) -> tuple[str, str]:
    """The API entry a listing links to: the object, or its module if any part of the path is private."""
    public: list[str] = []
    for name in names:
        if name.startswith("_"):
            break
        public.append(name)
    if not public:
        return module, "mod"
    return ".".join([module, *public]), "obj"


def make_listing(dotted: str, source_dir: Path, options: dict | None = None, package: str = PACKAGE) -> Listing:
    """Resolve ``dotted`` and build what the directive shows (used by the directive and the tests)."""
    module, path, names = split_target(dotted, source_dir, package)
    code = strip_docstrings(path.read_text(encoding="utf-8"), names, dotted)
    code = _slice(code, options or {}, dotted)
    if not code.strip():
        raise ListingError(f"listing {dotted}: nothing left to show")
    target, target_type = link_target(module, names)
    return Listing(code=code, path=path, target=target, target_type=target_type)


class ListingDirective(SphinxDirective):
    """``{listing} dlfoundations.module.object``: the object's code without docstrings, linked to the API page."""

    required_arguments = 1
    optional_arguments = 0
    has_content = False
    option_spec = {
        "start-at": directives.unchanged_required,
        "start-after": directives.unchanged_required,
        "end-before": directives.unchanged_required,
        "end-at": directives.unchanged_required,
        "caption": directives.unchanged_required,
        "name": directives.unchanged_required,
    }

    def run(self) -> list[nodes.Node]:
        dotted = self.arguments[0].strip()
        package = self.config.listing_package
        source_dir = Path(self.env.app.confdir) / self.config.listing_source_dir
        try:
            listing = make_listing(dotted, source_dir, self.options, package)
        except (ListingError, SyntaxError, OSError) as error:
            raise self.error(str(error)) from error
        self.env.note_dependency(str(listing.path))

        literal = nodes.literal_block(listing.code, listing.code, language="python", classes=["dlf-listing-code"])
        literal["linenos"] = False
        self.set_source_info(literal)

        shown = dotted.removeprefix(package + ".")
        caption = nodes.caption("", "")
        if "caption" in self.options:
            caption += nodes.Text(self.options["caption"] + " ")
        caption += self._reference(listing, nodes.literal(shown, shown, classes=["xref", "py", f"py-{listing.target_type}"]))
        # Say where the rest is: the API entry holds the docstring, its [source] link the full code.
        caption += nodes.Text(" (")
        caption += self._reference(listing, nodes.inline("docstring and full source", "docstring and full source"))
        caption += nodes.Text(")")
        self.set_source_info(caption)

        container = nodes.container("", literal_block=True, classes=["literal-block-wrapper", "dlf-listing"])
        container += caption
        container += literal
        self.set_source_info(container)
        if "name" in self.options:
            self.add_name(container)
        return [container]

    def _reference(self, listing: Listing, content: nodes.Node) -> addnodes.pending_xref:
        return addnodes.pending_xref(
            "",
            content,
            refdomain="py",
            reftype=listing.target_type,
            reftarget=listing.target,
            refexplicit=True,
            refwarn=True,
            refdoc=self.env.docname,
        )


def setup(app):
    app.add_config_value("listing_package", PACKAGE, "env", [str])
    app.add_config_value("listing_source_dir", SOURCE_DIR, "env", [str])
    app.add_directive("listing", ListingDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
