"""Numbers in the prose come from the cells.

A number that a cell measures or computes and that a chapter's text quotes
must be glued in (myst-nb's ``glue``, then ``{glue:text}`name``` in the
markdown), so that strict nbval checks it like any other output. This test
reads every markdown cell of every chapter and fails on a quoted measurement
that is typed by hand: a number followed by ``%``, a unit of time or memory,
or ``×``/``x``, and any decimal number in a sentence.

Not measurements, and so not flagged:

* numbers inside math (``$...$``, ``$$...$$``), inline code and code blocks,
  glue roles, cross-references and link targets;
* citations: section and figure numbers of books (``section 7.5``, ``§6.5``,
  ``Figure 9.9``), arXiv
  identifiers, editions and versions (``PyTorch 2.14``);
* the few phrases of :data:`ALLOWED`, each with its reason.
"""

import json
import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parent.parent / "chapters").glob("*.ipynb"))

# Text that is not prose: math, code, glue and reference roles, link targets.
NOT_PROSE = re.compile(
    r"\$\$.*?\$\$"                                  # display math
    r"|\$[^$\n]+\$"                                 # inline math
    r"|```.*?```|~~~.*?~~~"                         # code blocks and directives' bodies of code
    r"|\{[\w:-]+\}`[^`]*`"                          # roles: {glue:text}`name`, {ref}`...`, {cite}`...`
    r"|`[^`\n]*`"                                   # inline code
    r"|\]\([^)]*\)",                                # link targets
    re.S,
)
# A citation or a version, not a result: "section 7.5", "sections 8.1 and 8.2",
# "§6.5", "arXiv:1412.6071", "2nd ed.", "PyTorch 2.14", "Python 3.11".
CITATION = re.compile(
    r"(?:\bsections?|§|\bchapters?|\bfigures?|arXiv:|\bPyTorch|\bPython|\bversion)[\s(]*(?:[\d.]+,?\s+(?:and\s+)?)*$",
    re.I)
NUMBER = r"\d[\d,]*(?:\.\d+)?"
MEASUREMENT = re.compile(
    rf"(?<![\w.]){NUMBER}\s?(?:%|ms\b|µs\b|s\b|ns\b|[KMG]i?B\b|×|x\b)"   # 25%, 3 ms, 1.5 GB, 2.6×, 2x
    rf"|(?<![\w.]){NUMBER}\s(?:seconds?|milliseconds?|times)\b"            # 12 seconds, 4 times
    r"|(?<![\w.§:])\d+\.\d+(?!\w|\.\d)"                               # any decimal in a sentence
)

# Phrases that may keep a typed number, each for a stated reason. Keep this short.
ALLOWED = {
    # (chapter file, phrase as it stands in the prose): why it is not a measurement
}


def unglued_numbers(markdown):
    """The hand-typed measurements of one markdown cell, with some context."""
    prose = NOT_PROSE.sub(" ", markdown)
    found = []
    for match in MEASUREMENT.finditer(prose):
        before = prose[max(0, match.start() - 24): match.start()]
        if CITATION.search(before):
            continue
        found.append(prose[max(0, match.start() - 40): match.end() + 10].replace("\n", " "))
    return found


def test_the_scanner_flags_measurements_and_spares_math_code_glue_and_citations():
    flagged = unglued_numbers(
        "It keeps 25% of them, in 3.2 ms, 2.6× faster and 2x smaller, with 0.25 left; "
        "it took 12 seconds, and fell from 1 to 0.25."
    )
    assert len(flagged) == 7, flagged
    spared = unglued_numbers(
        "In $0.25 \\times 4$ and $$x = 1.5$$, `torch.full((1,), 2.5)`, {glue:text}`speedup` ×, "
        "d2l section 7.5 and sections 8.1 and 8.2, §6.5, Figure 9.9, arXiv:1412.6071, PyTorch 2.14, "
        "[a link](https://example.org/1.5) and\n```python\nx = 0.5\n```"
    )
    assert spared == [], spared


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_numbers_in_the_prose_are_glued(chapter):
    cells = json.loads(chapter.read_text())["cells"]
    problems = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        for context in unglued_numbers(source):
            if not any(name == chapter.name and phrase in source for name, phrase in ALLOWED):
                problems.append(f"cell {index}: ...{context}...")
    assert not problems, (
        f"{chapter.name}: numbers typed into the prose; glue them from the cell that computes "
        "them (myst_nb.glue, then {glue:text}`name`), or, if one is not a measurement, add it to "
        "ALLOWED with the reason:\n" + "\n".join(problems)
    )


def _glued_by(chapter):
    """The glue names that the stored outputs of a chapter's code cells hold."""
    glued = set()
    for cell in json.loads(chapter.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for output in cell.get("outputs", []):
            key = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if key:
                glued.add(key)
    return glued


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_glued_name_is_glued_by_a_cell_of_the_chapter(chapter):
    """A glue role names a value of its own chapter, or, as ``other.ipynb::name``, of another one."""
    cells = json.loads(chapter.read_text())["cells"]
    used = {name for cell in cells if cell["cell_type"] == "markdown"
            for name in re.findall(r"\{glue(?::\w+)?\}`([^`<]+?)(?::[^`:]*)?`", "".join(cell["source"]))}
    missing = []
    for name in sorted(used):
        other, _, key = name.rpartition("::")
        source = chapter.parent / other if other else chapter
        if not source.exists() or key not in _glued_by(source):
            missing.append(name)
    assert not missing, f"{chapter.name}: glue names used in the text but glued by no stored output: {missing}"
