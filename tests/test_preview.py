"""tools/preview.py (``make preview``): the Sphinx configuration it writes, and a live server.

The live test starts the preview of a fixture book on a free local port, reads
a page over HTTP, changes a module that only that page imports, and waits for
the served page to show the new output (rebuilt on save). About 20 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fixture_books import CODE, edit, kernel_env, write_book

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS = REPO_ROOT / "tools"
sys.path.insert(0, str(TOOLS))
import preview  # noqa: E402

sys.path.remove(str(TOOLS))


def test_conf_for_the_real_book_matches_jupyter_book(tmp_path: Path) -> None:
    path = preview.write_conf(REPO_ROOT, tmp_path / "conf")
    namespace: dict = {}
    saved = list(sys.path)
    try:
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
        # The book's local extensions (tools/listing.py, ...) import from the conf's sys.path.
        assert str(TOOLS) in sys.path
    finally:
        sys.path[:] = saved
    assert {"myst_nb", "sphinx_external_toc", "listing", "dedupe_inline_scripts"} <= set(namespace["extensions"])
    assert namespace["external_toc_path"] == (REPO_ROOT / "_toc.yml").as_posix()
    assert namespace["nitpicky"] is True
    assert namespace["nb_execution_mode"] == "cache"
    assert namespace["nb_execution_cache_path"] == "_build/.jupyter_cache"
    # conf.py is not at the root: paths that Sphinx and sphinxcontrib-bibtex read
    # relative to it must be absolute.
    assert namespace["bibtex_bibfiles"] == [(REPO_ROOT / "book" / "references.bib").as_posix()]
    assert Path(namespace["bibtex_bibfiles"][0]).is_file()
    assert namespace["html_logo"] == ""  # an empty setting stays empty


def test_command_executes_in_parallel_before_each_build(tmp_path: Path) -> None:
    command = preview.autobuild_command(tmp_path, "127.0.0.1", 8123, jobs=2, python="/venv/bin/python")
    assert command[1:3] == [str(tmp_path), str(tmp_path / "_build/preview/html")]
    assert command[command.index("-c") + 1] == str(tmp_path / "_build/preview/conf")
    doctrees = str(tmp_path / "_build/preview/doctrees")
    assert command[command.index("-d") + 1] == doctrees
    pre_build = command[command.index("--pre-build") + 1]
    assert pre_build == (f"/venv/bin/python {TOOLS}/build_book.py --root {tmp_path} --execute-only "
                         f"--doctree-dir {doctrees} --jobs 2")
    assert command[command.index("--watch") + 1] == str(tmp_path / "src")
    assert "-W" not in command  # warnings are shown, the server keeps serving


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, text: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the preview server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read().decode("utf-8", errors="replace")
            if text in body:
                return body
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not show {text!r} within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.mark.build
def test_preview_serves_the_book_and_rebuilds_on_save(tmp_path: Path) -> None:
    book = tmp_path / "book-root"
    write_book(book, CODE)
    port = _free_port()
    log = tmp_path / "preview.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, str(TOOLS / "preview.py"), "--root", str(book), "--port", str(port)],
            cwd=book, env=kernel_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/book/b.html"
        _wait_for(url, "beta-v1", process, log)
        # Save a change to the module only chapter b imports: the page follows.
        edit(book / "src" / "fixturepkg" / "beta.py", "beta-v1", "beta-v2")
        body = _wait_for(url, "beta-v2", process, log)
        assert "beta-v1" not in body
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and the builds it started
        process.wait(timeout=30)
    text = log.read_text()
    assert "executed book/b" in text
    assert not (book / "_build" / "html").exists(), "the preview must not write make book's HTML"
