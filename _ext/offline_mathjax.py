"""Serve MathJax from the built book, so that its math renders with no network.

``npm ci`` installs the ``mathjax`` package pinned in ``package-lock.json``
into ``node_modules/``. This extension copies the parts of it that a page can
ask for into ``_static/mathjax/`` of the HTML build: the combined TeX-to-HTML
component (the file ``mathjax_path`` names), its web fonts, the TeX extensions
that MathJax loads on demand, and the menu and accessibility components. The
rest of the package (SVG output, server-side code) stays out of the build.
"""

import json
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

SOURCE = Path("node_modules", "mathjax")
TARGET = "mathjax"                      # under _static/
ENTRY = "tex-mml-chtml.js"              # what mathjax_path points at
PARTS = [ENTRY, "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y", "sre"]


def _source(app):
    return Path(app.confdir, SOURCE)


def check_installed(app):
    if app.builder.format != "html":
        return
    source = _source(app)
    if not (source / "es5" / ENTRY).is_file():
        raise ExtensionError(
            f"MathJax is not installed: {SOURCE / 'es5' / ENTRY} is missing. "
            "Run `npm ci` at the top of the repository (`make book` does it)."
        )
    if app.config.mathjax_path != f"{TARGET}/{ENTRY}":
        raise ExtensionError(
            f"mathjax_path must be {TARGET}/{ENTRY!r} to use the MathJax copied into "
            f"the build, got {app.config.mathjax_path!r}"
        )


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source = _source(app)
    target = Path(app.outdir, "_static", TARGET)
    if target.exists():
        shutil.rmtree(target)
    for part in PARTS:
        src, dst = source / "es5" / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    shutil.copy2(source / "LICENSE", target / "LICENSE")
    version = json.loads((source / "package.json").read_text())["version"]
    logger.info(f"copied MathJax {version} into _static/{TARGET}")


def setup(app):
    app.connect("builder-inited", check_installed)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
