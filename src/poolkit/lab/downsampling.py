r"""Halving a map's height and width, and what each way of doing it keeps.

Every function here works on non-overlapping 2 x 2 blocks of a
``(N, C, H, W)`` map with even ``H`` and ``W``:

* :func:`focus_slices`: YOLOv5's Focus slicing, the four pixels of each block
  stacked as channels (the same values as ``torch.nn.functional.pixel_unshuffle``
  with factor 2, in another channel order; :func:`focus_to_unshuffle` gives the
  permutation);
* :class:`PatchMerging`: Swin Transformer's patch merging (Liu et al., ICCV
  2021): the four tokens of each block concatenated to ``4C`` channels, a layer
  norm, and a linear map to ``2C`` channels without bias;
* :func:`blocks_2x2` and :func:`from_blocks_2x2`: a map as rows of ``4C``
  numbers, one row per block, and back;
* :func:`pca_2x2` and :func:`pca_reconstruct`: the best reconstruction of the
  blocks from ``k`` linear features (principal components), the most that any
  linear map to ``k`` channels can keep;
* :func:`pool_reconstruct`: the upsampled output of 2 x 2 max or average pooling;
* :func:`fit_affine_decoder`: the least-squares affine map from some features
  of each block back to the block (optionally of limited rank), the fair way to
  compare what different features keep;
* :func:`relative_error`: the squared error of a reconstruction as a fraction
  of the input's squared norm.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .._arguments import check_int


def _check_even_map(op, x):
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"{op}: input must be a floating-point (N, C, H, W) tensor, got {x!r:.80}")
    if x.shape[2] % 2 or x.shape[3] % 2 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"{op}: height and width must be even and positive, got input of shape {tuple(x.shape)}")


def focus_slices(x):
    """YOLOv5's Focus slicing: ``(N, C, H, W)`` to ``(N, 4C, H/2, W/2)``, the pixels at
    (even row, even column), (odd, even), (even, odd) and (odd, odd) of every block,
    each as ``C`` channels, in that order (the layer then applies a convolution)."""
    _check_even_map("focus_slices", x)
    return torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), 1)


def focus_to_unshuffle(channels):
    """The channel order that turns :func:`focus_slices` into ``pixel_unshuffle(x, 2)``:
    ``pixel_unshuffle(x, 2) == focus_slices(x)[:, focus_to_unshuffle(C)]``.

    ``pixel_unshuffle`` puts channel ``c``'s pixel at row offset ``i`` and column
    offset ``j`` in channel ``4c + 2i + j``; Focus puts it in ``C (i + 2j) + c``.
    """
    c = check_int("channels", channels, minimum=1, op="focus_to_unshuffle")
    return torch.tensor([c * (i + 2 * j) + k for k in range(c) for i in range(2) for j in range(2)])


class PatchMerging(nn.Module):
    r"""Swin Transformer's patch merging on a ``(N, C, H, W)`` map.

    The four tokens of each 2 x 2 block, concatenated in Swin's order (the same
    as :func:`focus_slices`), give ``4C`` numbers; a layer norm over them and a
    linear map :math:`\mathbb{R}^{4C} \to \mathbb{R}^{2C}` without bias give the
    output, ``(N, 2C, H/2, W/2)``.

    Args:
        dim: channels ``C`` of the input, at least 1.
    """

    def __init__(self, dim):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1, op="PatchMerging")
        self.norm = nn.LayerNorm(4 * self.dim)
        self.reduction = nn.Linear(4 * self.dim, 2 * self.dim, bias=False)

    def forward(self, x):
        _check_even_map("PatchMerging", x)
        if x.shape[1] != self.dim:
            raise ValueError(f"PatchMerging: input must have dim={self.dim} channels, got input of shape {tuple(x.shape)}")
        merged = focus_slices(x).permute(0, 2, 3, 1)
        return self.reduction(self.norm(merged)).permute(0, 3, 1, 2)


def blocks_2x2(x):
    """The 2 x 2 blocks of ``x`` as rows: ``(N, C, H, W)`` to ``(N H W / 4, 4C)``, each row
    a block's ``4C`` values in ``pixel_unshuffle``'s channel order."""
    _check_even_map("blocks_2x2", x)
    return F.pixel_unshuffle(x, 2).permute(0, 2, 3, 1).reshape(-1, 4 * x.shape[1])


def from_blocks_2x2(rows, shape):
    """Inverse of :func:`blocks_2x2`: rows ``(N H W / 4, 4C)`` back to a map of ``shape``."""
    if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) != 4:
        raise TypeError(f"from_blocks_2x2: shape must be (N, C, H, W), got shape={shape!r}")
    n, c, h, w = (check_int(name, v, minimum=1, op="from_blocks_2x2") for name, v in zip("NCHW", shape))
    if h % 2 or w % 2:
        raise ValueError(f"from_blocks_2x2: height and width must be even, got shape={tuple(shape)}")
    if not isinstance(rows, torch.Tensor) or rows.shape != (n * h * w // 4, 4 * c):
        raise ValueError(f"from_blocks_2x2: rows must have shape {(n * h * w // 4, 4 * c)} for shape={tuple(shape)}, "
                         f"got {getattr(rows, 'shape', rows)!r:.80}")
    return F.pixel_shuffle(rows.reshape(n, h // 2, w // 2, 4 * c).permute(0, 3, 1, 2), 2)


def pca_2x2(x, k):
    r"""Mean and the first ``k`` principal directions of the 2 x 2 blocks of ``x``.

    Among all affine maps of a block's :math:`4C` values to ``k`` numbers and
    back, projecting the centred block on these directions has the smallest
    total squared error over the blocks of ``x`` (Eckart and Young, 1936).

    Args:
        x: floating-point ``(N, C, H, W)`` map with even ``H`` and ``W``.
        k: number of directions, in ``0 .. 4C``.

    Returns:
        ``(mean, directions)``: ``(4C,)`` and ``(4C, k)`` with orthonormal columns,
        in float64.
    """
    rows = blocks_2x2(x).double()
    k = check_int("k", k, minimum=0, maximum=rows.shape[1], op="pca_2x2")
    mean = rows.mean(0)
    # Eigenvectors of the scatter matrix, largest eigenvalue first.
    _, vectors = torch.linalg.eigh((rows - mean).T @ (rows - mean))
    return mean, vectors.flip(1)[:, :k]


def pca_reconstruct(x, mean, directions):
    """``x`` rebuilt from ``k`` linear features of each 2 x 2 block: each centred block
    projected on ``directions`` (from :func:`pca_2x2`), plus ``mean``. Same dtype as ``x``."""
    rows = blocks_2x2(x).double()
    if mean.shape != (rows.shape[1],) or directions.dim() != 2 or directions.shape[0] != rows.shape[1]:
        raise ValueError(f"pca_reconstruct: mean and directions must have {rows.shape[1]} rows for "
                         f"{x.shape[1]} channels, got {tuple(mean.shape)} and {tuple(directions.shape)}")
    centred = rows - mean
    rebuilt = centred @ directions @ directions.T + mean
    return from_blocks_2x2(rebuilt, x.shape).to(x.dtype)


def pool_reconstruct(x, mode):
    """2 x 2 max or average pooling of ``x``, each output copied back over its block
    (nearest-neighbour upsampling). For ``'avg'`` this is the projection of every
    block on the constant blocks, the best reconstruction from the mean alone."""
    _check_even_map("pool_reconstruct", x)
    if mode == "avg":
        pooled = F.avg_pool2d(x, 2)
    elif mode == "max":
        pooled = F.max_pool2d(x, 2)
    else:
        raise ValueError(f"pool_reconstruct: mode must be 'avg' or 'max', got mode={mode!r}")
    return pooled.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def fit_affine_decoder(features, targets, rank=None):
    r"""The affine map :math:`f \mapsto f W + b` with the smallest total squared error
    :math:`\sum_i \lVert f_i W + b - t_i \rVert^2` over the rows of ``features`` and ``targets``.

    Without ``rank`` it is ordinary least squares (``torch.linalg.lstsq`` on the
    centred rows). With ``rank`` :math:`r`, the linear part is limited to rank
    :math:`r`, which is the same as first reducing each row of ``features`` to
    :math:`r` numbers by any linear map: the least-squares fit is projected on
    the :math:`r` leading principal directions of its fitted values (reduced-rank
    regression; with ``features == targets`` it is the principal component
    reconstruction of :func:`pca_2x2`).

    Args:
        features: ``(n, k)`` floating-point tensor.
        targets: ``(n, d)`` floating-point tensor with the same ``n``.
        rank: None, or an int in ``0 .. min(k, d)``.

    Returns:
        ``(weight, bias)``: ``(k, d)`` and ``(d,)``, in float64.
    """
    for name, value in (("features", features), ("targets", targets)):
        if not isinstance(value, torch.Tensor) or value.dim() != 2 or not value.is_floating_point():
            raise ValueError(f"fit_affine_decoder: {name} must be a floating-point (n, k) tensor, got {value!r:.80}")
    if features.shape[0] != targets.shape[0] or features.shape[0] == 0:
        raise ValueError(f"fit_affine_decoder: features and targets must have the same, non-zero number of rows, "
                         f"got {features.shape[0]} and {targets.shape[0]}")
    if rank is not None:
        rank = check_int("rank", rank, minimum=0, maximum=min(features.shape[1], targets.shape[1]),
                         op="fit_affine_decoder")
    f, t = features.double(), targets.double()
    f_mean, t_mean = f.mean(0), t.mean(0)
    weight = torch.linalg.lstsq(f - f_mean, t - t_mean, driver="gelsd").solution
    if rank is not None:
        fitted = (f - f_mean) @ weight
        _, vectors = torch.linalg.eigh(fitted.T @ fitted)
        leading = vectors.flip(1)[:, :rank]
        weight = weight @ leading @ leading.T
    return weight, t_mean - f_mean @ weight


def relative_error(x, rebuilt):
    r""":math:`\lVert x - \hat x \rVert^2 / \lVert x \rVert^2`, in float64, as a Python float."""
    if not isinstance(x, torch.Tensor) or not isinstance(rebuilt, torch.Tensor) or x.shape != rebuilt.shape:
        raise ValueError(f"relative_error: x and rebuilt must be tensors of one shape, got "
                         f"{getattr(x, 'shape', x)!r:.60} and {getattr(rebuilt, 'shape', rebuilt)!r:.60}")
    x, rebuilt = x.double(), rebuilt.double()
    norm = x.square().sum()
    if norm == 0:
        raise ValueError("relative_error: x must not be all zeros")
    return ((x - rebuilt).square().sum() / norm).item()
