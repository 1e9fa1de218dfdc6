"""Windows as tensor axes: the one primitive behind every pooling op.

Every op turns its ``(N, C, *spatial)`` input into a tensor of shape
``(N, C, *out, *window)``: one window of input elements per output position,
with the window axes last. The op is then a reduction over those last axes.

Each pooled dimension is described by a :class:`Windows` record: for output
position ``o`` and window slot ``j``, the input position read and whether that
position is a real element (not padding, not past the end of a bin). Two
builders make these records, :func:`sliding` for kernel/stride/padding/dilation
windows and :func:`adaptive` for adaptive pooling's bins, and one function,
:func:`gather`, turns them into the window tensor.

A record holds plain integers only. The ``(out, window)`` tables of positions
and of valid slots are computed from them when asked for, on the device asked
for, and never kept: a table made under tracing, under a fake-tensor mode or on
the meta device must not outlive the call that made it.
"""

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from ._shapes import output_size


@dataclass(frozen=True)
class Windows:
    """The windows of one pooled dimension.

    Attributes:
        size: length of the input along this dimension.
        out: number of windows (output positions).
        width: slots per window.
        step, dilation, left: for sliding windows, slot ``j`` of window ``o``
            reads input position ``o * step - left + j * dilation``; ``step`` is
            ``None`` for adaptive bins, where bin ``o`` covers positions
            ``floor(o * size / out)`` up to, not including, ``ceil((o + 1) * size / out)``,
            and slot ``j`` reads the ``j``-th of them.
        positions: ``(out, width)`` int64 CPU tensor, the position each slot reads.
        valid: ``(out, width)`` bool CPU tensor, False where a slot is padding or
            lies past the end of its bin.
    """

    size: int
    out: int
    width: int
    step: int = None
    dilation: int = 1
    left: int = 0

    @property
    def is_sliding(self):
        return self.step is not None

    @property
    def positions(self):
        return self.table("cpu")[0]

    @property
    def valid(self):
        return self.table("cpu")[1]

    def table(self, device):
        """``(positions, valid)``, both ``(out, width)``, built on ``device``."""
        o = torch.arange(self.out, device=device)[:, None]
        j = torch.arange(self.width, device=device)
        if self.is_sliding:
            positions = o * self.step - self.left + j * self.dilation
            return positions, (positions >= 0) & (positions < self.size)
        start = (o * self.size) // self.out
        end = -((-(o + 1) * self.size) // self.out)
        positions = start + j
        return positions, positions < end

    @property
    def right(self):
        """Positions of padding the windows read past the end of the input (sliding windows)."""
        reach = (self.out - 1) * self.step - self.left + (self.width - 1) * self.dilation + 1
        return max(reach - self.size, 0)

    @property
    def full(self):
        """True if every slot of every window reads a real element."""
        if self.is_sliding:
            return self.left <= 0 and self.right == 0
        return self.out > 0 and self.size % self.out == 0

    @property
    def empty(self):
        """The windows that read padding only, as a tuple of output positions.

        Decided from the integers alone. Window ``o`` starts at
        ``a = o * step - left``; if ``a`` lies in the input, its first slot is
        real. Otherwise its first slot at or past position 0 is slot
        ``ceil(-a / dilation)``, and the window is empty if there is no such
        slot or it lies past the end. Only windows starting in the left
        padding or past the input need that check, and for PyTorch's
        arguments (padding at most half the kernel) the left ones need it only
        when the dilation exceeds the input, where there are at most three
        windows.
        """
        if not self.is_sliding:
            return ()
        n, s, d, w, left = self.size, self.step, self.dilation, self.width, self.left

        def is_empty(o):
            a = o * s - left
            j = max(0, -(a // d))                       # ceil(-a / d), at least 0
            return j >= w or a + j * d >= n

        early = () if d <= n and (w - 1) * d >= left else range(min(self.out, -(-left // s)))
        late = range(max(-(-(n + left) // s), 0), self.out)
        return tuple(o for o in (*early, *late) if is_empty(o))

    def divisor(self, count_include_pad, device):
        """The number each window's sum is divided by: an int if it is the same for
        every window, else an ``(out,)`` int64 tensor on ``device``.

        Sliding windows follow average pooling's rule (``avg_pool2d`` in
        ``aten/src/ATen/native/cpu/AvgPoolKernel.cpp``): the slots of the window
        inside the padded input, or inside the input alone if not
        ``count_include_pad``; take it from the record as asked, not from
        :meth:`trimmed`. Adaptive bins divide by their width."""
        if not self.is_sliding:
            if self.out > 0 and self.size % self.out == 0:
                return self.size // self.out
            o = torch.arange(self.out, device=device)
            return -((-(o + 1) * self.size) // self.out) - (o * self.size) // self.out
        reach = (self.out - 1) * self.step - self.left + self.width      # end of the last window
        if count_include_pad and reach <= self.size + self.left:
            return self.width
        if not count_include_pad and self.left == 0 and reach <= self.size:
            return self.width
        start = torch.arange(self.out, device=device) * self.step - self.left
        end = torch.clamp(start + self.width, max=self.size + self.left)
        if not count_include_pad:
            start, end = start.clamp(min=0), end.clamp(max=self.size)
        return end - start

    def trimmed(self):
        """The same windows without the leading and trailing slots that read
        padding in every window, so that a huge kernel on a short input costs
        what the input costs. The values of max and sum pooling do not change:
        padding never wins a maximum over a real element and adds nothing to a
        sum. Slot ``j`` of the result is slot ``j + first`` of this record. A
        stride that no second window uses, and a dilation that no second slot
        uses, become 1."""
        if not self.is_sliding:
            return self
        d, s = self.dilation, self.step
        lowest = self.left - (self.out - 1) * s                 # slot j is read at j*d - left + o*s
        first = max(0, min(-(-lowest // d), self.left // d))    # keep left >= 0
        last = min(self.width - 1, (self.left + self.size - 1) // d)
        if first > last:                                        # no slot reads the input: keep one
            first, last = 0, 0
        width = last - first + 1
        step, dilation = (s if self.out > 1 else 1), (d if width > 1 else 1)
        if (width, first, step, dilation) == (self.width, 0, s, d):
            return self
        return replace(self, width=width, left=self.left - first * d, step=step, dilation=dilation)


def sliding(size, kernel_size, stride, padding, dilation, ceil_mode):
    """Windows of ``kernel_size`` slots, ``dilation`` apart, starting every ``stride``
    positions from ``-padding``: slot ``j`` of window ``o`` reads input position
    ``o * stride - padding + j * dilation``, which is padding unless it lies in
    ``0 .. size - 1``. Their count follows :func:`poolkit.output_size`.
    """
    out = output_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    return Windows(size, out, kernel_size, step=stride, dilation=dilation, left=padding)


def adaptive(size, out):
    """The bins of adaptive pooling: bin ``i`` covers input positions
    ``floor(i * size / out)`` up to, not including, ``ceil((i + 1) * size / out)``."""
    return Windows(size, out, adaptive_width(size, out))


def adaptive_width(size, out):
    """The widest bin, without listing the bins.

    With ``size = q * out + r`` and ``g = gcd(size, out)``: bin ``i`` is
    ``q + 2`` wide when ``(i * size) mod out`` plus ``r`` passes ``out``, and
    ``q + 1`` (or ``q`` if ``r = 0``) otherwise. The remainders ``i * size mod out``
    take every multiple of ``g`` below ``out``, the largest being ``out - g``, so
    some bin is ``q + 2`` wide exactly when ``r > g``.
    """
    if out == 0:
        return 1
    q, r = divmod(size, out)
    if r == 0:
        return q
    return q + 1 if r == math.gcd(size, out) else q + 2


def gather(x, windows, fill):
    """The window tensor of ``x``.

    Args:
        x: ``(N, C, *spatial)``, one :class:`Windows` per spatial dimension.
        windows: sequence of :class:`Windows`, one per spatial dimension.
        fill: the value that padding and out-of-bin slots hold.

    Returns:
        ``(N, C, *out, *window)``. Sliding windows are read as a strided view of
        a padded copy of ``x`` (no further copy); adaptive bins are gathered.
    """
    if all(w.is_sliding for w in windows):
        return _strided(x, windows, fill)
    for i, w in enumerate(windows):
        dim = 2 + i
        index = w.table(x.device)[0].clamp(0, w.size - 1).flatten()
        x = x.index_select(dim, index).unflatten(dim, (w.out, w.width)).movedim(dim + 1, -1)
    if all(w.full for w in windows):
        return x
    return torch.where(valid_mask(windows, x.device), x, torch.tensor(fill, dtype=x.dtype, device=x.device))


def _strided(x, windows, fill):
    pad = []
    for w in reversed(windows):
        pad += [w.left, w.right]
    x = F.pad(x, pad, value=fill) if any(pad) else x
    for i, w in enumerate(windows):
        dim = 2 + i
        x = x.unfold(dim, (w.width - 1) * w.dilation + 1, w.step).narrow(dim, 0, w.out)
        x = x[..., :: w.dilation]
    return x


def _broadcast(windows, tensors):
    """Per-dimension ``(out_i, window_i)`` tensors, reshaped to broadcast over ``(*out, *window)``."""
    d = len(windows)
    for i, t in enumerate(tensors):
        shape = [1] * (2 * d)
        shape[i], shape[d + i] = t.shape
        yield t.reshape(shape)


def valid_mask(windows, device="cpu"):
    """``(*out, *window)`` bool: True where every coordinate of a slot is a real element."""
    mask = None
    for m in _broadcast(windows, [w.table(device)[1] for w in windows]):
        mask = m if mask is None else mask & m
    return mask


def flat_positions(windows, device="cpu"):
    """``(*out, *window)`` int64: the flat index, within one ``(n, c)`` plane, of each slot."""
    flat, plane_stride = 0, 1
    strides = []
    for w in reversed(windows):
        strides.append(plane_stride)
        plane_stride *= w.size
    for p, s in zip(_broadcast(windows, [w.table(device)[0] for w in windows]), reversed(strides)):
        flat = flat + p * s
    return flat


def empty_mask(windows, device):
    """``(*out)`` bool, True for the windows that read padding only, or ``None`` if there are none.

    Which windows those are follows from the integers of the records
    (:attr:`Windows.empty`), so no tensor is inspected to decide it."""
    if not any(w.empty for w in windows):
        return None
    mask = None
    for i, w in enumerate(windows):
        shape = [1] * len(windows)
        shape[i] = w.out
        o = torch.arange(w.out, device=device)
        hit = torch.zeros(w.out, dtype=torch.bool, device=device)
        for e in w.empty:
            hit = hit | (o == e)
        mask = hit.reshape(shape) if mask is None else mask | hit.reshape(shape)
    return mask


def reduce_max(x, windows, return_indices):
    """Max over the window axes, with PyTorch's choice of element: the first
    maximum in window order, or the last NaN if the window holds a NaN.

    A window of padding only gives -inf and index -1. Nothing here depends on
    the values of ``x`` in Python: it traces, and runs on meta tensors."""
    d = len(windows)
    windows = [w.trimmed() for w in windows]
    fill = float("-inf")
    values = gather(x, windows, fill).flatten(2 + d)                     # (N, C, *out, K)
    k = values.shape[-1]
    # The flat position in the plane each slot reads, -1 for padding: the windows of a
    # plane of positions, read like the values.
    sizes = [w.size for w in windows]
    plane = math.prod(sizes)
    plane = torch.arange(plane, device=x.device, dtype=torch.int32 if plane < 2**31 else torch.int64)
    index = gather(plane.view(1, 1, *sizes), windows, -1).flatten(2 + d)   # (1, 1, *out, K)
    key_type = torch.int16 if 2 * k < 2**15 else torch.int32 if 2 * k < 2**31 else torch.int64
    slot = torch.arange(k, device=x.device, dtype=key_type)
    nan = values.isnan()
    is_max = values == values.amax(-1, keepdim=True)                    # all False if a NaN is there
    if not all(w.full for w in windows):
        is_max = is_max & (index >= 0)
    # One key per slot, largest for the slot PyTorch picks: NaNs k..2k-1 (the last wins),
    # maxima k..1 (the first wins), the rest 0.
    key = torch.where(nan, slot + k, is_max * (k - slot))
    choice = key.argmax(-1, keepdim=True)
    out = values.gather(-1, choice).squeeze(-1)
    empty = empty_mask(windows, x.device)
    if empty is not None:
        out = torch.where(empty, torch.tensor(fill, dtype=out.dtype, device=x.device), out)
    if not return_indices:
        return out
    indices = index.expand(values.shape).gather(-1, choice).squeeze(-1).to(torch.int64)
    if empty is not None:
        indices = torch.where(empty, torch.tensor(-1, device=x.device), indices)
    return out, indices


def window_sum(x, windows, dtype=None):
    """Sums over the window axes (padding and out-of-bin slots count as 0), added in ``dtype``
    (by default ``x``'s) and returned in it."""
    windows = [w.trimmed() for w in windows]
    values = gather(x, windows, 0.0)
    return values.sum(dim=tuple(range(-len(windows), 0)), dtype=dtype)
