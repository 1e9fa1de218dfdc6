"""Build the Chinese edition of the book, from the same sources as the English.

    python scripts/build_edition.py [--builder html|singlehtml] [--strict]

does what ``jupyter-book build .`` does (the same _config.yml and _toc.yml,
through Jupyter Book's own build function), with the language set to zh_CN,
so that Sphinx uses the translations of locale/zh_CN/LC_MESSAGES. The HTML goes
to _build/html/zh/, inside the English edition, so that each page has its
counterpart at the same path (_ext/editions.py links the two); the one-page
build (for the PDF) to _build/singlehtml/zh/. Its parsed pages are kept apart
from the English ones, in _build/.doctrees-zh/. ``--strict`` makes any warning
an error, as ``jupyter-book build -W -n --keep-going`` does.
"""

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE = "汇聚之书"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builder", choices=["html", "singlehtml"], default="html")
    parser.add_argument("--strict", action="store_true", help="fail on any warning (-W -n --keep-going)")
    args = parser.parse_args(argv)

    from jupyter_book.sphinx import build_sphinx

    build = ROOT / "_build"
    outdir = build / args.builder / "zh"
    overrides = {
        "external_toc_path": (ROOT / "_toc.yml").as_posix(),
        "latex_individualpages": False,
        "language": "zh_CN",
        "html_title": TITLE,
        # Jupyter Book sets the theme's search placeholder in English.
        "html_theme_options": {"search_bar_text": "搜索本书……"},
    }
    if args.strict:
        overrides["nitpicky"] = True
    print(f"Chinese edition ({args.builder}): {outdir.relative_to(ROOT)}", flush=True)
    result = build_sphinx(
        ROOT, outdir,
        use_external_toc=True, noconfig=True, path_config=ROOT / "_config.yml",
        confoverrides=overrides, doctreedir=build / ".doctrees-zh",
        builder=args.builder, warningiserror=args.strict, keep_going=args.strict,
        freshenv=args.builder == "html",
    )
    # myst-nb keeps its copies of the executed notebooks beside the output
    # folder, which here is inside the English edition: they are not part of it.
    shutil.rmtree(outdir.parent / "jupyter_execute", ignore_errors=True)
    return 1 if result else 0


if __name__ == "__main__":
    sys.exit(main())
