"""The configurations the pooling explorer is checked on (``_ext/pool_explorer/cases.py``).

The browser test (``browser_tests/test_explorer.py``) drives the widget through
them; here, without a browser, they must be many, deterministic, cover every
rule the widget shows, and carry the answers of poolkit and PyTorch.
"""

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

EXT = Path(__file__).resolve().parent.parent / "_ext"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cases = _load("pool_explorer_cases", EXT / "pool_explorer" / "cases.py")


@pytest.fixture(scope="module")
def fixture():
    return cases.fixture()


def _axis(n, k, s, p, d, ceil):
    """(windows kept, whether ceil mode dropped one), by PyTorch's formula."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    dropped = ceil and (out - 1) * s >= n + p
    return out - dropped, dropped


def test_the_configurations_are_many_distinct_and_the_same_every_time():
    first = cases.configurations()
    assert len(first) >= 300
    assert len({repr(c) for c in first}) == len(first)
    assert first == cases.configurations()
    assert cases.configurations(seed=cases.SEED + 1) != first
    for c in first:
        assert all(1 <= v <= 12 for v in c["input"])
        assert c["op"] in ("max", "avg") and (c["op"] == "max") == (c["count_include_pad"] is None)
        assert c["op"] == "max" or c["dilation"] == [1, 1]


def test_every_rule_of_the_widget_is_covered(fixture):
    all_cases = fixture["cases"]
    valid = [c for c in all_cases if "shape" in c["expected"]]
    refused = [c for c in all_cases if "refused" in c["expected"]]
    assert fixture["valid"] == len(valid) >= 200 and fixture["refused"] == len(refused) >= 60

    def count(pred, among=valid):
        return sum(1 for c in among if pred(c))

    stride = lambda c: c["stride"] or c["kernel"]
    assert count(lambda c: c["op"] == "max") >= 80 and count(lambda c: c["op"] == "avg") >= 80
    assert count(lambda c: c["ceil_mode"]) >= 80 and count(lambda c: not c["ceil_mode"]) >= 80
    assert count(lambda c: c["stride"] is None) >= 30
    assert count(lambda c: c["input"][0] != c["input"][1]) >= 100
    assert count(lambda c: c["kernel"][0] != c["kernel"][1]) >= 100
    assert count(lambda c: stride(c)[0] != stride(c)[1]) >= 50
    assert count(lambda c: max(c["padding"]) > 0) >= 80
    assert count(lambda c: max(c["dilation"]) > 1) >= 40
    for flag in (True, False):
        assert count(lambda c: c["count_include_pad"] is flag and max(c["padding"]) > 0) >= 20
        assert count(lambda c: c["count_include_pad"] is flag and c["ceil_mode"]) >= 20
    # A last window that ceil mode drops, and windows of padding alone.
    dropped = lambda c: any(_axis(*a, c["ceil_mode"])[1] for a in zip(
        c["input"], c["kernel"], stride(c), c["padding"], c["dilation"]))
    assert count(dropped) >= 20
    assert count(lambda c: any(v == "-inf" for row in c["expected"]["values"] for v in row)) >= 3
    kinds = {k: count(lambda c: c["expected"]["refused"] == k, refused) for k in cases.KINDS}
    assert kinds["padding"] >= 20 and kinds["output_size"] >= 20 and kinds["stride"] >= 5, kinds
    messages = " ".join(c["expected"]["torch"] for c in refused)
    for words in ("pad should be at most half of effective kernel size",
                  "pad should be smaller than or equal to half of kernel size",
                  "Output size is too small", "stride should not be zero"):
        assert words in messages


def test_shapes_follow_the_formula_and_values_are_torchs(fixture):
    with cases.one_thread():
        _compare_with_torch(fixture["cases"])


def _compare_with_torch(all_cases):
    for c in all_cases:
        expected = c["expected"]
        if "refused" in expected:
            continue
        stride = c["stride"] or c["kernel"]
        shape = [_axis(*a, c["ceil_mode"])[0] for a in zip(c["input"], c["kernel"], stride, c["padding"], c["dilation"])]
        assert expected["shape"] == shape, c
        x = cases.input_tensor(*c["input"])
        theirs = cases._call(F, c, x)[0, 0]
        ours = torch.tensor([[-math.inf if v == "-inf" else v for v in row] for row in expected["values"]],
                            dtype=torch.float64)
        if c["op"] == "max":
            assert torch.equal(ours, theirs), c
        else:
            assert ours.shape == theirs.shape and (ours - theirs).abs().max().item() <= 1e-12, c


def test_the_input_values_are_small_integers_of_the_stated_formula():
    assert cases.input_value(0, 0) == -4 and cases.input_value(1, 2) == -1
    x = cases.input_tensor(3, 5)
    assert x.shape == (1, 1, 3, 5) and x.dtype == torch.float64
    assert x[0, 0, 2, 4].item() == (7 * 2 + 3 * 4) % 10 - 4
    assert {cases.input_value(i, j) for i in range(12) for j in range(12)} == set(range(-4, 6))


def test_torch_runs_on_its_own_threads_again_afterwards():
    threads = torch.get_num_threads()
    with cases.one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == threads


def test_an_unknown_refusal_is_an_error():
    with pytest.raises(ValueError, match="unexpected refusal"):
        cases._kind("something else went wrong")


def test_what_chapter_4_says_of_its_explorer_holds():
    """Chapter 4's starting configuration (5 x 5, kernel 2, stride 2, padding 1, ceil
    mode) and the prose beside it: floor mode gives the same 3 x 3 output; with
    average pooling, count_include_pad changes only the top row and the left column;
    a 1 x 1 input with kernel 2, padding 1 and dilation 2 has a window of padding alone."""
    import nbformat

    import poolkit.functional as P

    nb = nbformat.read(EXT.parent / "chapters" / "04_shapes_and_edge_cases.ipynb", as_version=4)
    (cell,) = [c.source for c in nb.cells if c.cell_type == "markdown" and "{pool-explorer}" in c.source]
    options = dict(line[1:].split(":", 1) for line in cell.split("```{pool-explorer}")[1].splitlines()
                   if line.startswith(":"))
    assert {k: v.strip() for k, v in options.items()} == {
        "op": "max", "input": "5 5", "kernel": "2", "stride": "2", "padding": "1", "ceil-mode": ""}
    assert "floor mode gives the same" in cell and "only those of the top row and the left" in cell

    x = cases.input_tensor(5, 5)
    ceil = P.max_pool2d(x, 2, 2, 1, ceil_mode=True)
    floor = P.max_pool2d(x, 2, 2, 1, ceil_mode=False)
    assert ceil.shape[-2:] == floor.shape[-2:] == (3, 3)
    assert _axis(5, 2, 2, 1, 1, True) == (3, True)                   # ceil mode drops a window
    changed = P.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=True) != \
        P.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False)
    border = torch.zeros(3, 3, dtype=torch.bool)
    border[0, :] = border[:, 0] = True
    assert torch.equal(changed[0, 0], border)

    alone = P.max_pool2d(cases.input_tensor(1, 1), 2, padding=1, dilation=2)   # stride = kernel
    assert alone.shape[-2:] == (1, 1) and alone.item() == -math.inf   # its one window reads only padding
