"""Find a Chromium for the browser tests, in the usual places; download nothing.

In order:

1. ``$CHROMIUM``, if set: it must name an executable file (anything else is an
   error, not a reason to look elsewhere);
2. ``chromium``, ``chromium-browser`` or ``google-chrome`` on ``PATH``;
3. a Chromium that Playwright has already installed: in
   ``$PLAYWRIGHT_BROWSERS_PATH`` if set (``0`` meaning inside the playwright
   package), else in ``ms-playwright/`` under ``$XDG_CACHE_HOME`` or
   ``~/.cache``; the newest revision first, the full browser before the
   headless shell. Linux layouts only, like the rest of the book's setup.

As a script (stdlib only, so any Python runs it): prints the path and exits 0;
prints how to get a Chromium and exits 1 when there is none; exits 2, naming
``CHROMIUM``, when that variable names no executable file.
"""

import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

ON_PATH = ("chromium", "chromium-browser", "google-chrome")
# Playwright's directories: <name>-<revision>/<executable>, the newer layout first.
PLAYWRIGHT_BUILDS = (
    ("chromium", ("chrome-linux64/chrome", "chrome-linux/chrome")),
    ("chromium_headless_shell", ("chrome-headless-shell-linux64/chrome-headless-shell",
                                 "chrome-linux/headless_shell")),
)
# Flags that keep Chromium from contacting any service of its own (the browser
# tests and scripts/print_pdf.py launch it with them).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HOW_TO_GET_ONE = ("no Chromium found (looked at $CHROMIUM, " + ", ".join(ON_PATH) + " on PATH, "
                  "and Playwright's browsers): install one (apt-get install chromium, or "
                  ".venv/bin/playwright install chromium), or set CHROMIUM=/path/to/chrome")


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def playwright_directory(environ):
    """Where Playwright keeps its browsers, following its own rules; None if unknown."""
    configured = environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured == "0":
        spec = importlib.util.find_spec("playwright")
        if spec is None or spec.origin is None:
            return None
        return Path(spec.origin).parent / "driver" / "package" / ".local-browsers"
    if configured:
        return Path(configured)
    cache = environ.get("XDG_CACHE_HOME") or Path(environ.get("HOME") or Path.home(), ".cache")
    return Path(cache, "ms-playwright")


def playwright_chromium(directory):
    """The newest Chromium under a Playwright browsers directory, or None."""
    if directory is None or not directory.is_dir():
        return None
    for name, executables in PLAYWRIGHT_BUILDS:
        revisions = []
        for build in directory.iterdir():
            match = re.fullmatch(re.escape(name) + r"-(\d+)", build.name)
            if match:
                revisions.append((int(match[1]), build))
        for _, build in sorted(revisions, reverse=True):
            for executable in executables:
                if _executable(build / executable):
                    return str(build / executable)
    return None


def find_chromium(environ=None):
    """The path of a Chromium, or None. Raises ValueError if $CHROMIUM is set but wrong."""
    environ = os.environ if environ is None else environ
    chosen = environ.get("CHROMIUM")
    if chosen:
        if not _executable(chosen):
            raise ValueError(f"CHROMIUM={chosen}: no executable file there")
        return chosen
    for name in ON_PATH:
        found = shutil.which(name, path=environ.get("PATH", os.defpath))
        if found:
            return found
    return playwright_chromium(playwright_directory(environ))


def main():
    try:
        found = find_chromium()
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(found or HOW_TO_GET_ONE)
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
