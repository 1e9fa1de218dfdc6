r"""Pooling layers that ``torch.nn`` does not have, with the same conventions
as :mod:`poolkit.functional`: ``(N, C, H, W)`` or ``(C, H, W)`` inputs, and
``TypeError``/``ValueError`` naming the parameter for bad arguments.

**Anti-aliased downsampling**: BlurPool (Zhang, *Making Convolutional Networks
Shift-Invariant Again*, ICML 2019).

Subsampling a signal that holds frequencies above half the new sampling rate
aliases them: a one-pixel shift of the input can change the output
completely. BlurPool low-pass filters first, with a fixed binomial filter
applied to every channel on its own (depthwise), and subsamples second.
Zhang's anti-aliased max pooling, :func:`max_blur_pool2d`, keeps the max but
evaluates it densely (stride 1) and lets the blur do the subsampling.

**Smooth maxima**: pooling ops that move from the average to the maximum as a
temperature parameter :math:`\beta` grows.

* log-sum-exp pooling, :math:`\frac{1}{\beta}\log\frac{1}{|w|}\sum_{i \in w} e^{\beta x_i}`
  (Pinheiro and Collobert, CVPR 2015), lies between the window mean
  (:math:`\beta \to 0`) and the window maximum (:math:`\beta \to \infty`);
* softmax pooling, :math:`\sum_{i \in w} \mathrm{softmax}(\beta x)_i \, x_i`
  (the weighting of SoftPool: Stergiou, Poppe and Kalliatakis, ICCV 2021,
  who use :math:`\beta = 1`), is a weighted mean whose weights move from uniform
  (:math:`\beta = 0`) to all on the maximum (:math:`\beta \to \infty`).

Unlike max pooling, both pass a gradient to every element of the window.

Every layer here is computed on the window tensor of the same sliding-window
primitive as the ops of :mod:`poolkit.functional`.
"""

import math

import torch
import torch.nn.functional as F

from . import _windows as W
from . import functional as P
from ._arguments import as_stride, as_tuple, check_bool, check_input, check_positive

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



def _windows(op, input, kernel_size, stride, ceil_mode, beta):
    x, batched = check_input(op, input, 2)
    kernel = as_tuple(op, "kernel_size", kernel_size, 2)
    steps = as_stride(op, stride, kernel, 2)
    check_positive(op, "kernel_size", kernel)
    check_positive(op, "stride", steps)
    check_bool(op, "ceil_mode", ceil_mode)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise TypeError(f"{op}: beta must be a number, got beta={beta!r}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"{op}: beta must be positive and finite, got beta={beta!r}")
    try:
        windows = [W.sliding(n, k, s, 0, 1, ceil_mode) for n, k, s in zip(x.shape[2:], kernel, steps)]
    except ValueError as error:
        raise ValueError(f"{op}: {error} (input of shape {tuple(input.shape)}, kernel_size={kernel})") from None
    values = W.gather(x, windows, float("-inf")).flatten(-2)           # (N, C, H_out, W_out, k_h * k_w)
    valid = W.valid_mask(windows).flatten(-2).to(x.device)            # ceil mode: slots past the end
    return values, valid, batched


def logsumexp_pool2d(input, kernel_size, beta=1.0, stride=None, ceil_mode=False):
    r"""Log-sum-exp pooling: :math:`\frac{1}{\beta}\log\left(\frac{1}{n}\sum e^{\beta x_i}\right)`
    over each window's :math:`n` elements.

    Args:
        input: floating-point ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: window, an int or a pair.
        beta: positive, finite sharpness; small: close to the mean, large: close to the max.
        stride: step between windows; ``None`` means ``kernel_size``.
        ceil_mode: as in :func:`poolkit.output_size`; a window cut by the edge
            averages over the elements it holds.

    Returns:
        ``(N, C, H_out, W_out)`` (or without ``N``), each value between the
        window's mean and its maximum: :math:`\max - \log(n)/\beta \le` output :math:`\le \max`.
    """
    values, valid, batched = _windows("logsumexp_pool2d", input, kernel_size, stride, ceil_mode, beta)
    count = valid.sum(-1).to(values.dtype)
    out = (torch.logsumexp(beta * values, dim=-1) - torch.log(count)) / beta
    return out if batched else out.squeeze(0)


def softmax_pool2d(input, kernel_size, beta=1.0, stride=None, ceil_mode=False):
    r"""Softmax pooling: the mean of each window weighted by :math:`\mathrm{softmax}(\beta x)`.

    Args:
        input, kernel_size, beta, stride, ceil_mode: as in :func:`logsumexp_pool2d`.

    Returns:
        ``(N, C, H_out, W_out)`` (or without ``N``), each value between the
        window's mean (:math:`\beta \to 0`) and its maximum (:math:`\beta \to \infty`).
    """
    values, valid, batched = _windows("softmax_pool2d", input, kernel_size, stride, ceil_mode, beta)
    weights = torch.softmax(beta * values, dim=-1)                     # -inf slots weigh 0
    out = (weights * torch.where(valid, values, 0)).sum(-1)
    return out if batched else out.squeeze(0)
