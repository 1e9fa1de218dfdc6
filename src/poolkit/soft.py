"""Smooth pooling between the mean and the maximum of a window.

For the ``n`` elements ``x_i`` of a window and a sharpness ``beta > 0``:

* log-sum-exp pooling, ``(1/beta) * log((1/n) * sum_i exp(beta * x_i))``;
* softmax pooling, ``sum_i softmax(beta * x)_i * x_i``, the mean of the window
  weighted by the softmax of its elements.

Both lie between the window's mean and its maximum, tend to the mean as
``beta -> 0`` and to the maximum as ``beta -> inf``. Both are computed on
windows cut out by ``torch.nn.functional.unfold``, with the maximum subtracted
before ``exp`` so that no intermediate overflows.
"""

import math

import torch
from torch.nn import functional as F


def _pair(name, value):
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {name}={value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be at least 1, got {name}={value!r}")
    return tuple(pair)


def _windows(X, kernel_size, beta, stride):
    """``(N, C, n, H_out, W_out)`` windows of ``X`` and the checked ``beta``."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    if X.dim() != 4 or not X.dtype.is_floating_point:
        raise ValueError(f"X must be a floating (N, C, H, W) tensor, got {X.dtype} of shape {tuple(X.shape)}")
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (0 < beta < math.inf):
        raise ValueError(f"beta must be a positive finite number, got beta={beta!r}")
    k = _pair("kernel_size", kernel_size)
    s = k if stride is None else _pair("stride", stride)
    n, c, h, w = X.shape
    if k[0] > h or k[1] > w:
        raise ValueError(f"kernel_size={k} does not fit into an input of height {h} and width {w}")
    h_out, w_out = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    cols = F.unfold(X, k, stride=s)                                 # (N, C * k_h * k_w, L)
    return cols.reshape(n, c, k[0] * k[1], h_out, w_out), float(beta)


def lse_pool2d(X, kernel_size, beta, stride=None):
    """Log-sum-exp pooling of an ``(N, C, H, W)`` tensor, without padding.

    Args:
        X: floating tensor of shape ``(N, C, H, W)``.
        kernel_size, stride: ints or pairs; ``stride=None`` means ``kernel_size``.
        beta: sharpness, a positive finite number.

    Returns:
        ``(N, C, H_out, W_out)``, each entry
        ``(1/beta) * log(mean(exp(beta * window)))``. For a very small ``beta``
        the subtraction of ``log(n)`` cancels most digits: in float32, stay
        above ``beta = 1e-3`` or use float64.
    """
    windows, beta = _windows(X, kernel_size, beta, stride)
    n = windows.shape[2]
    return (torch.logsumexp(beta * windows, dim=2) - math.log(n)) / beta


def softmax_pool2d(X, kernel_size, beta, stride=None):
    """Softmax pooling: each window's elements weighted by ``softmax(beta * window)``.

    Arguments and shape as in :func:`lse_pool2d`.
    """
    windows, beta = _windows(X, kernel_size, beta, stride)
    return (torch.softmax(beta * windows, dim=2) * windows).sum(dim=2)
