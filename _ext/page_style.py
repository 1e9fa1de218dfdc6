"""The book's own CSS, and lighter pages.

* ``_static/book.css`` (from ``_ext/static/``): figures of cell outputs keep
  their own colours in dark mode, on a white card; on a phone, long inline
  formulas and code no longer get cut off or widen the page (see the file);
* two of the theme's templates are used less a few lines, copied at each
  build into a templates folder that Sphinx searches before the theme's:
  - ``fontawesome.js`` (1.5 MB, which redraws each icon as an SVG) is no
    longer loaded: the theme's stylesheet already draws every icon from Font
    Awesome's web font, so the script only repeats that work;
  - Sphinx's search tools and the search index (about 150 kB) are loaded by
    the search page only: the theme loads them on every page for its
    search-as-you-type, which this book leaves off (the theme's default), and
    then does not use them;
* four of sphinx-book-theme's templates are used with the interface text
  they write as it is (two button titles, two navigation labels) passed
  through gettext instead, so that the Chinese edition translates it like the
  rest of the interface (``_ext/locale``; _ext/editions.py);
* the theme's stylesheet keeps, of the ~1,900 rules that map Font Awesome's
  icon classes to their characters (about 85 kB), those of the icons that a
  page or script of the build names; and its solid icon font (156 kB, loaded
  by every page) is replaced by the few icons that the stylesheets of the
  build draw, cut from the theme's copy of the font with fontTools (which
  matplotlib installs), as WOFF (WOFF2 would need the brotli module).
"""

import re
from pathlib import Path

from sphinx.errors import ExtensionError

HERE = Path(__file__).resolve().parent
# (template of pydata-sphinx-theme, as its users name it; lines to leave out)
LESS = [
    ("static/webpack-macros.html", ["_static/scripts/fontawesome.js"]),
    ("pydata_sphinx_theme/layout.html", ["'_static/searchtools.js'", "'_static/language_data.js'",
                                         "'searchindex.js'"]),
]


def without(text, name, dropped):
    """``text`` less the one <script> line naming each of ``dropped``."""
    lines = text.splitlines(keepends=True)
    for needle in dropped:
        hits = [line for line in lines if needle in line]
        if len(hits) != 1 or "<script" not in hits[0]:
            raise ExtensionError(f"the theme's {name} no longer loads {needle} in one <script> line; "
                                 "update _ext/page_style.py")
        lines.remove(hits[0])
    return "".join(lines)


# (template of sphinx-book-theme, as it is looked up: its components/ folder is on the
# templates path; attributes it writes in English, not through gettext)
UNTRANSLATED = [
    ("toggle-primary-sidebar.html", ['title="Toggle primary sidebar"']),
    ("toggle-secondary-sidebar.html", ['title="Toggle secondary sidebar"']),
    ("sbt-sidebar-nav.html", ['aria-label="Main"']),
    ("layout.html", ['aria-label="Page"']),
]


def translatable(text, name, attributes):
    """``text`` with each of ``attributes`` (``key="English"``, once each) given through gettext."""
    for attribute in attributes:
        if text.count(attribute) != 1:
            raise ExtensionError(f"the theme's {name} no longer writes {attribute} once; "
                                 "update _ext/page_style.py")
        key, english = attribute.split("=", 1)
        text = text.replace(attribute, f'{key}="{{{{ _({english}) }}}}"')
    return text


def derive_templates(app, config):
    import pydata_sphinx_theme
    import sphinx_book_theme

    themes = Path(pydata_sphinx_theme.__file__).parent / "theme"
    book_theme = Path(sphinx_book_theme.__file__).parent / "theme" / "sphinx_book_theme"
    folder = Path(app.doctreedir) / "page_style_templates"
    derived = [(name, themes / "pydata_sphinx_theme" / name.removeprefix("pydata_sphinx_theme/"), without, dropped)
               for name, dropped in LESS]
    derived += [(name, book_theme / name if name == "layout.html" else book_theme / "components" / name,
                 translatable, attributes) for name, attributes in UNTRANSLATED]
    for name, source, derive, changes in derived:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(derive(source.read_text(), name, changes))
    config.templates_path.insert(0, str(folder))
    config.html_static_path.append(str(HERE / "static"))


THEME_CSS = Path("_static", "styles", "pydata-sphinx-theme.css")
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:before,?)+)(\{content:"[^"]*"\})')
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")


def icons_named(outdir):
    """Every ``fa-...`` class that a page or a script of the build names."""
    names = set()
    for file in [*Path(outdir).rglob("*.html"), *Path(outdir, "_static").rglob("*.js")]:
        if "mathjax" not in file.parts:
            names |= set(ICON_CLASS.findall(file.read_text(encoding="utf-8", errors="replace")))
    return names


def prune_icon_rules(css, used):
    """``css`` less the selectors of icons not in ``used`` (and the rules left with none)."""
    def keep(match):
        selectors = [s for s in match.group(1).split(",") if s and s[1:-len(":before")] in used]
        return ",".join(selectors) + match.group(2) if selectors else ""

    pruned = ICON_RULE.sub(keep, css)
    drawn = lambda text: {n for n in used if f".{n}:before" in text}
    if drawn(pruned) != drawn(css):
        raise ExtensionError(f"pruning the icon rules of {THEME_CSS} went wrong; update _ext/page_style.py")
    return pruned


WEBFONTS = Path("_static", "vendor", "fontawesome", "webfonts")
SOLID = "fa-solid-900"
SOLID_FACE = re.compile(r"(@font-face\{[^}]*font-weight:900;)src:[^}]*\}")
PRIVATE_USE = (0xE000, 0xF8FF)                     # where Font Awesome puts its icons


def icon_code_points(outdir, theme_css):
    """Private-use characters the stylesheets of the build draw, written as they
    are or as CSS escapes; ``theme_css`` stands for the theme's stylesheet."""
    points = set()
    for file in Path(outdir, "_static").rglob("*.css"):
        if "mathjax" in file.parts:
            continue
        if file == Path(outdir, THEME_CSS):
            text = theme_css
        else:
            text = file.read_text(encoding="utf-8", errors="replace")
        points |= {ord(c) for c in text}
        points |= {int(h, 16) for h in re.findall(r"\\([0-9a-fA-F]{4})(?![0-9a-fA-F])", text)}
    return sorted(p for p in points if PRIVATE_USE[0] <= p <= PRIVATE_USE[1])


def subset_solid_font(outdir, css):
    """Write the solid icons that the build draws as one small WOFF; ``css`` with
    its solid @font-face pointing there."""
    from fontTools import subset

    points = icon_code_points(outdir, css)
    options = subset.Options()
    options.flavor = "woff"
    options.name_IDs = ["*"]
    font = subset.load_font(str(Path(outdir, WEBFONTS, f"{SOLID}.ttf")), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=points)
    subsetter.subset(font)
    subset.save_font(font, str(Path(outdir, WEBFONTS, f"{SOLID}.book.woff")), options)
    css, count = SOLID_FACE.subn(
        rf'\1src:url(../vendor/fontawesome/webfonts/{SOLID}.book.woff) format("woff")}}', css)
    if count != 1 or not 10 <= len(points) <= 100:
        raise ExtensionError(f"the solid icon font of {THEME_CSS} was not found; update _ext/page_style.py")
    return css


def prune_theme_css(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    path = Path(app.outdir, THEME_CSS)
    css = prune_icon_rules(path.read_text(encoding="utf-8"), icons_named(app.outdir))
    path.write_text(subset_solid_font(app.outdir, css), encoding="utf-8")


def setup(app):
    app.connect("config-inited", derive_templates)
    app.connect("build-finished", prune_theme_css)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
