"""A drifted output must fail CI: nbval, run with the flags of the Makefile's
``nbval`` recipe, rejects a notebook whose stored tensor differs from what the
code prints by one digit.

The flags are read from the Makefile, not copied, so that a lax ``make nbval``
(``--nbval-lax``, or no ``--nbval`` at all) fails this test.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "02_average_pooling.ipynb"
SOURCE = "pool2d(X, (2, 2), 'avg')"
STORED = "tensor([[2., 3.],\n        [5., 6.]])"
DRIFTED = "tensor([[2., 3.],\n        [5., 7.]])"
# The guard runs on a two-cell notebook that prints chapter 2's tensor, not on the
# chapter itself (which make nbval runs anyway): the flags are what is tested.
SMALL_SOURCE = "X = torch.arange(9.0).reshape(3, 3)\ntorch.nn.functional.avg_pool2d(X[None], 2, 1)[0]"


def nbval_commands(text=None, tmp_dir=None):
    """The pytest commands that ``make nbval`` runs, as make itself expands them
    (``make -n``), each split into words; of a Makefile with ``text`` if given."""
    makefile = ROOT / "Makefile"
    if text is not None:
        makefile = Path(tmp_dir) / "Makefile"
        makefile.write_text(text)
    listing = subprocess.run(
        ["make", "-n", "-s", "--no-print-directory", "-C", str(ROOT), "-f", str(makefile),
         "-o", ".venv/.installed", "nbval"],
        capture_output=True, text=True, check=True).stdout
    commands = [shlex.split(line) for line in listing.splitlines() if "-m pytest" in line]
    assert commands, f"make nbval runs no pytest:\n{listing}"
    return commands


def flags(command):
    return command[command.index("pytest") + 1:]


def strict(command):
    return "--nbval" in flags(command) and "--nbval-lax" not in flags(command)


def command_for(*notebooks):
    """The first command of ``make nbval``, environment included, with ``notebooks`` in
    place of the notebooks it names; other paths of the repository become absolute,
    since nbval runs in the notebook's folder."""
    command = nbval_commands()[0]
    environment = {}
    if command[0] == "env":
        command = command[1:]
        while "=" in command[0]:
            name, value = command.pop(0).split("=", 1)
            environment[name] = value
    arguments, named = [], False
    for word in flags(command):
        path = ROOT / word
        if word.endswith(".ipynb") or (path.is_dir() and any(path.glob("*.ipynb"))):
            if not named:
                arguments.extend(str(notebook) for notebook in notebooks)
                named = True
        elif not word.startswith("-") and path.exists():
            arguments.append(str(path))
        else:
            arguments.append(word)
    assert named, "the nbval recipe names no notebook"
    return [sys.executable, "-m", "pytest", *arguments], environment


def run_nbval(*notebooks):
    command, environment = command_for(*notebooks)
    return subprocess.run(command, cwd=notebooks[0].parent.parent, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **environment})


def test_every_command_of_make_nbval_is_strict():
    commands = nbval_commands()
    assert all(strict(command) for command in commands), commands
    named = [word for command in commands for word in flags(command) if word.endswith(".ipynb")]
    assert sorted(named) == sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").glob("*.ipynb"))


def test_a_lax_or_missing_nbval_in_the_makefile_would_be_caught(tmp_path):
    text = (ROOT / "Makefile").read_text()
    assert "--nbval " in text
    for lax in ("--nbval-lax ", "--nbval --nbval-lax ", ""):
        commands = nbval_commands(text.replace("--nbval ", lax, 1), tmp_path)
        assert not all(strict(command) for command in commands), lax
    moved = re.sub(r"^JOBS\s*\??=.*$", "JOBS ?= 3", text, count=1, flags=re.M)
    first = flags(nbval_commands(moved, tmp_path)[0])
    assert first[first.index("-n") + 1] == "3"


def small_notebook():
    """Chapter 2's averaged tensor, stored as the chapter stores it, in a notebook of two cells."""
    chapter = nbformat.read(CHAPTER, as_version=4)
    [stored] = [c for c in chapter.cells if c.cell_type == "code" and c.source == SOURCE]
    [out] = stored.outputs
    assert out.data["text/plain"] == STORED
    nb = nbformat.v4.new_notebook(metadata=chapter.metadata)
    nb.cells = [nbformat.v4.new_code_cell("import torch", execution_count=1),
                nbformat.v4.new_code_cell(SMALL_SOURCE, execution_count=2, outputs=[
                    nbformat.v4.new_output("execute_result", {"text/plain": STORED}, execution_count=2)])]
    return nb


def test_nbval_passes_the_stored_notebook_and_fails_one_changed_digit(tmp_path):
    """One run of the recipe's command over two copies of the notebook: the intact
    copy passes, and the copy with one digit changed fails, on that digit."""
    nb = small_notebook()
    intact = tmp_path / "intact" / CHAPTER.name
    intact.parent.mkdir()
    nbformat.write(nb, intact)
    nb.cells[1].outputs[0].data["text/plain"] = DRIFTED
    drifted = tmp_path / "drifted" / CHAPTER.name
    drifted.parent.mkdir()
    nbformat.write(nb, drifted)
    result = run_nbval(intact, drifted)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed, 3 passed" in result.stdout, result.stdout[-3000:]
    assert re.search(r"FAILED drifted/\S+::Cell 1", result.stdout), result.stdout[-3000:]
    assert "[5., 7.]" in result.stdout and "[5., 6.]" in result.stdout
