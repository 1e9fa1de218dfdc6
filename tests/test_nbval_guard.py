"""A drifted output must fail CI: nbval, run strictly as `make test` runs it,
rejects a notebook whose stored tensor differs from what the code prints by one digit."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

CHAPTER = Path(__file__).resolve().parent.parent / "chapters" / "02_average_pooling.ipynb"
SOURCE = "pool2d(X, (2, 2), 'avg')"
STORED = "tensor([[2., 3.],\n        [5., 6.]])"
DRIFTED = "tensor([[2., 3.],\n        [5., 7.]])"


def run_nbval(notebook):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--nbval", "--nbval-current-env", str(notebook)],
        cwd=notebook.parent, capture_output=True, text=True, timeout=600,
    )


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
