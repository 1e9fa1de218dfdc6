"""The build extension that lightens the theme's pages (_ext/page_style.py)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from sphinx.errors import ExtensionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

import page_style  # noqa: E402


def test_without_drops_exactly_the_named_script_line():
    text = "<a>\n  <script src=\"{{ x('_static/scripts/fontawesome.js') }}\"></script>\n<b>\n"
    assert page_style.without(text, "t.html", ["_static/scripts/fontawesome.js"]) == "<a>\n<b>\n"


@pytest.mark.parametrize("text", ["<a>\n", "<script src='a.js'></script>\n<script src='a.js'></script>\n",
                                  "<link href='a.js'>\n"])
def test_without_refuses_a_template_it_does_not_recognise(text):
    with pytest.raises(ExtensionError, match="a.js"):
        page_style.without(text, "t.html", ["a.js"])


def test_prune_keeps_the_icons_in_use_only():
    css = ('.x{color:red}.fa-sun:before{content:"\\f185"}'
           '.fa-search:before,.fa-magnifying-glass:before{content:"\\f002"}.fa-moon:before{content:"\\f186"}')
    pruned = page_style.prune_icon_rules(css, {"fa-sun", "fa-magnifying-glass"})
    assert pruned == '.x{color:red}.fa-sun:before{content:"\\f185"}.fa-magnifying-glass:before{content:"\\f002"}'


def test_the_installed_theme_still_has_the_lines_to_leave_out(tmp_path):
    config = SimpleNamespace(templates_path=[], html_static_path=[])
    page_style.derive_templates(SimpleNamespace(doctreedir=str(tmp_path)), config)
    folder = Path(config.templates_path[0])
    for name, dropped in page_style.LESS:
        text = (folder / name).read_text()
        assert "<script" in text or "{%" in text
        assert not any(needle in text for needle in dropped)
    assert config.html_static_path == [str(ROOT / "_ext" / "static")]
