"""The English and the Chinese edition of the book, and the way between them.

The Chinese edition is built from the same sources with ``language: zh_CN``
(``scripts/build_edition.py zh``): Sphinx puts the translations of
``locale/zh_CN/LC_MESSAGES`` in place of the English text, and leaves code
cells and their stored outputs as they are. It lives in ``zh/`` of the English
build, so that every page has its counterpart at the same path:

* each page gets a switch to the same page of the other edition, next to the
  theme's buttons; a small script carries the section of the address
  (``#...``) across, and section ids are the same in both editions;
* ``<link rel="alternate" hreflang=...>`` names the other edition for search
  engines and browsers;
* in the Chinese edition the download menu says that its notebook is the
  English one (the code and outputs are those of this page, the text is not);
* the ``{book-pdf}`` directive links the PDF of the edition it is built in,
  in that edition's words;
* a quoted sentence of the (Chinese) source notes is followed in English by
  its translation, in a ``:::{div} note-translation`` block; the Chinese
  edition leaves that block out, since it would repeat the quote;
* the captions of the table of contents (the book's parts, from _toc.yml)
  are translated too: sphinx-external-toc puts them in after Sphinx's
  translation has run, so a later transform looks them up in the root page's
  catalog;
* interface text that the themes leave in English is translated by
  ``_ext/locale`` (the few attributes sphinx-book-theme writes without
  gettext go through it too: _ext/page_style.py), and the theme's "Print to
  PDF" is given simplified characters;
* the titles of exercises are messages to translate like any other text:
  sphinx-exercise builds them without a source, which Sphinx takes for its
  own interface text and neither extracts nor translates, and it rebuilds
  them after the pages are read, where the gettext builder looks for
  messages; so they get a source before Sphinx translates, and are handed to
  the gettext builder as the pages are read;
* glue roles work in translated text. Sphinx parses each translation as a
  small document of its own, which myst-nb 1.4 reads as plain MyST without the
  notebook's glue data, so that ``{glue:text}`name``` in a translation finds
  no ``name``. A transform that runs before Sphinx's translation keeps the
  notebook's glue data at hand, and the glue roles look there when their own
  document has none: the Chinese edition shows exactly the English edition's
  glued numbers.
"""

from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective

HERE = Path(__file__).resolve().parent

# language -> (the edition's name in its own language, its folder under the English build)
EDITIONS = {"en": ("English", ""), "zh_CN": ("中文", "zh/")}
HREFLANG = {"en": "en", "zh_CN": "zh-CN"}

PDF_SENTENCE = {
    "en": 'The whole book is also one PDF file, for reading offline or printing: {link}.',
    "zh_CN": '全书另有一个PDF文件，可供离线阅读或打印：{link}。',
}
NOTEBOOK_TEXT = {
    "zh_CN": ("英文 .ipynb", "下载本章的 notebook：代码和输出与本页相同，文字是英文原文"),
}
# sphinx-book-theme's zh_CN catalog says 列印成 PDF, in Taiwan's usage.
PRINT_TEXT = {"zh_CN": "打印为 PDF"}


def _language(config):
    return config.language if config.language in EDITIONS else "en"


def _other(language):
    return "zh_CN" if language == "en" else "en"


def counterpart(pagename, language):
    """Relative address of the same page in the other edition, from this page."""
    up = "../" * pagename.count("/")
    other = _other(language)
    if language == "en":
        return f"{up}{EDITIONS[other][1]}{pagename}.html"
    return f"{up}../{pagename}.html"


def add_switch(app, pagename, templatename, context, doctree):
    language = _language(app.config)
    other = _other(language)
    url = counterpart(pagename, language)
    context["book_edition"] = {
        "url": url,
        "text": EDITIONS[other][0],
        "hreflang": HREFLANG[other],
        "title": "Read this page in English" if other == "en" else "阅读本页的中文版",
    }
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{HREFLANG[other]}" href="{url}">'
        f'\n<link rel="alternate" hreflang="{HREFLANG[language]}" href="{pagename.split("/")[-1]}.html">')


def label_download(app, pagename, templatename, context, doctree):
    language = _language(app.config)
    if language in NOTEBOOK_TEXT:
        text, tooltip = NOTEBOOK_TEXT[language]
        for group in context.get("header_buttons", []):
            for button in group.get("buttons", []):
                if button.get("label") in ("download-notebook-button", "download-source-button") \
                        and str(button.get("text", "")).endswith(".ipynb"):
                    button["text"], button["tooltip"] = text, tooltip
                if button.get("label") == "download-pdf-button" and language in PRINT_TEXT:
                    button["tooltip"] = PRINT_TEXT[language]


class BookPdf(SphinxDirective):
    """A paragraph linking the PDF of the whole book, the-pooling-book.pdf."""

    def run(self):
        language = _language(self.config)
        link = '<a href="the-pooling-book.pdf">the-pooling-book.pdf</a>'
        html = f'<p class="book-pdf">{PDF_SENTENCE[language].format(link=link)}</p>'
        return [nodes.raw("", html, format="html")]


class KeepGlueData(SphinxTransform):
    """Keep the notebook's glue data where its translated messages can find it.

    myst-nb writes a notebook's glue data next to its executed copy while it
    parses the notebook (``<docname>.glue.json`` in its output folder); this
    transform runs after the parse and before Sphinx's translation."""

    default_priority = 10    # before sphinx.transforms.i18n.Locale (20)

    def apply(self):
        import json

        path = Path(self.env.mystnb_config.output_folder, *f"{self.env.docname}.glue.json".split("/"))
        if path.exists():
            self.env.temp_data["book_glue_data"] = json.loads(path.read_text(encoding="utf-8"))


class TranslateTocCaptions(SphinxTransform):
    """Translate the captions of the toctrees that sphinx-external-toc inserts."""

    default_priority = 110   # after sphinx_external_toc's InsertToctrees (100)

    def apply(self):
        from sphinx import addnodes
        from sphinx.locale import init as init_locale
        from sphinx.util.i18n import docname_to_domain

        if _language(self.config) == "en":
            return
        toctrees = [n for n in self.document.findall(addnodes.toctree) if n.get("caption")]
        if not toctrees:
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [str(Path(self.env.srcdir, d)) for d in self.config.locale_dirs]
        catalog, found = init_locale(dirs, self.config.language, domain)
        if found:
            for toctree in toctrees:
                toctree["caption"] = catalog.gettext(toctree["caption"])


class TranslatableExerciseTitles(SphinxTransform):
    """Give each exercise's title (sphinx-exercise's subtitle node, the text
    after "Exercise N") the source and line of its directive, so that gettext
    extracts it and Sphinx's translation replaces it."""

    default_priority = 15    # before sphinx.transforms.i18n.Locale (20)

    def apply(self):
        from sphinx_exercise.nodes import exercise_subtitle

        for subtitle in self.document.findall(exercise_subtitle):
            if not subtitle.source and subtitle.parent is not None:
                subtitle.source, subtitle.line = subtitle.parent.source, subtitle.parent.line
                subtitle.rawsource = subtitle.astext()


def exercise_titles_read(app, doctree):
    """Once a page is read (and translated): for the gettext builder, the
    exercises' titles as messages of their page; for the others, the
    translated exercises in sphinx-exercise's registry, from which it titles
    their solutions ("Solution to Exercise N (title)"): it keeps a copy of each
    exercise made before Sphinx translated it."""
    from sphinx.util.i18n import docname_to_domain
    from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, exercise_subtitle

    if app.builder.name != "gettext":
        registry = getattr(app.env, "sphinx_exercise_registry", {})
        for node in doctree.findall(lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))):
            entry = registry.get(node.get("label"))
            if entry is not None and entry.get("docname") == app.env.docname:
                entry["node"] = node.deepcopy()
        return
    catalog = app.builder.catalogs[docname_to_domain(app.env.docname, app.config.gettext_compact)]
    for subtitle in doctree.findall(exercise_subtitle):
        if subtitle.source and subtitle.rawsource:
            if not hasattr(subtitle, "uid"):
                subtitle.uid = ""
            catalog.add(subtitle.rawsource, subtitle)


class DropNoteTranslations(SphinxTransform):
    """In the Chinese edition, leave out the English renderings of the notes' quotes."""

    default_priority = 30    # after sphinx.transforms.i18n.Locale (20)

    def apply(self):
        if _language(self.config) != "zh_CN":
            return
        for node in list(self.document.findall(nodes.container)):
            if "note-translation" in node["classes"]:
                node.parent.remove(node)


def glue_in_translations():
    from myst_nb.ext.glue import directives, roles, utils

    retrieve = utils.retrieve_glue_data
    if getattr(retrieve, "book_translations", False):
        return

    def retrieve_glue_data(document, key):
        env = getattr(document.settings, "env", None)
        if "nb_renderer" not in document and env is not None and key in env.temp_data.get("book_glue_data", {}):
            # A translated message: the text of the glued value is all a
            # {glue:text} role needs.
            value = env.temp_data["book_glue_data"][key]
            return utils.VariableOutput(data=value["data"], metadata=value.get("metadata", {}),
                                        nb_renderer=None, vtype="glue")
        return retrieve(document, key)

    retrieve_glue_data.book_translations = True
    roles.retrieve_glue_data = directives.retrieve_glue_data = retrieve_glue_data


def set_up_config(app, config):
    config.templates_path.append(str(HERE / "templates"))
    options = config.html_theme_options
    end = options.get("article_header_end", ["article-header-buttons.html"])
    if "edition-switch.html" not in end:
        options["article_header_end"] = ["edition-switch.html", *end]


def setup(app):
    app.connect("config-inited", set_up_config)
    # Before pydata-sphinx-theme drops the header's templates that render
    # empty (priority 500), and after sphinx-book-theme has made its header
    # buttons (501).
    app.connect("html-page-context", add_switch, priority=400)
    app.connect("html-page-context", label_download, priority=600)
    app.add_directive("book-pdf", BookPdf)
    app.add_transform(KeepGlueData)
    app.add_transform(DropNoteTranslations)
    app.add_transform(TranslateTocCaptions)
    app.add_transform(TranslatableExerciseTitles)
    app.connect("doctree-read", exercise_titles_read)
    glue_in_translations()
    app.add_js_file("edition-switch.js", defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
