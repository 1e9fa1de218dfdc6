"""The pooling explorer: an interactive figure of 2-D max and average pooling.

A MyST cell writes::

    ```{pool-explorer}
    :op: max
    :input: 4 4
    :kernel: 3
    :stride: 2
    :padding: 1
    ```

and the page gets a widget (``pool-explorer.js`` and ``pool-explorer.css``,
plain JavaScript and CSS served from ``_static/pool-explorer/``) in which the
reader sets the input size, kernel, stride, padding, dilation, ceil mode, the
kind of pooling and ``count_include_pad``, and sees the padded input, the
window of each output cell and the output, or PyTorch's reason for refusing
the arguments. Only the pages that use the directive load the two files.

Options, each optional: ``op`` (``max`` or ``avg``); ``input``, ``kernel``,
``stride``, ``padding``, ``dilation``: one integer for both axes or two
(height, width); ``stride: default`` means the kernel size, as in PyTorch;
flags ``ceil-mode`` and ``exclude-pad`` (``count_include_pad=False``).

At the end of an HTML build the extension also writes
``_static/pool-explorer/fixture.json``: the configurations of
:mod:`pool_explorer.cases` with poolkit's results, which the browser test
drives the widget through.
"""

import json
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from . import cases

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = "pool-explorer"                       # folder under _static/
FILES = ("pool-explorer.js", "pool-explorer.css")
# The explorer's ranges (the widget clamps to the same ones).
LIMITS = {"input": (1, 12), "kernel": (1, 12), "stride": (0, 12), "padding": (0, 6), "dilation": (1, 6)}


class pool_explorer(nodes.General, nodes.Element):
    """Where a widget goes; its ``config`` attribute is the initial configuration."""


def _pair(name, text):
    parts = text.replace(",", " ").split()
    if not 1 <= len(parts) <= 2 or not all(p.lstrip("-").isdigit() for p in parts):
        raise ValueError(f"{name} must be one integer or two (height, width), got {text!r}")
    values = [int(p) for p in parts] * (3 - len(parts))
    low, high = LIMITS[name]
    if not all(low <= v <= high for v in values[:2]):
        raise ValueError(f"{name} must lie in {low}..{high}, got {text!r}")
    return values[:2]


class PoolExplorer(SphinxDirective):
    has_content = False
    option_spec = {
        "op": lambda text: directives.choice(text, ("max", "avg")),
        "input": directives.unchanged_required,
        "kernel": directives.unchanged_required,
        "stride": directives.unchanged_required,
        "padding": directives.unchanged_required,
        "dilation": directives.unchanged_required,
        "ceil-mode": directives.flag,
        "exclude-pad": directives.flag,
    }

    def run(self):
        config = {"op": self.options.get("op", "max"), "input": [4, 4], "kernel": [2, 2], "stride": None,
                  "padding": [0, 0], "dilation": [1, 1], "ceil_mode": "ceil-mode" in self.options,
                  "count_include_pad": "exclude-pad" not in self.options}
        try:
            for name in ("input", "kernel", "padding", "dilation"):
                if name in self.options:
                    config[name] = _pair(name, self.options[name])
            if self.options.get("stride", "default") != "default":
                config["stride"] = _pair("stride", self.options["stride"])
        except ValueError as error:
            raise self.error(f"pool-explorer: {error}") from None
        if config["op"] == "avg" and config["dilation"] != [1, 1]:
            raise self.error("pool-explorer: average pooling has no dilation (avg_pool2d takes none)")
        node = pool_explorer(config=config)
        self.set_source_info(node)
        return [node]


def visit_html(self, node):
    config = json.dumps(node["config"], separators=(",", ":"))
    self.body.append(
        f'<div class="pool-explorer" data-config="{self.attval(config)}">'
        '<p class="pe-fallback">The pooling explorer needs JavaScript; the figures and code '
        'cells of this page show the same rules.</p></div>\n'
    )
    raise nodes.SkipNode


def skip(self, node):
    raise nodes.SkipNode


def add_files(app, pagename, templatename, context, doctree):
    """Load the widget's files on the pages that show one, and nowhere else."""
    if doctree is not None and next(iter(doctree.findall(pool_explorer)), None) is not None:
        app.add_css_file(f"{STATIC}/pool-explorer.css")
        app.add_js_file(f"{STATIC}/pool-explorer.js", defer="defer")


def write_static(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir, "_static", STATIC)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(HERE / name, target / name)
    data = cases.fixture()
    (target / "fixture.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
    logger.info(f"pool explorer: wrote {len(data['cases'])} checked configurations "
                f"({data['valid']} valid, {data['refused']} refused) into _static/{STATIC}/")


def setup(app):
    # Handlers by builder name as well as by format: another extension that registers
    # handlers for singlehtml stops Sphinx from falling back to those of the html format.
    app.add_node(pool_explorer, html=(visit_html, None), singlehtml=(visit_html, None),
                 dirhtml=(visit_html, None), latex=(skip, None), text=(skip, None),
                 man=(skip, None), texinfo=(skip, None))
    app.add_directive("pool-explorer", PoolExplorer)
    app.connect("html-page-context", add_files)
    app.connect("build-finished", write_static)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
