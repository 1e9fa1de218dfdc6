r"""Anti-aliased downsampling: BlurPool (Zhang, *Making Convolutional Networks
Shift-Invariant Again*, ICML 2019).

Subsampling a signal that holds frequencies above half the new sampling rate
aliases them: a one-pixel shift of the input can change the output
completely. BlurPool low-pass filters first, with a fixed binomial filter
applied to every channel on its own (depthwise), and subsamples second.
Zhang's anti-aliased max pooling, :func:`max_blur_pool2d`, keeps the max but
evaluates it densely (stride 1) and lets the blur do the subsampling.

The blur is a weighted sum over sliding windows, computed on the window
tensor of :mod:`poolkit.windows`, like every other op of poolkit.
"""

import math

import torch
import torch.nn.functional as F

from . import functional as P
from . import windows as W
from .arguments import as_tuple, check_input, check_positive

PAD_MODES = ("reflect", "replicate", "zeros")


def binomial_filter(size, dtype=None):
    r"""The normalised 1-D binomial filter of ``size`` taps: row ``size - 1`` of
    Pascal's triangle divided by its sum :math:`2^{size-1}`.

    Args:
        size: number of taps, at least 1 (1: ``[1]``, 2: ``[1, 1]/2``, 3:
            ``[1, 2, 1]/4``, 4: ``[1, 3, 3, 1]/8``, ...).
        dtype: floating dtype of the result; ``None`` means the default dtype.

    Returns:
        ``(size,)`` tensor of non-negative weights summing to 1.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"binomial_filter: size must be an int, got size={size!r}")
    if size < 1:
        raise ValueError(f"binomial_filter: size must be at least 1, got size={size}")
    row = torch.tensor([math.comb(size - 1, j) for j in range(size)], dtype=torch.float64)
    return (row / row.sum()).to(dtype or torch.get_default_dtype())


def blur_pool2d(input, filter_size=3, stride=2, pad_mode="reflect"):
    r"""Blur every channel with a binomial filter, then keep every ``stride``-th value.

    The 2-D filter is the outer product of :func:`binomial_filter` with itself.
    The input is padded by :math:`\lfloor (f-1)/2 \rfloor` before and
    :math:`\lceil (f-1)/2 \rceil` after, on each spatial axis, as in Zhang's
    implementation, so an ``H x W`` input gives
    :math:`\lceil H/s \rceil \times \lceil W/s \rceil` outputs.

    Args:
        input: floating-point tensor ``(N, C, H, W)`` or ``(C, H, W)``.
        filter_size: taps :math:`f` of the binomial filter per axis, an int or a
            pair, each at least 1 (1 is plain subsampling).
        stride: subsampling step :math:`s`, an int or a pair, each at least 1.
        pad_mode: ``'reflect'`` (Zhang's default), ``'replicate'`` or ``'zeros'``.

    Returns:
        ``(N, C, ceil(H/s_h), ceil(W/s_w))`` (or without ``N``), the input's dtype.

    Example:
        >>> blur_pool2d(torch.ones(1, 4, 4))
        tensor([[[1., 1.],
                 [1., 1.]]])
    """
    op = "blur_pool2d"
    x, batched = check_input(op, input, 2)
    sizes = as_tuple(op, "filter_size", filter_size, 2)
    steps = as_tuple(op, "stride", stride, 2)
    check_positive(op, "filter_size", sizes)
    check_positive(op, "stride", steps)
    if pad_mode not in PAD_MODES:
        raise ValueError(f"{op}: pad_mode must be one of {PAD_MODES}, got pad_mode={pad_mode!r}")
    pad = []
    for f in reversed(sizes):
        pad += [(f - 1) // 2, f // 2]
    if pad_mode == "reflect" and any(n <= max(pad[2 * i], pad[2 * i + 1])
                                     for i, n in enumerate(reversed(x.shape[2:]))):
        raise ValueError(f"{op}: reflect padding needs every spatial size larger than the padding "
                         f"{max(pad)}, got input of shape {tuple(input.shape)} with filter_size={sizes}")
    x = F.pad(x, pad, mode="constant" if pad_mode == "zeros" else pad_mode)
    windows = [W.sliding(n, f, s, 0, 1, False) for n, f, s in zip(x.shape[2:], sizes, steps)]
    taps = W.gather(x, windows, 0.0)                                     # (N, C, H', W', f_h, f_w)
    kernel = binomial_filter(sizes[0], x.dtype)[:, None] * binomial_filter(sizes[1], x.dtype)
    out = (taps * kernel.to(x.device)).sum(dim=(-2, -1))
    return out if batched else out.squeeze(0)


def max_blur_pool2d(input, kernel_size=2, filter_size=3, stride=2, pad_mode="reflect"):
    r"""Zhang's anti-aliased max pooling: max pooling with stride 1, then
    :func:`blur_pool2d` with stride ``stride``.

    Args:
        input: floating-point tensor ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: the max-pooling window (an int or a pair), evaluated at every position.
        filter_size, stride, pad_mode: as in :func:`blur_pool2d`.

    Returns:
        ``(N, C, ceil((H - k_h + 1)/s_h), ceil((W - k_w + 1)/s_w))`` (or without ``N``).
    """
    dense = P.max_pool2d(input, kernel_size, stride=1)
    return blur_pool2d(dense, filter_size, stride, pad_mode)
