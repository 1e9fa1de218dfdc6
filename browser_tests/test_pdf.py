"""The printed book, _build/html/the-pooling-book.pdf, and its Chinese edition,
_build/html/zh/the-pooling-book.pdf (``make pdf``; ``make browser`` prints
them before these tests), read with pypdf. Each test runs on both.

Its text is read once, and compared with the sources:
the chapter titles of _toc.yml, a tensor chapter 1 prints, and what every
solution prints. Text is compared with all whitespace removed, since code that
wraps at the margin breaks lines where the source has none.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
# edition -> folder of the edition in the HTML build
EDITIONS = {"en": HTML, "zh": HTML / "zh"}
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
LOCALE = ROOT / "locale" / "zh_CN" / "LC_MESSAGES"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
# The first output of max pooling in chapter 1: pool2d of the 3 x 3 grid 0..8 with a 2 x 2 window.
SEED_CHAPTER, SEED_TENSOR = "chapters/01_max_pooling.ipynb", "tensor([[4., 5.],\n        [7., 8.]])"
# What a page of this print style holds, in characters other than whitespace:
# the fullest pages (prose and code in small type) hold under 4,000, and the
# book as a whole averages about 2,000 (code, figures, and chapters that start
# on a new page leave room). Fewer pages than the text needs at 4,000 a page
# means text was lost; more than it needs at 1,000 a page means pages were
# wasted (blank pages, one block a page).
MOST_PER_PAGE, FEWEST_PER_PAGE = 4000, 1000


def squeeze(text):
    """The text without whitespace, ligatures spelt out (NFKC: "\ufb01" is "fi")."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def toc_documents():
    """The book's documents in order, as paths relative to the top of the repository."""
    names = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
    found = []
    for name in names:
        [path] = [p for p in (ROOT / f"{name}.ipynb", ROOT / f"{name}.md") if p.is_file()]
        found.append(path)
    return found


def title_of(path, edition="en"):
    """The text of the first level-1 heading of a notebook or Markdown page
    (in the Chinese edition, its translation)."""
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        lines = [line for c in cells if c.cell_type == "markdown" for line in c.source.splitlines()]
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
    title = next(line[2:].strip() for line in lines if line.startswith("# "))
    if edition == "zh":
        from babel.messages.pofile import read_po

        catalog = read_po((LOCALE / path.relative_to(ROOT).with_suffix(".po")).open("rb"))
        return catalog[title].string
    return title


def output_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "text/plain" in out.get("data", {}) and "image/png" not in out.data:
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def solution_outputs(path):
    """What the code cells of each solution print, in order, as (label, text)."""
    found, label = [], None
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("```{solution-start}"):
                    label = line.split()[1]
                elif line.startswith("```{solution-end}"):
                    label = None
        elif label is not None and output_text(cell).strip():
            found.append((label, output_text(cell)))
    return found


# Chromium writes text as "/F5 13 Tf" (the font), "<0037004B0048> Tj" (glyph
# codes, shown) and, for a ligature, "/Span<</ActualText (fi) >> BDC <13B2> Tj
# EMC"; form XObjects ("/X1 Do") may hold more. Reading just these with
# regular expressions, and the codes through each font's ToUnicode map, takes
# a second or two for the whole book, where pypdf's extract_text takes over
# twenty; a test below holds the two to the same text.
CONTENT = re.compile(
    rb"/([^\s/<>\[\]()]+)\s+[-\d.]+\s+Tf"                   # 1: font
    rb"|<([0-9A-Fa-f]*)>\s*Tj"                              # 2: shown string
    rb"|\[((?:\s*(?:<[0-9A-Fa-f]*>|[-\d.]+))*)\s*\]\s*TJ"   # 3: shown array
    rb"|/ActualText\s*\(((?:\\.|[^\\)])*)\)"                # 4: replacement text
    rb"|\b(EMC)\b"                                          # 5: end of marked content
    rb"|/([^\s/<>\[\]()]+)\s+Do\b"                          # 6: XObject
    rb"|\b(ET)\b")                                          # 7: end of a text object


def _utf16(data):
    return data.decode("utf-16-be", errors="replace")


def to_unicode(font):
    """(bytes per code, {code: text}) from a font's ToUnicode CMap."""
    width = 2 if font["/Subtype"] == "/Type0" else 1
    table = {}
    if "/ToUnicode" not in font:
        return width, table
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, text in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            table[int(code, 16)] = _utf16(bytes.fromhex(text))
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, target in re.findall(
                r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
            low, high = int(low, 16), int(high, 16)
            if target.startswith("["):
                for k, text in enumerate(re.findall(r"<([0-9A-Fa-f]*)>", target)):
                    table[low + k] = _utf16(bytes.fromhex(text))
            else:
                first = bytes.fromhex(target[1:-1])
                start = int.from_bytes(first, "big")
                for k in range(high - low + 1):
                    table[low + k] = _utf16((start + k).to_bytes(len(first), "big"))
    return width, table


def content_text(data, resources, maps):
    """The text a content stream shows, in the order it shows it."""
    resources = resources.get_object() if resources is not None else {}
    fonts = resources.get("/Font") or {}
    xobjects = resources.get("/XObject") or {}
    out, font, replacing = [], (2, {}), False
    for match in CONTENT.finditer(data):
        name, shown, array, actual, emc, xobject, end = match.groups()
        if name is not None:
            ref = fonts[f"/{name.decode()}"]
            key = getattr(ref, "idnum", id(ref))
            if key not in maps:
                maps[key] = to_unicode(ref.get_object())
            font = maps[key]
        elif shown is not None or array is not None:
            if replacing:
                continue
            width, table = font
            for digits in ([shown] if shown is not None else re.findall(rb"<([0-9A-Fa-f]*)>", array)):
                raw = bytes.fromhex(digits.decode())
                out.extend(table.get(int.from_bytes(raw[i:i + width], "big"), "")
                           for i in range(0, len(raw), width))
        elif actual is not None:
            out.append(re.sub(rb"\\(.)", rb"\1", actual).decode("latin-1"))
            replacing = True
        elif emc is not None:
            replacing = False
        elif xobject is not None:
            form = xobjects.get(f"/{xobject.decode()}")
            form = form.get_object() if form is not None else None
            if form is not None and form.get("/Subtype") == "/Form":
                out.append(content_text(form.get_data(), form.get("/Resources"), maps))
        else:
            out.append("\n")
    return "".join(out)


def page_text(page, maps):
    return content_text(page.get_contents().get_data(), page.get("/Resources"), maps)


@dataclass
class Printed:
    reader: object          # pypdf.PdfReader
    texts: list             # each page's text
    squeezed: str           # the whole text without whitespace
    edition: str            # "en" or "zh"

    @property
    def title(self):
        if self.edition == "zh":
            import sys

            sys.path.insert(0, str(ROOT / "scripts"))
            from build_edition import TITLE

            return TITLE
        return CONFIG["title"]

    @property
    def pages(self):
        return self.reader.pages

    @property
    def outline(self):
        return self.reader.outline


@pytest.fixture(scope="module", params=list(EDITIONS))
def pdf(request):
    path = EDITIONS[request.param] / "the-pooling-book.pdf"
    if not path.is_file():
        pytest.fail(f"no {path.relative_to(ROOT)}: run `make pdf` (or `make browser`, which prints it first)")
    from pypdf import PdfReader

    reader = PdfReader(path)
    maps = {}
    pages = [page_text(page, maps) for page in reader.pages]
    return Printed(reader, pages, squeeze("\n".join(pages)), request.param)


def bookmarks(outline, depth=0):
    for item in outline:
        if isinstance(item, list):
            yield from bookmarks(item, depth + 1)
        else:
            yield depth, item


@pytest.mark.parametrize("edition", list(EDITIONS))
def test_the_introduction_links_the_pdf(edition):
    assert 'href="the-pooling-book.pdf"' in (EDITIONS[edition] / "intro.html").read_text(encoding="utf-8")


def test_the_fast_text_reader_agrees_with_pypdf(pdf):
    # Pages with the contents, prose, code, formulas and figures, and Chinese.
    for n in (1, len(pdf.pages) // 3, len(pdf.pages) // 2, len(pdf.pages) - 1):
        assert squeeze(pdf.texts[n]) == squeeze(pdf.pages[n].extract_text()), f"page {n + 1}"


def test_page_count_fits_the_text(pdf):
    pages, characters = len(pdf.pages), len(pdf.squeezed)
    # A cover, the contents, and at least one page for each document of the book.
    assert pages >= 2 + len(toc_documents())
    assert characters / MOST_PER_PAGE <= pages <= characters / FEWEST_PER_PAGE, (pages, characters)


def test_pages_are_a4_numbered_and_none_is_blank(pdf):
    count = len(pdf.pages)
    for n, (page, text) in enumerate(zip(pdf.pages, pdf.texts), start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2, f"page {n} is {width} x {height} pt"
        # In both editions the footer has the English title (scripts/print_pdf.py says why).
        footer = squeeze(CONFIG["title"]) + f"{n}/{count}"
        assert footer in squeeze(text), f"page {n} has no page number in its footer"
        # A page of nothing but the footer is a page break gone wrong.
        assert squeeze(text).replace(footer, ""), f"page {n} is blank"


def test_the_cover_names_the_book_and_its_authors(pdf):
    cover = pdf.texts[0]
    assert squeeze(pdf.title) in squeeze(cover) and CONFIG["author"] in cover


@pytest.mark.parametrize("path", toc_documents(), ids=lambda p: p.stem)
def test_every_document_title_is_printed_and_bookmarked(pdf, path):
    title = squeeze(title_of(path, pdf.edition))
    assert title in pdf.squeezed
    marks = [squeeze(item.title) for _, item in bookmarks(pdf.outline)]
    # Chapters are bookmarked with their number ("1. Max pooling").
    assert any(mark == title or re.fullmatch(r"\d+\." + re.escape(title), mark) for mark in marks), \
        f"no bookmark for {title_of(path, pdf.edition)!r}"


def test_chapters_are_top_level_bookmarks_in_order(pdf):
    chapters = [squeeze(title_of(p, pdf.edition)) for p in toc_documents() if p.parent.name == "chapters"]
    numbered = [squeeze(item.title) for depth, item in bookmarks(pdf.outline)
                if depth == 1 and re.match(r"\d+\.", item.title)]
    assert numbered == [f"{n}.{t}" for n, t in enumerate(chapters, start=1)]
    starts = [pdf.reader.get_destination_page_number(item) for depth, item in bookmarks(pdf.outline)
              if depth == 1 and re.match(r"\d+\.", item.title)]
    assert starts == sorted(set(starts)), "two chapters start on one page, or out of order"


def test_chapter_one_prints_its_first_max_pooling_output(pdf):
    cells = nbformat.read(ROOT / SEED_CHAPTER, as_version=4).cells
    assert any(SEED_TENSOR in output_text(c) for c in cells if c.cell_type == "code")
    assert squeeze(SEED_TENSOR) in pdf.squeezed


def test_every_formula_is_typeset(pdf):
    text = "\n".join(pdf.texts)
    for raw in ("$$", "\\(", "\\)", "\\[", "\\begin{"):
        assert raw not in text, f"{raw!r} left in the text: a formula MathJax did not typeset"


CHAPTERS = [p for p in toc_documents() if p.suffix == ".ipynb"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_solution_is_printed_with_its_output(pdf, path):
    outputs = solution_outputs(path)
    assert outputs, f"{path.name} has no solution that prints anything"
    missing = [label for label, text in outputs if squeeze(text) not in pdf.squeezed]
    assert missing == [], f"outputs of these solutions are not in the PDF: {missing}"


def test_every_figure_is_printed(pdf):
    figures = sum("image/png" in out.get("data", {})
                  for path in CHAPTERS for cell in nbformat.read(path, as_version=4).cells
                  for out in cell.get("outputs", []))
    images = 0
    for page in pdf.pages:
        xobjects = (page["/Resources"].get("/XObject") or {}).values()
        images += sum(x.get_object().get("/Subtype") == "/Image" for x in xobjects)
    assert figures > 0 and images >= figures, (images, figures)


def fonts_of(resources, seen):
    """Every font dictionary reachable from a page's resources (forms included)."""
    resources = resources.get_object() if resources is not None else {}
    for font in (resources.get("/Font") or {}).values():
        yield font.get_object()
    for xobject in (resources.get("/XObject") or {}).values():
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Form" and id(xobject) not in seen:
            seen.add(id(xobject))
            yield from fonts_of(xobject.get("/Resources"), seen)


def embedded(font):
    if font["/Subtype"] == "/Type3":
        return len(font.get("/CharProcs", {})) > 0
    if font["/Subtype"] == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(
        key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_every_font_is_embedded(pdf):
    names, seen = set(), set()
    for page in pdf.pages:
        for font in fonts_of(page.get("/Resources"), seen):
            assert embedded(font), f"font {font.get('/BaseFont')} is not embedded"
            names.add(str(font.get("/BaseFont")))
    # The CJK characters of the glossary come from the book's own Noto Sans SC.
    assert any("NotoSansSC" in name for name in names), sorted(names)
