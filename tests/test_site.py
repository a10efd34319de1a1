"""The built site reads offline: every TOC page in headless Chromium, network cut off.

Each page of ``_toc.yml`` is served from ``_build/html`` by a local HTTP server
and opened once in Chromium (driven by Playwright, using the system browser,
never ``playwright install``). Every request to another origin is aborted and
recorded. The per-page tests then check the record: math typeset by MathJax,
images loaded with alt text, a clean console, no request leaving the machine,
no local 404.

Run with ``make test`` (which builds the book first) or, on a built book,
``.venv/bin/python -m pytest tests -m site``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from book_pages import is_executed, resolve_entry, toc_pages

pytestmark = pytest.mark.site

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = toc_pages(REPO_ROOT)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "install Debian's Chromium (`sudo apt-get install chromium`) or set CHROMIUM_PATH "
    "to a Chromium binary; never `playwright install`"
)
PAGE_TIMEOUT_MS = 30_000
MATHJAX_TIMEOUT_MS = 15_000


def html_path(page: str) -> str:
    """The built page of a TOC entry, relative to ``_build/html``."""
    return page + ".html"


# ------------------------------------------------------------------- fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def origin(built_html: Path):
    """Serve ``_build/html`` on 127.0.0.1 (a free port) from a background thread."""
    handler = functools.partial(_QuietHandler, directory=str(built_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


def _no_browser(reason: str) -> None:
    if os.environ.get("DLF_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; DLF_REQUIRE_BROWSER=1 makes the browser tests mandatory: {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"{reason}: {INSTALL_HINT}")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module."""
    executable = _chromium_path()
    if executable is None:
        _no_browser(f"Chromium not found at {os.environ.get('CHROMIUM_PATH', '/usr/bin/chromium')}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the Python package `playwright` is not installed (pip install -r requirements.txt)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except Exception as error:  # a broken or incompatible binary
        playwright.stop()
        _no_browser(f"Chromium at {executable} did not start ({error})")
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@dataclass
class Visit:
    """What one page load did, as seen by the browser."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    load_error: str | None = None
    math_elements: int = 0
    mjx_containers: int = 0
    mathjax_errors: list[str] = field(default_factory=list)
    text: str = ""
    images: list[dict] = field(default_factory=list)


# Wait for every <img> to finish (lazy ones included), then report each.
_IMAGES_JS = """
async () => {
  const images = Array.from(document.images);
  for (const img of images) img.loading = "eager";
  await Promise.all(images.map((img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done, {once: true});
    img.addEventListener("error", done, {once: true});
    setTimeout(done, 10000);
  })));
  return images.map((img) => ({
    src: img.getAttribute("src"),
    url: img.currentSrc || img.src,
    complete: img.complete,
    naturalWidth: img.naturalWidth,
    alt: img.getAttribute("alt"),
  }));
}
"""

# The prose as typeset: like document.body.innerText, but without code blocks
# (a regex or docstring may hold a literal "\\(") and with hidden parts (closed
# solutions) included.
_TEXT_JS = """
() => {
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "MJX-CONTAINER", "MJX-ASSISTIVE-MML"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let el = node.parentElement; el; el = el.parentElement) {
        if (skip.has(el.tagName)) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    },
  });
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts.join(" ");
}
"""

_MATH_JS = """
() => ({
  math: document.querySelectorAll(".math").length,
  mjx: document.querySelectorAll("mjx-container").length,
  errors: Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]"))
    .map((el) => el.getAttribute("data-mjx-error") || el.textContent),
})
"""


def _visit(browser, origin: str, page: str) -> Visit:
    url = f"{origin}/{html_path(page)}"
    visit = Visit(url=url)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    def route(route) -> None:
        request_url = route.request.url
        if request_url.startswith((origin + "/", "data:", "blob:")):
            route.continue_()
        else:
            visit.external_requests.append(request_url)
            route.abort("blockedbyclient")

    def on_response(response) -> None:
        if response.url.startswith(origin + "/") and response.status >= 400:
            visit.failed_requests.append(f"HTTP {response.status} {response.url}")

    def on_request_failed(request) -> None:
        if request.url.startswith(origin + "/"):
            visit.failed_requests.append(f"{request.failure} {request.url}")

    def on_console(message) -> None:
        if message.type == "error":
            where = f"{message.location.get('url', '')}:{message.location.get('lineNumber', '')}"
            visit.console_errors.append(f"{message.text} ({where})")

    context.route("**/*", route)
    page_obj = context.new_page()
    page_obj.on("console", on_console)
    page_obj.on("pageerror", lambda error: visit.page_errors.append(str(error)))
    page_obj.on("response", on_response)
    page_obj.on("requestfailed", on_request_failed)
    stage = "loading the page"
    try:
        response = page_obj.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
        if response is None or response.status >= 400:
            visit.load_error = f"HTTP {response.status if response else '?'} for {url}"
            return visit
        stage = "waiting for MathJax to start (is _static/mathjax/tex-chtml.js loaded?)"
        page_obj.wait_for_function(
            "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
            timeout=MATHJAX_TIMEOUT_MS,
        )
        stage = "waiting for MathJax to typeset"
        page_obj.evaluate(
            "async () => { if (window.MathJax && window.MathJax.startup) await window.MathJax.startup.promise; }"
        )
        stage = "waiting for the images"
        visit.images = page_obj.evaluate(_IMAGES_JS)
        # Late requests (MathJax fonts, lazy components) are part of the page too.
        stage = "waiting for the network to go idle"
        page_obj.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
        stage = "reading the typeset page"
        math = page_obj.evaluate(_MATH_JS)
        visit.math_elements, visit.mjx_containers = math["math"], math["mjx"]
        visit.mathjax_errors = math["errors"]
        visit.text = page_obj.evaluate(_TEXT_JS)
    except Exception as error:  # noqa: BLE001 - reported by every per-page test
        visit.load_error = f"{stage}: {type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        context.close()
    return visit


@pytest.fixture(scope="module")
def visits(browser, origin):
    """Open each page once, on first use, and keep what happened for every test."""
    cache: dict[str, Visit] = {}

    def get(page: str) -> Visit:
        if page not in cache:
            cache[page] = _visit(browser, origin, page)
        visit = cache[page]
        load_error = visit.load_error
        assert load_error is None, f"{page}: the page did not load and settle: {load_error}"
        return visit

    return get


def _page_html(built_html: Path, page: str) -> str:
    path = built_html / html_path(page)
    if not path.is_file():
        pytest.fail(f"{path} is missing: is {page} in _toc.yml but not built? Run `make book`.", pytrace=False)
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------- per-page tests

_MATH_CLASS = re.compile(r"""class=["'][^"']*\bmath\b""")
_RAW_TEX = ("$$", "\\[", "\\(", "\\begin{")


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(built_html: Path, visits, page: str) -> None:
    source_has_math = bool(_MATH_CLASS.search(_page_html(built_html, page)))
    visit = visits(page)
    rendered, errors, text = visit.mjx_containers, visit.mathjax_errors, visit.text
    if source_has_math or visit.math_elements:
        assert rendered > 0, f"{page} has math but MathJax rendered none (no <mjx-container>)"
    assert not errors, f"{page}: MathJax could not typeset: {errors}"
    raw = [marker for marker in _RAW_TEX if marker in text]
    assert not raw, (
        f"{page}: raw TeX {raw} left in the text, so some math was not typeset; "
        f"near: {_context(text, raw[0])!r}"
    )


@pytest.mark.parametrize("page", PAGES)
def test_images_load_and_have_alt_text(visits, page: str) -> None:
    images = visits(page).images
    broken = [img["src"] for img in images if not img["complete"] or img["naturalWidth"] <= 0]
    assert not broken, f"{page}: images that did not load: {broken}"
    no_alt = [img["src"] for img in images if not (img["alt"] or "").strip()]
    assert not no_alt, f"{page}: images without alt text (give each figure `image: alt:`): {no_alt}"


@pytest.mark.parametrize("page", PAGES)
def test_console_is_clean(visits, page: str) -> None:
    visit = visits(page)
    page_errors, console_errors = visit.page_errors, visit.console_errors
    assert not page_errors, f"{page}: uncaught JavaScript errors: {page_errors}"
    assert not console_errors, f"{page}: console errors: {console_errors}"


@pytest.mark.parametrize("page", PAGES)
def test_no_request_leaves_the_machine(visits, page: str) -> None:
    external = visits(page).external_requests
    assert not external, f"{page}: requests to other hosts (the site must read offline, no CDN): {external}"


@pytest.mark.parametrize("page", PAGES)
def test_no_failed_local_requests(visits, page: str) -> None:
    failed = visits(page).failed_requests
    assert not failed, f"{page}: local requests that failed: {failed}"


@pytest.mark.parametrize("page", PAGES)
def test_page_is_built_with_a_title(built_html: Path, page: str) -> None:
    html = _page_html(built_html, page)
    assert re.search(r"<h1[\s>]", html), f"{html_path(page)} has no <h1>: every page needs a `# Title`"


def test_toc_has_pages() -> None:
    assert PAGES, f"no pages found in {REPO_ROOT / '_toc.yml'} (see tests/test_toc.py)"


def test_screenshot_of_a_chapter(built_html: Path, browser, origin) -> None:
    """Save a full-page screenshot for humans: ``_build/screenshots/<page>.png``."""
    chapters = [p for p in PAGES if (s := resolve_entry(REPO_ROOT, p)) is not None and is_executed(s)]
    page = (chapters or PAGES or [None])[0]
    if page is None:
        pytest.fail("no page in _toc.yml to take a screenshot of")
    _page_html(built_html, page)
    target = built_html.parent / "screenshots" / (page.replace("/", "-") + ".png")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin + "/") else route.abort())
    try:
        tab = context.new_page()
        tab.goto(f"{origin}/{html_path(page)}", wait_until="load", timeout=PAGE_TIMEOUT_MS)
        tab.wait_for_function(
            "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
            timeout=MATHJAX_TIMEOUT_MS,
        )
        tab.evaluate("async () => { if (window.MathJax && window.MathJax.startup) await window.MathJax.startup.promise; }")
        tab.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
        tab.screenshot(path=str(target), full_page=True)
    finally:
        context.close()
    assert target.is_file() and target.stat().st_size > 1000, f"screenshot {target} is missing or empty"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{target} is not a PNG"


# ----------------------------------------------------------- whole-site checks


class _AssetLinks(HTMLParser):
    """Collect what a page loads by itself: script src, stylesheet/preload href."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"])
        elif tag == "link" and values.get("href"):
            rel = set(values.get("rel", "").lower().split())
            if rel & {"stylesheet", "preload", "modulepreload", "icon"}:
                self.urls.append(values["href"])


def _is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://", "//"))


def test_mathjax_is_bundled_and_no_asset_is_remote(built_html: Path) -> None:
    mathjax = built_html / "_static" / "mathjax" / "tex-chtml.js"
    assert mathjax.is_file() and mathjax.stat().st_size > 0, (
        f"{mathjax} is missing: MathJax must be copied into the site (sphinx-mathjax-offline)"
    )
    remote: list[str] = []
    for path in sorted(built_html.rglob("*.html")):
        parser = _AssetLinks()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        remote += [f"{path.relative_to(built_html)}: {url}" for url in parser.urls if _is_remote(url)]
    assert not remote, f"built pages load scripts or stylesheets from the network: {remote}"


def test_asset_scanner_finds_remote_assets() -> None:
    """The scanner above can fail: it sees CDN scripts and stylesheets."""
    parser = _AssetLinks()
    parser.feed(
        '<script src="https://cdn.example.org/mathjax.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/a.css">'
        '<link rel="next" href="https://example.org/next.html">'
        '<script src="_static/local.js"></script>'
    )
    assert [url for url in parser.urls if _is_remote(url)] == [
        "https://cdn.example.org/mathjax.js",
        "//fonts.example.org/a.css",
    ]


def _context(text: str, marker: str, width: int = 60) -> str:
    index = text.find(marker)
    return text[max(0, index - width): index + width]
