r"""Invariance and equivariance of a whole network, layer by layer, and the
class activation maps that a global average pool makes possible.

* :func:`layer_outputs` runs an ``nn.Sequential`` and keeps every layer's output;
* :func:`total_strides` gives, for each of those outputs, how many input
  pixels one of its pixels stands for (``None`` once the map is pooled away);
* :func:`relative_change` and :func:`shift_errors` measure how far a layer is
  from invariance, :math:`f(Tx) = f(x)`, and from equivariance,
  :math:`f(Tx) = T' f(x)`, where :math:`T'` is the input's shift divided by the
  layer's total stride
  (:func:`nearest_shift_error` tries the nearest whole shifts when the
  stride does not divide the shift);
* :func:`localisation_rate` counts how often a map's peak falls in a box;
* :func:`class_activation_map` and :func:`map_peaks` compute a class
  activation map (Zhou et al., CVPR 2016) and where it peaks, in input pixels;
* :func:`rotated_copies` and :func:`channel_max` build filters in groups of
  quarter turns and take the maximum over each group of channels (maxout-style
  cross-channel pooling); :class:`ChannelMax` and :class:`ChannelMean` are
  the max and its linear counterpart as modules.
"""

import torch
from torch import nn

from .._arguments import check_int
from .consistency import move_images


def _check_tensor(name, x, op):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{op}: {name} must be a torch.Tensor, got {type(x).__name__}")


def _check_images(name, x, op, dims=4):
    _check_tensor(name, x, op)
    if x.dim() != dims:
        raise ValueError(f"{op}: {name} must be a {dims}-D tensor, got {name} of shape {tuple(x.shape)}")


def layer_outputs(model, x):
    r"""The output of every layer of ``model`` on ``x``, in order.

    Args:
        model: a ``torch.nn.Sequential``.
        x: its input.

    Returns:
        A list of ``(name, output)`` pairs, one per layer, named
        ``"<index> <class name>"``; the last output is ``model(x)``.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"layer_outputs: model must be a torch.nn.Sequential, got {type(model).__name__}")
    outputs = []
    for index, layer in enumerate(model):
        x = layer(x)
        outputs.append((f"{index} {type(layer).__name__}", x))
    return outputs


def total_strides(model, x):
    r"""How many input pixels one pixel of each layer's output stands for.

    Found from the shapes: the input's height divided by the output's
    height, which must divide it exactly (the layers must not crop). An output
    with no spatial axes (after a global pool and a flatten) or with a
    single pixel left from a larger input gets ``None``: it has no position
    left to move.

    Args:
        model: a ``torch.nn.Sequential`` of layers that keep or divide the size.
        x: an ``(N, C, H, W)`` input for it, with ``H == W``.

    Returns:
        A list of ints or ``None``, one per layer.
    """
    _check_images("x", x, "total_strides")
    with torch.no_grad():
        return _strides(layer_outputs(model, x), x)


def _strides(outputs, x):
    size = x.shape[-1]
    if x.shape[-2] != size:
        raise ValueError(f"total_strides: x must be square, got x of shape {tuple(x.shape)}")
    strides = []
    for name, out in outputs:
        if out.dim() < 4 or (out.shape[-1] == 1 < size):
            strides.append(None)
            continue
        if size % out.shape[-1] or out.shape[-2] != out.shape[-1]:
            raise ValueError(f"total_strides: layer {name} maps a {size}-pixel input to {tuple(out.shape[-2:])}, "
                             f"which does not divide it")
        strides.append(size // out.shape[-1])
    return strides


def relative_change(a, b):
    r"""``||b - a|| / ||a||`` over the whole tensors (Frobenius norms), in float64.

    Raises:
        TypeError: ``a`` or ``b`` is not a tensor.
        ValueError: the shapes differ, or ``a`` is all zeros.
    """
    _check_tensor("a", a, "relative_change")
    _check_tensor("b", b, "relative_change")
    if a.shape != b.shape:
        raise ValueError(f"relative_change: a and b must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    norm = a.double().norm()
    if norm == 0:
        raise ValueError("relative_change: a must not be all zeros")
    return ((b.double() - a.double()).norm() / norm).item()


def shift_errors(model, x, shift, check=True):
    r"""Invariance and equivariance errors of every layer of ``model`` for one shift.

    The input moves by ``shift`` pixels down and ``shift`` pixels right (zero
    fill, :func:`poolkit.lab.consistency.move_images`). For each layer output
    :math:`f`, the invariance error is :math:`\lVert f(Tx) - f(x) \rVert /
    \lVert f(x) \rVert` (:func:`relative_change`), and the equivariance error
    is :math:`\lVert f(Tx) - T'f(x) \rVert / \lVert f(x) \rVert` with
    :math:`T'` the shift by ``shift / stride`` pixels, where ``stride`` is the
    layer's total stride (:func:`total_strides`). It is ``None`` when the
    stride does not divide the shift: a pool of stride 1 whose window is
    larger than its padding allows shrinks the map, so its total stride is
    not a whole number (a 2 x 2 pool with stride 1 maps 32 pixels to 31) and
    :func:`total_strides` refuses it. An output with no position left (a
    global pool) has no shift :math:`T'` to match: its equivariance error is
    ``None``.

    Because :math:`T'` fills with zeros, a map whose content :math:`T'` pushes
    off its border would still get an equivariance error of zero. So, with
    ``check``, every input and every map whose error is defined must keep
    its norm under the shift, :math:`\lVert T'f(x) \rVert = \lVert f(x)
    \rVert` (to a relative ``1e-9``); otherwise a ``ValueError`` says which.

    Args:
        model: a ``torch.nn.Sequential``.
        x: ``(N, C, H, W)`` square inputs whose content stays on every map when moved.
        shift: a non-negative int.
        check: whether to raise when content falls off a map (default ``True``).

    Returns:
        A list of ``(name, stride, equivariance error, invariance error)``.
    """
    shift = check_int("shift", shift, minimum=0, op="shift_errors")
    _check_images("x", x, "shift_errors")
    if x.shape[-2] != x.shape[-1]:
        raise ValueError(f"shift_errors: x must be square, got x of shape {tuple(x.shape)}")
    if not isinstance(check, bool):
        raise TypeError(f"shift_errors: check must be a bool, got {check!r}")
    if check:
        _check_kept("the input x", x, move_images(x, shift=(shift, shift)), shift)
    with torch.no_grad():
        before = layer_outputs(model, x)
        strides = _strides(before, x)
        after = layer_outputs(model, move_images(x, shift=(shift, shift)))
    rows = []
    for (name, f), (_, g), stride in zip(before, after, strides):
        invariance = relative_change(f, g)
        if stride is None or shift % stride:
            equivariance = None
        else:
            moved = move_images(f, shift=(shift // stride,) * 2)
            if check:
                _check_kept(f"the output of layer {name}", f, moved, shift)
            equivariance = ((g.double() - moved.double()).norm() / f.double().norm()).item()
        rows.append((name, stride, equivariance, invariance))
    return rows


def _check_kept(what, f, moved, shift):
    before, after = f.double().norm().item(), moved.double().norm().item()
    if abs(after - before) > 1e-9 * before:
        raise ValueError(f"shift_errors: a shift by shift={shift} pushes content of {what} off its border "
                         f"(norm {before:.6g} becomes {after:.6g}); use a larger canvas, or check=False")


def nearest_shift_error(f, g, shift, stride):
    r"""How close ``g`` comes to a whole-pixel shift of ``f``, when ``stride`` does not divide ``shift``.

    The smallest :func:`relative_change` between ``g`` and ``f`` moved by
    ``t`` pixels down and right, over the two whole numbers ``t`` nearest to
    ``shift / stride`` (rounded down and up).

    Args:
        f, g: ``(N, C, H, W)`` maps of the input and of the moved input.
        shift: the input's shift, a non-negative int.
        stride: the maps' total stride, a positive int.

    Returns:
        ``(error, t)``: the smallest error and the shift that gives it.
    """
    shift = check_int("shift", shift, minimum=0, op="nearest_shift_error")
    stride = check_int("stride", stride, minimum=1, op="nearest_shift_error")
    _check_images("f", f, "nearest_shift_error")
    _check_images("g", g, "nearest_shift_error")
    if g.shape != f.shape:
        raise ValueError(f"nearest_shift_error: g must have the shape of f, {tuple(f.shape)}, got {tuple(g.shape)}")
    candidates = sorted({shift // stride, -(-shift // stride)})
    return min((relative_change(move_images(f, shift=(t, t)), g), t) for t in candidates)


def class_activation_map(features, weight):
    r"""Class activation maps: :math:`M_c(i, j) = \sum_k w_{ck} f_k(i, j)`.

    For a network that ends with a global average pool of ``features`` and a
    linear layer of weight ``weight`` and bias ``b``, the average of
    :math:`M_c` over the positions is the logit of class :math:`c` minus
    :math:`b_c` (Zhou, Khosla, Lapedriza, Oliva and Torralba, CVPR 2016).

    Args:
        features: ``(N, K, H, W)``, the last convolutional maps.
        weight: ``(C, K)``, the linear layer's weight.

    Returns:
        ``(N, C, H, W)``.
    """
    _check_images("features", features, "class_activation_map")
    _check_tensor("weight", weight, "class_activation_map")
    if weight.dim() != 2 or weight.shape[1] != features.shape[1]:
        raise ValueError(f"class_activation_map: weight must be (classes, {features.shape[1]}), "
                         f"got weight of shape {tuple(weight.shape)}")
    if not features.is_floating_point() or weight.dtype != features.dtype:
        raise TypeError(f"class_activation_map: features and weight must share one floating dtype, "
                        f"got {features.dtype} and {weight.dtype}")
    return torch.einsum("ck,nkhw->nchw", weight, features)


def map_peaks(maps, stride):
    r"""Where each map is largest, as (row, column) in input pixels.

    A map pixel ``(i, j)`` of a layer of total stride ``stride`` covers input
    pixels ``stride * i`` to ``stride * i + stride - 1``; its centre is
    ``stride * i + (stride - 1) / 2``. Ties go to the first in row-major order.

    Args:
        maps: ``(N, H, W)`` tensor.
        stride: positive int.

    Returns:
        ``(N, 2)`` float64 tensor of centres.
    """
    _check_images("maps", maps, "map_peaks", dims=3)
    stride = check_int("stride", stride, minimum=1, op="map_peaks")
    width = maps.shape[-1]
    flat = maps.flatten(1).argmax(1)
    cells = torch.stack([flat // width, flat % width], 1).double()
    return stride * cells + (stride - 1) / 2


def localisation_rate(peaks, corners, box):
    r"""The fraction of ``peaks`` that fall inside their boxes.

    Box ``i`` covers input pixels ``corners[i]`` to ``corners[i] + box - 1``
    on each axis; a peak counts as inside when it lies within the pixels'
    extent, half a pixel beyond the centres of the first and last.

    Args:
        peaks: ``(N, 2)`` (row, column) points, for example from :func:`map_peaks`.
        corners: ``(N, 2)`` top-left pixels of the boxes.
        box: side of the boxes, a positive int.

    Returns:
        A float in ``[0, 1]``.

    Raises:
        TypeError: ``peaks`` or ``corners`` is not a tensor.
        ValueError: the shapes are wrong or there are no peaks.
    """
    box = check_int("box", box, minimum=1, op="localisation_rate")
    _check_tensor("peaks", peaks, "localisation_rate")
    _check_tensor("corners", corners, "localisation_rate")
    if peaks.dim() != 2 or peaks.shape[1] != 2 or corners.shape != peaks.shape:
        raise ValueError(f"localisation_rate: peaks and corners must be (N, 2) tensors of one shape, got "
                         f"peaks of shape {tuple(peaks.shape)} and corners of shape {tuple(corners.shape)}")
    if len(peaks) == 0:
        raise ValueError("localisation_rate: peaks must hold at least one point, got peaks of shape (0, 2)")
    corners = corners.double()
    inside = (peaks >= corners - 0.5) & (peaks <= corners + box - 0.5)
    return inside.all(1).double().mean().item()


def rotated_copies(weight):
    r"""Each filter followed by its three quarter turns.

    Args:
        weight: ``(K, C, k, k)`` square filters of odd size ``k``.

    Returns:
        ``(4K, C, k, k)``: filter ``i`` turned by ``r`` quarter turns
        (``torch.rot90``, counter-clockwise) at index ``4 i + r``.
    """
    _check_images("weight", weight, "rotated_copies")
    if weight.shape[-1] != weight.shape[-2]:
        raise ValueError(f"rotated_copies: weight must hold square filters, got weight of shape {tuple(weight.shape)}")
    if weight.shape[-1] % 2 == 0:
        raise ValueError(f"rotated_copies: weight must hold filters of odd size (an even kernel has no centre "
                         f"to turn about), got weight of shape {tuple(weight.shape)}")
    turns = torch.stack([torch.rot90(weight, r, dims=(2, 3)) for r in range(4)], 1)
    return turns.flatten(0, 1)


def channel_max(x, group):
    r"""The maximum over each group of ``group`` consecutive channels (maxout).

    Args:
        x: ``(N, C, H, W)`` with ``C`` a multiple of ``group``.
        group: positive int.

    Returns:
        ``(N, C / group, H, W)``.
    """
    _check_images("x", x, "channel_max")
    group = check_int("group", group, minimum=1, op="channel_max")
    n, c, h, w = x.shape
    if c % group:
        raise ValueError(f"channel_max: the {c} channels of x do not split into groups of group={group}")
    # max().values, not amax(): the same forward values, and a backward pass that sends each
    # gradient to one element of its group, as max pooling does.
    return x.reshape(n, c // group, group, h, w).max(2).values


class ChannelMax(nn.Module):
    """:func:`channel_max` as a module."""

    def __init__(self, group):
        super().__init__()
        self.group = check_int("group", group, minimum=1, op="ChannelMax")

    def forward(self, x):
        return channel_max(x, self.group)


class ChannelMean(nn.Module):
    """The mean over each group of ``group`` consecutive channels, the linear
    counterpart of :class:`ChannelMax`."""

    def __init__(self, group):
        super().__init__()
        self.group = check_int("group", group, minimum=1, op="ChannelMean")

    def forward(self, x):
        _check_images("x", x, "ChannelMean")
        n, c, h, w = x.shape
        if c % self.group:
            raise ValueError(f"ChannelMean: the {c} channels of x do not split into groups of group={self.group}")
        return x.reshape(n, c // self.group, self.group, h, w).mean(2)
