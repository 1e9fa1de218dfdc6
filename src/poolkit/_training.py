r"""Indices and gradients on the separable path, for training.

:mod:`poolkit._separable` gives values only. Training needs two more things,
and this module gives both without a tensor of windows:

**Indices.** Max pooling one dimension at a time, innermost first, keeps the
flat index of the chosen element beside its value. Each step compares two
candidates, ``a`` (earlier in the window) and ``b`` (later), and takes ``b``
when ``b > a`` or ``b`` is NaN: the rule of PyTorch's CPU kernels
(``aten/src/ATen/native/cpu/MaxPoolKernel.cpp``), which scan a window in
memory order and so keep its *first* maximum, or its *last* NaN. The rule is
associative, and it stays right when the two candidates' windows overlap (the
doubling steps): a maximum in the overlap is in ``a``, which wins a tie. An
axis is scanned slot by slot, or, at stride 1, doubled. One case needs a
repair: PyTorch starts every window at its first real element with the value
:math:`-\infty`, so a window whose maximum is :math:`-\infty` points at that
element, never at padding. Here such a window gets that index afterwards (or
``-1`` if it holds no real element, as in :func:`poolkit._windows.reduce_max`).

**Gradients.** Max pooling's gradient adds each output's gradient at its
index (``scatter_add``), in the order of the outputs, as PyTorch's backward
kernel does; the sums are PyTorch's bit for bit. The window sum's gradient
is the transposed window sum: along each axis, output ``o`` sends its
gradient to the slots of its window. With the gradient spread ``stride``
apart (zeros between), that is a window sum again, of the same width and
dilation at stride 1, which the separable sum computes. Average pooling
divides by PyTorch's divisor first, as PyTorch's backward does, and adds in
another order, within :func:`poolkit._separable.sum_error_bound`.

Both work in blocks of planes, so that beside the output and the indices a
call holds scratch of the order of a block
(:data:`poolkit._separable.BLOCK_BYTES`), and nothing of the size of
(outputs x window). The backward passes are autograd functions whose own
backward is again one of these functions, so double backward, ``gradcheck``
and ``gradgradcheck`` work.
"""

import math

import torch
import torch.nn.functional as F

from . import _separable as S
from ._doubling import doubling_steps
from ._layout import channels_last_strides
from ._windows import Windows

_NEG_INF = float("-inf")


def _along(t, axis, start, count, step=1):
    """``t``'s entries ``start, start + step, ...`` (``count`` of them) along ``axis``."""
    index = [slice(None)] * t.dim()
    index[axis] = slice(start, start + (count - 1) * step + 1, step)
    return t[tuple(index)]


def _pad(t, axis, left, right, value):
    if left == 0 and right == 0:
        return t
    return F.pad(t, [0, 0] * (t.dim() - 1 - axis) + [left, right], value=value)


def _positions(count, axis, ndim, start, step, device):
    """``start + step * o`` for ``o < count``, as a tensor that broadcasts along ``axis``."""
    shape = [1] * ndim
    shape[axis] = count
    return (torch.arange(count, device=device) * step + start).view(shape)


def _combine(a, ia, b, ib, nan):
    """PyTorch's rule for one comparison: ``b`` if ``b > a`` or ``b`` is NaN, else ``a``."""
    take = torch.gt(b, a)
    if nan:
        take |= torch.isnan(b)
    return torch.where(take, b, a), torch.where(take, ib, ia)


def _max_axis(v, i, axis, w, stride, nan):
    """Max pool ``v`` along ``axis`` with the windows ``w``, carrying the flat indices.

    ``i`` holds, for every entry of ``v``, the index contributions of the axes
    pooled so far (``None``: no axis yet); an entry's position along ``axis``
    adds ``position * stride``."""
    v = _pad(v, axis, w.left, w.right, _NEG_INF)
    along = i is not None and i.shape[axis] > 1     # else i is the same all along the axis
    if along:
        i = _pad(i, axis, w.left, w.right, 0)       # what padding's index is does not matter

    def index(first, count, step):          # the flat index of entries first, first + step, ... of v
        where = _positions(count, axis, v.dim(), first - w.left, step, v.device) * stride
        if i is None:
            return where
        return (_along(i, axis, first, count, step) if along else i) + where

    if w.step == 1 and w.width > 2:         # doubling: windows of 1, 2, 4, ... slots at every position
        size = v.shape[axis]
        iv = index(0, size, 1)
        for shift in doubling_steps(w.width):
            shift *= w.dilation
            size -= shift
            v, iv = _combine(_along(v, axis, 0, size), _along(iv, axis, 0, size),
                             _along(v, axis, shift, size), _along(iv, axis, shift, size), nan)
        return _along(v, axis, 0, w.out), _along(iv, axis, 0, w.out)
    best, best_i = _along(v, axis, 0, w.out, w.step), index(0, w.out, w.step)
    for j in range(1, w.width):
        start = j * w.dilation
        best, best_i = _combine(best, best_i, _along(v, axis, start, w.out, w.step),
                                index(start, w.out, w.step), nan)
    return best, best_i


def _first_real(windows, device):
    """``(*out)`` int64: the flat index of each window's first real element, -1 if it has none."""
    flat, stride, empty = 0, 1, None
    for axis, w in reversed(list(enumerate(windows))):
        start = torch.arange(w.out, device=device) * w.step - w.left
        first = torch.where(start < 0, start + ((-start + w.dilation - 1) // w.dilation) * w.dilation, start)
        missing = (first >= w.size) | (first > start + (w.width - 1) * w.dilation)
        shape = [1] * len(windows)
        shape[axis] = w.out
        flat = flat + (first * stride).view(shape)
        missing = missing.view(shape)
        empty = missing if empty is None else empty | missing
        stride *= w.size
    return torch.where(empty, -1, flat)


def max_pool_with_indices(x, windows):
    """Values and PyTorch's int64 indices of max pooling ``(N, C, *spatial)`` ``x``, on
    the separable path: bit for bit :func:`poolkit._windows.reduce_max`, in blocks."""
    windows = [w.trimmed() for w in windows]
    dims = len(windows)
    work, out, result = S._layout(x, dims, [w.out for w in windows])
    index_out = torch.empty(out.shape, dtype=torch.int64, device=x.device)
    if channels_last_strides(x.shape, x.stride()):           # as S._layout lays out the values
        indices = index_out.permute(0, dims + 1, *range(1, dims + 1))
    else:
        indices = index_out.view(result.shape)
    if out.numel() == 0:
        return result, indices
    strides, stride = [], 1
    for w in reversed(windows):
        strides.insert(0, stride)
        stride *= w.size
    repair = None
    if not all(w.full for w in windows):
        repair = _first_real(windows, x.device).view(1, *out.shape[1:-1], 1)
    padded = [w.left + w.size + w.right for w in windows]
    plane = math.prod(padded) * work.shape[-1] * 8
    block = max(1, min(work.shape[0], S.BLOCK_BYTES // plane))
    for start in range(0, work.shape[0], block):
        v, i = work[start: start + block], None
        nan = bool(torch.isnan(v.amax())) if v.numel() else False
        for axis in reversed(range(1, dims + 1)):               # innermost first, as PyTorch scans
            v, i = _max_axis(v, i, axis, windows[axis - 1], strides[axis - 1], nan)
        i = i.expand(v.shape)
        if repair is not None:
            i = torch.where(v == _NEG_INF, repair, i)
        out[start: start + block] = v
        index_out[start: start + block] = i
    return result, indices


def max_pool_backward(grad, indices, input_shape, windows):
    """The gradient of max pooling with respect to its ``(N, C, *spatial)`` input: each
    output's gradient added at its index, in the order of the outputs (PyTorch's
    order, so the sums are PyTorch's bit for bit). Made of differentiable ops, so its
    own gradient (with respect to ``grad``) is a gather at the indices."""
    n, c = input_shape[:2]
    plane, outputs = math.prod(input_shape[2:]), math.prod(indices.shape[2:])
    if any(w.empty for w in windows):                       # index -1: no element, no gradient
        missing = indices < 0
        grad, indices = grad.masked_fill(missing, 0), indices.clamp(min=0)
    if indices.dim() > 3 and channels_last_strides(indices.shape, indices.stride()):
        g, i = grad.movedim(1, -1).reshape(n, outputs, c), indices.movedim(1, -1).reshape(n, outputs, c)
        result = grad.new_zeros(n, plane, c).scatter_add_(1, i, g)
        return result.view(n, *input_shape[2:], c).movedim(-1, 1)
    g, i = grad.reshape(n, c, outputs), indices.reshape(n, c, outputs)
    return grad.new_zeros(n, c, plane).scatter_add_(2, i, g).view(input_shape)


def window_sum_transposed(grad, windows, input_shape):
    """The adjoint of the window sum: each output's ``grad`` sent to every real slot of
    its window, summed per input element. ``(N, C, *out)`` to ``input_shape``.

    Along an axis, output ``o``'s slot ``j`` is input position ``o * s - p + j * d``.
    Spread ``grad`` ``s`` apart, with zeros between: then input position ``i``
    gathers the spread entries ``i + p - j * d``, a window of the same width and
    dilation at stride 1, with ``(k - 1) d - p`` positions of padding on the left.
    """
    windows = [w.trimmed() for w in windows]
    n, c = input_shape[:2]
    if grad.numel() == 0 or math.prod(input_shape) == 0:
        return grad.new_zeros(input_shape)
    if any(w.step > 1 for w in windows):
        spread = grad.new_zeros(n, c, *((w.out - 1) * w.step + 1 for w in windows))
        if channels_last_strides(grad.shape, grad.stride()):
            spread = spread.contiguous(memory_format=torch.channels_last if grad.dim() == 4 else
                                       torch.channels_last_3d)
        spread[(slice(None), slice(None), *(slice(None, None, w.step) for w in windows))] = grad
        grad = spread
    records = [Windows(size=grad.shape[2 + a], out=input_shape[2 + a], width=w.width, step=1,
                       dilation=w.dilation, left=(w.width - 1) * w.dilation - w.left)
               for a, w in enumerate(windows)]
    return S._pool(grad, records, "auto", "sum")


class _MaxPool(torch.autograd.Function):
    """Max pooling with indices on the separable path; backward by :func:`max_pool_backward`."""

    @staticmethod
    def forward(x, windows):
        return max_pool_with_indices(x, windows)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, windows = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(output[1])
        ctx.input_shape, ctx.windows = x.shape, windows

    @staticmethod
    def backward(ctx, grad, _):
        (indices,) = ctx.saved_tensors
        return max_pool_backward(grad, indices, ctx.input_shape, ctx.windows), None


class _WindowSum(torch.autograd.Function):
    """Window sums on the separable path (float32, float64); backward by the transposed sum."""

    @staticmethod
    def forward(x, windows):
        return S._pool(x, windows, "auto", "sum")

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.input_shape, ctx.windows = inputs[0].shape, inputs[1]

    @staticmethod
    def backward(ctx, grad):
        return _WindowSumTransposed.apply(grad, ctx.windows, ctx.input_shape), None


class _WindowSumTransposed(torch.autograd.Function):
    """:func:`window_sum_transposed`, whose own backward is the window sum again."""

    @staticmethod
    def forward(grad, windows, input_shape):
        return window_sum_transposed(grad, windows, input_shape)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.windows = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        return _WindowSum.apply(grad, ctx.windows), None, None


def max_pool(x, windows, track):
    """``(values, indices)`` of max pooling on the separable path; ``track``: record it for autograd."""
    return _MaxPool.apply(x, tuple(windows)) if track else max_pool_with_indices(x, windows)


def window_sum(x, windows):
    """Window sums on the separable path, recorded for autograd (float32 and float64)."""
    return _WindowSum.apply(x, tuple(windows))
