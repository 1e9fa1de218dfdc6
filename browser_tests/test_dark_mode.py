"""The book in dark mode, on a phone, and what each page weighs.

* Dark mode: every page of the table of contents opened in one Chromium
  context whose system colour scheme is dark (the book follows it). The theme
  must switch; with every solution opened, every piece of text in the article
  (prose, code cells, outputs, tables, admonitions, exercises) must reach a
  WCAG contrast ratio of 4.5 (3 for large text) against the background it is
  drawn on, and every figure of a cell output must be opaque or sit on a
  light backdrop, and be drawn without a filter, so that black axes and
  labels stay visible and colours stay as computed. The book's cut-down fonts
  must load and draw the page's Chinese characters and icons. A screenshot of
  each page's first screenful goes to _build/screenshots/.
* Phone: the front page and three chapters at 390 x 844 CSS pixels must not
  scroll sideways, nor cut anything off; only code, outputs and tables may be
  wider than the screen, and they scroll inside themselves.
* Weight: every page as conftest's ``visits`` loads it, in a fresh context
  with nothing cached, images included; the bytes of all its responses are
  summed, written to _build/screenshots/page_weights.json and held to a
  budget, and what the build leaves out must stay out.
"""

import json
import statistics

import pytest

from conftest import SCREENSHOTS, book_pages, screenshot_path
from test_pages import source_math, toc_pages

# The pages of _toc.yml, and of the Chinese edition, which shares their CSS and
# figures, the front page and chapters with the explorer, tables, figures and
# solutions (a wrong colour of Chinese text would show there).
TOC = toc_pages() + ["zh/intro.html", "zh/chapters/03_padding_and_stride.html", "zh/chapters/06_summary.html",
                     "zh/chapters/12_equivariance.html"]
MIN_CONTRAST = 4.5          # WCAG 2 AA, normal text
MIN_CONTRAST_LARGE = 3.0    # WCAG 2 AA, large text (24 px, or 18.67 px bold)
MIN_FIGURE_BACKDROP = 0.8   # relative luminance of what shows through a figure
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
# No page may transfer more than this on a first visit; pages without math load no MathJax.
PAGE_BUDGET_KB = 2000
# A page of the Chinese edition also carries the glyphs of its Chinese text:
# Noto Sans SC cut to the edition's characters comes to about 190-220 KB a
# page, where an English page needs 40-70 KB of it (the glossary's Chinese).
CHINESE_FONT_ALLOWANCE_KB = 200
NEVER = ("fontawesome.js", "fa-solid-900.woff2", "mathjax/ui/menu.js", "mathjax/a11y/sre.js", "tex-mml-chtml.js")
SEARCH = ("searchindex.js", "searchtools.js")     # the search page's alone

# Opens every solution, so that what they show is checked too.
OPEN_SOLUTIONS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  document.querySelectorAll('article .toggle-hidden .toggle-button').forEach(b => b.click());
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""

# Runs in the page: the contrast of every visible piece of text in the article,
# and the state of every figure of a cell output.
INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  await (%(open)s)();
  const rgba = s => {                        // rgb(), rgba(), or color(srgb ...) from color-mix()
    const srgb = s.match(/^color\\(srgb ([^)]+)\\)$/);
    if (srgb) {
      const p = srgb[1].split(/[ \\/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    const m = s.match(/^rgba?\\(([^)]+)\\)$/);
    if (!m) throw new Error(`a colour this test cannot read: ${s}`);
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => {            // top composited over an opaque colour
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]);
  };
  const luminance = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // The colour an element is painted on: its own background and its ancestors',
  // composited from the first opaque one (the page's, at worst) upwards.
  const backdrops = new Map();
  const backdrop = el => {
    if (!backdrops.has(el)) backdrops.set(el, paint(el));
    return backdrops.get(el);
  };
  const paint = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const c of layers.reverse()) colour = over(c, colour);
    return colour;
  };
  const filtered = el => {                 // a filter on the element or an ancestor
    for (let e = el; e; e = e.parentElement) {
      const f = getComputedStyle(e).filter;
      if (f && f !== 'none') return f;
    }
    return null;
  };
  const article = document.querySelector('article.bd-article') || document.body;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const seen = new Map();
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (seen.has(el)) continue;
    seen.set(el, true);
    if (el.closest('mjx-assistive-mml, script, style, .visually-hidden, .sr-only')) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility !== 'visible' || !el.checkVisibility()) continue;
    const fg = rgba(style.color);
    const bg = backdrop(el);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const where = el.closest('.cell_output') ? 'output' : el.closest('.cell_input') ? 'code'
                : el.closest('table') ? 'table' : el.closest('.admonition, .exercise, .solution, .sd-card') ? 'box'
                : 'prose';
    texts.push({text: node.textContent.trim().slice(0, 40), where, ratio: ratio(over(fg, bg), bg),
                min: large ? %(large)s : %(normal)s, colour: style.color,
                background: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`,
                selector: el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
                          ? '.' + el.className.trim().split(/\\s+/).join('.') : '')});
  }
  const figures = [];
  for (const img of article.querySelectorAll('.cell_output img')) {
    await img.decode().catch(() => {});
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let transparent = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] < 255) transparent++;
    figures.push({src: img.getAttribute('src'), transparent: transparent / (data.length / 4),
                  backdrop: luminance(backdrop(img)), filter: filtered(img)});
  }
  // The cut-down fonts: none fails to load, and both draw what every page shows
  // (the glossary's Chinese title in the navigation, the menu icon).
  const loaded = (family, weight) => Array.from(document.fonts).some(
    f => f.family.replace(/"/g, '') === family && f.weight === weight && f.status === 'loaded');
  const fonts = {failed: Array.from(document.fonts).filter(f => f.status === 'error').map(f => f.family),
                 cjk: loaded('Pooling Book CJK', '400') && document.fonts.check('16px "Pooling Book CJK"', '术语表'),
                 icons: loaded('Font Awesome 6 Free', '900')
                        && document.fonts.check('900 16px "Font Awesome 6 Free"', '\uf0c9')};
  return {theme: document.documentElement.dataset.theme, fonts,
          closed: document.querySelectorAll('article .toggle-hidden').length,
          background: getComputedStyle(document.body).backgroundColor, texts, figures};
}""" % {"normal": MIN_CONTRAST, "large": MIN_CONTRAST_LARGE, "open": OPEN_SOLUTIONS}


@pytest.fixture(scope="module")
def dark(browser):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


@pytest.mark.parametrize("path", TOC)
def test_dark_mode_keeps_text_and_figures_readable(dark, server, path):
    dark.goto(f"{server}/{path}", wait_until="load")
    dark.screenshot(path=screenshot_path(path.replace(".html", "__dark.html")))
    state = dark.evaluate(INSPECT)
    assert state["theme"] == "dark", "the page did not follow the system's dark mode"
    assert state["background"] != "rgb(255, 255, 255)"
    assert state["texts"], "no text found in the article"
    assert state["closed"] == 0, "a solution did not open"
    low = [t for t in state["texts"] if t["ratio"] < t["min"]]
    worst = min(state["texts"], key=lambda t: t["ratio"])
    print(f"{path}: lowest contrast {worst['ratio']:.2f} ({worst['where']}: {worst['text']!r})")
    assert low == [], f"{len(low)} pieces of text below the contrast minimum, e.g. {low[:3]}"
    for figure in state["figures"]:
        assert figure["transparent"] == 0 or figure["backdrop"] >= MIN_FIGURE_BACKDROP, figure
        assert figure["filter"] is None, f"a figure is drawn through a filter: {figure}"
    assert state["fonts"] == {"failed": [], "cjk": True, "icons": True}
    assert dark.errors == []


def overflow(page):
    """Elements wider than the screen that do not scroll by themselves."""
    return page.evaluate("""() => {
      const width = document.documentElement.clientWidth;
      // Inside a box that fits the screen and scrolls by itself (code, outputs,
      // tables), or in a fixed box (a closed drawer waiting beside the screen).
      // A box that clips (overflow hidden) does not count: what it cuts off
      // cannot be read.
      const contained = e => { for (; e; e = e.parentElement) {
          const style = getComputedStyle(e), x = style.overflowX;
          if (style.position === 'fixed') return true;
          if (['auto', 'scroll'].includes(x) && e.clientWidth <= width) return true; }
        return false; };
      const wide = [];
      for (const e of document.querySelectorAll('body *')) {
        const box = e.getBoundingClientRect();
        if (!box.width || (box.right <= width + 1 && box.left >= -1)) continue;
        if (!e.checkVisibility() || contained(e.parentElement) || getComputedStyle(e).position === 'fixed'
            || e.closest('mjx-assistive-mml')) continue;       // MathML for screen readers, not shown
        wide.push(`${e.tagName.toLowerCase()}.${String(e.className).trim().split(/\\s+/).join('.')} `
                  + `(${Math.round(box.left)}..${Math.round(box.right)})`);
      }
      return {scrollWidth: document.documentElement.scrollWidth, width, wide};
    }""")


@pytest.fixture(scope="module")
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


# The front page, and chapters with a long inline formula (3), a long code
# literal (13) and a long word in the title of the next chapter (14).
PHONE_PAGES = ["intro.html", "chapters/03_padding_and_stride.html", "chapters/13_when_pooling_hurts.html",
               "chapters/14_learned_pooling.html", "zh/intro.html", "zh/chapters/03_padding_and_stride.html"]


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_phone_screen_does_not_scroll_sideways(phone, server, path):
    phone.goto(f"{server}/{path}", wait_until="load")
    phone.evaluate("() => document.fonts.ready")
    phone.screenshot(path=screenshot_path(path.replace(".html", "__phone.html")))
    phone.evaluate(OPEN_SOLUTIONS)
    state = overflow(phone)
    assert state["width"] == 390
    assert state["wide"] == [], f"wider than the screen: {state['wide'][:5]}"
    assert state["scrollWidth"] <= 390


def kind(name):
    name = name.removeprefix("zh/")
    for prefix, label in (("_static/mathjax/", "mathjax"), ("_static/fonts/", "cjk_font"),
                          ("_images/", "figures"), ("_static/", "theme")):
        if name.startswith(prefix):
            return label
    return "page"


def test_page_weight_within_budget(visits):
    weights = {}
    for path in book_pages():
        visit = visits(path)                   # a fresh context: nothing cached
        sizes = {url.split("?")[0][len(visits.server) + 1:]: size for url, size in visit.sizes.items()}
        by_kind = {}
        for name, size in sizes.items():
            by_kind[kind(name)] = by_kind.get(kind(name), 0) + size
        weights[path] = {"total": sum(sizes.values()), "requests": len(sizes), **by_kind, "files": sizes}
    totals = sorted(w["total"] for w in weights.values())
    heaviest = max(weights, key=lambda p: weights[p]["total"])
    summary = {"min_kb": totals[0] / 1024, "median_kb": statistics.median(totals) / 1024,
               "max_kb": totals[-1] / 1024, "heaviest": heaviest}
    (SCREENSHOTS / "page_weights.json").write_text(json.dumps({"summary": summary, "pages": weights}, indent=1) + "\n")
    print()
    for path, w in weights.items():
        parts = ", ".join(f"{k} {w[k] / 1024:.0f}" for k in ("page", "theme", "mathjax", "cjk_font", "figures") if k in w)
        print(f"{w['total'] / 1024:7.0f} KB  {w['requests']:3d} requests  {path}  ({parts})")
    print(f"min {summary['min_kb']:.0f} KB, median {summary['median_kb']:.0f} KB, "
          f"max {summary['max_kb']:.0f} KB ({heaviest})")
    for path, w in weights.items():
        if not source_math(path):
            assert "mathjax" not in w, f"{path} has no math but loads MathJax"
    def budget(path):
        return PAGE_BUDGET_KB + (CHINESE_FONT_ALLOWANCE_KB if path.startswith("zh/") else 0)

    over = {p: round(w["total"] / 1024) for p, w in weights.items() if w["total"] > budget(p) * 1024}
    assert over == {}, f"pages over {PAGE_BUDGET_KB} KB ({PAGE_BUDGET_KB + CHINESE_FONT_ALLOWANCE_KB} KB in Chinese)"
    # The allowance is for the Chinese font alone: less that, a Chinese page keeps the English budget.
    heavy = {p: round((w["total"] - w.get("cjk_font", 0)) / 1024) for p, w in weights.items()
             if w["total"] - w.get("cjk_font", 0) > PAGE_BUDGET_KB * 1024}
    assert heavy == {}, f"pages over {PAGE_BUDGET_KB} KB without their Chinese font"
    for path, w in weights.items():
        # What _ext/page_style.py and the MathJax setup leave out.
        search_page = path in ("search.html", "zh/search.html")
        unwanted = [f for f in w["files"] if f.endswith(NEVER) or (not search_page and f.endswith(SEARCH))]
        assert unwanted == [], f"{path} loads {unwanted}"
