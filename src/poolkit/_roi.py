r"""Pooling over regions of interest: ROI Pool and ROI Align, as ``torchvision.ops``.

A detector proposes boxes of every size on an image; its head wants a feature
tensor of one fixed size per box. Both ops take a feature map
``(N, C, H, W)``, ``K`` boxes given in the image's coordinates, and return
``(K, C, h, w)``: each box cut into an ``h`` by ``w`` grid of bins, one value per
bin and channel. ``spatial_scale`` maps the image's coordinates to the feature
map's (``1/16`` for a feature map of stride 16).

* :func:`roi_pool` (Girshick, *Fast R-CNN*, ICCV 2015, Section 2.1) rounds the
  box to whole cells of the feature map and takes the maximum over each bin,
  whose edges are rounded again (down at the start, up at the end). On the
  rounded box, its bins are the bins of adaptive max pooling
  (:func:`poolkit.functional.adaptive_max_pool2d`), clipped to the map, up to
  the float rounding of the products ``i * (n / h)`` that place their edges:
  torchvision computes them in the input's dtype, and a product that should be
  a whole number may come out just above it (or below), so that a bin takes one
  cell more than adaptive pooling's (in float32, 4 cells in 28 bins: bin 20
  ends after cell 3, adaptive pooling's after cell 2).
* :func:`roi_align` (He, Gkioxari, Dollár and Girshick, *Mask R-CNN*, ICCV 2017,
  Section 3) rounds nothing: it averages a regular grid of bilinearly
  interpolated samples in each bin.

Both follow torchvision's CPU kernels (``torchvision/csrc/ops/cpu/``) rule for
rule, including their arithmetic in the input's dtype, so that ROI Pool gives
the same bits and ROI Align the same values up to the order of a sum.

How they are computed here. ROI Pool gathers, for every box, the columns of
each bin and takes their maximum, then the rows: a maximum over a rectangle is a
maximum of maxima, and taking columns first keeps torchvision's choice among
ties (the first element in row-major order), which is where the gradient goes.
ROI Align is linear in the input and separable: the samples of a bin are a
product of rows and columns, and so are the bilinear weights and the rule that
drops a sample outside the map. Each box's output is therefore
:math:`A_y X A_x^\top`, with :math:`A_y` an ``(h, H)`` matrix holding the summed
row weights of each bin's samples and :math:`A_x` a ``(w, W)`` one, and
autograd's gradient is the transpose: the bilinear weights, as torchvision's
backward. Each box reads only the rows (and for ROI Align the columns) that its
bins reach: ROI Pool's intermediate tensors hold about ``C * rows * w`` times
the widest bin per box, ROI Align's ``C * rows * columns``. The boxes are taken
in batches of at most ``2**22`` such elements, so memory does not grow with
the number of boxes; the outputs and autograd's saved tensors are the only
parts that do.

No gradient flows to the boxes, as in torchvision.
"""

import math

import torch
from torch import nn

from ._arguments import check_bool, check_int, check_real

_DTYPES = (torch.float32, torch.float64)
_LOWEST = torch.finfo(torch.float32).min          # C's -FLT_MAX, where torchvision's ROI Pool starts its max
# The most elements that the intermediate tensors of one batch of boxes may hold
# (16 MiB of float32): the boxes are taken in batches so that memory does not
# grow with their number.
_BUDGET = 1 << 22


def _pooled_size(op, output_size):
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair (h, w), got output_size={output_size!r}")
        size = tuple(check_int("output_size", s, op=op) for s in output_size)
    else:
        size = (check_int("output_size", output_size, op=op),) * 2
    if min(size) < 1:
        raise ValueError(f"{op}: output_size must be at least 1, got output_size={output_size!r}")
    return size


def _rois(op, input, boxes):
    """The input checked, and the boxes as a detached ``(K, 5)`` tensor with integral batch indices."""
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}: input must be a torch.Tensor, got {type(input).__name__}")
    if input.dtype not in _DTYPES:
        raise TypeError(f"{op}: input must be float32 or float64, got input of dtype {input.dtype}")
    if input.dim() != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got {input.dim()}-D input of shape "
                         f"{tuple(input.shape)}")
    if 0 in input.shape[1:]:
        raise ValueError(f"{op}: only the batch size may be zero, got input of shape {tuple(input.shape)}")
    if isinstance(boxes, (list, tuple)):
        parts = []
        for i, b in enumerate(boxes):
            if not isinstance(b, torch.Tensor):
                raise TypeError(f"{op}: boxes must be a Tensor[K, 5] or a list of Tensor[L, 4], "
                                f"got boxes[{i}] of type {type(b).__name__}")
            if b.dim() != 2 or b.shape[1] != 4:
                raise ValueError(f"{op}: each tensor in a list of boxes must be (L, 4), "
                                 f"got boxes[{i}] of shape {tuple(b.shape)}")
            _check_dtype(op, input, b, f"boxes[{i}]")
            parts.append(torch.cat([b.new_full((b.shape[0], 1), i), b], 1))
        rois = torch.cat(parts) if parts else input.new_zeros((0, 5))
        if len(boxes) > input.shape[0] and rois.shape[0]:
            raise ValueError(f"{op}: boxes has a list of {len(boxes)} tensors for a batch of {input.shape[0]}")
    elif isinstance(boxes, torch.Tensor):
        if boxes.dim() != 2 or boxes.shape[1] != 5:
            raise ValueError(f"{op}: boxes must be a Tensor[K, 5] (batch index, x1, y1, x2, y2), "
                             f"got boxes of shape {tuple(boxes.shape)}")
        _check_dtype(op, input, boxes, "boxes")
        rois = boxes
    else:
        raise TypeError(f"{op}: boxes must be a Tensor[K, 5] or a list of Tensor[L, 4], "
                        f"got boxes of type {type(boxes).__name__}")
    if rois.device != input.device:
        raise ValueError(f"{op}: boxes must be on the input's device {input.device}, got boxes on {rois.device}")
    rois = rois.detach()
    if rois.shape[0]:
        index = rois[:, 0]
        if not torch.isfinite(rois).all():
            raise ValueError(f"{op}: boxes must be finite, got {rois[~torch.isfinite(rois).all(1)][0].tolist()}")
        bad = (index != index.floor()) | (index < 0) | (index >= input.shape[0])
        if bad.any():
            raise ValueError(f"{op}: the batch index of each box must be an integer in [0, {input.shape[0] - 1}], "
                             f"got batch index {index[bad][0].item()!r}")
    return rois


def _check_dtype(op, input, boxes, name):
    if boxes.dtype != input.dtype:
        raise TypeError(f"{op}: {name} must have the input's dtype {input.dtype}, got {name} of dtype {boxes.dtype}")


def _per_image(rois, compute, per_box):
    """``compute(image, chosen)`` for each image, with ``chosen`` the positions of some
    of its boxes among the rows of ``rois``; the results concatenated in the boxes'
    order. ``per_box`` is the number of elements that ``compute``'s intermediate
    tensors hold for each box: each call gets at most ``_BUDGET / per_box`` boxes."""
    index = rois[:, 0].long()
    positions = torch.arange(rois.shape[0], device=rois.device)
    batch = max(1, _BUDGET // max(per_box, 1))
    pieces, order = [], []
    for image in index.unique().tolist():
        for chosen in positions[index == image].split(batch):
            pieces.append(compute(image, chosen))
            order.append(chosen)
    if len(pieces) == 1:
        return pieces[0]
    return torch.cat(pieces)[torch.cat(order).argsort()]


def _round_half_away(v):
    """C's ``round``: halves go away from zero (``torch.round`` sends them to the even neighbour)."""
    whole = v.trunc()
    return whole + torch.where((v - whole).abs() >= 0.5, v.sign(), torch.zeros_like(v))


def roi_pool_bins(rois, output_size, spatial_scale, height, width):
    """ROI Pool's bins on the feature map: for each box and output row (column),
    the first row (column) of the bin and the one past its last, clipped to the map.

    The arithmetic is torchvision's, in the boxes' dtype: the box's corners are
    ``round(x * spatial_scale)`` (halves away from zero), its size ``end - start + 1``
    at least 1, and bin ``i`` of an extent ``n`` cut in ``p`` covers
    ``floor(i * (n / p))`` up to ``ceil((i + 1) * (n / p))`` from the box's start.

    Returns:
        ``(row_start, row_end, col_start, col_end)``: int64 tensors of shape
        ``(K, h)``, ``(K, h)``, ``(K, w)``, ``(K, w)``. A bin is empty where an end
        is not past its start.
    """
    dtype = rois.dtype
    scale = torch.tensor(spatial_scale, dtype=dtype)
    corners = _round_half_away(rois[:, 1:] * scale).long()                     # x1, y1, x2, y2
    edges = []
    for start, end, pooled, limit in ((corners[:, 1], corners[:, 3], output_size[0], height),
                                      (corners[:, 0], corners[:, 2], output_size[1], width)):
        extent = (end - start + 1).clamp(min=1)
        bin_size = extent.to(dtype) / pooled
        i = torch.arange(pooled, device=rois.device, dtype=dtype)
        first = torch.floor(i * bin_size[:, None]).long() + start[:, None]
        last = torch.ceil((i + 1) * bin_size[:, None]).long() + start[:, None]
        edges += [first.clamp(0, limit), last.clamp(0, limit)]
    return tuple(edges)


def _slots(first, last, limit):
    """Positions ``first + j`` for ``j`` below the widest bin, clamped into the map, and which are in their bin."""
    width = max(int((last - first).max()), 1) if first.numel() else 1
    positions = first[..., None] + torch.arange(width, device=first.device)
    return positions.clamp(0, limit - 1), positions < last[..., None]


def roi_pool(input, boxes, output_size, spatial_scale=1.0):
    r"""ROI Pool (Girshick, *Fast R-CNN*, ICCV 2015, Section 2.1), as ``torchvision.ops.roi_pool``.

    Box :math:`(x_1, y_1, x_2, y_2)` is rounded to cells of the feature map,
    :math:`\bar x_i = \operatorname{round}(s\,x_i)` with :math:`s` the
    ``spatial_scale``, so it spans :math:`n_w = \max(\bar x_2 - \bar x_1 + 1, 1)`
    columns (and :math:`n_h` rows). With bin sizes :math:`b_w = n_w / w` and
    :math:`b_h = n_h / h`, output bin :math:`(i, j)` is the maximum over rows
    :math:`\bar y_1 + \lfloor i\,b_h \rfloor` to
    :math:`\bar y_1 + \lceil (i+1)\,b_h \rceil - 1` and columns
    :math:`\bar x_1 + \lfloor j\,b_w \rfloor` to
    :math:`\bar x_1 + \lceil (j+1)\,b_w \rceil - 1`, clipped to the map; a bin
    with nothing left is 0. On the rounded box these are the bins of adaptive
    max pooling wherever the products :math:`i\,b_h` and :math:`(i+1)\,b_h`,
    computed in the input's dtype as torchvision does, round to the exact
    :math:`\lfloor i\,n_h / h \rfloor` and :math:`\lceil (i+1)\,n_h / h \rceil`
    (and likewise for the columns); a product that lands just past a whole
    number moves an edge by one cell. Values below :math:`-3.4 \times 10^{38}` (``-FLT_MAX``) and NaNs
    lose to it, as in torchvision's kernel.

    Args:
        input: ``(N, C, H, W)`` float32 or float64 feature map.
        boxes: a ``(K, 5)`` tensor of rows ``(batch index, x1, y1, x2, y2)``, or a
            list of ``(L, 4)`` tensors of ``(x1, y1, x2, y2)``, one per image, in
            the input's dtype.
        output_size: ``(h, w)``, or an int for both.
        spatial_scale: the feature map's size over the image's, positive.

    Returns:
        ``(K, C, h, w)``. The gradient of each output goes to the element that
        won its maximum (the first in row-major order among ties); none goes to
        the boxes.
    """
    op = "roi_pool"
    h, w = _pooled_size(op, output_size)
    spatial_scale = check_real("spatial_scale", spatial_scale, op=op, positive=True)
    rois = _rois(op, input, boxes)
    n, c, height, width = input.shape
    if rois.shape[0] == 0:
        return input.flatten()[:0].reshape(0, c, h, w)
    row_first, row_last, col_first, col_last = roi_pool_bins(rois, (h, w), spatial_scale, height, width)
    cols, col_in = _slots(col_first, col_last, width)                     # (K, w, J)
    rows, row_in = _slots(row_first, row_last, height)                    # (K, h, I)
    empty = (row_last <= row_first)[:, :, None] | (col_last <= col_first)[:, None, :]
    lowest = torch.tensor(_LOWEST, dtype=input.dtype, device=input.device)

    # Only the rows that some bin of a box reads are gathered: from the first bin's
    # first row to the last bin's last (bins are in order), the same span for all
    # boxes of a batch.
    first_row = rows.amin((1, 2)) if rows.numel() else rows.new_zeros(rows.shape[0])
    span = rows.amax((1, 2)) - first_row + 1 if rows.numel() else first_row + 1

    def pool(image, chosen):
        x = input[image]
        x = torch.where(x > lowest, x, lowest)                   # what torchvision's max never picks
        start = first_row[chosen]
        rel = torch.arange(int(span[chosen].max()), device=x.device)
        taken = (start[:, None] + rel).clamp(max=height - 1)                                    # (k, R)
        gathered = x[:, taken[:, :, None, None], cols[chosen][:, None]]                         # (C, k, R, w, J)
        per_col = gathered.masked_fill(~col_in[chosen][:, None], _LOWEST).max(-1).values        # (C, k, R, w)
        box = torch.arange(chosen.shape[0], device=x.device)[:, None, None]
        per_bin = per_col[:, box, rows[chosen] - start[:, None, None], :]                       # (C, k, h, I, w)
        per_bin = per_bin.masked_fill(~row_in[chosen][..., None], _LOWEST).max(-2).values     # (C, k, h, w)
        return per_bin.transpose(0, 1).masked_fill(empty[chosen][:, None], 0)

    widest_col = cols.shape[-1] if cols.numel() else 1
    widest_row = rows.shape[-1] if rows.numel() else 1
    tallest = int(span.max())
    return _per_image(rois, pool, c * (tallest * w * (widest_col + 1) + h * widest_row * w + h * w))


def _align_matrix(start, extent, pooled, grid, size):
    """ROI Align along one axis: a ``(K, pooled, size)`` matrix whose row ``i`` holds,
    for every map position, the summed bilinear weight that bin ``i``'s samples give it.

    ``start`` and ``extent`` are the boxes' start and extent on the map (dtype of the
    input), ``grid`` the samples per bin along this axis (int64, may be 0 or less:
    then the bin has none). Samples follow torchvision's kernel: sample ``j`` of bin
    ``i`` lies at ``start + i * b + (j + 1/2) * b / grid`` with ``b = extent / pooled``;
    one outside ``[-1, size]`` counts 0; otherwise it is clamped to ``[0, size - 1]``
    and split between its two neighbours.
    """
    dtype, device = start.dtype, start.device
    k = start.shape[0]
    most = max(int(grid.max()), 1) if k else 1
    bin_size = (extent / pooled)[:, None, None]
    i = torch.arange(pooled, dtype=dtype, device=device)[None, :, None]
    j = torch.arange(most, device=device)
    per_grid = grid.clamp(min=1).to(dtype)[:, None, None]
    coord = start[:, None, None] + i * bin_size + (j.to(dtype) + 0.5) * bin_size / per_grid
    used = (j < grid[:, None, None]) & (coord >= -1) & (coord <= size)
    coord = coord.clamp(min=0)
    low = coord.floor().long()
    top = low >= size - 1
    low = torch.where(top, size - 1, low)
    high = torch.where(top, low, low + 1)
    frac = torch.where(top, torch.zeros_like(coord), coord - low.to(dtype))
    zero = torch.zeros_like(coord)
    weights = torch.cat([torch.where(used, 1 - frac, zero), torch.where(used, frac, zero)], -1)
    matrix = torch.zeros(k, pooled, size, dtype=dtype, device=device)
    return matrix.scatter_add_(2, torch.cat([low, high], -1), weights)


def roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    r"""ROI Align (He, Gkioxari, Dollár and Girshick, *Mask R-CNN*, ICCV 2017, Section 3),
    as ``torchvision.ops.roi_align``.

    Nothing is rounded. The box on the map starts at :math:`s\,x_1 - o` and
    ends at :math:`s\,x_2 - o`, with :math:`s` the ``spatial_scale`` and the
    offset :math:`o = 1/2` if ``aligned`` else 0; without ``aligned`` its extents
    :math:`n_w, n_h` are at least 1. Bin :math:`(i, j)` of an :math:`h \times w`
    output is the mean of :math:`g_h \times g_w` samples on a regular grid, at
    rows :math:`y_1 + i\,b_h + (m + \tfrac12)\,b_h / g_h` and columns
    :math:`x_1 + j\,b_w + (l + \tfrac12)\,b_w / g_w`
    (:math:`b_h = n_h / h`, :math:`b_w = n_w / w`), with
    :math:`g = \text{sampling\_ratio}` if it is positive and
    :math:`g_h = \lceil n_h / h \rceil`, :math:`g_w = \lceil n_w / w \rceil` otherwise.
    Each sample is the bilinear interpolation of its four neighbouring cells;
    a sample beyond one cell outside the map is 0, and one less than a cell
    outside reads the border (its coordinate clamped to ``[0, H - 1]`` and
    ``[0, W - 1]``). A bin with no samples is 0.

    With ``aligned=True`` a box coordinate :math:`x` denotes the continuous point
    :math:`x` of a map whose cell :math:`c` has its centre at :math:`c + 1/2`
    (torchvision's documentation: the box is shifted by -0.5 "for a better
    alignment with the two neighboring pixel indices", as in Detectron2);
    without it, the samples are half a cell off.

    Args:
        input: ``(N, C, H, W)`` float32 or float64 feature map.
        boxes: a ``(K, 5)`` tensor of rows ``(batch index, x1, y1, x2, y2)``, or a
            list of ``(L, 4)`` tensors of ``(x1, y1, x2, y2)``, one per image, in
            the input's dtype.
        output_size: ``(h, w)``, or an int for both.
        spatial_scale: the feature map's size over the image's, positive.
        sampling_ratio: samples per bin along each axis; 0 or less for
            :math:`\lceil n / h \rceil` (and :math:`\lceil n / w \rceil`).
        aligned: shift the boxes by half a cell (a bool).

    Returns:
        ``(K, C, h, w)``, linear in ``input``; its gradient spreads each output's
        gradient over the cells with the samples' bilinear weights. None goes
        to the boxes.
    """
    op = "roi_align"
    h, w = _pooled_size(op, output_size)
    spatial_scale = check_real("spatial_scale", spatial_scale, op=op, positive=True)
    sampling_ratio = check_int("sampling_ratio", sampling_ratio, op=op)
    check_bool(op, "aligned", aligned)
    rois = _rois(op, input, boxes)
    n, c, height, width = input.shape
    if rois.shape[0] == 0:
        return input.flatten()[:0].reshape(0, c, h, w)
    dtype = input.dtype
    corners = rois[:, 1:] * torch.tensor(spatial_scale, dtype=dtype) - (0.5 if aligned else 0.0)
    extent = corners[:, 2:] - corners[:, :2]                                  # (K, 2): width, height
    if not aligned:
        extent = extent.clamp(min=1)
    if sampling_ratio > 0:
        grid = torch.full_like(extent, sampling_ratio, dtype=torch.long)
    else:
        grid = torch.ceil(extent / torch.tensor([w, h], dtype=dtype)).long()
    rows = _align_matrix(corners[:, 1], extent[:, 1], h, grid[:, 1], height)     # (K, h, H)
    cols = _align_matrix(corners[:, 0], extent[:, 0], w, grid[:, 0], width)      # (K, w, W)
    count = (grid[:, 0] * grid[:, 1]).clamp(min=1).to(dtype)[:, None, None, None]

    # Only the rows and columns that a box's samples read (with a non-zero weight) are
    # gathered, the same span for all boxes of a batch.
    row_start, row_span = _support(rows)
    col_start, col_span = _support(cols)

    def align(image, chosen):
        r, r_index = _cropped(rows[chosen], row_start[chosen], int(row_span[chosen].max()), height)
        q, q_index = _cropped(cols[chosen], col_start[chosen], int(col_span[chosen].max()), width)
        crop = input[image][:, r_index[:, :, None], q_index[:, None, :]].transpose(0, 1)         # (k, C, R, Q)
        pooled = r[:, None] @ crop @ q[:, None].transpose(-1, -2)
        return pooled / count[chosen]

    tallest, widest = int(row_span.max()), int(col_span.max())
    return _per_image(rois, align, c * (tallest * widest + h * widest + h * w))


def _support(matrix):
    """For each box's ``(pooled, size)`` matrix of weights: the first position with a
    non-zero weight, and how many positions reach to the last one (1 if none)."""
    used = (matrix != 0).any(1)                                                   # (K, size)
    size = used.shape[1]
    first = used.int().argmax(1)
    last = size - 1 - used.flip(1).int().argmax(1)
    any_used = used.any(1)
    first = torch.where(any_used, first, 0)
    return first, torch.where(any_used, last - first + 1, 1)


def _cropped(matrix, start, span, size):
    """Columns ``start .. start + span - 1`` of each box's weight matrix, with their
    positions on the map; positions past the map get weight 0 (and a valid index)."""
    index = start[:, None] + torch.arange(span, device=matrix.device)                        # (k, span)
    inside = index < size
    index = torch.where(inside, index, size - 1)
    weights = matrix.gather(2, index[:, None, :].expand(-1, matrix.shape[1], -1))
    return weights * inside[:, None, :], index


class RoIPool(nn.Module):
    """Module form of :func:`roi_pool`, as ``torchvision.ops.RoIPool``; ``forward(input, boxes)``."""

    def __init__(self, output_size, spatial_scale):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input, boxes):
        return roi_pool(input, boxes, self.output_size, self.spatial_scale)

    def extra_repr(self):
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"


class RoIAlign(nn.Module):
    """Module form of :func:`roi_align`, as ``torchvision.ops.RoIAlign``; ``forward(input, boxes)``."""

    def __init__(self, output_size, spatial_scale, sampling_ratio, aligned=False):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input, boxes):
        return roi_align(input, boxes, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def extra_repr(self):
        return (f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}")
