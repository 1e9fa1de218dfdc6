"""A drifted output must fail CI: nbval, run with the flags of the Makefile's
``nbval`` recipe, rejects a notebook whose stored tensor differs from what the
code prints by one digit.

The flags are read from the Makefile, not copied, so that a lax ``make nbval``
(``--nbval-lax``, or no ``--nbval`` at all) fails this test.
"""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "02_average_pooling.ipynb"
SOURCE = "pool2d(X, (2, 2), 'avg')"
STORED = "tensor([[2., 3.],\n        [5., 6.]])"
DRIFTED = "tensor([[2., 3.],\n        [5., 7.]])"


def makefile_variables(text):
    """``NAME = value``, ``NAME := value`` and ``NAME ?= value`` assignments of a Makefile."""
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=(.*)$", text, flags=re.M)}


def expand(text, variables):
    """Replace ``$(NAME)`` by its value, repeatedly; anything else Make would compute is an error."""
    for _ in range(20):
        expanded = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: variables[m.group(1)], text)
        if expanded == text:
            break
        text = expanded
    assert "$" not in text, f"cannot expand {text!r} without running make"
    return text


def nbval_recipe(text=None):
    """The pytest arguments of the Makefile's ``nbval`` recipe (of ``text``, by default the
    repository's Makefile), as a list, variables expanded."""
    text = (ROOT / "Makefile").read_text() if text is None else text
    match = re.search(r"^nbval:.*\n((?:\t.*\n)+)", text, flags=re.M)
    assert match, "the Makefile has no nbval rule"
    [command] = [line for line in match.group(1).splitlines() if "-m pytest" in line]
    words = shlex.split(command.replace("$(BIN)/python", "python"))
    start = words.index("pytest") + 1
    return [expand(word, makefile_variables(text)) for word in words[start:]]


def command_for(notebook):
    """The recipe's pytest command with ``notebook`` in place of the notebook folder; other
    paths of the repository become absolute, since nbval runs in the notebook's folder."""
    arguments = []
    for word in nbval_recipe():
        path = ROOT / word
        if path.is_dir() and any(path.glob("*.ipynb")):
            arguments.append(str(notebook))
        elif not word.startswith("-") and path.exists():
            arguments.append(str(path))
        else:
            arguments.append(word)
    assert str(notebook) in arguments, "the nbval recipe names no folder of notebooks"
    return [sys.executable, "-m", "pytest", *arguments]


def run_nbval(notebook):
    return subprocess.run(command_for(notebook), cwd=notebook.parent, capture_output=True, text=True, timeout=600)


def strict(flags):
    return "--nbval" in flags and "--nbval-lax" not in flags


def test_the_nbval_recipe_is_strict():
    flags = nbval_recipe()
    assert "--nbval" in flags
    assert "--nbval-lax" not in flags
    assert strict(flags)


def test_a_lax_or_missing_nbval_in_the_makefile_would_be_caught():
    text = (ROOT / "Makefile").read_text()
    assert "--nbval " in text
    for lax in ("--nbval-lax ", "--nbval --nbval-lax ", ""):
        flags = nbval_recipe(text.replace("--nbval ", lax, 1))
        assert not strict(flags), lax
    if "$(JOBS)" in text:                                            # variables are expanded from the Makefile
        moved = re.sub(r"^JOBS\s*\??=.*$", "JOBS ?= 3", text, count=1, flags=re.M)
        flags = nbval_recipe(moved)
        assert flags[flags.index("-n") + 1] == "3"


def test_nbval_passes_the_stored_notebook_and_fails_one_changed_digit(tmp_path):
    intact = tmp_path / "intact" / CHAPTER.name
    intact.parent.mkdir()
    shutil.copy(CHAPTER, intact)
    result = run_nbval(intact)
    assert result.returncode == 0, result.stdout[-3000:]

    nb = nbformat.read(CHAPTER, as_version=4)
    [cell] = [c for c in nb.cells if c.cell_type == "code" and c.source == SOURCE]
    [out] = cell.outputs
    assert out.data["text/plain"] == STORED
    out.data["text/plain"] = DRIFTED
    drifted = tmp_path / "drifted" / CHAPTER.name
    drifted.parent.mkdir()
    nbformat.write(nb, drifted)
    result = run_nbval(drifted)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed" in result.stdout
    assert "[5., 7.]" in result.stdout and "[5., 6.]" in result.stdout
