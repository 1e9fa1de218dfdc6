"""Pictures of 2-D pooling: the input grid with its padding, the windows, the stride, the output.

Needs matplotlib (``pip install "poolkit[plot]"``); ``import poolkit`` does not
import this module. The figures are built on :class:`matplotlib.figure.Figure`
directly, never through pyplot, so drawing one changes no global state, and
the same arguments always give the same picture.

Two layers:

* :func:`pooling_layout` computes everything a picture shows, as plain data:
  the padded input, which cells are padding, where each window sits, and the
  output PyTorch computes. It does not need matplotlib.
* :func:`draw_doubling` draws how a wide window is built from narrower ones,
  the fast path of :mod:`poolkit._separable`.
* :func:`draw_pooling` draws a layout. Every cell, window outline and stride
  arrow carries a ``gid`` (see :func:`draw_pooling`), so tests can check the
  geometry of the picture itself.
"""

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .._arguments import check_int, check_real, int_pair
from .._doubling import doubling_widths
from .._shapes import output_size

MODES = ("max", "avg")
# One colour per highlighted window, in order; cells of no window stay white.
WINDOW_COLOURS = ("#f4a261", "#2a9d8f", "#e9c46a", "#8ab17d", "#e76f51", "#9c89b8")
CELL_COLOUR = "#ffffff"
PADDING_COLOUR = "#d9d9d9"
EDGE_COLOUR = "#555555"


@dataclass(frozen=True)
class PoolingLayout:
    """What a picture of pooling one ``(C, H, W)`` input shows.

    Coordinates are ``(row, column)`` in the *padded* input, whose cell
    ``(r, c)`` is input element ``(r - p_h, c - p_w)``.

    Attributes:
        values: ``(C, H + 2 p_h, W + 2 p_w)`` tensor, the padded input; padded
            cells hold what pooling sees there: ``-inf`` for max pooling, ``0``
            for average pooling (PyTorch's ``count_include_pad=True``).
        padding_mask: bool tensor of the same shape, ``True`` on padded cells.
        output: ``(C, H_out, W_out)`` tensor, the result of PyTorch's pooling.
        windows: ``{(i, j): (top, left)}`` for every output position, the
            window's top-left cell.
        kernel_size, stride, padding: ``(h, w)`` pairs.
        mode: ``'max'`` or ``'avg'``.
    """

    values: torch.Tensor
    padding_mask: torch.Tensor
    output: torch.Tensor
    windows: dict
    kernel_size: tuple
    stride: tuple
    padding: tuple
    mode: str

    def cells(self, i, j):
        """The padded-input cells ``(row, column)`` of the window of output ``(i, j)``."""
        if (i, j) not in self.windows:
            raise ValueError(
                f"window (i, j)={(i, j)!r} does not exist: the output is "
                f"{tuple(self.output.shape[1:])}, so 0 <= i < {self.output.shape[1]} "
                f"and 0 <= j < {self.output.shape[2]}"
            )
        top, left = self.windows[i, j]
        k_h, k_w = self.kernel_size
        return [(top + a, left + b) for a in range(k_h) for b in range(k_w)]


def pooling_layout(X, kernel_size, stride=None, padding=0, mode="max"):
    """Lay out the 2-D pooling of ``X`` as ``nn.MaxPool2d`` or ``nn.AvgPool2d`` computes it.

    Args:
        X: a floating tensor of shape ``(H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding: ints or ``(h, w)`` pairs, as in
            ``nn.MaxPool2d``; ``stride=None`` means ``kernel_size``.
        mode: ``'max'`` or ``'avg'``.

    Returns:
        :class:`PoolingLayout`.

    Raises:
        TypeError, ValueError: naming the argument and its value, for anything
            PyTorch would reject and for inputs that are not 2-D or 3-D.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    if X.dim() not in (2, 3):
        raise ValueError(f"X must have shape (H, W) or (C, H, W), got shape {tuple(X.shape)}")
    if not X.dtype.is_floating_point:
        raise TypeError(f"X must have a floating dtype, got X.dtype={X.dtype}")
    if mode not in MODES:
        raise ValueError(f"mode must be 'max' or 'avg', got mode={mode!r}")
    k = int_pair("kernel_size", kernel_size, 1)
    s = k if stride is None else int_pair("stride", stride, 1)
    p = int_pair("padding", padding, 0)
    planes = X if X.dim() == 3 else X[None]
    shape = tuple(
        output_size(n, k_, s_, p_) for n, k_, s_, p_ in zip(planes.shape[1:], k, s, p)
    )                                              # raises ValueError naming the argument
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    output = pool(planes.detach()[None], k, stride=s, padding=p)[0]
    assert tuple(output.shape[1:]) == shape
    fill = -math.inf if mode == "max" else 0.0
    values = F.pad(planes.detach(), (p[1], p[1], p[0], p[0]), value=fill)
    mask = torch.ones(values.shape, dtype=torch.bool)
    mask[:, p[0]: p[0] + planes.shape[1], p[1]: p[1] + planes.shape[2]] = False
    windows = {(i, j): (i * s[0], j * s[1]) for i in range(shape[0]) for j in range(shape[1])}
    return PoolingLayout(values, mask, output, windows, k, s, p, mode)


def _label(value):
    if value == -math.inf:
        return "\u2212\u221e"                     # −∞
    if float(value).is_integer():
        return f"{value:.0f}".replace("-", "\u2212")
    return f"{value:.2f}".rstrip("0").replace("-", "\u2212")


def _size(pair):
    return f"{pair[0]}\u00d7{pair[1]}"


def default_title(layout):
    """``'max pooling: window 3×3, padding 1, stride 2'``, from the layout."""
    name = "max pooling" if layout.mode == "max" else "average pooling"
    parts = [f"window {_size(layout.kernel_size)}"]
    if any(layout.padding):
        parts.append(f"padding {layout.padding[0] if len(set(layout.padding)) == 1 else layout.padding}")
    parts.append(f"stride {layout.stride[0] if len(set(layout.stride)) == 1 else layout.stride}")
    return f"{name}: " + ", ".join(parts)


def _windows_argument(windows, layout):
    if windows == "all":
        return list(layout.windows)
    if not isinstance(windows, (tuple, list)) or not all(
            isinstance(w, (tuple, list)) and len(w) == 2 for w in windows):
        raise TypeError(f"windows must be 'all' or a list of (i, j) output positions, got windows={windows!r}")
    if len(windows) > len(WINDOW_COLOURS):
        raise ValueError(f"windows can highlight at most {len(WINDOW_COLOURS)} windows, got {len(windows)}")
    for w in windows:
        layout.cells(*w)                               # raises ValueError for a window that does not exist
    return [tuple(w) for w in windows]


def draw_pooling(X, kernel_size, stride=None, padding=0, mode="max", windows=((0, 0),),
                 title=None, cell_size=0.5):
    """Draw the pooling of ``X``: for each channel, the padded input and the output.

    The windows of the output positions in ``windows`` are outlined on the
    input, each in its own colour; their cells are filled with that colour (a
    cell in several windows takes the first one's), and so is the output cell
    each window produces. For max pooling, the element that wins a highlighted
    window is printed in bold. Padded cells are grey and show the value pooling
    sees there, ``−∞`` for max pooling and ``0`` for average pooling. When two
    highlighted windows are neighbours along a row (or a column), an arrow
    between their corners is labelled with the stride (for the first such pair
    along each axis).

    Args:
        X, kernel_size, stride, padding, mode: as in :func:`pooling_layout`.
        windows: output positions ``(i, j)`` whose windows to highlight (at
            most six), or ``'all'`` (too many colours for large outputs: cells
            repeat colours beyond six).
        title: the figure's title; ``None`` describes the window, padding and stride.
        cell_size: inches per cell.

    Returns:
        A :class:`matplotlib.figure.Figure` with one axes per channel. Its
        artists have these ``gid``\\ s (``c`` is the channel):

        * ``in/c/r/q``: the input cell at padded row ``r``, column ``q`` (a Rectangle);
        * ``out/c/i/j``: the output cell ``(i, j)``;
        * ``window/c/i/j``: the outline of the window of output ``(i, j)``;
        * ``stride/c/w/i/j`` and ``stride/c/h/i/j``: the stride arrow from the window of
          output ``(i, j)`` to the next highlighted one along a row (``w``) or a column (``h``).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, Rectangle

    layout = pooling_layout(X, kernel_size, stride, padding, mode)
    if not 0 < check_real("cell_size", cell_size, op="draw_pooling") <= 2:
        raise ValueError(f"cell_size must be a number of inches in (0, 2], got cell_size={cell_size!r}")
    highlighted = _windows_argument(windows, layout)
    colour_of_window = {w: WINDOW_COLOURS[n % len(WINDOW_COLOURS)] for n, w in enumerate(highlighted)}
    channels, rows, cols = layout.values.shape
    out_rows, out_cols = layout.output.shape[1:]
    gap = 2.2                                                  # cells between input and output
    width = cols + gap + out_cols
    pairs = set(highlighted)
    margin_top = 1.0 if any((i, j + 1) in pairs for i, j in highlighted) else 0.15     # room for stride arrows
    margin_left = 1.7 if any((i + 1, j) in pairs for i, j in highlighted) else 0.15
    span_x, span_y = margin_left + width + 0.15, margin_top + rows + 0.15
    title_h, channel_h = 0.45, (0.3 if channels > 1 else 0.0)  # inches
    panel_h = span_y * cell_size + channel_h
    fig_w, fig_h = span_x * cell_size, title_h + channels * panel_h
    fig = Figure(figsize=(fig_w, fig_h), dpi=100)
    fig.suptitle(default_title(layout) if title is None else title, fontsize=11, y=1 - 0.1 / fig_h, va="top")
    axes = []
    for c in range(channels):                                   # axes sized to their data: no margins
        bottom = fig_h - title_h - (c + 1) * panel_h
        axes.append(fig.add_axes((0, bottom / fig_h, 1, span_y * cell_size / fig_h)))

    first_window = {}                                          # cell -> first highlighted window holding it
    for w in highlighted:
        for cell in layout.cells(*w):
            first_window.setdefault(cell, w)

    for c, ax in enumerate(axes):
        ax.set_xlim(-margin_left, width + 0.15)
        ax.set_ylim(rows + 0.15, -margin_top)                         # row 0 at the top
        ax.set_aspect("equal")
        ax.axis("off")
        if channels > 1:
            ax.set_title(f"channel {c}", fontsize=10, loc="left")
        winners = set()
        if mode == "max":
            for w in highlighted:
                cells = layout.cells(*w)
                best = max(cells, key=lambda rc: layout.values[c, rc[0], rc[1]].item())
                winners.add(best)
        for r in range(rows):
            for q in range(cols):
                padded = bool(layout.padding_mask[c, r, q])
                colour = (colour_of_window[first_window[r, q]] if (r, q) in first_window
                          else PADDING_COLOUR if padded else CELL_COLOUR)
                ax.add_patch(Rectangle((q, r), 1, 1, facecolor=colour, edgecolor=EDGE_COLOUR,
                                       linewidth=0.8, hatch="//" if padded else None, gid=f"in/{c}/{r}/{q}"))
                ax.text(q + 0.5, r + 0.5, _label(layout.values[c, r, q].item()), ha="center", va="center",
                        fontsize=10, color="#444444" if padded else "black",
                        fontweight="bold" if (r, q) in winners else "normal", gid=f"in-text/{c}/{r}/{q}")
        for w in highlighted:
            top, left = layout.windows[w]
            ax.add_patch(Rectangle((left, top), layout.kernel_size[1], layout.kernel_size[0], fill=False,
                                   edgecolor=colour_of_window[w], linewidth=2.5, gid=f"window/{c}/{w[0]}/{w[1]}"))
        x0, y0 = cols + gap, (rows - out_rows) / 2
        for i in range(out_rows):
            for j in range(out_cols):
                colour = colour_of_window.get((i, j), CELL_COLOUR)
                ax.add_patch(Rectangle((x0 + j, y0 + i), 1, 1, facecolor=colour, edgecolor=EDGE_COLOUR,
                                       linewidth=0.8, gid=f"out/{c}/{i}/{j}"))
                ax.text(x0 + j + 0.5, y0 + i + 0.5, _label(layout.output[c, i, j].item()), ha="center",
                        va="center", fontsize=10, gid=f"out-text/{c}/{i}/{j}")
        ax.add_patch(FancyArrowPatch((cols + 0.3, rows / 2), (x0 - 0.3, rows / 2), arrowstyle="-|>",
                                     mutation_scale=12, color=EDGE_COLOUR, gid=f"arrow/{c}"))
        ax.text((cols + x0) / 2, rows / 2 - 0.35, mode, ha="center", va="bottom", fontsize=9)
        drawn = set()                                          # one stride arrow per axis
        for w in highlighted:
            for axis, step in (("w", (0, 1)), ("h", (1, 0))):
                nxt = (w[0] + step[0], w[1] + step[1])
                if nxt not in colour_of_window or axis in drawn:
                    continue
                drawn.add(axis)
                (t1, l1), (t2, l2) = layout.windows[w], layout.windows[nxt]
                if axis == "w":
                    start, end, at = (l1, -0.45), (l2, -0.45), ((l1 + l2) / 2, -0.6)
                else:
                    start, end, at = (-0.3, t1), (-0.3, t2), (-0.45, (t1 + t2) / 2)
                ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10,
                                             color=EDGE_COLOUR, gid=f"stride/{c}/{axis}/{w[0]}/{w[1]}"))
                s = layout.stride[1] if axis == "w" else layout.stride[0]
                ax.text(*at, f"stride {s}", fontsize=8, ha="center" if axis == "w" else "right",
                        va="bottom" if axis == "w" else "center", gid=f"stride-text/{c}/{axis}/{w[0]}/{w[1]}")
    return fig


def draw_doubling(kernel_size, cell_size=0.4):
    """Draw how doubling builds a window of ``kernel_size`` slots along one axis.

    Row ``r`` shows the window of width ``w_r`` starting at slot 0 as the union
    of two windows of the previous width ``w_{r-1}``: one at slot 0 (first
    colour) and one shifted by ``w_r - w_{r-1}`` (second colour). Slots in both
    are hatched; the last step overlaps whenever ``kernel_size`` is not a power
    of two, which is harmless for a maximum and would count slots twice in a sum.

    Returns:
        A :class:`matplotlib.figure.Figure`. Slot ``q`` of row ``r`` is the Rectangle
        with ``gid`` ``slot/r/q``; its label is the text ``label/r``.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    widths = doubling_widths(check_int("kernel_size", kernel_size, minimum=1, op="draw_doubling"))
    cell_size = check_real("cell_size", cell_size, op="draw_doubling", positive=True)
    rows, cols = len(widths), widths[-1]
    fig = Figure(figsize=(cell_size * (cols + 10), cell_size * (rows + 1)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-10, cols + 0.2)
    ax.set_ylim(rows + 0.2, -0.8)
    ax.set_axis_off()
    for r, width in enumerate(widths):
        before = widths[r - 1] if r else 0
        shift = width - before
        for q in range(cols):
            first, second = r and q < before, r and shift <= q < width
            colour = WINDOW_COLOURS[0] if first else WINDOW_COLOURS[1] if second else CELL_COLOUR
            if r == 0 and q == 0:
                colour = WINDOW_COLOURS[0]
            ax.add_patch(Rectangle((q, r), 1, 0.8, facecolor=colour, edgecolor=EDGE_COLOUR,
                                   hatch="///" if first and second else None, gid=f"slot/{r}/{q}"))
        text = f"width {width}" if r == 0 else f"width {width}: {before} from slot 0 and {before} from slot {shift}"
        ax.text(-0.3, r + 0.4, text, ha="right", va="center", fontsize=9, gid=f"label/{r}")
    ax.text(cols / 2, -0.4, "slots of one window", ha="center", va="center", fontsize=9)
    return fig


def draw_receptive_field(layers, length, index, cell_size=0.32):
    """Draw the receptive field of one output element of a 1-D stack of layers.

    One row per sliding-window layer, the input at the bottom: every element of
    a row is a square, and the elements that output element ``index`` of the
    top row depends on are coloured, measured with gradients
    (:func:`poolkit.lab.receptive.gradient_support` of the layers above each
    row). Below the input, a bar spans the interval that
    :func:`poolkit.receptive_field` gives, padding included (grey squares).

    Args:
        layers: 1-D convolution, pooling and pointwise modules, in order.
        length: length of the input.
        index: the output element of the last layer.

    Returns:
        A :class:`matplotlib.figure.Figure`. Element ``i`` of row ``r`` (row 0 the
        input) is the Rectangle with ``gid`` ``unit/r/i``, coloured when the output
        element depends on it; padding positions of the input are ``pad/i``, and
        the bar is ``field``.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from torch import nn

    from .._receptive import _geometry, receptive_field
    from .receptive import gradient_support

    length = check_int("length", length, minimum=1, op="draw_receptive_field")
    index = check_int("index", index, minimum=0, op="draw_receptive_field")
    cell_size = check_real("cell_size", cell_size, op="draw_receptive_field", positive=True)
    layers = list(layers)
    field = receptive_field(layers, dims=1)
    # The rows: the input, then the output of every layer with a window.
    cuts = [i + 1 for i, layer in enumerate(layers) if _geometry(f"layers[{i}]", layer) is not None]
    sizes = [length]
    convs = [m for m in layers if isinstance(m, nn.modules.conv._ConvNd)]
    channels = convs[0].in_channels if convs else 1
    with torch.no_grad():
        for cut in cuts:
            sizes.append(nn.Sequential(*layers[:cut])(torch.zeros(1, channels, length)).shape[-1])
    if not index < sizes[-1]:
        raise ValueError(f"draw_receptive_field: index must be below the last layer's length {sizes[-1]}, "
                         f"got index={index}")
    (first, last), = field.bounds(index)
    ends = [receptive_field(layers[:cut], dims=1).bounds(0)[0][0] for cut in cuts]
    ends += [receptive_field(layers[:cut], dims=1).bounds(n - 1)[0][1] for cut, n in zip(cuts, sizes[1:])]
    left, right = min([first, 0] + ends), max([last, length - 1] + ends)
    fig = Figure(figsize=(cell_size * (right - left + 12), cell_size * (2 * len(sizes) + 1.5)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(left - 9, right + 1.5)
    ax.set_ylim(-1.6, 2 * len(sizes))
    ax.set_axis_off()
    names = ["input"] + [type(layers[cut - 1]).__name__ for cut in cuts]
    for r, n in enumerate(sizes):
        if r + 1 < len(sizes):
            above = nn.Sequential(*layers[cuts[r - 1] if r else 0:])
            depends = gradient_support(above, (n,), (index,), in_channels=_channels(layers, cuts, r))
        else:
            depends = torch.arange(n) == index
        # Element i of a row sits at the centre of its own receptive field in the input.
        own = receptive_field(layers[:cuts[r - 1]] if r else [], dims=1)
        spacing = own.jump[0]
        for i in range(n):
            centre = own.start[0] + i * spacing + (own.size[0] - 1) / 2
            ax.add_patch(Rectangle((centre + 0.5 - 0.4 * spacing, 2 * r), 0.8 * spacing, 0.9,
                                   facecolor=WINDOW_COLOURS[0] if depends[i] else CELL_COLOUR,
                                   edgecolor=EDGE_COLOUR, gid=f"unit/{r}/{i}"))
        ax.text(left - 0.6, 2 * r + 0.45, f"{names[r]}: {n} elements", ha="right", va="center", fontsize=9)
    for i in range(first, last + 1):
        if not 0 <= i < length:
            ax.add_patch(Rectangle((i + 0.1, 0), 0.8, 0.9, facecolor=PADDING_COLOUR, edgecolor=EDGE_COLOUR,
                                   gid=f"pad/{i}"))
    ax.add_patch(Rectangle((first + 0.1, -0.7), last - first + 0.8, 0.35, facecolor=WINDOW_COLOURS[1],
                           edgecolor="none", gid="field"))
    ax.text(left - 0.6, -0.52, f"formula: {first} .. {last}", ha="right", va="center", fontsize=9)
    return fig


def _channels(layers, cuts, r):
    """Channels entering the layers above row ``r`` (those of the last convolution below, else 1)."""
    from torch import nn

    below = layers[:cuts[r - 1]] if r else []
    convs = [m for m in below if isinstance(m, nn.modules.conv._ConvNd)]
    if convs:
        return convs[-1].out_channels
    convs = [m for m in layers if isinstance(m, nn.modules.conv._ConvNd)]
    return convs[0].in_channels if convs else 1
