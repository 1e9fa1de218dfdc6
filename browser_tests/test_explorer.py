"""The pooling explorer of chapters 3 and 4, driven in Chromium and checked against poolkit.

The build writes ``_static/pool-explorer/fixture.json``: configurations of
2-D max and average pooling, valid and refused, with poolkit's outputs or its
refusal and PyTorch's message (``_ext/pool_explorer/cases.py``). The widget
computes pooling again, in JavaScript; here it is set to every configuration
through its form controls, and what it draws must agree: the output's shape,
its values (exactly for max pooling, to 1e-6 for average pooling), or the
refusal, with poolkit's kind of reason among the widget's and PyTorch's
message as the first. Then a few keystrokes, the accessibility attributes,
dark mode and a phone's width, with screenshots of the widget in
``_build/screenshots/``.
"""

import json
import math
import re
import time

import pytest

from conftest import HTML, VIEWPORT, book_pages, screenshot_path

PAGE = "chapters/03_padding_and_stride.html"
SECOND = "chapters/04_shapes_and_edge_cases.html"
FIXTURE = HTML / "_static" / "pool-explorer" / "fixture.json"

# Sets every control of the first widget for each case, as a reader would, with the
# events a browser fires, and reads back what the widget shows.
DRIVE = """(cases) => {
  const root = document.querySelector('.pool-explorer');
  const control = (name) => root.querySelector(`[data-param="${name}"]`);
  const touched = [];
  const set = (name, value) => {
    const input = control(name);
    if (input.type === 'checkbox' || input.type === 'radio') input.checked = value;
    else input.value = String(value);
    touched.push(input);
  };
  // The events of each control set, once all are set (as after a reader's edits).
  const fire = () => {
    for (const input of touched.splice(0)) {
      input.dispatchEvent(new Event('input', {bubbles: true}));
      input.dispatchEvent(new Event('change', {bubbles: true}));
    }
  };
  return cases.map((c) => {
    set(c.op === 'max' ? 'op-max' : 'op-avg', true);
    set('stride-default', c.stride === null);
    for (const name of ['input', 'kernel', 'padding', 'dilation'].concat(c.stride === null ? [] : ['stride'])) {
      if (name === 'dilation' && c.op === 'avg') continue;
      set(`${name}-h`, c[name][0]);
      set(`${name}-w`, c[name][1]);
    }
    set('ceil_mode', c.ceil_mode);
    if (c.op === 'avg') set('count_include_pad', c.count_include_pad);
    fire();
    if (root.dataset.state === 'refused') {
      const refusal = root.querySelector('.pe-refusal');
      return {refused: refusal.dataset.kinds.split(' '), message: refusal.dataset.message,
              grids: root.querySelectorAll('[role=grid]').length};
    }
    const grid = root.querySelector('[role=grid]');
    const cells = Array.from(grid.querySelectorAll('[role=gridcell]'), (cell) => cell.dataset.value);
    return {shape: [Number(grid.dataset.rows), Number(grid.dataset.cols)], values: cells,
            refusal: root.querySelector('.pe-refusal').textContent};
  });
}"""


def describe(case):
    keys = ("op", "input", "kernel", "stride", "padding", "dilation", "ceil_mode", "count_include_pad")
    return ", ".join(f"{k}={case[k]}" for k in keys)


def disagreements(case, shown):
    """What the widget showed differently from poolkit, as a list of strings."""
    expected = case["expected"]
    if "refused" in expected:
        if "refused" not in shown:
            return [f"poolkit refuses ({expected['poolkit']}), the widget shows an output"]
        problems = []
        if expected["refused"] not in shown["refused"]:
            problems.append(f"poolkit refuses for {expected['refused']}, the widget for {shown['refused']}")
        if shown["message"] != expected["torch"]:
            problems.append(f"torch says {expected['torch']!r}, the widget {shown['message']!r}")
        if shown["grids"]:
            problems.append("the widget still shows an output grid")
        return problems
    if "refused" in shown:
        return [f"poolkit accepts, the widget refuses: {shown['message']}"]
    if shown["shape"] != expected["shape"]:
        return [f"shape {shown['shape']}, poolkit {expected['shape']}"]
    want = [float(v) for row in expected["values"] for v in row]
    got = [float(v) for v in shown["values"]]
    if case["op"] == "max":
        bad = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    else:
        bad = [i for i, (a, b) in enumerate(zip(got, want)) if not (math.isfinite(a) and abs(a - b) <= 1e-6)]
    problems = [f"value {i}: widget {got[i]}, poolkit {want[i]}" for i in bad[:3]]
    if shown["refusal"]:
        problems.append(f"a refusal is shown beside the output: {shown['refusal']}")
    return problems


@pytest.fixture(scope="module")
def fixture_cases():
    if not FIXTURE.is_file():
        pytest.fail(f"{FIXTURE.relative_to(HTML)} is missing from the build: the pool_explorer extension writes it")
    return json.loads(FIXTURE.read_text())


def test_only_pages_with_the_explorer_load_its_files():
    users = []
    for path in book_pages():
        text = (HTML / path).read_text(encoding="utf-8")
        has_widget = 'class="pool-explorer"' in text
        assert ("pool-explorer.js" in text) == has_widget, path
        assert ("pool-explorer.css" in text) == has_widget, path
        users += [path] * has_widget
    # In both editions.
    assert users == [PAGE, SECOND, f"zh/{PAGE}", f"zh/{SECOND}"]


def test_the_explorer_agrees_with_poolkit_on_every_configuration(explored, fixture_cases):
    cases = fixture_cases["cases"]
    shown, seconds = explored["driven"]
    problems = []
    for case, seen in zip(cases, shown, strict=True):
        problems += [f"{describe(case)}: {p}" for p in disagreements(case, seen)]
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems[:20])
    refused = sum("refused" in c["expected"] for c in cases)
    assert refused == fixture_cases["refused"] and len(cases) - refused == fixture_cases["valid"]
    print(f"explorer: {len(cases)} configurations ({len(cases) - refused} valid, {refused} refused) "
          f"driven in {seconds:.2f} s")


KEYS = """() => {
  const root = document.querySelector('.pool-explorer');
  const active = document.activeElement;
  return {
    active: active.getAttribute('role') || active.dataset.param || active.tagName,
    at: active.getAttribute('role') === 'gridcell' ? [Number(active.dataset.r), Number(active.dataset.c)] : null,
    window: Array.from(root.querySelectorAll('td.pe-win'), (td) => [Number(td.dataset.i), Number(td.dataset.j)]),
    gaps: root.querySelectorAll('td.pe-gap').length,
    detail: root.querySelector('.pe-detail').textContent,
  };
}"""

A11Y = """() => {
  const root = document.querySelector('.pool-explorer');
  const controls = Array.from(root.querySelectorAll('input'));
  const grid = root.querySelector('[role=grid]');
  const cells = Array.from(grid.querySelectorAll('[role=gridcell]'));
  return {
    unlabelled: controls.filter((c) => !c.labels.length && !c.getAttribute('aria-label')).map((c) => c.id),
    controls: controls.length,
    refusalLive: root.querySelector('.pe-refusal').getAttribute('aria-live'),
    liveRole: root.querySelector('.pe-refusal').getAttribute('role'),
    rows: grid.querySelectorAll('[role=row]').length,
    tabbable: cells.filter((c) => c.tabIndex === 0).length,
    active: cells.filter((c) => c.classList.contains('pe-active')).length,
    selectable: cells.filter((c) => c.hasAttribute('aria-selected')).length,
    live: Array.from(root.querySelectorAll('[aria-live]'), (e) => e.className),
    detailHidden: root.querySelector('.pe-detail').getAttribute('aria-hidden'),
    labelled: Boolean(grid.getAttribute('aria-labelledby')),
    focusOutline: (() => { cells[0].focus(); return getComputedStyle(cells[0]).outlineStyle; })(),
  };
}"""

OVERFLOW = """() => {
  const widget = document.querySelector('.pool-explorer');
  const shifted = [];
  for (let e = widget.parentElement; e; e = e.parentElement) if (e.scrollLeft) shifted.push(e.tagName);
  const box = widget.getBoundingClientRect();
  return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
          scrollX: window.scrollX, shifted, left: box.left, right: box.right};
}"""


# The first widget of the page, as its directive sets it.
START = {"op": "max", "input": [4, 4], "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1],
         "dilation": [1, 1], "ceil_mode": False, "count_include_pad": None}


@pytest.fixture(scope="module")
def explored(visits, fixture_cases):
    """One load of the page: every configuration of the fixture, then keystrokes, dark mode
    and a phone's width, with screenshots of the widget."""
    cases = fixture_cases["cases"]

    def explore(page):
        page.wait_for_selector(".pool-explorer [role=grid]")
        started = time.perf_counter()
        driven = page.evaluate(DRIVE, cases)
        seconds = time.perf_counter() - started
        # Back to the chapter's example, the widget's first configuration.
        page.evaluate(DRIVE, [dict(START, expected=None)])
        widget = page.locator(".pool-explorer").first
        widget.scroll_into_view_if_needed()
        facts = {"driven": (driven, seconds), "a11y": page.evaluate(A11Y)}
        # Each number field's accessible name, holding its visible label "h" or "w".
        facts["names"] = {
            f"{name} {axis} ({word})": widget.get_by_role("spinbutton", name=f"{name} {axis} ({word})",
                                                          exact=True).count()
            for name in ("input", "kernel", "stride", "padding", "dilation")
            for axis, word in (("h", "height"), ("w", "width"))}
        # Tab from the ceil_mode box: count_include_pad is disabled for max pooling,
        # so the next stop is the output grid's one tabbable cell; Ctrl+Home goes to its first.
        page.locator('.pool-explorer [data-param="ceil_mode"]').first.focus()
        page.keyboard.press("Tab")
        facts["tabbed"] = page.evaluate(KEYS)
        page.keyboard.press("Control+Home")
        facts["tab"] = page.evaluate(KEYS)
        page.keyboard.press("ArrowRight")
        facts["right"] = page.evaluate(KEYS)
        page.keyboard.press("ArrowDown")
        facts["down"] = page.evaluate(KEYS)
        page.keyboard.press("ArrowDown")                       # stays in the last row
        facts["edge"] = page.evaluate(KEYS)
        widget.screenshot(path=screenshot_path("explorer__light"))
        # The pointer rests on the last output cell while the kernel grows to 5 rows: the
        # output keeps one row, and the window shown is the focused cell's, clamped to it.
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.locator('.pool-explorer [role=gridcell]').last.hover()
        hovered = page.evaluate(KEYS)
        page.locator('.pool-explorer [data-param="kernel-h"]').first.fill("5")
        facts["enlarged"] = dict(page.evaluate(KEYS), errors=errors[:], hovered=hovered)
        page.locator('.pool-explorer [data-param="kernel-h"]').first.fill("3")
        page.keyboard.press("Tab")
        # Dilation 2 by keyboard: select the field, type, and Tab away (a change event).
        page.locator('.pool-explorer [data-param="dilation-h"]').first.fill("2")
        page.keyboard.press("Tab")
        page.locator('.pool-explorer [data-param="padding-h"]').first.fill("2")
        page.keyboard.press("Tab")
        facts["refused"] = page.evaluate("""() => {
          const r = document.querySelector('.pool-explorer .pe-refusal');
          return {kinds: r.dataset.kinds, text: r.textContent};
        }""")
        widget.screenshot(path=screenshot_path("explorer__refused"))
        page.locator('.pool-explorer [data-param="padding-h"]').first.fill("1")
        page.keyboard.press("Tab")
        page.locator('.pool-explorer [role=gridcell]').first.focus()
        facts["dilated"] = page.evaluate(KEYS)
        page.emulate_media(color_scheme="dark")
        page.evaluate("document.documentElement.dataset.theme = 'dark'")
        facts["dark"] = page.evaluate("""() => {
          const s = getComputedStyle(document.querySelector('.pool-explorer'));
          const cell = getComputedStyle(document.querySelector('.pool-explorer td.pe-in'));
          return [s.backgroundColor, s.color, cell.backgroundColor];
        }""")
        widget.screenshot(path=screenshot_path("explorer__dark"))
        page.evaluate("document.documentElement.dataset.theme = 'light'")
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(400)                      # the theme's sidebars slide away
        widget.scroll_into_view_if_needed()
        facts["phone"] = page.evaluate(OVERFLOW)
        page.screenshot(path=screenshot_path("explorer__phone"))
        return facts

    visit = visits.load(PAGE, after=explore, name="explorer")
    assert not visit.console_errors, visit.console_errors
    return visit.after


def test_keyboard_accessibility_themes_and_phone_width(explored):
    facts = explored
    a11y = facts["a11y"]
    assert a11y["controls"] == 15 and not a11y["unlabelled"], a11y
    assert (a11y["refusalLive"], a11y["liveRole"]) == ("polite", "status")
    assert sorted(a11y["live"]) == ["pe-notes", "pe-refusal"] and a11y["detailHidden"] == "true", a11y
    assert a11y["rows"] == 2 and a11y["tabbable"] == 1 and a11y["active"] == 1 and a11y["labelled"]
    assert a11y["selectable"] == 0
    assert set(facts["names"].values()) == {1}, facts["names"]
    assert a11y["focusOutline"] == "solid"
    # The chapter's example: 4 x 4 input, 3 x 3 window, stride 2, padding 1.
    window = lambda r0, c0: sorted([r0 + a, c0 + b] for a in range(3) for b in range(3))
    assert facts["tabbed"]["active"] == "gridcell"
    assert facts["tab"]["active"] == "gridcell" and facts["tab"]["at"] == [0, 0]
    assert sorted(facts["tab"]["window"]) == window(-1, -1)
    assert facts["right"]["at"] == [0, 1] and sorted(facts["right"]["window"]) == window(-1, 1)
    assert facts["down"]["at"] == [1, 1] and sorted(facts["down"]["window"]) == window(1, 1)
    assert facts["edge"]["at"] == [1, 1]
    assert re.search(r"Output \(1, 1\) = \d", facts["down"]["detail"])
    enlarged = facts["enlarged"]
    assert facts["enlarged"]["hovered"]["detail"].startswith("Output (1, 1) = "), enlarged
    assert not enlarged["errors"], enlarged
    assert enlarged["detail"].startswith("Output (0, 1) = "), enlarged
    assert sorted(enlarged["window"]) == sorted([r, c] for r in range(-1, 4) for c in range(1, 4))
    # Padding 2 with a 3-tall kernel is refused, in PyTorch's words, though dilation 2
    # makes the window span 5 rows: half the kernel is the stricter rule.
    assert facts["refused"]["kinds"] == "padding"
    assert "pad should be smaller than or equal to half of kernel size" in facts["refused"]["text"]
    # Dilation 2 along the rows: the window reads rows -1 and 1 and 3, and skips 0 and 2.
    dilated = facts["dilated"]
    assert dilated["at"] == [0, 0] and sorted({r for r, _ in dilated["window"]}) == [-1, 1, 3]
    assert dilated["gaps"] == 6
    background, text, cell = facts["dark"]
    luminance = lambda rgb: sum(int(v) for v in re.findall(r"\d+", rgb)[:3])
    assert luminance(background) < 200 and luminance(text) > 500 and luminance(cell) < 200, facts["dark"]
    phone = facts["phone"]
    assert phone["page"] <= phone["viewport"] == 390 and phone["scrollX"] == 0 and not phone["shifted"], phone
    assert 0 <= phone["left"] < phone["right"] <= 390, phone


def test_the_second_chapter_opens_in_ceil_mode_with_the_dropped_windows(browser, server):
    # The page as a whole is checked by test_pages.py; here only its widget, without
    # waiting for the rest of the page.
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{server}/{SECOND}", wait_until="domcontentloaded")
        page.wait_for_selector(".pool-explorer [role=grid]")
        widget = page.locator(".pool-explorer").first
        widget.scroll_into_view_if_needed()
        widget.screenshot(path=screenshot_path("explorer__ceil_mode"))
        shown = page.evaluate("""() => {
          const root = document.querySelector('.pool-explorer');
          const grid = root.querySelector('[role=grid]');
          return {rows: grid.dataset.rows, cols: grid.dataset.cols,
                  notes: root.querySelector('.pe-notes').textContent,
                  dropped: root.querySelectorAll('td.pe-dropped').length};
        }""")
        # Average pooling keeps the notes' text: the live region is left as it was.
        shown["rewritten"] = page.evaluate("""async () => {
          const root = document.querySelector('.pool-explorer');
          const changes = [];
          const watch = new MutationObserver((m) => changes.push(...m));
          watch.observe(root.querySelector('.pe-notes'), {childList: true, subtree: true, characterData: true});
          root.querySelector('[data-param="op-avg"]').click();
          await new Promise((done) => setTimeout(done, 50));
          watch.disconnect();
          return {changes: changes.length, avg: root.querySelector('[role=grid]').textContent.includes('.')};
        }""")
    finally:
        context.close()
    assert not errors, errors
    # 5 rows, kernel 2, stride 2, padding 1: the ceiling gives 4 windows, the last starting
    # at 6 - 1 = 5, past the input; PyTorch keeps 3. The same along the columns.
    assert (shown["rows"], shown["cols"]) == ("3", "3")
    assert shown["notes"].count("PyTorch drops such a window") == 2
    assert shown["dropped"] == 8                  # two 2 x 2 windows, drawn where they would start
    assert shown["rewritten"] == {"changes": 0, "avg": True}, shown["rewritten"]


# The Chinese edition's widget: its fields' names, with PyTorch's parameter names.
ZH_LEGENDS = {"input": "输入大小", "kernel": "窗口大小 (kernel)", "stride": "步幅 (stride)",
              "padding": "填充 (padding)", "dilation": "膨胀 (dilation)"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_chinese_edition_explorer_speaks_chinese_and_agrees_with_poolkit(visits, fixture_cases):
    """In zh/, the same widget in Chinese: every configuration gives the same answers and
    PyTorch's messages word for word; the fields, captions and reasons are Chinese."""
    cases = fixture_cases["cases"]

    def explore(page):
        page.wait_for_selector(".pool-explorer [role=grid]")
        driven = page.evaluate(DRIVE, cases)
        page.evaluate(DRIVE, [dict(START, expected=None)])
        widget = page.locator(".pool-explorer").first
        widget.scroll_into_view_if_needed()
        names = {f"{legend} {axis}（{word}）": widget.get_by_role("spinbutton", name=f"{legend} {axis}（{word}）",
                                                                  exact=True).count()
                 for legend in ZH_LEGENDS.values() for axis, word in (("h", "高"), ("w", "宽"))}
        texts = page.evaluate("""() => {
          const root = document.querySelector('.pool-explorer');
          const all = (s) => Array.from(root.querySelectorAll(s), (e) => e.textContent.trim());
          return {legends: all('legend'), captions: all('figcaption'), label: root.getAttribute('aria-label'),
                  cell: root.querySelector('[role=gridcell]').getAttribute('aria-label')};
        }""")
        page.locator('.pool-explorer [data-param="padding-h"]').first.fill("3")
        page.keyboard.press("Tab")
        texts["refusal"] = page.evaluate("""() => {
          const r = document.querySelector('.pool-explorer .pe-refusal');
          return {message: r.dataset.message, text: r.textContent,
                  reasons: Array.from(r.querySelectorAll('li'), (li) => li.textContent)};
        }""")
        widget.screenshot(path=screenshot_path("zh__explorer__refused"))
        return {"driven": driven, "names": names, "texts": texts}

    visit = visits.load(f"zh/{PAGE}", after=explore, name="zh__explorer")
    assert not visit.console_errors, visit.console_errors
    problems = [f"{describe(case)}: {p}" for case, seen in zip(cases, visit.after["driven"], strict=True)
                for p in disagreements(case, seen)]
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems[:20])
    assert set(visit.after["names"].values()) == {1}, visit.after["names"]
    texts = visit.after["texts"]
    assert texts["label"] == "汇聚探索器"
    assert all(CJK.search(text) for text in texts["legends"] + texts["captions"] + [texts["cell"]]), texts
    refusal = texts["refusal"]
    assert refusal["message"].startswith("pad should be at most half of effective kernel size")
    assert refusal["message"] in refusal["text"] and "PyTorch 拒绝这些参数" in refusal["text"]
    assert refusal["reasons"] and all(CJK.search(reason) for reason in refusal["reasons"]), refusal
