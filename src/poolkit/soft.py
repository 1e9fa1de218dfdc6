"""Smooth pooling between the mean and the maximum of a window.

For the ``n`` elements ``x_i`` of a window and a sharpness ``beta > 0``:

* log-sum-exp pooling, ``(1/beta) * log((1/n) * sum_i exp(beta * x_i))``;
* softmax pooling, ``sum_i softmax(beta * x)_i * x_i``, the mean of the window
  weighted by the softmax of its elements.

Both lie between the window's mean and its maximum, tend to the mean as
``beta -> 0`` and to the maximum as ``beta -> inf``. Both reduce the windows of
:mod:`poolkit.windows`, as every other pooling op does, with the maximum
subtracted before ``exp`` so that no intermediate overflows.
"""

import math

import torch

from . import windows as W
from .arguments import check_input
from .functional import _finish, _pool_windows


def _windows(op, X, kernel_size, beta, stride):
    """``(N, C, H_out, W_out, n)`` windows of ``X`` (no padding), whether ``X`` had a
    batch axis, and the checked ``beta``."""
    x, batched = check_input(op, X, 2)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (0 < beta < math.inf):
        raise ValueError(f"{op}: beta must be a positive finite number, got beta={beta!r}")
    windows = _pool_windows(op, x, 2, kernel_size, stride, 0, 1, False)
    return W.gather(x, windows, 0.0).flatten(-2), batched, float(beta)


def lse_pool2d(X, kernel_size, beta, stride=None):
    """Log-sum-exp pooling of an ``(N, C, H, W)`` or ``(C, H, W)`` tensor, without padding.

    Args:
        X: floating tensor of shape ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride: ints or pairs; ``stride=None`` means ``kernel_size``.
        beta: sharpness, a positive finite number.

    Returns:
        ``(N, C, H_out, W_out)``, each entry
        ``(1/beta) * log(mean(exp(beta * window)))``. For a very small ``beta``
        the subtraction of ``log(n)`` cancels most digits: in float32, stay
        above ``beta = 1e-3`` or use float64.
    """
    windows, batched, beta = _windows("lse_pool2d", X, kernel_size, beta, stride)
    n = windows.shape[-1]
    return _finish((torch.logsumexp(beta * windows, dim=-1) - math.log(n)) / beta, batched)


def softmax_pool2d(X, kernel_size, beta, stride=None):
    """Softmax pooling: each window's elements weighted by ``softmax(beta * window)``.

    Arguments and shape as in :func:`lse_pool2d`.
    """
    windows, batched, beta = _windows("softmax_pool2d", X, kernel_size, beta, stride)
    return _finish((torch.softmax(beta * windows, dim=-1) * windows).sum(dim=-1), batched)
