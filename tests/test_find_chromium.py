"""Where the browser tests look for Chromium (browser_tests/find_chromium.py),
checked with fake executables in a temporary directory."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "browser_tests" / "find_chromium.py"
_spec = importlib.util.spec_from_file_location("find_chromium", SCRIPT)
finder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(finder)


def executable(path, mode=0o755):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return str(path)


@pytest.fixture
def machine(tmp_path):
    """A browser in every place the lookup knows, and an environment that sees them all."""
    places = {
        "CHROMIUM": executable(tmp_path / "chosen" / "my-chrome"),
        # chromium-browser and google-chrome come first on PATH; chromium still wins.
        "chromium-browser": executable(tmp_path / "bin1" / "chromium-browser"),
        "google-chrome": executable(tmp_path / "bin1" / "google-chrome"),
        "chromium": executable(tmp_path / "bin2" / "chromium"),
    }
    cache = tmp_path / "home" / ".cache" / "ms-playwright"
    for revision in (1200, 1255, 999):
        places[f"playwright {revision}"] = executable(
            cache / f"chromium-{revision}" / "chrome-linux64" / "chrome")
    places["playwright shell"] = executable(
        cache / "chromium_headless_shell-1300" / "chrome-headless-shell-linux64" / "chrome-headless-shell")
    environ = {
        "CHROMIUM": places["CHROMIUM"],
        "PATH": os.pathsep.join([str(tmp_path / "bin1"), str(tmp_path / "bin2")]),
        "HOME": str(tmp_path / "home"),
    }
    return places, environ


def test_the_lookup_order(machine):
    places, environ = machine
    order = ["CHROMIUM", "chromium", "chromium-browser", "google-chrome",
             "playwright 1255", "playwright 1200", "playwright 999", "playwright shell"]
    for place in order:
        assert finder.find_chromium(environ) == places[place]
        if place == "CHROMIUM":
            del environ["CHROMIUM"]
        else:
            os.remove(places[place])
    assert finder.find_chromium(environ) is None


def test_files_that_cannot_run_are_passed_over(tmp_path):
    executable(tmp_path / "bin" / "chromium", mode=0o644)
    (tmp_path / "bin" / "chromium-browser").mkdir()
    shell = executable(tmp_path / "pw" / "chromium_headless_shell-7" / "chrome-linux" / "headless_shell")
    executable(tmp_path / "pw" / "chromium-8" / "chrome-linux64" / "chrome", mode=0o644)
    environ = {"PATH": str(tmp_path / "bin"), "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "pw")}
    assert finder.find_chromium(environ) == shell


def test_where_playwright_keeps_its_browsers(tmp_path):
    home = tmp_path / "home"
    assert finder.playwright_directory({"HOME": str(home)}) == home / ".cache" / "ms-playwright"
    assert finder.playwright_directory({"HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "xdg")}) \
        == tmp_path / "xdg" / "ms-playwright"
    assert finder.playwright_directory({"HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
                                        "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "pw")}) == tmp_path / "pw"
    inside = finder.playwright_directory({"PLAYWRIGHT_BROWSERS_PATH": "0"})
    assert inside.parts[-4:] == ("playwright", "driver", "package", ".local-browsers")
    # The older layout, chrome-linux/chrome, is found too.
    old = executable(tmp_path / "xdg" / "ms-playwright" / "chromium-1100" / "chrome-linux" / "chrome")
    assert finder.find_chromium({"PATH": "", "HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "xdg")}) == old


@pytest.mark.parametrize("kind", ["missing", "not executable", "a directory"])
def test_a_wrong_CHROMIUM_is_an_error_naming_it(machine, tmp_path, kind):
    _, environ = machine
    wrong = {"missing": str(tmp_path / "nowhere"),
             "not executable": executable(tmp_path / "plain", mode=0o644),
             "a directory": str(tmp_path)}[kind]
    environ["CHROMIUM"] = wrong
    with pytest.raises(ValueError, match=f"^{re.escape(f'CHROMIUM={wrong}: ')}"):
        finder.find_chromium(environ)


def run_script(environ):
    return subprocess.run([sys.executable, str(SCRIPT)], env=environ,
                          capture_output=True, text=True)


def test_the_script_prints_the_path_or_how_to_get_one(machine, tmp_path):
    places, environ = machine
    found = run_script(environ)
    assert (found.returncode, found.stdout) == (0, places["CHROMIUM"] + "\n")
    nothing = {"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path / "empty")}
    missing = run_script(nothing)
    assert (missing.returncode, missing.stdout) == (1, finder.HOW_TO_GET_ONE + "\n")
    assert missing.stdout.count("\n") == 1 and "CHROMIUM=" in missing.stdout
    wrong = run_script({**nothing, "CHROMIUM": str(tmp_path / "nowhere")})
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.startswith(f"CHROMIUM={tmp_path / 'nowhere'}: ")
