"""The Chinese edition keeps in step with the English text.

The Chinese edition is built from the same notebooks as the English one, with
the translations of ``locale/zh_CN/LC_MESSAGES/*.po`` put in place of each
paragraph, heading, list item and caption (Sphinx's gettext translation). This
module extracts the messages of the English text afresh, with Sphinx's gettext
builder, and fails when

* a message has no translation, or a fuzzy one (its English changed since it
  was translated), or a catalog holds a message the English no longer has;
* a translation loses or changes markup that must survive: glue roles, math,
  inline code, link and cross-reference targets, footnotes;
* an English term of the glossary is not rendered by the Chinese name the
  glossary gives it first, or a message uses one of the term's other Chinese
  names (池化 for 汇聚, say) where its English does not.

``make translations`` refreshes the catalogs after an English change (README).
"""

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale" / "zh_CN" / "LC_MESSAGES"
GLOSSARY = ROOT / "glossary.md"


def _documents():
    """The catalogs the book needs: one per page of _toc.yml, and 'sphinx' for the page templates."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    files = re.findall(r"^\s*(?:-\s*)?(?:root|file):\s*(\S+)", toc, re.M)
    return [re.sub(r"\.(ipynb|md)$", "", f) for f in files] + ["sphinx"]


DOCUMENTS = _documents()


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    """Message templates (.pot) of the English text as it is now, by document."""
    out = tmp_path_factory.mktemp("gettext")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--builder", "custom", "--custom-builder", "gettext",
         "--path-output", str(out)],
        check=True, capture_output=True, text=True,
    )
    pot_dir = out / "_build" / "gettext"
    return {
        str(p.relative_to(pot_dir).with_suffix("")): read_po(p.open("rb"))
        for p in pot_dir.rglob("*.pot")
    }


def _catalog(doc):
    path = LOCALE / f"{doc}.po"
    assert path.exists(), f"no Chinese catalog {path.relative_to(ROOT)}: run `make translations`"
    return read_po(path.open("rb"))


def test_every_page_has_a_catalog(templates):
    assert sorted(templates) == sorted(DOCUMENTS)
    on_disk = sorted(str(p.relative_to(LOCALE).with_suffix("")) for p in LOCALE.rglob("*.po"))
    assert on_disk == sorted(DOCUMENTS), "a catalog without a page, or a page without a catalog"


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_message_is_translated(templates, doc):
    english = {m.id for m in templates[doc] if m.id}
    catalog = _catalog(doc)
    chinese = {m.id: m for m in catalog if m.id}
    missing = sorted(english - set(chinese))
    untranslated = sorted(i for i in english & set(chinese) if not chinese[i].string)
    fuzzy = sorted(i for i in english & set(chinese) if chinese[i].fuzzy)
    obsolete = sorted(set(chinese) - english) + sorted(catalog.obsolete)
    problems = [("missing", missing), ("untranslated", untranslated), ("fuzzy", fuzzy), ("obsolete", obsolete)]
    report = "\n".join(f"{kind}: {m[:120]!r}" for kind, ms in problems for m in ms)
    assert not report, f"{doc}: run `make translations` and translate:\n{report}"
    assert catalog.locale is not None and (catalog.locale.language, catalog.locale.territory) == ("zh", "CN")


# Markup a translation must carry over unchanged, each counted with its
# multiplicity. Roles, math and code are taken out of the text in this order,
# so that a backtick of a role is not read as the start of inline code.
ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
INLINE_MATH = re.compile(r"\$[^$\n]+\$")
INLINE_CODE = re.compile(r"`[^`\n]+`")
OTHER = {
    "link target": re.compile(r"\]\(([^)\s]*)\)"),
    "footnote": re.compile(r"\[\^[\w-]+\]"),
}


def _markup(text):
    found = Counter()
    for kind, pattern in [("role", ROLE), ("display math", DISPLAY_MATH), ("inline math", INLINE_MATH),
                          ("inline code", INLINE_CODE)]:
        for m in pattern.finditer(text):
            token = m.group(0)
            if kind == "role" and not token.startswith(("{glue", "{ref}", "{numref}", "{doc}", "{eq}", "{cite")):
                # {term}`shown text <target>`: the shown text is translated, the target is kept.
                inner = token.split("`")[1]
                token = token.split("`")[0] + (inner.rsplit("<", 1)[1].rstrip(">") if "<" in inner else inner)
            found[(kind, token)] += 1
        text = pattern.sub(" ", text)
    for kind, pattern in OTHER.items():
        for m in pattern.finditer(text):
            found[(kind, m.group(m.lastindex or 0))] += 1
    return found


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_translations_keep_the_markup(doc):
    problems = []
    for message in _catalog(doc):
        if not message.id or not message.string:
            continue
        english, chinese = _markup(message.id), _markup(message.string)
        if _quotes_a_seed(message):
            # A source note's sentence keeps its own words: the English
            # translation of it may write math where the note writes ">=".
            english = Counter({k: n for k, n in english.items() if "math" not in k[0]})
            chinese = Counter({k: n for k, n in chinese.items() if "math" not in k[0]})
        if english != chinese:
            problems.append(f"lost {sorted(english - chinese)}, added {sorted(chinese - english)} "
                            f"in {message.id[:80]!r}")
    assert not problems, f"{doc}:\n" + "\n".join(problems)


def _glossary_entries():
    """(English names, Chinese names) of each entry of glossary.md's glossary, in order.

    An entry is a run of unindented lines, the term and its other names, then
    its indented definition.
    """
    block = GLOSSARY.read_text(encoding="utf-8").split("```{glossary}")[1].split("```")[0]
    entries, names = [], None
    for line in block.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            if names:
                entries.append(names)
            names = None
            continue
        names = (names or []) + [line.strip()]
    cjk = re.compile(r"[\u4e00-\u9fff]")
    return [([n for n in e if not cjk.search(n)], [n for n in e if cjk.search(n)]) for e in entries]


ENTRIES = _glossary_entries()

# Chinese names the glossary lists because readers meet them elsewhere, but
# which the Chinese edition does not use. Every name with 池化 is one: the
# book says 汇聚, as the second edition of d2l's Chinese book does.
ELSEWHERE = {
    "感兴趣区域",   # region of interest: the book says 兴趣区域
    "空洞",         # dilation: the book says 膨胀
    "类激活映射",   # class activation map: the book says 类激活图
    "逐通道卷积",   # depthwise convolution: the book says 深度卷积
}


def _elsewhere(name):
    return "池化" in name or name in ELSEWHERE


# Entries whose English word carries more than the glossary's sense in the
# book, so that no one Chinese word can stand for every use.
SEVERAL_SENSES = {
    # A convolution's weights (卷积核), the size of a pooling window
    # (`kernel_size`, 窗口大小), and in the speed chapter a compiled routine
    # (内核): three words in Chinese.
    "kernel",
}

# What a term is not looked for in: math, code, roles' names and targets, link
# targets, and Chinese quoted in the English (the source notes' own words).
NOT_PROSE = re.compile(
    r"\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]*`|\]\([^)]*\)|<[^>`]*>`|\{[\w:-]+\}|“[^”]*”", re.S)
NAME_LINES = {n for e, z in ENTRIES for n in e + z}


def test_the_glossary_gives_every_term_a_chinese_name_the_book_uses():
    assert len(ENTRIES) >= 50
    # Names such as PointNet or MetaFormer are not translated.
    without = [e for e, z in ENTRIES
               if not [n for n in z if not _elsewhere(n)] and not any(c.isupper() for c in e[0])]
    assert not without, f"glossary entries with no Chinese name the book uses: {without}"


SEEDS = ROOT.parent / "shared" / "seeds"


def _squeezed(text):
    return re.sub(r"\s+", "", text)


SEED_TEXT = _squeezed("".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))))


def _quotes_a_seed(message):
    """True when the translation is a source note's own sentence, quoted as it stands
    (where the English gives its translation): it keeps the note's words, and its
    池化, not the book's."""
    quoted = _squeezed(message.string).strip("“”\"")
    return len(quoted) > 10 and quoted in SEED_TEXT


@pytest.fixture(scope="module")
def all_messages():
    return [(doc, m) for doc in DOCUMENTS for m in _catalog(doc) if m.id and m.string and not _quotes_a_seed(m)]


TERMS = [(e, z) for e, z in ENTRIES if z and e[0] not in SEVERAL_SENSES]


@pytest.mark.parametrize("english,chinese", TERMS, ids=[e[0] for e, _ in TERMS])
def test_each_glossary_term_keeps_its_chinese_name(all_messages, english, chinese):
    """A message whose English has the term says it in Chinese by a name the
    book uses; no message uses a name the book does not, unless its English
    quotes that name."""
    ours = [n for n in chinese if not _elsewhere(n)]
    theirs = [n for n in chinese if _elsewhere(n)]
    words = [re.compile(r"(?<![\w-])" + re.escape(n) + r"(?:s|es)?(?![\w-])", 0 if n.isupper() else re.I)
             for n in english]
    wrong = []
    for doc, message in all_messages:
        if doc == "glossary" and message.id in NAME_LINES:
            continue                         # the glossary's own lines of names
        prose = NOT_PROSE.sub(" ", message.id)
        # A name such as ROI Align or DeepSets may also stay as it is.
        kept = [n for n in english if any(c.isupper() for c in n)]
        if any(w.search(prose) for w in words) and not any(n in message.string for n in ours + kept):
            wrong.append(f"{doc}: no {'/'.join(ours)} in {message.string[:100]!r}")
        for name in theirs:
            if name in message.string and name not in message.id:
                wrong.append(f"{doc}: {name} instead of {'/'.join(ours)} in {message.string[:100]!r}")
    assert not wrong, "\n".join(wrong)


def _titles():
    """(page, English title) -> Chinese title of each page: the translation of
    its first level-1 heading."""
    import nbformat

    titles = {}
    for doc in DOCUMENTS[:-1]:
        [source] = [p for p in (ROOT / f"{doc}.ipynb", ROOT / f"{doc}.md") if p.exists()]
        if source.suffix == ".ipynb":
            cells = nbformat.read(source, as_version=4).cells
            lines = [line for c in cells if c.cell_type == "markdown" for line in c.source.splitlines()]
        else:
            lines = source.read_text(encoding="utf-8").splitlines()
        english = next(line[2:].strip() for line in lines if line.startswith("# "))
        titles[(doc.split("/")[-1], english)] = _catalog(doc)[english].string
    return titles


LINK = re.compile(r"\[([^\]]+)\]\((?:\.\./|chapters/)?([\w-]+)\.(?:ipynb|md)(?:#[\w-]+)?\)")


def test_a_link_named_after_a_page_uses_its_chinese_title(all_messages):
    """[Summary](06_summary.ipynb) becomes [小结……](06_summary.ipynb), the same words in every chapter."""
    titles = _titles()
    by_page = {page: (english, chinese) for (page, english), chinese in titles.items()}
    wrong = []
    for doc, message in all_messages:
        chinese_links = {(target, text) for text, target in LINK.findall(message.string)}
        for text, target in LINK.findall(message.id):
            english, chinese = by_page.get(target, (None, None))
            if text == english and (target, chinese) not in chinese_links:
                found = sorted(t for g, t in chinese_links if g == target)
                wrong.append(f"{doc}: [{text}]({target}) is {found}, not [{chinese}]")
    assert not wrong, "\n".join(wrong)
