"""The book's from-scratch pool2d and poolkit.nn reproduce the seed notes the book grew from.

The notes are text exports of notebooks, kept in ``shared/seeds/*.txt`` beside
the checkout (the folder ``shared`` next to the repository's root). Each holds
code cells and what they printed. These tests read them and check that

* every ``def pool2d`` in them is the program of :func:`poolkit.lab.pool2d`
  (the same syntax tree; the book's copy adds only a docstring and an argument
  check), and character for character the one of at least one note;
* running every code cell of every note, with ``poolkit.lab.pool2d`` in place
  of the note's own ``pool2d`` and ``poolkit.nn`` in place of ``torch.nn``,
  prints exactly the tensors the note shows.
"""

import ast
import contextlib
import inspect
import io
import re
import types
from pathlib import Path

import pytest
import torch

import poolkit.nn
from poolkit.lab import pool2d

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="module")
def notes():
    """``{file name: [(code, printed output), ...]}`` for every note, failing when there are none."""
    files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not files:
        pytest.fail(f"no seed notes: expected *.txt files in {SEEDS} (the folder shared/seeds beside the "
                    f"checkout); these tests check poolkit against them and cannot run without them")
    parsed = {f.name: cells(f.read_text(encoding="utf-8")) for f in files}
    for name, found in parsed.items():
        assert found, f"{name}: no code cell found (neither 'In [n]:' cells nor ```python blocks)"
    return parsed


def cells(text):
    """The code cells of a note and the text printed below each one.

    Two export formats occur: notebook text, where a cell starts with a line
    ``In [n]:`` and runs to the next cell or heading, and its output starts
    with the first paragraph that starts with ``tensor(`` (the notes print
    nothing but tensors); and Markdown, where the code is a ```python block
    and its output the indented lines that follow it.
    """
    if "```python" in text:
        found = []
        for match in re.finditer(r"^```python\n(.*?)^```\n", text, flags=re.M | re.S):
            output = []
            for line in text[match.end():].splitlines():
                if line.strip() and not line.startswith("    "):
                    break
                output.append(line[4:])
            found.append((match.group(1), "\n".join(output)))
        return found
    found = []
    for block in re.split(r"^In \[\d+\]:\n", text, flags=re.M)[1:]:
        block = re.split(r"^#", block, maxsplit=1, flags=re.M)[0]       # up to the note's next heading
        output = re.search(r"^tensor\(", block, flags=re.M)
        split = output.start() if output else len(block)
        found.append((block[:split].strip() + "\n", block[split:]))
    return found


def without_docstring_and_check(source):
    """``pool2d``'s source without the two statements the book added in front of the note's code."""
    tree = ast.parse(source)
    body = tree.body[0].body
    assert isinstance(body[0].value, ast.Constant)                      # the docstring
    assert ast.unparse(body[1]) == "check_pool2d_args(X, pool_size, mode)"
    lines = source.splitlines(keepends=True)
    first, last = body[0].lineno - 1, body[1].end_lineno              # 0-based, end exclusive
    return "".join(lines[:first] + lines[last:])


def definitions(code):
    """The source text of every ``def pool2d`` in a cell."""
    return [ast.get_source_segment(code, node) + "\n" for node in ast.parse(code).body
            if isinstance(node, ast.FunctionDef) and node.name == "pool2d"]


def test_every_pool2d_of_the_notes_is_poolkits_program(notes):
    ours = without_docstring_and_check(inspect.getsource(pool2d))
    theirs = {name: [d for code, _ in found for d in definitions(code)] for name, found in notes.items()}
    assert any(theirs.values()), "no note defines pool2d"
    for name, sources in theirs.items():
        for source in sources:
            assert ast.dump(ast.parse(source)) == ast.dump(ast.parse(ours)), f"{name} defines another pool2d"
    assert ours in [s for sources in theirs.values() for s in sources], \
        "poolkit's pool2d is no longer, character for character, the pool2d of any note"


def lines(text):
    """The non-blank lines, without trailing spaces: how a printed tensor compares."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def run(code, namespace):
    """Run a cell as Jupyter does, and return what it prints and displays: its stdout, then the
    ``repr`` of its last statement if that is an expression that is not ``None``."""
    tree = ast.parse(code)
    tree.body = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))
                 and not (isinstance(node, ast.FunctionDef) and node.name == "pool2d")]   # poolkit's instead
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tree, "<note>", "exec"), namespace)
        value = eval(compile(ast.Expression(last.value), "<note>", "eval"), namespace) if last else None
    return printed.getvalue() + ("" if value is None else repr(value) + "\n")


def test_poolkit_prints_every_tensor_the_notes_print(notes):
    for name, found in notes.items():
        namespace = {"torch": torch, "nn": poolkit.nn, "pool2d": pool2d,
                     "d2l": types.SimpleNamespace(reshape=torch.reshape)}
        compared = 0
        for number, (code, expected) in enumerate(found):
            printed = run(code, namespace)
            assert lines(printed) == lines(expected), f"{name}, cell {number}:\n{code}"
            compared += printed.count("tensor(")
        assert compared >= 5, f"{name}: only {compared} printed tensors compared"


def test_the_notes_cells_call_poolkit():
    """The namespace really routes the notes' calls to poolkit: the teaching pool2d and poolkit.nn."""
    namespace = {"torch": torch, "nn": poolkit.nn, "pool2d": pool2d}
    run("pool2d(torch.zeros(2, 2), (1, 1))\nm = nn.MaxPool2d(2)", namespace)
    assert isinstance(namespace["m"], poolkit.nn.MaxPool2d) and namespace["pool2d"] is pool2d
    with pytest.raises(TypeError, match="pool2d: X must have a floating dtype"):   # poolkit's check ran
        run("pool2d(torch.zeros(2, 2, dtype=torch.int64), (1, 1))", namespace)


def test_the_notes_use_the_two_chinese_names_chapter_1_gives_them():
    """Chapter 1 says the first note calls pooling 池化 and the second 汇聚 (d2l's second edition's word)."""
    first, second = (p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))[:2])
    assert "池化" in first and "汇聚" not in first
    assert "汇聚" in second and "池化" not in second
