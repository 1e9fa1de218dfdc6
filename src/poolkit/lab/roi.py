r"""Where ROI Pool and ROI Align look: measurements for the chapter on pooling regions.

A box is given in image pixels, in continuous coordinates: pixel ``(i, j)``
covers ``[j, j + 1) x [i, i + 1)``. A feature map of stride ``s`` has cell
``(i, j)`` over the pixels ``[s j, s (j + 1)) x [s i, s (i + 1))``, so its
centre is at ``(s (j + 1/2), s (i + 1/2))``. Each output bin of a box has an
ideal region, an exact ``1/h`` by ``1/w`` share of the box; these helpers
measure where the bins that the ops actually pool lie, *with the ops
themselves*:

* :func:`cell_centres` is a two-channel feature map holding each cell's
  centre in image pixels. ROI Align is linear and reproduces a linear function
  between cell centres exactly, so ``roi_align(cell_centres(...))`` is the
  mean position of the samples of every bin;
* :func:`pooled_cells` reads the first and last cell of each ROI Pool bin off
  ``roi_pool`` applied to maps of cell indices;
* :func:`bin_offsets` turns both into the offset, in image pixels, between the
  centre of what each bin pools and the centre of its ideal region.

ROI Pool counts the box's last cell whole (its size is ``end - start + 1``
cells), as if ``x2`` were the last pixel inside the box. Under the model above,
where a box ``[x1, x2)`` ends at ``x2``, that stretches the box by one cell;
``bin_offsets(..., "roi_pool_exclusive")`` measures ROI Pool with the box's end
moved in by one cell, which takes the stretch away.
"""

import torch

from .._arguments import check_int, check_real
from ..ops import roi_align, roi_pool


def cell_centres(height, width, stride):
    """A ``(1, 2, height, width)`` float64 map: channel 0 holds each cell's centre
    column ``stride * (j + 1/2)`` in image pixels, channel 1 its centre row."""
    height = check_int("height", height, minimum=1, op="cell_centres")
    width = check_int("width", width, minimum=1, op="cell_centres")
    stride = check_real("stride", stride, op="cell_centres", positive=True)
    x = (torch.arange(width, dtype=torch.float64) + 0.5) * stride
    y = (torch.arange(height, dtype=torch.float64) + 0.5) * stride
    return torch.stack([x.expand(height, width), y[:, None].expand(height, width)])[None]


def random_boxes(count, image_size, min_side, margin, seed):
    """``count`` boxes ``(0, x1, y1, x2, y2)`` (float64, batch index 0) with corners drawn
    uniformly so that each side is at least ``min_side`` pixels and the box keeps
    ``margin`` pixels from every border of a square image of side ``image_size``."""
    count = check_int("count", count, minimum=0, op="random_boxes")
    image_size = check_real("image_size", image_size, op="random_boxes", positive=True)
    min_side = check_real("min_side", min_side, op="random_boxes")
    margin = check_real("margin", margin, op="random_boxes")
    seed = check_int("seed", seed, op="random_boxes")
    room = image_size - 2 * margin
    if min_side < 0 or margin < 0 or room < min_side:
        raise ValueError(f"random_boxes: need 0 <= min_side <= image_size - 2 * margin, got min_side={min_side}, "
                         f"margin={margin}, image_size={image_size}")
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(count, 2, 2, generator=generator, dtype=torch.float64)
    side = min_side + (room - min_side) * u[:, 0]                       # (count, 2): width, height
    start = margin + (room - side) * u[:, 1]
    return torch.cat([torch.zeros(count, 1, dtype=torch.float64), start, start + side], 1)


def _check_boxes(op, boxes):
    if not (isinstance(boxes, torch.Tensor) and boxes.dim() == 2 and boxes.shape[1] == 5
            and boxes.dtype == torch.float64):
        raise TypeError(f"{op}: boxes must be a float64 (K, 5) tensor, got boxes={boxes!r:.80}")


def pooled_cells(boxes, output_size, spatial_scale, height, width):
    """The cells each ROI Pool bin covers, as ROI Pool itself reports them.

    Returns:
        ``(first, last)``, float64 ``(K, 2, h, w)``: the first and the last column
        (channel 0) and row (channel 1) of every bin, found as the minimum and the
        maximum of a map of cell indices. An empty bin gives 0 for both.
    """
    _check_boxes("pooled_cells", boxes)
    index = cell_centres(height, width, 1.0) - 0.5                      # column, row of each cell
    last = roi_pool(index, boxes, output_size, spatial_scale)
    first = -roi_pool(-index, boxes, output_size, spatial_scale)
    return first, last


def ideal_centres(boxes, output_size):
    """The centre of every bin's exact share of its box, image pixels, ``(K, 2, h, w)`` (x, then y)."""
    _check_boxes("ideal_centres", boxes)
    h, w = (output_size, output_size) if isinstance(output_size, int) else output_size
    x1, y1, x2, y2 = boxes[:, 1:].T
    j = torch.arange(w, dtype=torch.float64) + 0.5
    i = torch.arange(h, dtype=torch.float64) + 0.5
    x = x1[:, None] + j * ((x2 - x1) / w)[:, None]
    y = y1[:, None] + i * ((y2 - y1) / h)[:, None]
    return torch.stack([x[:, None, :].expand(-1, h, w), y[:, :, None].expand(-1, h, w)], 1)


def bin_offsets(boxes, output_size, stride, height, width, method):
    """Offset, in image pixels, between the centre of what each bin pools and the centre
    of its ideal region, for boxes on a feature map of the given stride.

    Args:
        boxes: float64 ``(K, 5)`` boxes in image pixels, batch index 0.
        output_size: int or ``(h, w)``.
        stride: the feature map's stride (``spatial_scale = 1 / stride``).
        height, width: the feature map's size.
        method: ``"roi_pool"`` (the centre of the pooled cells),
            ``"roi_pool_exclusive"`` (the same for ROI Pool applied to the box
            with its ``x2`` and ``y2`` moved in by one cell, ``stride`` pixels,
            measured against the ideal bins of the box as given),
            ``"roi_align"`` (``aligned=False``) or ``"roi_align_aligned"``
            (``aligned=True``): the mean position of the bin's samples, exact
            while every sample lies between cell centres.

    Returns:
        float64 ``(K, 2, h, w)``: x offsets in channel 0, y offsets in channel 1.
    """
    stride = check_real("stride", stride, op="bin_offsets", positive=True)
    _check_boxes("bin_offsets", boxes)
    if method in ("roi_pool", "roi_pool_exclusive"):
        pooled_boxes = boxes
        if method == "roi_pool_exclusive":
            pooled_boxes = boxes.clone()
            pooled_boxes[:, 3:] -= stride
        first, last = pooled_cells(pooled_boxes, output_size, 1 / stride, height, width)
        pooled = (first + last + 1) / 2 * stride
    elif method in ("roi_align", "roi_align_aligned"):
        pooled = roi_align(cell_centres(height, width, stride), boxes, output_size, 1 / stride,
                           aligned=method == "roi_align_aligned")
    else:
        raise ValueError(f"bin_offsets: method must be 'roi_pool', 'roi_pool_exclusive', 'roi_align' or "
                         f"'roi_align_aligned', "
                         f"got method={method!r}")
    return pooled - ideal_centres(boxes, output_size)
