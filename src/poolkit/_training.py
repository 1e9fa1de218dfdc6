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
gradient to the slots of its window. At stride 1 that is a window sum again,
of the same width and dilation, which the separable sum computes; otherwise
one strided addition per window slot and axis does it. Average pooling
divides by PyTorch's divisor first, as PyTorch's backward does, and adds in
another order, within :func:`poolkit._separable.sum_error_bound`.

The forward passes work in blocks of planes (:data:`TRAINING_BLOCK_BYTES`),
so that beside the output and the indices a call holds scratch of the order of
a block (for channels-last input, at least one sample), and nothing of the
size of (outputs x window); a backward pass holds the input's gradient and,
at stride 2 or more, partial results for a few samples at a time. Max pooling's backward is made of
differentiable operations (its own gradient is a gather at the indices);
average pooling's backward is an autograd function whose own backward is the
average again. So double backward, ``gradcheck`` and ``gradgradcheck`` work.
"""

import functools
import math

import torch
import torch.nn.functional as F

from . import _separable as S
from ._doubling import doubling_steps
from ._layout import channels_last_strides
from ._windows import Windows

_NEG_INF = float("-inf")
TRAINING_BLOCK_BYTES = S.BLOCK_BYTES // 4
"""Blocks a quarter of the fast path's: a step of training holds a block's scratch
for the forward and for the backward pass, beside tensors about the input's size."""


def _along(t, axis, start, count, step=1):
    """``t``'s entries ``start, start + step, ...`` (``count`` of them) along ``axis``."""
    index = [slice(None)] * t.dim()
    index[axis] = slice(start, start + (count - 1) * step + 1, step)
    return t[tuple(index)]


def _pad(t, axis, left, right, value):
    if left == 0 and right == 0:
        return t
    return F.pad(t, [0, 0] * (t.dim() - 1 - axis) + [left, right], value=value)


def _combine(a, ca, b, cb, clean):
    """PyTorch's rule for one comparison: ``b`` if ``b > a`` or ``b`` is NaN, else ``a``;
    the codes ``ca``, ``cb`` go with the values.

    ``clean``: the block holds no NaN and no -0.0, so that ``torch.maximum`` gives
    the rule's bits. (``torch.where`` is several times slower than arithmetic on
    the CPU, so the codes are chosen by arithmetic: ``ca + take * (cb - ca)``.)"""
    take = torch.gt(b, a)
    if clean:
        values = torch.maximum(a, b)
    else:
        take |= torch.isnan(b)
        values = torch.where(take, b, a)
    codes = cb - ca
    codes = codes * take if codes.dim() else take * codes
    return values, codes.add_(ca)


def _max_axis(v, code, axis, w, scale, clean, dtype):
    """Max pool ``v`` along ``axis`` with the windows ``w``, carrying codes.

    A value's code is how far, in flat index, its element lies from its
    window's slot 0, over the axes pooled so far (``None`` before the first
    axis: every code 0). Along this axis slot ``j`` adds ``j * scale``, where
    ``scale`` is the dilation times the axis' stride in the flat index. The
    codes are ``dtype`` (int32 where the planes allow: half the traffic of int64)."""
    v = _pad(v, axis, w.left, w.right, _NEG_INF)
    along = code is not None and code.dim() > 0 and code.shape[axis] > 1   # else the same all along the axis
    if along:
        code = _pad(code, axis, w.left, w.right, 0)         # a padding's code does not matter

    def codes(first, count, step, slot):    # the codes of entries first, first + step, ... of v, for a slot
        added = torch.tensor(slot * scale, dtype=dtype, device=v.device)
        if code is None:
            return added
        base = _along(code, axis, first, count, step) if along else code
        return base + added if slot else base

    if w.step == 1 and w.width > 2:         # doubling: windows of 1, 2, 4, ... slots at every position
        size, c = v.shape[axis], None
        for shift in doubling_steps(w.width):
            size -= shift * w.dilation
            a, b = _along(v, axis, 0, size), _along(v, axis, shift * w.dilation, size)
            if c is None:                   # b's window starts `shift` slots after a's
                ca, cb = codes(0, size, 1, 0), codes(shift * w.dilation, size, 1, shift)
            else:
                ca, cb = _along(c, axis, 0, size), _along(c, axis, shift * w.dilation, size) + shift * scale
            v, c = _combine(a, ca, b, cb, clean)
        return _along(v, axis, 0, w.out), _along(c, axis, 0, w.out)
    best, best_c = _along(v, axis, 0, w.out, w.step), codes(0, w.out, w.step, 0)
    for j in range(1, w.width):
        start = j * w.dilation
        best, best_c = _combine(best, best_c, _along(v, axis, start, w.out, w.step),
                                codes(start, w.out, w.step, j), clean)
    return best, best_c


def _base(windows, strides, device):
    """``(*out)`` int64: the flat index of each window's slot 0 (padding or not)."""
    base = 0
    for axis, w in enumerate(windows):
        shape = [1] * len(windows)
        shape[axis] = w.out
        base = base + ((torch.arange(w.out, device=device) * w.step - w.left) * strides[axis]).view(shape)
    return base


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


def _plane_strides(windows):
    """How far apart neighbours along each axis are in a plane's flat index."""
    strides, stride = [], 1
    for w in reversed(windows):
        strides.insert(0, stride)
        stride *= w.size
    return strides


@functools.lru_cache(maxsize=64)
def _tables(windows, device):
    """``(base, repair, dtype)`` for trimmed ``windows``: :func:`_base` and :func:`_first_real`
    shaped to broadcast over a block (``repair`` is None when no window reads padding),
    and the type of the codes. Remembered, as a network asks for the same windows at
    every step; the tables are never written to."""
    strides = _plane_strides(windows)
    shape = (1, *(w.out for w in windows), 1)
    with torch.inference_mode(False):           # usable inside and outside inference mode
        base = _base(windows, strides, device).view(shape)
        repair = None if all(w.full for w in windows) else _first_real(windows, device).view(shape)
    size = math.prod(w.size for w in windows)
    return base, repair, torch.int32 if size < 2**31 else torch.int64


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
    base, repair, dtype = _tables(tuple(windows), x.device)
    strides = _plane_strides(windows)
    padded = [w.left + w.size + w.right for w in windows]
    plane = math.prod(padded) * work.shape[-1] * x.element_size()
    block = max(1, min(work.shape[0], TRAINING_BLOCK_BYTES // plane))
    for start in range(0, work.shape[0], block):
        v, code = work[start: start + block], None
        clean = S.is_clean(v)
        for axis in reversed(range(1, dims + 1)):               # innermost first, as PyTorch scans
            w = windows[axis - 1]
            v, code = _max_axis(v, code, axis, w, w.dilation * strides[axis - 1], clean, dtype)
        i = index_out[start: start + block]
        if code.shape == i.shape:
            torch.add(code, base, out=i)
        else:                                                   # codes the same all along some axis
            i.copy_(code + base)
        if repair is not None:
            lowest = v == _NEG_INF
            if lowest.any():
                torch.where(lowest, repair, i, out=i)
        out[start: start + block] = v
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


def _transposed_axis(grad, axis, w, size, out=None):
    """Along ``axis``, send each output's ``grad`` to the real slots of its window: output
    ``o``'s slot ``j`` is position ``o * step - left + j * dilation``, kept if in ``0 .. size - 1``.
    The sums go to ``out`` if given (overwritten), else to a new tensor."""
    if out is None:
        shape = list(grad.shape)
        shape[axis] = size
        out = grad.new_empty(shape)
    result = out.zero_()
    for j in range(w.width):
        first = j * w.dilation - w.left                    # the position output 0's slot j reads
        lo = max(0, -(first // w.step))                     # the first output whose slot j is real
        hi = min(w.out, (size - 1 - first) // w.step + 1) if size - 1 >= first else 0
        if hi > lo:
            _along(result, axis, first + lo * w.step, hi - lo, w.step).add_(_along(grad, axis, lo, hi - lo))
    return result


def window_sum_transposed(grad, windows, input_shape, divisor=None):
    """The adjoint of the window sum: each output's ``grad`` (divided by ``divisor``, a
    number or a tensor over the output's spatial axes, if given) sent to every real
    slot of its window, summed per input element. ``(N, C, *out)`` to ``input_shape``.

    With stride 1 along every axis this is again a window sum, of the same width
    and dilation, over ``grad`` with ``(k - 1) d - p`` positions of padding on the
    left (input position ``i`` gathers outputs ``i + p - j d``), done by the
    separable sum in blocks. Otherwise it goes one axis at a time, one strided
    addition per window slot, a few samples at a time, so that the partial
    results stay small.
    """
    windows = [w.trimmed() for w in windows]
    if grad.numel() == 0 or math.prod(input_shape) == 0:
        return grad.new_zeros(input_shape)
    if all(w.step == 1 for w in windows):
        records = [Windows(size=w.out, out=input_shape[2 + a], width=w.width, step=1,
                           dilation=w.dilation, left=(w.width - 1) * w.dilation - w.left)
                   for a, w in enumerate(windows)]
        return S._pool(grad, records, "auto", "sum", block_bytes=TRAINING_BLOCK_BYTES, input_divisor=divisor)
    layout = torch.contiguous_format
    if grad.dim() in (4, 5) and channels_last_strides(grad.shape, grad.stride()):   # keep the gradient's layout
        layout = torch.channels_last if grad.dim() == 4 else torch.channels_last_3d
    result = torch.empty(input_shape, dtype=grad.dtype, device=grad.device, memory_format=layout)
    sample = math.prod(input_shape[1:]) * grad.element_size()
    chunk = max(1, TRAINING_BLOCK_BYTES // sample)
    for start in range(0, input_shape[0], chunk):
        part = grad[start: start + chunk]
        if divisor is not None:
            part = part / divisor
        for axis in reversed(range(1, len(windows))):
            part = _transposed_axis(part, 2 + axis, windows[axis], input_shape[2 + axis])
        _transposed_axis(part, 2, windows[0], input_shape[2], out=result[start: start + chunk])
    return result


# The functions below take ``ctx`` in forward (not a separate setup_context): apply()
# then skips binding its arguments by signature, which costs more than a small pool.

class _MaxPool(torch.autograd.Function):
    """Max pooling with indices on the separable path; backward by :func:`max_pool_backward`."""

    @staticmethod
    def forward(ctx, x, windows):
        values, indices = max_pool_with_indices(x, windows)
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.input_shape, ctx.windows = x.shape, windows
        return values, indices

    @staticmethod
    def backward(ctx, grad, _):
        (indices,) = ctx.saved_tensors
        return max_pool_backward(grad, indices, ctx.input_shape, ctx.windows), None


class _Average(torch.autograd.Function):
    """Window sums on the separable path (float32, float64), each divided by ``divisor``
    (a number, a tensor that broadcasts over the output's spatial axes, or None);
    backward by the transposed sum of the divided gradient, as PyTorch divides first."""

    @staticmethod
    def forward(ctx, x, windows, divisor):
        ctx.input_shape, ctx.windows, ctx.divisor = x.shape, windows, divisor
        return S._pool(x, windows, "auto", "sum", divisor, block_bytes=TRAINING_BLOCK_BYTES)

    @staticmethod
    def backward(ctx, grad):
        return _AverageTransposed.apply(grad, ctx.windows, ctx.input_shape, ctx.divisor), None, None


class _AverageTransposed(torch.autograd.Function):
    """:func:`window_sum_transposed`, whose own backward is the average again."""

    @staticmethod
    def forward(ctx, grad, windows, input_shape, divisor):
        ctx.windows, ctx.divisor = windows, divisor
        return window_sum_transposed(grad, windows, input_shape, divisor)

    @staticmethod
    def backward(ctx, grad):
        return _Average.apply(grad, ctx.windows, ctx.divisor), None, None, None


def max_pool(x, windows, track):
    """``(values, indices)`` of max pooling on the separable path; ``track``: record it for autograd."""
    return _MaxPool.apply(x, tuple(windows)) if track else max_pool_with_indices(x, windows)


def average(x, windows, divisor):
    """Window sums divided by ``divisor`` on the separable path, recorded for autograd
    (float32 and float64)."""
    return _Average.apply(x, tuple(windows), divisor)
