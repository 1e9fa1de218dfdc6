"""Exact experiments on what pooling is invariant to.

A feature detector leaves a map whose strongest response marks where the
feature is. Here that map is one active pixel. Moving the pixel by a
shift, a rotation or a scaling about the map's centre, then asking whether a
pooled map changed, measures invariance with no interpolation and no
randomness: the answer is the same on every machine.
"""

import math

import torch

from .._arguments import check_int, check_real


def moved_point_maps(size, shift=(0, 0), angle=0.0, scale=1.0):
    """Pairs of one-pixel maps, before and after moving the pixel.

    Every pixel position ``(r, c)`` of a ``size x size`` map is moved to
    ``round(scale * R(angle) @ ((r, c) - centre) + centre + shift)``, where
    ``centre = ((size - 1) / 2, (size - 1) / 2)`` and ``R(angle)`` rotates by
    ``angle`` degrees. Positions whose moved pixel leaves the map are dropped.

    Args:
        size: side of the square map, at least 1.
        shift: ``(rows, columns)`` added after rotating and scaling.
        angle: rotation in degrees.
        scale: scaling factor, in ``(0, size]`` (beyond that no pixel but the
            centre could stay on the map).

    Returns:
        ``(before, after)``, two float32 tensors of shape ``(n, 1, size, size)``
        holding the same ``n`` positions, each map with a single 1.
    """
    size = check_int("size", size, minimum=1, op="moved_point_maps")
    op = "moved_point_maps"
    if not (isinstance(shift, (tuple, list)) and len(shift) == 2):
        raise TypeError(f"{op}: shift must be a pair (rows, columns) of numbers, got shift={shift!r}")
    shift = tuple(check_real(f"shift[{i}]", v, op=op) for i, v in enumerate(shift))
    angle = check_real("angle", angle, op=op)
    scale = check_real("scale", scale, op=op, positive=True)
    if scale > size:
        raise ValueError(f"{op}: scale must be at most size={size}, got scale={scale!r}")
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    points = torch.stack([rows.flatten(), cols.flatten()], dim=1).double()
    centre = (size - 1) / 2
    theta = math.radians(angle)
    rotation = torch.tensor(
        [[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]],
        dtype=torch.float64,
    )
    moved = scale * (points - centre) @ rotation.T + centre + torch.tensor(shift, dtype=torch.float64)
    moved = torch.round(moved).long()
    inside = ((moved >= 0) & (moved < size)).all(dim=1)
    return _point_maps(points.long()[inside], size), _point_maps(moved[inside], size)



def _point_maps(points, size):
    maps = torch.zeros(len(points), 1, size, size)
    maps[torch.arange(len(points)), 0, points[:, 0], points[:, 1]] = 1.0
    return maps


def kept_fraction(before, after, layer):
    """Fraction of samples whose output ``layer`` leaves exactly unchanged.

    Args:
        before, after: tensors of shape ``(n, ...)``, ``n >= 1``.
        layer: any callable on such a batch, for example ``torch.nn.MaxPool2d(2)``
            or ``torch.nn.Identity()``.

    Returns:
        A float in ``[0, 1]``: how many of the ``n`` outputs ``layer(after)[i]``
        equal ``layer(before)[i]`` in every element, divided by ``n``. Equality
        is ``==``, so an output holding NaN never counts as unchanged.

    Raises:
        ValueError: the batches differ in shape or are empty, or ``layer`` does
            not return one output per sample.
    """
    if before.shape != after.shape or before.dim() < 1 or before.shape[0] == 0:
        raise ValueError(
            f"before and after must be non-empty batches of one shape, got "
            f"{tuple(before.shape)} and {tuple(after.shape)}"
        )
    n = before.shape[0]
    out_before, out_after = layer(before), layer(after)
    if out_before.dim() < 1 or out_before.shape[0] != n:
        raise ValueError(
            f"layer must return one output per sample: {n} samples gave an output "
            f"of shape {tuple(out_before.shape)}"
        )
    same = (out_before == out_after).reshape(n, -1).all(dim=1)
    return same.double().mean().item()
