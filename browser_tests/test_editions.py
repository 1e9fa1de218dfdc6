"""The English and the Chinese edition side by side (_ext/editions.py).

* Every page of either edition has its counterpart at the same path in the
  other, with the same section ids, and a switch that leads there: to the same
  section when the address names one.
* The Chinese edition's search finds 步幅 and 汇聚 in the chapters that teach
  them, and its interface (search box, buttons, page navigation) is Chinese.
* Its download menu does not pretend to offer a Chinese notebook.
* The Chinese edition shows the English edition's glued numbers and code
  outputs, and the translated text.
"""

import re
from urllib.parse import urlsplit

import pytest

from conftest import HTML, book_pages, on_host

PAGES = book_pages()
ENGLISH = [p for p in PAGES if not p.startswith("zh/")]
SECTION_ID = re.compile(r'<section id="([^"]+)"')


def test_every_page_has_its_counterpart_with_the_same_section_ids():
    chinese = [p for p in PAGES if p.startswith("zh/")]
    assert sorted(chinese) == sorted(f"zh/{p}" for p in ENGLISH)
    for path in ENGLISH:
        english_ids = SECTION_ID.findall((HTML / path).read_text(encoding="utf-8"))
        chinese_ids = SECTION_ID.findall((HTML / "zh" / path).read_text(encoding="utf-8"))
        assert english_ids == chinese_ids, path


SWITCH = re.compile(r'<a class="btn btn-sm edition-switch" href="([^"]+)"[^>]*>.*?'
                    r'<span class="btn__text-container">([^<]+)</span>', re.S)


def _resolve(page, href):
    """The path, relative to _build/html, that ``href`` on ``page`` leads to."""
    parts = page.split("/")[:-1]
    for part in href.split("#")[0].split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


@pytest.mark.parametrize("path", [p for p in PAGES if p not in ("index.html", "zh/index.html")])
def test_every_page_has_a_switch_to_the_same_page_of_the_other_edition(path):
    text = (HTML / path).read_text(encoding="utf-8")
    switches = SWITCH.findall(text)
    assert len(switches) == 1, "no switch, or more than one"
    [(href, name)] = switches
    chinese = path.startswith("zh/")
    assert _resolve(path, href) == (path.removeprefix("zh/") if chinese else f"zh/{path}")
    assert name.strip() == ("English" if chinese else "中文")
    assert f'<html lang="{"zh-CN" if chinese else "en"}"' in text


@pytest.mark.parametrize("start,section", [
    ("chapters/03_padding_and_stride.html", "the-output-shape-rule"),
    ("zh/chapters/08_gradients.html", "exercises"),
])
def test_the_switch_keeps_the_section(visits, start, section):
    def follow(page):
        assert page.locator(f"section#{section}").count() == 1
        page.goto(f"{visits.server}/{start}#{section}")
        page.locator("a.edition-switch").click()
        page.wait_for_load_state("load")
        return {"url": page.url, "found": page.locator(f"section#{section}").count(),
                "top": page.evaluate(f"document.getElementById('{section}').getBoundingClientRect().top")}

    visit = visits.load(start, after=follow, name=start.replace(".html", "__switched.html"))
    url = urlsplit(visit.after["url"])
    other = start.removeprefix("zh/") if start.startswith("zh/") else f"zh/{start}"
    assert url.path == f"/{other}" and url.fragment == section
    assert visit.after["found"] == 1
    assert abs(visit.after["top"]) < 200, "the browser did not scroll to the section"
    assert visit.console_errors == [] and visit.failures == []


def _search(page):
    # Sphinx shows results one by one, then a summary line once all are shown.
    page.wait_for_function("() => (document.querySelector('#search-results p.search-summary') || {})"
                           ".innerText", timeout=30_000)
    return page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")


@pytest.mark.parametrize("query,expected", [
    ("步幅", ["chapters/03_padding_and_stride.html"]),
    ("汇聚", ["chapters/01_max_pooling.html", "chapters/02_average_pooling.html"]),
])
def test_chinese_search_finds_the_chapters_that_teach_a_word(visits, query, expected):
    visit = visits.load(f"zh/search.html?q={query}", after=_search, name=f"zh/search__{query}")
    results = [urlsplit(url).path for url in visit.after]
    for page in expected:
        assert f"/zh/{page}" in results, results
    assert all(path.startswith("/zh/") for path in results), "a result outside the Chinese edition"
    assert visit.console_errors == [] and visit.failures == []
    assert [url for url in visit.requests if not on_host(url, visits.server)] == []


def test_the_chinese_search_index_holds_chinese_words():
    import json

    index = (HTML / "zh" / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1: index.rindex(")")])["terms"]
    for word in ("步幅", "汇聚", "填充", "通道"):
        assert word in terms, word


def _interface(page):
    return page.evaluate("""() => ({
      placeholder: document.querySelector('input[name="q"]').placeholder,
      // Bootstrap moves a tooltip's title into data-bs-original-title.
      buttons: Array.from(document.querySelectorAll('.article-header-buttons [title], '
                          + '.article-header-buttons [data-bs-original-title], .article-header-buttons [aria-label]'),
                          e => e.getAttribute('title') || e.getAttribute('data-bs-original-title')
                               || e.getAttribute('aria-label')),
      download: Array.from(document.querySelectorAll('.dropdown-download-buttons li'), li => {
        const e = li.querySelector('[title], [data-bs-original-title]');
        return [li.innerText.trim(), e.getAttribute('title') || e.getAttribute('data-bs-original-title')];
      }),
      navigation: Array.from(document.querySelectorAll('.prev-next-area .prev-next-subtitle'),
                             e => e.innerText.trim()),
      title: document.title,
      // Vertical centres of the edition switch and of the download button.
      centres: ['a.edition-switch', '.dropdown-download-buttons > button'].map(selector => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return box.top + box.height / 2;
      }),
    })""")


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_chinese_interface_is_chinese(visits):
    visit = visits.load("zh/chapters/03_padding_and_stride.html", after=_interface,
                        name="zh/chapters/03_padding_and_stride__interface.html")
    ui = visit.after
    assert CJK.search(ui["placeholder"]), ui["placeholder"]
    assert ui["buttons"] and all(CJK.search(text) or text in ("English",) for text in ui["buttons"]), ui["buttons"]
    assert ui["navigation"] and all(CJK.search(text) for text in ui["navigation"]), ui["navigation"]
    assert "汇聚之书" in ui["title"] and "填充和步幅" in ui["title"]
    switch, download = ui["centres"]
    assert abs(switch - download) < 4, "the edition switch is not on the line of the theme's buttons"


def test_the_chinese_download_menu_says_its_notebook_is_english(visits):
    english = visits.load("chapters/03_padding_and_stride.html", after=_interface,
                          name="chapters/03_padding_and_stride__interface.html").after
    chinese = visits.load("zh/chapters/03_padding_and_stride.html", after=_interface,
                          name="zh/chapters/03_padding_and_stride__interface.html").after
    notebooks = [(text, title) for text, title in chinese["download"] if ".ipynb" in text]
    assert notebooks and all("英文" in text and "英文" in title for text, title in notebooks), chinese["download"]
    english_notebooks = [(text, title) for text, title in english["download"] if ".ipynb" in text]
    assert english_notebooks and all(text == ".ipynb" and "英文" not in title for text, title in english_notebooks)


def test_the_chinese_edition_shows_the_same_numbers_and_outputs():
    for path in [p for p in ENGLISH if p.startswith("chapters/")]:
        english = (HTML / path).read_text(encoding="utf-8")
        chinese = (HTML / "zh" / path).read_text(encoding="utf-8")
        glued = re.compile(r'<span class="pasted-text">([^<]*)</span>')
        assert sorted(glued.findall(chinese)) == sorted(glued.findall(english)), path
        outputs = re.compile(r'<div class="cell_output docutils container">(.*?)</div>\n</div>', re.S)
        assert outputs.findall(chinese) == outputs.findall(english), path
        assert len(CJK.findall(chinese)) > 500, f"{path} is not translated"


def test_exercise_and_solution_titles_are_translated():
    """sphinx-exercise's titles are translated like the text (_ext/editions.py)."""
    title = re.compile(r'<p class="admonition-title">(.*?)</p>', re.S)
    for path in [p for p in ENGLISH if p.startswith("chapters/")]:
        texts = [re.sub(r"<[^>]+>", "", t).strip()
                 for t in title.findall((HTML / "zh" / path).read_text(encoding="utf-8"))]
        named = [t for t in texts if "(" in t]
        assert len(named) >= 6, f"{path}: {texts}"              # three exercises, three solutions
        assert all(CJK.search(t.split("(", 1)[1]) for t in named), f"{path}: {named}"


def test_the_themes_fixed_english_attributes_are_translated():
    """The titles and labels sphinx-book-theme writes without gettext go through it
    (_ext/page_style.py), so the Chinese pages have them in Chinese."""
    for path in [p for p in ENGLISH if p.startswith("chapters/")]:
        text = (HTML / "zh" / path).read_text(encoding="utf-8")
        for english in ('title="Toggle primary sidebar"', 'title="Toggle secondary sidebar"',
                        'aria-label="Main"', 'aria-label="Page"'):
            assert english not in text, f"zh/{path}: {english}"
        assert 'title="显示或隐藏左侧边栏"' in text and 'aria-label="本页导航"' in text, path
