r"""Four ways to take the maximum over every window of a stride-1 pool.

The chapter on speed compares them. Each computes
``torch.nn.functional.max_pool2d(x, k, stride=1, padding=k // 2)`` for an odd
``k`` (the "same"-size pooling of YOLO's SPP block), and each is written in
plain tensor operations over the whole input, without poolkit's cache
blocking, so that the algorithms, not the engineering, are compared:

* ``"direct"``: one op per window slot, :math:`k^2 - 1` comparisons per output;
* ``"separable"``: slots along the rows, then along the columns, :math:`2(k - 1)`;
* ``"doubling"``: windows of width 1, 2, 4, ... along each axis, :math:`2\lceil \log_2 k \rceil`;
* ``"van_herk"``: running maxima within blocks of ``k`` (van Herk, *Pattern
  Recognition Letters* 13(7), 1992; found independently by Gil and Werman,
  *IEEE TPAMI* 15(5), 1993), :math:`2(3 - 2/k)` for the version here, whatever
  the window (the papers' refinements need fewer).

On inputs without NaN and without -0.0 all four give PyTorch's bits: the
maximum of a set of such numbers does not depend on the order of the
comparisons. (:mod:`poolkit._separable` handles NaN and -0.0 too.)
"""

import torch
import torch.nn.functional as F

from .._arguments import check_int
from .._doubling import doubling_widths

METHODS = ("direct", "separable", "doubling", "van_herk")


def comparisons(method, kernel_size, dims=2):
    r"""Comparisons per output of ``method`` for a ``kernel_size`` window in ``dims`` dimensions.

    Doubling takes one comparison per step of :func:`doubling_widths`, :math:`\lceil \log_2 k \rceil`.
    """
    _check_method(method)
    k = check_int("kernel_size", kernel_size, minimum=1, op="comparisons")
    dims = check_int("dims", dims, minimum=1, op="comparisons")
    if method == "direct":
        return k**dims - 1
    per_axis = {"separable": k - 1, "doubling": len(doubling_widths(k)) - 1, "van_herk": 3 - 2 / k}[method]
    return dims * per_axis


def _slots(x, dim, k, out):
    result = x.narrow(dim, 0, out).clone()
    for j in range(1, k):
        torch.maximum(result, x.narrow(dim, j, out), out=result)
    return result


def _doubling(x, dim, k, out):
    widths = doubling_widths(k)
    for before, after in zip(widths, widths[1:]):
        shift = after - before                   # the last step may overlap the first half
        n = x.shape[dim] - shift
        x = torch.maximum(x.narrow(dim, 0, n), x.narrow(dim, shift, n))
    return x.narrow(dim, 0, out)


def _van_herk(x, dim, k, out):
    x = x.movedim(dim, -1)
    n = x.shape[-1]
    blocks = -(-n // k)
    x = F.pad(x, (0, blocks * k - n), value=float("-inf")).unflatten(-1, (blocks, k))
    ahead = x.cummax(-1).values.flatten(-2)                  # max from the block's start to here
    behind = x.flip(-1).cummax(-1).values.flip(-1).flatten(-2)  # max from here to the block's end
    # A window [i, i + k) spans at most two blocks: behind[i] covers its part in the first, ahead[i + k - 1] the rest.
    return torch.maximum(behind[..., :out], ahead[..., k - 1: k - 1 + out]).movedim(-1, dim)


def max_filter2d(x, kernel_size, method):
    """``max_pool2d(x, kernel_size, stride=1, padding=kernel_size // 2)`` of ``(N, C, H, W)`` ``x``, by ``method``."""
    _check_method(method)
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.dtype.is_floating_point:
        raise TypeError(f"max_filter2d: x must be a floating-point (N, C, H, W) tensor, got "
                        f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
    k = check_int("kernel_size", kernel_size, minimum=1, op="max_filter2d")
    if k % 2 == 0:
        raise ValueError(f"max_filter2d: kernel_size must be odd, got kernel_size={k}")
    p = k // 2
    h, w = x.shape[2:]
    padded = F.pad(x, (p, p, p, p), value=float("-inf"))
    if method == "direct":
        result = padded[..., :h, :w].clone()
        for i in range(k):
            for j in range(k):
                if i or j:
                    torch.maximum(result, padded[..., i: i + h, j: j + w], out=result)
        return result
    one_axis = {"separable": _slots, "doubling": _doubling, "van_herk": _van_herk}[method]
    return one_axis(one_axis(padded, 3, k, w), 2, k, h)


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}")
