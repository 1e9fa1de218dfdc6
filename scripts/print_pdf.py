"""Print the whole book as one PDF, with Chromium, from its one-page HTML build.

``make pdf`` first builds the book with Sphinx's ``singlehtml`` builder
(``jupyter-book build . --builder singlehtml``, into ``_build/singlehtml``),
then runs this script, which

1. serves that build on 127.0.0.1 and opens it in headless Chromium (found by
   ``browser_tests/find_chromium.py``, driven by Playwright; nothing is
   downloaded, and any request to another host is refused and fails the run);
2. waits until MathJax has typeset every formula, every image has loaded and
   every font is ready, opens the solutions' toggles, forces the light theme,
   adds the book's author under the title on the cover, and turns links
   within the book into links within the PDF (links to other files of the web
   build, which the PDF does not hold, become plain text);
3. adds the print style ``print_pdf.css`` beside this script (no website
   chrome, code that wraps, a page break before each chapter) and prints A4
   pages with page numbers in the footer, bookmarks made from the headings,
   and tagged text, into ``_build/html/the-pooling-book.pdf``, where the
   introduction of the HTML book links it.

The PDF is written to a temporary file first and moved into place once
complete, so a failed run leaves no half-written PDF.
"""

import argparse
import html
import os
import re
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "browser_tests"))
from find_chromium import CHROMIUM_ARGS, HOW_TO_GET_ONE, find_chromium  # noqa: E402
from local_server import serve  # noqa: E402

SOURCE = ROOT / "_build" / "singlehtml"
OUTPUT = ROOT / "_build" / "html" / "the-pooling-book.pdf"
STYLE = Path(__file__).with_name("print_pdf.css")
MARGIN = {"top": "14mm", "bottom": "16mm", "left": "15mm", "right": "15mm"}
LOAD_TIMEOUT_MS = 300_000
# About the width of the printed text, so that heights measured on screen are
# close to those on paper (A4 less the margins is 180 mm, 680 CSS pixels).
VIEWPORT = {"width": 680, "height": 1000}

# Runs in the page once it has loaded; returns what the checks below need.
PREPARE = """async ({author}) => {
  const root = document.documentElement;
  root.dataset.theme = 'light';
  root.dataset.mode = 'light';
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    const left = Array.from(document.querySelectorAll('.math'))
                      .filter(e => !e.querySelector('mjx-container'));
    if (left.length && MathJax.typesetPromise) await MathJax.typesetPromise(left);
  }
  // Open every toggle (the solutions), and any <details>.
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  // Links within this page stay links, as fragments; links to other files of the build go.
  const here = location.origin + location.pathname;
  for (const a of document.querySelectorAll('a[href]')) {
    const url = new URL(a.getAttribute('href'), location.href);
    if (url.origin !== location.origin) continue;
    if (url.origin + url.pathname === here && url.hash) a.setAttribute('href', url.hash);
    else a.removeAttribute('href');
  }
  const title = document.querySelector('#jb-print-docs-body > h1');
  if (title && author) {
    const line = document.createElement('p');
    line.className = 'pdf-cover-author';
    line.textContent = author;
    title.after(line);
  }
  const images = Array.from(document.images);
  await Promise.allSettled(images.map(img => { img.loading = 'eager'; return img.decode(); }));
  await document.fonts.ready;
  const math = Array.from(document.querySelectorAll('.math'));
  return {
    math: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).length,
    math_errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    images: images.length,
    broken_images: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
    solutions: document.querySelectorAll('.solution').length,
    cover: Boolean(title),
  };
}"""

# Blocks shorter than this (in CSS pixels, about a third of an A4 page) are kept
# whole, on one page; longer ones may break across pages.
KEEP_WHOLE = """(limit) => {
  let kept = 0;
  for (const e of document.querySelectorAll(
      '.bd-article .cell, .bd-article div.highlight, .bd-article .cell_output, .bd-article .admonition, .bd-article table')) {
    const height = e.getBoundingClientRect().height;
    if (height > 0 && height < limit) { e.classList.add('pdf-keep'); kept++; }
  }
  return kept;
}"""
KEEP_LIMIT_PX = 340

FOOTER = """<div style="width: 100%; font-size: 8pt; color: #444; padding: 0 15mm;
  display: flex; justify-content: space-between; font-family: sans-serif;">
  <span>{title}</span><span><span class="pageNumber"></span> / <span class="totalPages"></span></span>
</div>"""


def book_metadata():
    """The title and author in _config.yml, and the root page's name in _toc.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return config.get("title", ""), config.get("author", ""), toc["root"]


def problems(facts):
    """What is wrong with the page before it is printed, as sentences."""
    found = []
    if not facts["cover"]:
        found.append("the page has no print title (#jb-print-docs-body): is this the sphinx-book-theme build?")
    if facts["math"] == 0:
        found.append("the page has no formula: is this the book?")
    if facts["untypeset"]:
        found.append(f"{facts['untypeset']} of {facts['math']} formulas were not typeset by MathJax")
    if facts["math_errors"]:
        found.append(f"MathJax reported {facts['math_errors']} errors")
    if facts["broken_images"]:
        found.append(f"images did not load: {facts['broken_images']}")
    return found


def print_pdf(source, output, chromium):
    title, author, root = book_metadata()
    page_file = source / f"{root}.html"
    if not page_file.is_file():
        raise SystemExit(f"{page_file} does not exist: build the book with "
                         "`jupyter-book build . --builder singlehtml` first (`make pdf` does)")
    from playwright.sync_api import sync_playwright

    off_host, errors, times = [], [], {}
    partial = output.with_name(output.name + ".part")
    try:
        with serve(source) as origin, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(color_scheme="light", viewport=VIEWPORT)
                context.route(re.compile("^(?!" + re.escape(origin) + "/)[a-z]+://"),
                              lambda route: (off_host.append(route.request.url), route.abort()))
                page = context.new_page()
                page.set_default_timeout(LOAD_TIMEOUT_MS)
                page.on("pageerror", lambda error: errors.append(str(error)))
                start = time.perf_counter()
                page.goto(f"{origin}/{root}.html", wait_until="load")
                facts = page.evaluate(PREPARE, {"author": author})
                page.add_style_tag(path=str(STYLE))
                page.evaluate(KEEP_WHOLE, KEEP_LIMIT_PX)
                page.evaluate("document.fonts.ready.then(() => true)")
                times["load"] = time.perf_counter() - start
                found = problems(facts)
                if off_host:
                    found.append(f"requests to other hosts (refused): {sorted(set(off_host))}")
                if errors:
                    found.append(f"JavaScript errors: {errors}")
                if found:
                    raise SystemExit("not printed: " + "; ".join(found))
                start = time.perf_counter()
                output.parent.mkdir(parents=True, exist_ok=True)
                page.pdf(path=partial, format="A4", margin=MARGIN, print_background=True,
                         display_header_footer=True, header_template="<span></span>",
                         footer_template=FOOTER.format(title=html.escape(title)),
                         outline=True, tagged=True)
                times["print"] = time.perf_counter() - start
            finally:
                browser.close()
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return facts, times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the singlehtml build (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the PDF to write (default: %(default)s)")
    parser.add_argument("--edition", choices=["en", "zh"], default="en",
                        help="zh: the Chinese edition, from _build/singlehtml/zh into _build/html/zh/")
    args = parser.parse_args(argv)
    # The footer names the book by its English title in both editions:
    # Chromium draws the footer without the page's fonts, so on a machine with
    # no Chinese font a Chinese title there would print as empty boxes.
    if args.edition == "zh":
        if args.source == SOURCE:
            args.source = SOURCE / "zh"
        if args.output == OUTPUT:
            args.output = OUTPUT.parent / "zh" / OUTPUT.name
    try:
        chromium = find_chromium()
    except ValueError as error:
        raise SystemExit(str(error))
    if chromium is None:
        raise SystemExit(HOW_TO_GET_ONE)
    facts, times = print_pdf(args.source.resolve(), args.output.resolve(), chromium)
    size = args.output.stat().st_size
    shown = os.path.relpath(args.output.resolve())
    print(f"{shown}: {size / 1e6:.1f} MB; {facts['math']} formulas, {facts['images']} images, "
          f"{facts['solutions']} solutions; loaded in {times['load']:.1f} s, printed in {times['print']:.1f} s")


if __name__ == "__main__":
    main()
