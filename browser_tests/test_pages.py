"""Every page of the built book, as a reader's browser shows it, with no network.

For each page: no console error; every request goes to the book's own server on
127.0.0.1 and succeeds; every image loads; every formula of the source is
typeset by MathJax and no raw TeX is left in the text; every internal link and
anchor resolves. The search page must find "stride".

The Chinese edition, in zh/, is held to the same: its pages are among
``book_pages()``. Its own tests (test_editions.py) check the switch between
the editions, Chinese search and the interface text.
"""

import json
import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from conftest import HTML, ROOT, book_pages, on_host

PAGES = book_pages()


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    return [f"{f}.html" for f in files]


def test_every_page_of_the_book_is_tested():
    expected = set(toc_pages()) | {"index.html", "search.html", "genindex.html"}
    assert len(toc_pages()) >= 7                       # intro, five chapters, glossary
    assert expected <= set(PAGES), f"not built: {sorted(expected - set(PAGES))}"


def source_of(path):
    """The .md or .ipynb file a page is built from, or None for generated pages.
    A page of the Chinese edition (zh/...) is built from the same file."""
    path = path.removeprefix("zh/")
    stem = "intro" if path == "index.html" else path[: -len(".html")]
    for suffix in (".md", ".ipynb"):
        if (ROOT / f"{stem}{suffix}").is_file():
            return ROOT / f"{stem}{suffix}"
    return None


FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
CODE_SPAN = re.compile(r"`[^`\n]*`")
DISPLAY = re.compile(r"\$\$.+?\$\$", re.S)
INLINE = re.compile(r"(?<![\\$])\$(?=\S)[^$\n]+?(?<=\S)\$(?!\$)")


def prose(markdown):
    """The text of ``markdown`` less its code blocks; a directive's content (a
    fence opened with ``{name}``) is prose and stays."""
    kept, stack = [], []                  # stack of (fence, is_code) for open fences
    for line in markdown.splitlines():
        match = FENCE.match(line)
        if match and stack and match.group(1) == stack[-1][0] and not match.group(2).strip():
            stack.pop()                   # a closing fence
            continue
        if match and not (stack and stack[-1][1]):
            stack.append((match.group(1), not match.group(2).strip().startswith("{")))
            continue
        if not any(is_code for _, is_code in stack):
            kept.append(line)
    return "\n".join(kept)


# The English rendering of a quoted source note, which the Chinese edition leaves out (_ext/editions.py).
NOTE_TRANSLATION = re.compile(r"^:::\{div\} note-translation\n.*?^:::$", re.S | re.M)


def source_math(path):
    """How many formulas ($...$ or $$...$$) the page's source writes in its prose."""
    source = source_of(path)
    if source is None:
        return 0
    if source.suffix == ".md":
        texts = [source.read_text()]
    else:
        nb = nbformat.read(source, as_version=4)
        texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    if path.startswith("zh/"):
        texts = [NOTE_TRANSLATION.sub("", text) for text in texts]
    count = 0
    for text in texts:
        text = CODE_SPAN.sub("", prose(text))
        count += len(DISPLAY.findall(text))
        count += len(INLINE.findall(DISPLAY.sub("", text)))
    return count


def png_outputs(path):
    source = source_of(path)
    if source is None or source.suffix != ".ipynb":
        return 0
    nb = nbformat.read(source, as_version=4)
    return sum("image/png" in out.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for out in c.outputs)


@pytest.mark.parametrize("path", PAGES)
def test_no_console_errors(visits, path):
    assert visits(path).console_errors == []


@pytest.mark.parametrize("path", PAGES)
def test_every_request_stays_on_127_0_0_1_and_succeeds(visits, path):
    visit = visits(path)
    assert any(url.startswith(visit.url) for url in visit.requests), "the page itself was not requested"
    assert [url for url in visit.requests if not on_host(url, visits.server)] == []
    assert visit.failures == []


@pytest.mark.parametrize("path", PAGES)
def test_every_image_loads(visits, path):
    images = visits(path).images
    assert [img["src"] for img in images if not (img["complete"] and img["naturalWidth"] > 0)] == []
    assert len(images) >= png_outputs(path), "a figure of the notebook is missing from the page"


RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\[a-zA-Z]+\b|\$[^$\n]+\$")


@pytest.mark.parametrize("path", PAGES)
def test_math_is_typeset_where_the_source_has_math(visits, path):
    math = visits(path).math
    expected = source_math(path)
    assert math["elements"] == expected, "formulas on the page differ from those in the source"
    if expected:
        assert math["mathjax"], "MathJax did not load"
        assert math["typeset"] == math["all"] >= expected, "some formulas were not typeset"
        assert math["errors"] == 0
    raw = RAW_TEX.findall(math["text"])
    assert raw == [], f"raw TeX left in the text: {raw[:5]}"


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)


@lru_cache(maxsize=None)
def static_ids(file):
    parser = _Ids()
    parser.feed(Path(file).read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def broken_links(visit, origin):
    """(href, reason) for each internal link whose file or anchor does not exist."""
    page_file = HTML / unquote(urlsplit(visit.final_url).path.lstrip("/"))
    broken = []
    for href in visit.links:
        parts = urlsplit(href)
        if parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}" != origin:
            continue                                   # a link to another site, not a request
        if parts.scheme == "mailto":
            continue
        if parts.scheme not in ("http", "https"):
            broken.append((href, f"unexpected scheme {parts.scheme!r}"))
            continue
        target = HTML / unquote(parts.path.lstrip("/"))
        if parts.path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append((href, "no such file"))
            continue
        fragment = unquote(parts.fragment)
        if fragment:
            ids = visit.ids if target == page_file else static_ids(target)
            if fragment not in ids:
                broken.append((href, f"no element with id {fragment!r}"))
    return broken


@pytest.mark.parametrize("path", PAGES)
def test_every_internal_link_and_anchor_resolves(visits, path):
    visit = visits(path)
    internal = [h for h in visit.links if h.startswith(visits.server)]
    assert internal, "a page of the book links to nothing in the book"
    assert broken_links(visit, visits.server) == []


def test_chapters_offer_their_notebook_for_download(visits):
    for path in toc_pages():
        source = source_of(path)
        if source.suffix == ".ipynb":
            download = f"{visits.server}/_sources/{path[: -len('.html')]}.ipynb"
            assert download in visits(path).links, f"{path} has no .ipynb download link"


CHAPTERS = [p for p in toc_pages() if p.startswith("chapters/")]
CHAPTERS += [f"zh/{p}" for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS)
def test_exercises_end_every_chapter_with_solutions_behind_a_toggle(visits, path):
    def open_solutions(page):
        exercises = page.locator("article .exercise")
        solutions = page.locator("article .solution.dropdown")
        state = {"exercises": exercises.count(), "solutions": solutions.count(), "hidden": [], "shown": [],
                 "last": page.evaluate("""() => {
                     const sections = document.querySelectorAll('article section[id]');
                     return sections[sections.length - 1].closest('article > section > section').id; }""")}
        for n in range(state["solutions"]):
            solution = solutions.nth(n)
            output = solution.locator(".cell_output").first
            state["hidden"].append(not output.is_visible())
            solution.locator(".toggle-button").click()                 # the chevron by the title
            output.wait_for(state="visible", timeout=5_000)
            state["shown"].append(output.is_visible())
        return state

    visit = visits.load(path, after=open_solutions, name=path.replace(".html", "__solutions_open.html"))
    state = visit.after
    assert state["exercises"] >= 2 and state["solutions"] == state["exercises"]
    assert state["last"] == "exercises", "the exercises are not the chapter's last section"
    assert all(state["hidden"]), "a solution is visible before its toggle is clicked"
    assert all(state["shown"]), "a solution's executed output does not show when opened"
    assert visit.console_errors == [] and visit.failures == []


def test_search_finds_stride(visits):
    def search(page):
        page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
        return page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")

    visit = visits.load("search.html?q=stride", after=search)
    results = [urlsplit(url).path for url in visit.after]
    assert "/chapters/03_padding_and_stride.html" in results, results
    assert visit.console_errors == [] and visit.failures == []
    assert [url for url in visit.requests if not on_host(url, visits.server)] == []


def test_search_index_is_local_and_complete():
    index = (HTML / "searchindex.js").read_text()
    terms = json.loads(index[index.index("(") + 1: index.rindex(")")])["terms"]
    assert "stride" in terms
