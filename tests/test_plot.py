"""poolkit.lab.plot: the geometry of the pooling pictures, checked on the figure's own artists."""

import io
import math
import subprocess
import sys

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.colors import to_hex
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

from poolkit.lab import pool2d
from poolkit.lab.plot import (CELL_COLOUR, PADDING_COLOUR, WINDOW_COLOURS, default_title, draw_pooling,
                          pooling_layout)

X3 = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
X4 = torch.arange(16, dtype=torch.float32).reshape(4, 4)


def artists(fig):
    """{gid: artist} for every artist of the figure that has a gid."""
    found = fig.findobj(lambda a: a.get_gid() is not None)
    return {a.get_gid(): a for a in found}


def coloured_cells(fig, channel=0, prefix="in"):
    """{(row, column): colour} of the cells filled with a window colour."""
    cells = {}
    for gid, a in artists(fig).items():
        parts = gid.split("/")
        if parts[0] == prefix and int(parts[1]) == channel and to_hex(a.get_facecolor()) in WINDOW_COLOURS:
            cells[int(parts[2]), int(parts[3])] = to_hex(a.get_facecolor())
    return cells


def test_import_poolkit_does_not_import_matplotlib():
    code = "import sys, poolkit, poolkit.lab; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_layout_of_the_first_chapter_example():
    layout = pooling_layout(X3, 2, stride=1)
    assert layout.windows == {(0, 0): (0, 0), (0, 1): (0, 1), (1, 0): (1, 0), (1, 1): (1, 1)}
    assert layout.cells(0, 0) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert torch.equal(layout.output[0], pool2d(X3, (2, 2)))
    assert not layout.padding_mask.any()


@pytest.mark.parametrize("mode, fill", [("max", -math.inf), ("avg", 0.0)])
def test_layout_with_padding_one_and_stride_two(mode, fill):
    layout = pooling_layout(X4, 3, stride=2, padding=1, mode=mode)
    assert layout.values.shape == (1, 6, 6)
    assert layout.padding_mask.sum().item() == 36 - 16
    assert (layout.values[layout.padding_mask] == fill).all()
    assert torch.equal(layout.values[0, 1:5, 1:5], X4)
    assert layout.windows == {(0, 0): (0, 0), (0, 1): (0, 2), (1, 0): (2, 0), (1, 1): (2, 2)}
    if mode == "max":
        assert layout.output[0].tolist() == [[5.0, 7.0], [13.0, 15.0]]


@pytest.mark.parametrize("padding, out_shape, window_rows", [
    ((0, 1), (2, 2), [0, 2]),
    ((1, 1), (3, 2), [0, 2, 4]),
])
def test_layout_of_the_two_2x3_examples(padding, out_shape, window_rows):
    layout = pooling_layout(X4, (2, 3), stride=(2, 3), padding=padding)
    assert tuple(layout.output.shape[1:]) == out_shape
    assert sorted({top for top, _ in layout.windows.values()}) == window_rows
    assert sorted({left for _, left in layout.windows.values()}) == [0, 3]
    expected = nn.MaxPool2d((2, 3), stride=(2, 3), padding=padding)(X4[None, None])[0]
    assert torch.equal(layout.output, expected)


@st.composite
def pooling_case(draw):
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 7)), draw(st.integers(1, 7))
    k = (draw(st.integers(1, h)), draw(st.integers(1, w)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    values = draw(st.lists(st.integers(-50, 50), min_size=c * h * w, max_size=c * h * w))
    return torch.tensor(values, dtype=torch.float32).reshape(c, h, w), k, s, p


@given(pooling_case(), st.sampled_from(["max", "avg"]))
def test_every_window_reduces_to_its_output_cell(case, mode):
    X, k, s, p = case
    layout = pooling_layout(X, k, stride=s, padding=p, mode=mode)
    assert set(layout.windows) == {(i, j) for i in range(layout.output.shape[1])
                                   for j in range(layout.output.shape[2])}
    for (i, j) in layout.windows:
        rows, cols = zip(*layout.cells(i, j))
        block = layout.values[:, list(rows), list(cols)]
        reduced = block.amax(dim=1) if mode == "max" else block.mean(dim=1)
        torch.testing.assert_close(reduced, layout.output[:, i, j])


def test_figure_highlights_exactly_the_window_and_its_output_cell():
    fig = draw_pooling(X3, 2, stride=1)
    assert coloured_cells(fig) == {cell: WINDOW_COLOURS[0] for cell in [(0, 0), (0, 1), (1, 0), (1, 1)]}
    assert coloured_cells(fig, prefix="out") == {(0, 0): WINDOW_COLOURS[0]}
    outline = artists(fig)["window/0/0/0"]
    assert (outline.get_xy(), outline.get_width(), outline.get_height()) == ((0, 0), 2, 2)
    assert not [g for g in artists(fig) if g.startswith("stride/")]      # one window: no stride arrow


def test_figure_marks_the_winner_in_bold_and_prints_the_output():
    a = artists(draw_pooling(X3, 2, stride=1))
    bold = [g for g, t in a.items() if g.startswith("in-text/") and t.get_fontweight() == "bold"]
    assert bold == ["in-text/0/1/1"]                                     # the 4
    assert [[a[f"out-text/0/{i}/{j}"].get_text() for j in range(2)] for i in range(2)] == [["4", "5"], ["7", "8"]]
    avg = artists(draw_pooling(X3, 2, stride=1, mode="avg"))
    assert not [g for g, t in avg.items() if g.startswith("in-text/") and t.get_fontweight() == "bold"]
    assert avg["out-text/0/0/0"].get_text() == "2"


@pytest.mark.parametrize("mode, label", [("max", "\u2212\u221e"), ("avg", "0")])
def test_padded_cells_are_grey_hatched_and_show_what_pooling_sees(mode, label):
    fig = draw_pooling(X4, 3, stride=2, padding=1, mode=mode, windows=[(1, 1)])
    a = artists(fig)
    border = [(r, q) for r in range(6) for q in range(6) if r in (0, 5) or q in (0, 5)]
    for r, q in border:
        assert a[f"in-text/0/{r}/{q}"].get_text() == label
        assert a[f"in/0/{r}/{q}"].get_hatch() == "//"
    window = {(r, q) for r in range(2, 5) for q in range(2, 5)}
    for r, q in border:
        expected = WINDOW_COLOURS[0] if (r, q) in window else PADDING_COLOUR
        assert to_hex(a[f"in/0/{r}/{q}"].get_facecolor()) == expected
    assert to_hex(a["in/0/1/1"].get_facecolor()) == CELL_COLOUR


def test_neighbouring_windows_show_the_stride():
    fig = draw_pooling(X4, 3, stride=2, padding=1, windows=[(0, 0), (0, 1), (1, 0)])
    a = artists(fig)
    cells = coloured_cells(fig)
    assert cells[0, 0] == WINDOW_COLOURS[0] and cells[0, 3] == WINDOW_COLOURS[1]
    assert cells[2, 2] == WINDOW_COLOURS[0]                              # shared: the first window's colour
    assert cells[4, 0] == WINDOW_COLOURS[2]
    assert set(cells) == {(r, q) for r in range(3) for q in range(5)} | {(r, q) for r in range(2, 5) for q in range(3)}
    assert isinstance(a["stride/0/w/0/0"], FancyArrowPatch) and isinstance(a["stride/0/h/0/0"], FancyArrowPatch)
    assert a["stride-text/0/w/0/0"].get_text() == "stride 2"
    (x1, _), (x2, _) = a["stride/0/w/0/0"]._posA_posB
    assert x2 - x1 == 2                                                  # the window moved by the stride


def test_two_channels_are_drawn_and_pooled_independently():
    X = torch.stack([X4, X4 + 1])
    fig = draw_pooling(X, 3, stride=2, padding=1)
    assert len(fig.axes) == 2
    a = artists(fig)
    for c, offset in ((0, 0), (1, 1)):
        assert [a[f"out-text/{c}/{i}/{j}"].get_text() for i in range(2) for j in range(2)] == \
            [str(v + offset) for v in (5, 7, 13, 15)]
        assert coloured_cells(fig, channel=c) == {(r, q): WINDOW_COLOURS[0] for r in range(3) for q in range(3)}
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["channel 0", "channel 1"]


def test_every_channel_is_drawn_at_the_same_scale_with_its_stride_arrows():
    fig = draw_pooling(torch.stack([X4, X4 + 1, X4 + 2]), 3, stride=2, padding=1, windows=[(0, 0), (0, 1), (1, 0)])
    assert len({(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes}) == 1
    assert len({tuple(ax.get_position().size.round(6)) for ax in fig.axes}) == 1
    a = artists(fig)
    for c in range(3):
        assert {f"stride/{c}/w/0/0", f"stride/{c}/h/0/0"} <= set(a)
        assert a[f"window/{c}/1/0"].get_xy() == (0, 2)


def test_titles_describe_window_padding_and_stride():
    assert default_title(pooling_layout(X3, 2, stride=1)) == "max pooling: window 2\u00d72, stride 1"
    layout = pooling_layout(X4, (2, 3), stride=(2, 3), padding=(0, 1), mode="avg")
    assert default_title(layout) == "average pooling: window 2\u00d73, padding (0, 1), stride (2, 3)"
    assert draw_pooling(X3, 2, title="mine")._suptitle.get_text() == "mine"


def png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_the_same_arguments_give_the_same_png():
    first = png(draw_pooling(X4, (2, 3), stride=(2, 3), padding=(1, 1), windows="all"))
    second = png(draw_pooling(X4, (2, 3), stride=(2, 3), padding=(1, 1), windows="all"))
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and first == second
    assert png(draw_pooling(X4, (2, 3), stride=(2, 3), padding=(0, 1), windows="all")) != first


@pytest.mark.parametrize("call, error, message", [
    (lambda: pooling_layout([[1.0]], 1), TypeError, r"X must be a torch\.Tensor, got list"),
    (lambda: pooling_layout(torch.zeros(1, 1, 3, 3), 2), ValueError, r"shape \(H, W\) or \(C, H, W\), got shape \(1, 1, 3, 3\)"),
    (lambda: pooling_layout(torch.zeros(3, 3, dtype=torch.int64), 2), TypeError, r"X\.dtype=torch\.int64"),
    (lambda: pooling_layout(X3, 2, mode="min"), ValueError, r"mode=\'min\'"),
    (lambda: pooling_layout(X3, (2, 2, 2)), TypeError, r"kernel_size=\(2, 2, 2\)"),
    (lambda: pooling_layout(X3, 2, stride=0), ValueError, r"stride must be at least 1, got stride=0"),
    (lambda: pooling_layout(X3, 2, padding=-1), ValueError, r"padding must be at least 0, got padding=-1"),
    (lambda: pooling_layout(X3, 3, padding=2), ValueError, r"padding must be at most half of kernel_size"),
    (lambda: pooling_layout(X3, 4), ValueError, r"no window fits"),
    (lambda: pooling_layout(X3, 2).cells(2, 0), ValueError, r"window \(i, j\)=\(2, 0\) does not exist"),
    (lambda: draw_pooling(X3, 2, windows=[(5, 5)]), ValueError, r"\(5, 5\) does not exist"),
    (lambda: draw_pooling(X3, 2, windows=(0, 0)), TypeError, r"windows must be 'all' or a list of \(i, j\)"),
    (lambda: draw_pooling(X3, 1, stride=1, windows=[(0, 0)] * 7), ValueError, r"at most 6 windows, got 7"),
    (lambda: draw_pooling(X3, 2, cell_size=0), ValueError, r"cell_size=0"),
    (lambda: draw_pooling(X3, 2, cell_size=float("nan")), ValueError, r"cell_size must be finite, got cell_size=nan"),
    (lambda: draw_pooling(X3, 2, cell_size="1"), TypeError, r"cell_size must be a real number, got cell_size='1'"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("k", [1, 2, 5, 8, 13])
def test_draw_doubling_shows_each_width_as_two_halves(k):
    from poolkit.lab.plot import draw_doubling
    from poolkit.lab.running import doubling_widths
    found = artists(draw_doubling(k))
    widths = doubling_widths(k)
    for r, width in enumerate(widths):
        coloured = [q for q in range(k) if to_hex(found[f"slot/{r}/{q}"].get_facecolor()) != CELL_COLOUR]
        assert coloured == list(range(width))                       # the row's window, nothing else
        hatched = [q for q in range(k) if found[f"slot/{r}/{q}"].get_hatch()]
        before = widths[r - 1] if r else 0
        assert len(hatched) == max(2 * before - width, 0)           # overlap only when not doubling exactly
    assert found[f"label/{len(widths) - 1}"].get_text().startswith(f"width {k}")


def test_draw_doubling_rejects_a_bad_kernel():
    from poolkit.lab.plot import draw_doubling
    with pytest.raises(ValueError, match="kernel_size=0"):
        draw_doubling(0)
    with pytest.raises(TypeError, match=r"kernel_size must be an int, got kernel_size=\(3, 5\)"):
        draw_doubling((3, 5))
    with pytest.raises(TypeError, match=r"kernel_size must be an int, got kernel_size=True"):
        draw_doubling(True)
    with pytest.raises(ValueError, match=r"cell_size must be positive and finite, got cell_size=0"):
        draw_doubling(3, cell_size=0)


def test_the_receptive_field_picture_colours_what_the_gradient_reaches():
    from poolkit import receptive_field
    from poolkit.lab.plot import draw_receptive_field
    from poolkit.lab.receptive import gradient_support

    layers = [nn.Conv1d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(2, 2, 3, padding=1), nn.MaxPool1d(2)]
    for index in (0, 1, 3):
        found = artists(draw_receptive_field(layers, 16, index))
        rows = sorted({int(g.split("/")[1]) for g in found if g.startswith("unit/")})
        assert rows == [0, 1, 2, 3, 4]
        coloured = torch.tensor([to_hex(found[f"unit/0/{i}"].get_facecolor()) == WINDOW_COLOURS[0]
                                 for i in range(16)])
        assert torch.equal(coloured, gradient_support(nn.Sequential(*layers), (16,), (index,)))
        assert [f"unit/4/{i}" in found for i in range(5)] == [True] * 4 + [False]
        (first, last), = receptive_field(layers).bounds(index)
        assert sorted(int(g.split("/")[1]) for g in found if g.startswith("pad/")) == \
            [i for i in range(first, last + 1) if not 0 <= i < 16]
        bar = found["field"]
        assert bar.get_x() == pytest.approx(first + 0.1) and bar.get_width() == pytest.approx(last - first + 0.8)
    with pytest.raises(ValueError, match="index"):
        draw_receptive_field(layers, 16, 4)
