"""The stored notebooks: executed cleanly, listed in the table of contents, and
reproducing every code cell and printed tensor of the book's two source notes."""

from pathlib import Path

import re
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))


def load(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def output_text(cell):
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def test_the_table_of_contents_lists_every_chapter_in_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    *parts, reference = toc["parts"]
    assert all(part["numbered"] is True for part in parts)
    files = [ch["file"] for part in parts for ch in part["chapters"]]
    assert files == [f"chapters/{nb.stem}" for nb in NOTEBOOKS]
    assert len(files) >= 9
    assert [ch["file"] for ch in reference["chapters"]] == ["glossary"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_was_run_top_to_bottom_cleanly(path):
    nb = load(path)
    cells = code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), \
        "re-run the notebook top to bottom in a fresh kernel (make execute)"
    for cell in cells:
        check_nbval_markers(cell.source)
        for out in cell.outputs:
            assert out.output_type != "error", cell.source
            assert out.get("name") != "stderr", f"stderr stored for: {cell.source}"
            assert "image/svg+xml" not in out.get("data", {}), "SVG output: use PNG"
    assert nb.metadata.kernelspec.name == "python3"


IGNORE = "# NBVAL_IGNORE_OUTPUT\n# Not compared: timings"


def check_nbval_markers(source):
    """Only timing cells may opt out of nbval's comparison, and they must say so and
    check nothing: every equality check stays in a compared cell."""
    if "NBVAL_" not in source:
        return
    assert source.startswith(IGNORE), f"only timings may skip nbval, with the reason first:\n{source}"
    assert source.count("NBVAL_") == 1, source
    reason = source.splitlines()[1]
    assert "interleaved(" in source or "timings above" in reason, \
        f"an ignored cell must time something, or show timings made above:\n{source}"
    for check in ("assert", "equal", "allclose", "same_bits", "=="):
        assert check not in source, f"an ignored cell must not check results ({check!r}):\n{source}"


@pytest.mark.parametrize("source, allowed", [
    (IGNORE + " and machine to machine.\nt = interleaved({})", True),
    ("# NBVAL_IGNORE_OUTPUT\nt = interleaved({})", False),                          # no reason
    ("# NBVAL_SKIP\nprint(1)", False),
    (IGNORE + ".\nt = interleaved({})\nprint(torch.equal(a, b))", False),           # hides a check
    (IGNORE + ".\nprint(1)", False),                                                # times nothing
    (IGNORE + " (ratios of the timings above) differ.\nprint(t)", True),
])
def test_only_timing_cells_may_skip_nbval(source, allowed):
    if allowed:
        check_nbval_markers(source)
    else:
        with pytest.raises(AssertionError):
            check_nbval_markers(source)


def test_the_speed_chapter_compares_everything_but_its_timings():
    nb = load(ROOT / "chapters" / "10_speed.ipynb")
    cells = code_cells(nb)
    ignored = [c for c in cells if "NBVAL_" in c.source]
    assert 0 < len(ignored) <= 7 and len(cells) - len(ignored) >= 15      # 7: the training-path timings


# (chapter, code cell exactly as in a source note, printed tensors it must show)
SEED_CELLS = [
    ("01_max_pooling",
     "from d2l import torch as d2l\nimport torch\nfrom torch import nn", []),
    ("01_max_pooling",
     "X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])\nprint(X)\npool2d(X, (2, 2))",
     ["tensor([[0., 1., 2.],\n        [3., 4., 5.],\n        [6., 7., 8.]])",
      "tensor([[4., 5.],\n        [7., 8.]])"]),
    ("02_average_pooling", "pool2d(X, (2, 2), 'avg')",
     ["tensor([[2., 3.],\n        [5., 6.]])"]),
    ("02_average_pooling",
     "X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])\n"
     "print(pool2d(X, (2, 2)))\nprint(pool2d(X,(2,2),'avg'))",
     ["tensor([[4., 5.],\n        [7., 8.]])\ntensor([[2., 3.],\n        [5., 6.]])"]),
    ("03_padding_and_stride",
     "X = d2l.reshape(torch.arange(16, dtype=torch.float32), (1, 1, 4, 4))\nX",
     ["tensor([[[[ 0.,  1.,  2.,  3.],\n          [ 4.,  5.,  6.,  7.],\n"
      "          [ 8.,  9., 10., 11.],\n          [12., 13., 14., 15.]]]])"]),
    ("03_padding_and_stride",
     "#4维输入张量\nX = torch.arange(16, dtype=torch.float32).reshape((1,1,4,4))\nprint(X)",
     ["tensor([[[[ 0.,  1.,  2.,  3.],\n          [ 4.,  5.,  6.,  7.],\n"
      "          [ 8.,  9., 10., 11.],\n          [12., 13., 14., 15.]]]])"]),
    ("03_padding_and_stride", "pool2d = nn.MaxPool2d(3)\npool2d(X)", ["tensor([[[[10.]]]])"]),
    ("03_padding_and_stride", "pool2d = nn.MaxPool2d(3)\nprint(pool2d(X))", ["tensor([[[[10.]]]])"]),
    ("03_padding_and_stride", "pool2d = nn.MaxPool2d(3, padding=1, stride=2)\npool2d(X)",
     ["tensor([[[[ 5.,  7.],\n          [13., 15.]]]])"]),
    ("03_padding_and_stride",
     "pool2d = nn.MaxPool2d(3,padding=1, stride=2)\nprint(pool2d(X))\n\n"
     "pool2d = nn.MaxPool2d((2,3), stride=(2,3), padding=(0,1))\nprint(pool2d(X))",
     ["tensor([[[[ 5.,  7.],\n          [13., 15.]]]])\ntensor([[[[ 5.,  7.],\n          [13., 15.]]]])"]),
    ("03_padding_and_stride",
     "pool2d = nn.MaxPool2d((2, 3), padding=(1, 1), stride=(2, 3))\npool2d(X)",
     ["tensor([[[[ 1.,  3.],\n          [ 9., 11.],\n          [13., 15.]]]])"]),
    ("05_multiple_channels", "X = torch.cat((X, X + 1), 1)\nX",
     ["tensor([[[[ 0.,  1.,  2.,  3.],\n          [ 4.,  5.,  6.,  7.],\n"
      "          [ 8.,  9., 10., 11.],\n          [12., 13., 14., 15.]],\n\n"
      "         [[ 1.,  2.,  3.,  4.],\n          [ 5.,  6.,  7.,  8.],\n"
      "          [ 9., 10., 11., 12.],\n          [13., 14., 15., 16.]]]])"]),
    ("05_multiple_channels", "pool2d = nn.MaxPool2d(3, padding=1, stride=2)\npool2d(X)",
     ["tensor([[[[ 5.,  7.],\n          [13., 15.]],\n\n         [[ 6.,  8.],\n          [14., 16.]]]])"]),
    ("05_multiple_channels",
     "# 构建一个2通道的输入\nX = torch.cat((X,X+1),1) #在channel维度上连接，相当于增加一个通道\nprint(X)\n"
     "pool2d = nn.MaxPool2d(3, padding=1, stride=2)\nprint(pool2d(X)) #输出通道依然是2",
     ["tensor([[[[ 0.,  1.,  2.,  3.],\n          [ 4.,  5.,  6.,  7.],\n"
      "          [ 8.,  9., 10., 11.],\n          [12., 13., 14., 15.]],\n\n"
      "         [[ 1.,  2.,  3.,  4.],\n          [ 5.,  6.,  7.,  8.],\n"
      "          [ 9., 10., 11., 12.],\n          [13., 14., 15., 16.]]]])\n"
      "tensor([[[[ 5.,  7.],\n          [13., 15.]],\n\n         [[ 6.,  8.],\n          [14., 16.]]]])"]),
]


@pytest.mark.parametrize("chapter, source, tensors", SEED_CELLS,
                         ids=[f"{ch}:{i}" for i, (ch, _, _) in enumerate(SEED_CELLS)])
def test_source_note_cell_is_reproduced_with_its_output(chapter, source, tensors):
    cells = [c for c in code_cells(load(ROOT / "chapters" / f"{chapter}.ipynb"))
             if c.source.strip() == source]
    assert cells, f"no cell of {chapter} is exactly:\n{source}"
    for tensor in tensors:
        assert any(tensor in output_text(c) for c in cells), f"{chapter} does not print:\n{tensor}"


def exercise_blocks(nb):
    """[(label, [cells of its solution])] in order, from the sphinx-exercise directives."""
    blocks, current = [], None
    for cell in nb.cells:
        text = cell.source if cell.cell_type == "markdown" else ""
        for line in text.splitlines():
            if line.startswith("```{exercise}"):
                blocks.append([None, []])
            elif line.startswith("```{solution-start}"):
                blocks[-1][0] = line.split()[1]
                current = blocks[-1][1]
        if current is not None and cell.cell_type == "code":
            current.append(cell)
        if "```{solution-end}" in text:
            current = None
    return blocks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_ends_with_exercises_whose_solutions_run(path):
    nb = load(path)
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert headings[-1] == "## Exercises"
    blocks = exercise_blocks(nb)
    assert len(blocks) >= 3
    for label, cells in blocks:
        assert label is not None, "an exercise has no solution"
        assert cells, f"the solution of {label} has no code"
        assert any(out.output_type in ("stream", "execute_result") for c in cells for out in c.outputs), \
            f"the solution of {label} prints nothing for nbval to check"


# The figures the chapters must draw with poolkit.lab.plot, as the calls that draw them.
FIGURES = [
    ("01_max_pooling", "draw_pooling(X, (2, 2), stride=1)"),
    ("02_average_pooling", "draw_pooling(X, (2, 2), stride=1, mode='avg')"),
    ("03_padding_and_stride", "draw_pooling(X[0], 3, stride=2, padding=1"),
    ("03_padding_and_stride", "draw_pooling(X[0], (2, 3), stride=(2, 3), padding=(0, 1)"),
    ("03_padding_and_stride", "draw_pooling(X[0], (2, 3), stride=(2, 3), padding=(1, 1)"),
    ("05_multiple_channels", "draw_pooling(X[0], 3, stride=2, padding=1"),
]


@pytest.mark.parametrize("chapter, call", FIGURES, ids=[f"{ch}:{i}" for i, (ch, _) in enumerate(FIGURES)])
def test_figure_is_drawn_by_the_notebook_as_png(chapter, call):
    cells = [c for c in code_cells(load(ROOT / "chapters" / f"{chapter}.ipynb")) if call in c.source]
    assert len(cells) == 1, f"{chapter} has no single cell drawing {call}"
    [out] = [o for o in cells[0].outputs if o.output_type == "execute_result"]
    assert out.data["image/png"] and out.data["text/plain"].startswith("<Figure size")
    if chapter == "05_multiple_channels":
        assert "with 2 Axes" in out.data["text/plain"]                   # one per channel


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_titles_are_plain_text(path):
    # sphinx-exercise cannot build a solution's title from an exercise title with
    # markup in it, and then reports an undefined label in another chapter.
    for cell in load(path).cells:
        for line in cell.source.splitlines() if cell.cell_type == "markdown" else []:
            if line.startswith("```{exercise}"):
                title = line[len("```{exercise}"):]
                assert not any(mark in title for mark in "`*$"), line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_glued_numbers_are_plain_python_numbers(path):
    """myst-nb formats a glued number with a format spec only if its stored text is a
    plain literal: a NumPy scalar is stored as ``np.float64(...)``, which the strict
    build rejects (glue ``float(x)`` instead)."""
    bad = []
    for cell in code_cells(load(path)):
        for output in cell.get("outputs", []):
            for key, text in output.get("data", {}).items():
                if key.startswith("application/papermill.record/") and re.match(r"np\.|numpy\.|tensor\(", str(text)):
                    bad.append((output.get("metadata", {}).get("scrapbook", {}).get("name"), text))
    assert bad == [], bad
