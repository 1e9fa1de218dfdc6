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
"""

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ._shapes import output_size


@dataclass(frozen=True)
class Windows:
    """The windows of one pooled dimension.

    Attributes:
        size: length of the input along this dimension.
        positions: ``(out, window)`` int64 tensor, the input position each slot reads.
        valid: ``(out, window)`` bool tensor, False where a slot is padding or
            lies past the end of its bin.
        step, dilation, left: for sliding windows, slot ``j`` of output ``o``
            reads position ``o * step - left + j * dilation``; ``None`` for adaptive bins.
    """

    size: int
    positions: torch.Tensor
    valid: torch.Tensor
    step: int = None
    dilation: int = None
    left: int = None

    @property
    def out(self):
        return self.positions.shape[0]

    @property
    def width(self):
        return self.positions.shape[1]


@functools.lru_cache(maxsize=256)
def sliding(size, kernel_size, stride, padding, dilation, ceil_mode):
    """Windows of ``kernel_size`` slots, ``dilation`` apart, starting every ``stride``
    positions from ``-padding``; their count follows :func:`poolkit.output_size`.

    Records are cached (a network asks for the same ones at every step) and
    shared, so their tensors must not be changed in place.
    """
    out = output_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    with torch.inference_mode(False):      # usable by autograd even if first made in inference mode
        positions = (torch.arange(out) * stride - padding)[:, None] + torch.arange(kernel_size) * dilation
        valid = (positions >= 0) & (positions < size)
    return Windows(size, positions, valid, stride, dilation, padding)


def adaptive(size, out):
    """The bins of adaptive pooling: bin ``i`` covers input positions
    ``floor(i * size / out)`` up to, not including, ``ceil((i + 1) * size / out)``."""
    i = torch.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    width = int((end - start).max()) if out > 0 else 1
    positions = start[:, None] + torch.arange(width)
    valid = positions < end[:, None]
    return Windows(size, positions, valid)


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
    if all(w.step is not None for w in windows):
        return _strided(x, windows, fill)
    for i, w in enumerate(windows):
        dim = 2 + i
        index = w.positions.clamp(0, w.size - 1).flatten()
        x = x.index_select(dim, index).unflatten(dim, (w.out, w.width)).movedim(dim + 1, -1)
    return torch.where(valid_mask(windows).to(x.device), x, torch.tensor(fill, dtype=x.dtype, device=x.device))


def _strided(x, windows, fill):
    pad = []
    for w in reversed(windows):
        span = (w.out - 1) * w.step + (w.width - 1) * w.dilation + 1   # padded length the windows read
        pad += [w.left, max(span - w.left - w.size, 0)]
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


def valid_mask(windows):
    """``(*out, *window)`` bool: True where every coordinate of a slot is a real element."""
    mask = None
    for m in _broadcast(windows, [w.valid for w in windows]):
        mask = m if mask is None else mask & m
    return mask


def flat_positions(windows):
    """``(*out, *window)`` int64: the flat index, within one ``(n, c)`` plane, of each slot."""
    flat, plane_stride = 0, 1
    strides = []
    for w in reversed(windows):
        strides.append(plane_stride)
        plane_stride *= w.size
    for p, s in zip(_broadcast(windows, [w.positions for w in windows]), reversed(strides)):
        flat = flat + p * s
    return flat


def reduce_max(x, windows, return_indices):
    """Max over the window axes, with PyTorch's choice of element: the first
    maximum in window order, or the last NaN if the window holds a NaN."""
    d = len(windows)
    fill = float("-inf")
    values = gather(x, windows, fill)
    values = values.flatten(2 + d)                                      # (N, C, *out, K)
    valid = valid_mask(windows).reshape(*values.shape[2:]).to(x.device)
    slot = torch.arange(1, values.shape[-1] + 1, device=x.device)
    nan = values.isnan()
    largest = values.amax(-1, keepdim=True)
    first_max = ((values == largest) & valid).to(torch.uint8).argmax(-1)
    last_nan = (nan * slot).argmax(-1)
    choice = torch.where(nan.any(-1), last_nan, first_max)
    out = values.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    empty = ~valid.any(-1)                                              # windows of padding only
    if empty.any():
        out = torch.where(empty, torch.tensor(fill, dtype=out.dtype, device=x.device), out)
    if not return_indices:
        return out
    flat = flat_positions(windows).reshape(*values.shape[2:]).to(x.device)
    indices = flat.expand(values.shape).gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    if empty.any():
        indices = torch.where(empty, torch.tensor(-1, device=x.device), indices)
    return out, indices
