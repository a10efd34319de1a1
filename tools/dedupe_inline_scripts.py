"""Sphinx extension: write each inline ``<script>`` once per page.

Sphinx 7.x adds an inline script (``app.add_js_file(None, body=...)``) that an
extension registers after the HTML builder started twice: once as filename
``None``, once as ``''``, and its duplicate check sees two different assets
(fixed upstream in Sphinx 8.2, sphinx-doc/sphinx PR 13402; Jupyter Book 1.x
pins ``sphinx~=7.0``). sphinx-thebe's ``const THEBE_JS_URL = ...`` then runs
twice and every page logs ``SyntaxError: Identifier 'THEBE_JS_URL' has already
been declared`` (the browser tests in tests/test_site.py catch it).

Enabled in ``_config.yml``::

    sphinx:
      local_extensions:
        dedupe_inline_scripts: tools
"""

from __future__ import annotations

from typing import Any


def _dedupe_scripts(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        # None and "" both mean "inline": compare them as equal.
        filename = str(getattr(script, "filename", script) or "")
        attributes = getattr(script, "attributes", {}) or {}
        key = (filename, getattr(script, "priority", None), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    # In place: the builder restores its own list before the next page.
    scripts[:] = unique


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
