"""Serve the built book on 127.0.0.1 and open every page in headless Chromium.

The book must be built first (``make book-strict``; ``make browser`` does it).
Chromium is ``$CHROMIUM``, else one already on the machine, found by
``find_chromium.py`` beside this file (on PATH, or installed earlier by
Playwright), and driven by Playwright through ``executable_path``: no browser
is ever downloaded here.

Each page is loaded once, in a fresh browser context, and everything the tests
need is recorded then: the requests the page made, failed requests, console
errors, the bytes of every response, the state of its images, math and links,
and a screenshot in ``_build/screenshots/``: of the first screenful, or of the
whole page with ``FULL_PAGE_SCREENSHOTS=1`` (which costs about two seconds a
page). The counts are printed at the end of the run.
"""

import functools
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from find_chromium import CHROMIUM_ARGS, HOW_TO_GET_ONE, find_chromium
from local_server import HOST, serve

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"

VIEWPORT = {"width": 1440, "height": 900}
FULL_PAGE = os.environ.get("FULL_PAGE_SCREENSHOTS") == "1"
# Folders of the build that hold assets, not pages.
NOT_PAGES = {"_static", "_sources", "_images"}


def book_pages():
    """Every HTML page of the build, as paths relative to _build/html."""
    if not (HTML / "index.html").is_file():
        raise pytest.UsageError(f"no built book in {HTML.relative_to(ROOT)}: run `make book-strict` first")
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not NOT_PAGES & set(p.relative_to(HTML).parts)
    )


@dataclass
class Stats:
    pages: int = 0
    requests: int = 0
    on_host: int = 0
    off_host: list = field(default_factory=list)
    screenshots: int = 0


STATS = Stats()


@pytest.fixture(scope="session")
def server():
    with serve(HTML) as origin:
        yield origin


@pytest.fixture(scope="session", autouse=True)
def fresh_screenshots():
    """Screenshots of this run only: none left over from an earlier one."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)


@pytest.fixture(scope="session")
def browser():
    try:
        executable = find_chromium()
    except ValueError as error:
        pytest.fail(str(error))
    if executable is None:
        pytest.fail(HOW_TO_GET_ONE)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What one page did while it loaded, and what it showed."""

    path: str
    url: str
    final_url: str = ""                                # after any redirect
    after: object = None                               # what the ``after`` callback returned
    requests: list = field(default_factory=list)       # every URL the page requested
    failures: list = field(default_factory=list)       # (url, reason)
    console_errors: list = field(default_factory=list)
    images: list = field(default_factory=list)         # {src, complete, naturalWidth}
    math: dict = field(default_factory=dict)
    links: list = field(default_factory=list)          # absolute hrefs of <a> elements
    ids: set = field(default_factory=set)              # ids and names in the live DOM
    sizes: dict = field(default_factory=dict)          # bytes of each response, by URL


def on_host(url, origin):
    """True for a request to the book's own server, or one that needs no network."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return f"{parts.scheme}://{parts.netloc}" == origin


# Runs in the page once it has loaded: waits for MathJax, then collects the facts.
COLLECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const images = Array.from(document.images);
  await Promise.allSettled(images.map(img => { img.loading = 'eager'; return img.decode(); }));
  const text = document.body.cloneNode(true);
  text.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, .MathJax')
      .forEach(e => e.remove());
  // Formulas of the page's own text; a heading's formula also shows in the tables of contents.
  const article = document.querySelector('article') || document.body;
  const math = Array.from(document.querySelectorAll('.math'));
  return {
    images: images.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                                naturalWidth: img.naturalWidth})),
    math: {
      mathjax: Boolean(window.MathJax && MathJax.version),
      elements: article.querySelectorAll('.math').length,
      all: math.length,
      typeset: math.filter(e => e.querySelector('mjx-container')).length,
      containers: document.querySelectorAll('mjx-container').length,
      errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
      text: text.textContent,
    },
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
    ids: Array.from(document.querySelectorAll('[id], a[name]'), e => e.id || e.getAttribute('name')),
  };
}"""


# The body of every response the page received, as the browser counted it (the
# server sends files as they are, without compression).
SIZES = """() => Object.fromEntries(
  performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
             .map(e => [e.name, e.encodedBodySize]))"""


def response_sizes(page, requests):
    """Bytes of the response to each of ``requests``: the browser's own count, or,
    for a page left by a redirect, the size of the file served."""
    timed = page.evaluate(SIZES)
    sizes = {}
    for url in requests:
        if url in timed:
            sizes[url] = timed[url]
        else:
            file = HTML / unquote(urlsplit(url).path.lstrip("/"))
            sizes[url] = file.stat().st_size if urlsplit(url).scheme == "http" and file.is_file() else 0
    return sizes


def screenshot_path(path):
    name = re.sub(r"\.html\b", "", path)
    return SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "__", name).strip("_") + ".png")


REFRESH = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.I)


def redirect_target(path):
    """Where a redirect page (index.html) sends the reader, as a path from the
    top of the build (zh/index.html sends to zh/intro.html), or None."""
    file = HTML / path.split("?")[0]
    match = REFRESH.search(file.read_text(encoding="utf-8")) if file.is_file() else None
    if match is None:
        return None
    folder = path.split("?")[0].rpartition("/")[0]
    return f"{folder}/{match.group(1)}" if folder else match.group(1)


def load(browser, server, path, after=None, name=None):
    """Open ``path`` in a fresh context, record everything (the bytes of each
    response too), take a screenshot.

    ``after(page)``, if given, runs once the page has loaded (its result is
    kept in ``Visit.after``); ``name`` names the screenshot instead of ``path``.
    """
    visit = Visit(path, f"{server}/{path}")
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.on("request", lambda request: visit.requests.append(request.url))
    page.on("requestfailed", lambda request: visit.failures.append((request.url, request.failure)))
    page.on("response", lambda response: response.status >= 400
            and visit.failures.append((response.url, f"HTTP {response.status}")))
    page.on("console", lambda message: message.type == "error"
            and visit.console_errors.append(f"{message.text} ({message.location.get('url')})"))
    page.on("pageerror", lambda error: visit.console_errors.append(f"uncaught: {error}"))
    try:
        page.goto(visit.url, wait_until="load")
        target = redirect_target(path)
        if target is not None:
            page.wait_for_url(f"{server}/{target}")
            page.wait_for_load_state("load")
        if after is not None:
            visit.after = after(page)
        visit.final_url = page.url
        facts = page.evaluate(COLLECT)
        page.wait_for_load_state("networkidle")
        visit.sizes = response_sizes(page, visit.requests)
        visit.images, visit.math, visit.links = facts["images"], facts["math"], facts["links"]
        visit.ids = set(facts["ids"])
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshot_path(name or path), full_page=FULL_PAGE)
        STATS.screenshots += 1
    finally:
        context.close()
    STATS.pages += 1
    STATS.requests += len(visit.requests)
    for url in visit.requests:
        if on_host(url, server):
            STATS.on_host += 1
        else:
            STATS.off_host.append((path, url))
    return visit


@pytest.fixture(scope="session")
def visits(browser, server):
    """Each page loaded once, on first use."""
    cache = {}

    def get(path):
        if path not in cache:
            cache[path] = load(browser, server, path)
        return cache[path]

    get.server = server
    get.load = functools.partial(load, browser, server)
    return get


def pytest_terminal_summary(terminalreporter):
    if STATS.pages == 0:
        return
    line = (f"browser: {STATS.pages} page loads, {STATS.requests} requests checked, "
            f"{STATS.on_host} to {HOST}, {len(STATS.off_host)} off-host; "
            f"{STATS.screenshots} screenshots in {SCREENSHOTS.relative_to(ROOT)}/")
    terminalreporter.write_line(line)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "summary.json").write_text(json.dumps({
        "page_loads": STATS.pages, "requests": STATS.requests, "on_host": STATS.on_host,
        "off_host": STATS.off_host, "screenshots": STATS.screenshots,
    }, indent=2) + "\n")
