r"""Smooth maxima: pooling ops that move from the average to the maximum as a
temperature parameter :math:`\beta` grows.

* log-sum-exp pooling, :math:`\frac{1}{\beta}\log\frac{1}{|w|}\sum_{i \in w} e^{\beta x_i}`
  (Pinheiro and Collobert, CVPR 2015), lies between the window mean
  (:math:`\beta \to 0`) and the window maximum (:math:`\beta \to \infty`);
* softmax pooling, :math:`\sum_{i \in w} \mathrm{softmax}(\beta x)_i \, x_i`
  (the weighting of SoftPool: Stergiou, Poppe and Kalliatakis, ICCV 2021,
  who use :math:`\beta = 1`), is a weighted mean whose weights move from uniform
  (:math:`\beta = 0`) to all on the maximum (:math:`\beta \to \infty`).

Unlike max pooling, both pass a gradient to every element of the window.
Both use the window tensor of :mod:`poolkit.windows`, without padding.
"""

import math

import torch

from . import windows as W
from .arguments import as_stride, as_tuple, check_bool, check_input, check_positive


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
