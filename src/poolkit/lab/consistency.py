r"""Shift consistency on real images: move whole images, and count how often a
prediction survives the move.

Zhang (*Making Convolutional Networks Shift-Invariant Again*, ICML 2019)
measures a network's shift consistency as the fraction of inputs whose
predicted class does not change when the input is shifted. The functions here
make that measurement for any predictor:

* :func:`move_images` shifts, rotates or scales a batch of images about their
  centre by nearest-neighbour resampling, with no interpolation, so it gives
  the same pixels on every machine;
* :func:`class_means` and :func:`nearest_mean` make a classifier that needs no
  training: predict the class whose mean feature vector is nearest;
* :func:`consistency` is the fraction of predictions a move leaves unchanged.
"""

import math

import torch

from .._arguments import check_real



def move_images(images, shift=(0, 0), angle=0.0, scale=1.0):
    r"""Shift, rotate and scale every image of a batch about its centre.

    Output pixel :math:`p` takes the input pixel nearest to
    :math:`c + R(-\theta)(p - c - \text{shift}) / \text{scale}`, where :math:`c` is
    the image centre and :math:`R(-\theta)` rotates back by ``angle``; pixels
    whose source lies outside the image are 0. So the content moves by
    ``shift`` pixels (rows down, columns right), turns by ``angle`` degrees
    and grows by ``scale``.

    Args:
        images: ``(N, C, H, W)`` tensor of any dtype.
        shift: ``(rows, columns)``, a pair of numbers.
        angle: rotation in degrees, counter-clockwise on the screen.
        scale: positive enlargement factor.

    Returns:
        ``(N, C, H, W)``, the moved images, the input's dtype.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"move_images: images must be an (N, C, H, W) tensor, got {images!r:.80}")
    if not (isinstance(shift, (tuple, list)) and len(shift) == 2):
        raise TypeError(f"move_images: shift must be a pair (rows, columns) of numbers, got shift={shift!r}")
    shift = tuple(check_real(f"shift[{i}]", v, op="move_images") for i, v in enumerate(shift))
    angle = check_real("angle", angle, op="move_images")
    scale = check_real("scale", scale, op="move_images", positive=True)
    h, w = images.shape[2:]
    rows = torch.arange(h, dtype=torch.float64)[:, None].expand(h, w)
    cols = torch.arange(w, dtype=torch.float64)[None, :].expand(h, w)
    # offsets from the centre after undoing the shift; the y axis points up on the screen
    y = -(rows - (h - 1) / 2 - shift[0])
    x = cols - (w - 1) / 2 - shift[1]
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    source_x = (cos * x + sin * y) / scale
    source_y = (-sin * x + cos * y) / scale
    source_r = torch.round(-source_y + (h - 1) / 2).long()
    source_c = torch.round(source_x + (w - 1) / 2).long()
    inside = (source_r >= 0) & (source_r < h) & (source_c >= 0) & (source_c < w)
    flat = (source_r.clamp(0, h - 1) * w + source_c.clamp(0, w - 1)).flatten()
    moved = images.flatten(2)[:, :, flat].reshape(images.shape)
    return torch.where(inside.to(images.device), moved, torch.zeros((), dtype=images.dtype, device=images.device))


def class_means(features, labels, classes):
    r"""The mean feature vector of each class.

    Args:
        features: ``(N, ...)`` floating-point tensor, one sample per row.
        labels: ``(N,)`` int64 tensor of classes in ``0 .. classes - 1``.
        classes: number of classes; each must occur at least once.

    Returns:
        ``(classes, D)`` with ``D`` the number of features per sample.
    """
    if features.shape[0] != labels.shape[0] or labels.dim() != 1:
        raise ValueError(f"class_means: features and labels must hold the same samples, got "
                         f"{tuple(features.shape)} and {tuple(labels.shape)}")
    flat = features.flatten(1)
    counts = torch.bincount(labels, minlength=classes)
    if len(counts) > classes or (counts == 0).any():
        raise ValueError(f"class_means: every class 0..{classes - 1} must occur and no other, got counts {counts.tolist()}")
    sums = torch.zeros(classes, flat.shape[1], dtype=flat.dtype).index_add_(0, labels, flat)
    return sums / counts[:, None].to(flat.dtype)


def nearest_mean(features, means):
    r"""Predict, for each sample, the class whose mean is nearest in Euclidean distance.

    Args:
        features: ``(N, ...)`` floating-point tensor.
        means: ``(classes, D)`` from :func:`class_means`.

    Returns:
        ``(N,)`` int64 predicted classes (the lowest class on a tie).
    """
    flat = features.flatten(1)
    if flat.shape[1] != means.shape[1]:
        raise ValueError(f"nearest_mean: features have {flat.shape[1]} values per sample, the means {means.shape[1]}")
    distances = (flat[:, None, :] - means[None]).pow(2).sum(-1)
    return distances.argmin(1)


def consistency(predict, images, moves):
    r"""Fraction of predictions left unchanged by moving the images.

    Args:
        predict: callable mapping an ``(N, C, H, W)`` batch to ``(N,)`` classes.
        images: ``(N, C, H, W)``, at least one image.
        moves: list of keyword dicts for :func:`move_images`, for example
            ``[dict(shift=(0, 1)), dict(shift=(1, 0))]``; at least one.

    Returns:
        A float in ``[0, 1]``: over all images and moves, how often
        ``predict(moved)`` equals ``predict(images)``.
    """
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"consistency: images must be a non-empty (N, C, H, W) batch, got {tuple(images.shape)}")
    if not moves:
        raise ValueError(f"consistency: moves must list at least one move, got moves={moves!r}")
    before = predict(images)
    same = [(predict(move_images(images, **move)) == before).double().mean() for move in moves]
    return torch.stack(same).mean().item()


ONE_PIXEL_SHIFTS = [dict(shift=(0, 1)), dict(shift=(0, -1)), dict(shift=(1, 0)), dict(shift=(-1, 0))]
"""The four shifts by one pixel: right, left, down, up."""
