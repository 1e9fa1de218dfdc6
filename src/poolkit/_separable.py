r"""Fast max and average pooling: one dimension at a time, in cache-sized blocks.

A box window is separable. The maximum over a ``k_h x k_w`` window is the
maximum, over its ``k_h`` rows, of each row's maximum over ``k_w`` elements, and
the same holds for sums. So this module pools the innermost dimension first,
then the next one out, and so on, with one of two methods per dimension:

* **scan** (any stride): for each window slot ``j``, one elementwise op over all
  outputs at once, ``k - 1`` ops in all. This is the general path.
* **doubling** (stride 1): windows of 1, 2, 4, ... slots, each made from two
  windows of half the width. Max needs :math:`\lceil \log_2 k \rceil` ops, because
  the last two windows may overlap; a sum may not count an element twice, so it
  adds the power-of-two windows that make up ``k``, one op per extra binary 1 of
  ``k``. This is the fast path.

``"auto"``, what :mod:`poolkit.functional` uses, doubles along stride-1 axes
and scans along the others, except the innermost axis of memory: there strided
reads are slow, so it doubles at full resolution and keeps every ``stride``-th
window.

Each pass reads a shifted view of the previous one, and the input is copied
once, a block of planes at a time (about 2 MiB), into a padded buffer. Every
op of a block then works in cache.

**Exact maxima.** PyTorch scans each window in memory order and keeps an
element when it is greater than the current maximum or is NaN: the result is
the *first* maximum, or the *last* NaN. Two results that stand for the same
value differ in their bits only when they are 0.0 and -0.0, or NaNs with
different payloads. So
when the input has no NaN and no -0.0 (two quick reductions tell), any order of
comparison gives PyTorch's bits, and each step is one ``torch.maximum``.
Otherwise each step keeps PyTorch's rule, ``take b if b > a or b is NaN``, which
is associative, and the innermost-first order makes "first" and "last" mean
what they mean in PyTorch's scan. The results are bit for bit PyTorch's in both
cases, -inf padding included, for float32 and float64. For float16 and
bfloat16 every value and every NaN position is PyTorch's, but a NaN's payload
may not be: some of PyTorch's kernels for those types compare in float32 and
convert back, which rewrites NaN payloads, and others do not.

**Sums.** Window sums are added in another order than PyTorch's (which adds
the ``K`` elements of a window one after another), so average pooling agrees
within rounding; :func:`sum_error_bound` states by how much, as long as no sum
overflows (the order decides whether ``3e38 + 3e38 - 3e38`` overflows). A
window of -0.0 alone may average to -0.0 here and to 0.0 in PyTorch: equal
values, other bits.

**Memory.** A block holds as many whole planes (one ``(n, c)`` slice, padded)
as fit in :data:`BLOCK_BYTES`, and at least one. A plane larger than that is
pooled whole, with up to three scratch buffers of its size, so the working set
then leaves the cache and the extra memory is about three times the plane's.

Neither method returns indices or builds an autograd graph:
:mod:`poolkit._training` adds both, on the same one-dimension-at-a-time plan.
"""

import math
import threading
import weakref

import torch

from . import _windows as W
from ._doubling import doubling_steps
from ._layout import channels_last_strides

BLOCK_BYTES = 1 << 21
METHODS = ("window", "scan", "doubling", "auto")

_NEGATIVE_ZERO = {2: (torch.int16, -(2**15)), 4: (torch.int32, -(2**31)), 8: (torch.int64, -(2**63))}


def is_clean(x):
    """True if ``x`` holds no NaN and no -0.0, so that ``torch.maximum`` gives PyTorch's bits."""
    if x.numel() == 0:
        return True
    if torch.isnan(x.amax()):                        # amax propagates NaN
        return False
    ints, smallest = _NEGATIVE_ZERO[x.element_size()]
    return int(x.view(ints).amin()) != smallest      # -0.0 is the smallest integer pattern


def _max_fast(a, b, out):
    torch.maximum(a, b, out=out)


def _max_exact(a, b, out):
    take = torch.gt(b, a)
    take |= torch.isnan(b)
    torch.where(take, b, a, out=out)


def _add(a, b, out):
    torch.add(a, b, out=out)


_DEST = "dest"      # stands for the block of the output, which changes from block to block


class _State:
    """A logical ``(c, *spatial, t)`` tensor stored in ``flat`` with the given strides."""

    def __init__(self, flat, shape, strides):
        self.flat, self.shape, self.strides = flat, tuple(shape), tuple(strides)

    @property
    def extent(self):
        return sum((n - 1) * s for n, s in zip(self.shape, self.strides)) + 1

    def view(self, axis=None, size=None, step=1, offset=0):
        shape, strides = list(self.shape), list(self.strides)
        if axis is not None:
            shape[axis], strides[axis] = size, strides[axis] * step
        return self.flat.as_strided(shape, strides, self.flat.storage_offset() + offset)


class _Program:
    """The ops that pool one block, recorded once on views of reused buffers and
    replayed for every block of the same size."""

    def __init__(self, space):
        self.take = space.take      # scratch buffers come from the workspace, shared by its programs
        self.ops = []
        self.last = None            # how to make the final op write into the output instead

    def op(self, a, b, out):
        self.ops.append([a, b, out])
        self.last = None

    def finish(self, state):
        """Make the ops leave the pooled block in the output block."""
        if self.last is not None:
            self.last()
        else:
            self.ops.append([state.view(), None, _DEST])

    def run(self, combine, dest):
        for a, b, out in self.ops:
            a, out = (dest if a is _DEST else a), (dest if out is _DEST else out)
            if b is None:
                out.copy_(a)
            else:
                combine(a, b, out)


def _contiguous_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _scan(state, axis, w, program):
    """Pool one axis slot by slot: any stride, ``k - 1`` elementwise ops."""
    slots = [state.view(axis, w.out, w.step, j * w.dilation * state.strides[axis]) for j in range(w.width)]
    shape = slots[0].shape
    flat = program.take(state)[: math.prod(shape)]
    out = flat.view(shape)
    first = len(program.ops)
    if w.width == 1:
        program.op(slots[0], None, out)
    else:
        program.op(slots[0], slots[1], out)
        for slot in slots[2:]:
            program.op(out, slot, out)

    def to_dest():
        for op in program.ops[first:]:
            op[:] = [_DEST if t is out else t for t in op]
    program.last = to_dest
    return _State(flat, shape, _contiguous_strides(shape))


def _shifted(a, b, slots, axis, size, program, *live):
    """``a[i] (op) b[i + slots]`` along ``axis``, done on the flat buffers: their
    other rows get values that no output reads."""
    shift = slots * b.strides[axis]
    shape = list(a.shape)
    shape[axis] = size
    result = _State(None, shape, a.strides)
    n = result.extent
    result.flat = program.take(a, b, *live)[:n]
    program.op(a.flat[:n], b.flat[shift: shift + n], result.flat)

    def to_dest():
        program.ops[-1] = [a.view(axis, size), b.view(axis, size, 1, shift), _DEST]
    program.last = to_dest
    return result


def _doubling_max(state, axis, w, program):
    size = state.shape[axis]
    for step in doubling_steps(w.width):                  # the last step may overlap
        size -= step * w.dilation
        state = _shifted(state, state, step * w.dilation, axis, size, program)
    return state


def _doubling_sum(state, axis, w, program):
    k, d = w.width, w.dilation
    power, width = state, 1                               # power: sums of `width` slots
    total, covered = None, 0                              # total: sums of `covered` slots
    while True:
        if k & width:
            if total is None:
                total = power
            else:
                size = total.shape[axis] - width * d
                total = _shifted(total, power, covered * d, axis, size, program, power)
            covered += width
        if 2 * width > k:
            return total
        keep = [total] if total is not None else []
        power = _shifted(power, power, width * d, axis, power.shape[axis] - width * d, program, *keep)
        width *= 2
        if total is not None and total is not power:
            program.last = None                          # the last op made a power, not the total


def _layout(x, dims, out_sizes):
    """The ``(blocks, *spatial, t)`` working view of ``x`` and the output to fill.

    Inputs that PyTorch treats as channels-last keep that layout (channels
    innermost, ``t = C``) and so does the output; others are read as
    ``(N * C, *spatial, 1)`` and give a contiguous output. :mod:`poolkit.functional`
    then lays the result out as PyTorch would (:mod:`poolkit._layout`).
    """
    n, c = x.shape[:2]
    if channels_last_strides(x.shape, x.stride()):
        work = x.permute(0, *range(2, dims + 2), 1)
        out = torch.empty((n, *out_sizes, c), dtype=x.dtype, device=x.device)
        return work, out, out.permute(0, dims + 1, *range(1, dims + 1))
    work = x.reshape(n * c, *x.shape[2:], 1)
    out = torch.empty((n * c, *out_sizes, 1), dtype=x.dtype, device=x.device)
    return work, out, out.view(n, c, *out_sizes)


def _record(space, count, windows, method, kind):
    """The program for a block of ``count`` planes of the workspace's padded source."""
    source = space.source
    program = _Program(space)
    state = _State(source.view(-1), (count, *source.shape[1:]), source.stride())
    doubling = _doubling_max if kind == "max" else _doubling_sum
    for axis in reversed(range(1, len(windows) + 1)):      # innermost first: PyTorch's order
        w = windows[axis - 1]
        if w.step == 1 and method in ("doubling", "auto"):
            state = doubling(state, axis, w, program)
            if state.shape[axis] > w.out:                 # trimmed windows need not reach the end
                state = _State(state.flat, (*state.shape[:axis], w.out, *state.shape[axis + 1:]), state.strides)
                program.last = None
        elif method == "auto" and state.strides[axis] == 1:
            # Strided reads along the innermost axis are slow: pool every position, keep every step-th.
            state = doubling(state, axis, w, program)
            strides = list(state.strides)
            strides[axis] *= w.step
            state = _State(state.flat, (*state.shape[:axis], w.out, *state.shape[axis + 1:]), strides)
            program.last = None
        else:
            state = _scan(state, axis, w, program)
    program.finish(state)
    return program


class _Workspace:
    """A padded source buffer, the scratch buffers and the recorded programs for one configuration."""

    def __init__(self, shape, fill, dtype, device):
        with torch.inference_mode(False):        # usable both inside and outside inference mode
            self.source = torch.full(shape, fill, dtype=dtype, device=device)
        self.buffers, self.programs = [], {}

    def take(self, *live):
        """A scratch buffer of the source's size that none of the ``live`` states uses."""
        used = {s.flat.data_ptr() for s in live}
        for buffer in self.buffers:
            if buffer.data_ptr() not in used:
                return buffer
        with torch.inference_mode(False):
            self.buffers.append(torch.empty_like(self.source).view(-1))
        return self.buffers[-1]

    @property
    def bytes(self):
        return sum(t.numel() * t.element_size() for t in [self.source, *self.buffers])


CACHE_ENTRIES = 4
CACHE_BYTES = 16 * BLOCK_BYTES


class _ThreadCache:
    """One thread's workspaces, least recently used first. The owner takes the lock
    to change them, and :func:`clear_cache` to empty them from another thread."""

    def __init__(self):
        self.entries = {}
        self.lock = threading.Lock()

    @property
    def bytes(self):
        return sum(s.bytes for s in self.entries.values())


_local = threading.local()          # each thread's _ThreadCache, freed with the thread
_caches = weakref.WeakSet()         # every live thread's, for clear_cache
_caches_lock = threading.Lock()


def _thread_cache():
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = _ThreadCache()
        with _caches_lock:
            _caches.add(cache)
    return cache


def _workspace(key, shape, fill, dtype, device):
    """Buffers reused from call to call, as a training loop calls with the same
    shapes again and again: fresh memory costs page faults on every call.

    Each thread keeps its :data:`CACHE_ENTRIES` most recently used
    configurations, as long as they hold at most :data:`CACHE_BYTES` in all
    (a workspace is its padded block and up to three scratch buffers of that
    size). A block larger than a quarter of that is never kept. A thread's
    workspaces go when the thread ends, or with :func:`clear_cache`."""
    cache = _thread_cache()
    with cache.lock:
        space = cache.entries.pop(key, None)
        if space is not None:
            cache.entries[key] = space                 # most recently used last
            return space
    space = _Workspace(shape, fill, dtype, device)
    if space.bytes * 4 <= CACHE_BYTES:
        with cache.lock:
            cache.entries[key] = space
    return space


def _trim_cache():
    """Forget this thread's least recently used workspaces beyond the limits."""
    cache = _thread_cache()
    with cache.lock:
        entries = cache.entries
        while entries and (len(entries) > CACHE_ENTRIES or cache.bytes > CACHE_BYTES):
            del entries[next(iter(entries))]


def clear_cache():
    """Free the buffers that the fast path keeps between calls, in every thread."""
    with _caches_lock:
        caches = list(_caches)
    for cache in caches:
        with cache.lock:
            cache.entries.clear()


def _pool(x, windows, method, kind, divisor=None, block_bytes=None, input_divisor=None):
    """Pool ``x`` in blocks; sums are divided by ``divisor`` after, or ``x`` by
    ``input_divisor`` before (a number, or a tensor of ``x``'s spatial shape)."""
    windows = [w.trimmed() for w in windows]            # no slot that reads padding only
    dims = len(windows)
    fill = float("-inf") if kind == "max" else 0.0
    work, out, result = _layout(x, dims, [w.out for w in windows])
    if out.numel() == 0:
        return result
    padded = [w.left + w.size + w.right for w in windows]
    t = work.shape[-1]
    plane = math.prod(padded) * t
    block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
    block = max(1, min(work.shape[0], block_bytes // (plane * x.element_size())))
    shape = (block, *padded, t)
    key = (kind, method, x.dtype, x.device, shape,
           tuple((w.size, w.width, w.step, w.dilation, w.left, w.out) for w in windows))
    space = _workspace(key, shape, fill, x.dtype, x.device)
    inside = space.source[(slice(None), *(slice(w.left, w.left + w.size) for w in windows))]
    if torch.is_tensor(divisor):
        divisor = divisor.reshape(1, *divisor.shape, 1)
    if torch.is_tensor(input_divisor):
        input_divisor = input_divisor.reshape(1, *input_divisor.shape, 1)
    for start in range(0, work.shape[0], block):
        count = min(block, work.shape[0] - start)
        if count not in space.programs:
            space.programs[count] = _record(space, count, windows, method, kind)
        block_in, block_out = work[start: start + count], out[start: start + count]
        if input_divisor is None:
            inside[:count].copy_(block_in)
        else:
            torch.div(block_in, input_divisor, out=inside[:count])
        if kind == "sum":
            combine = _add
        else:                                           # decided block by block
            combine = _max_fast if is_clean(block_in) else _max_exact
        space.programs[count].run(combine, block_out)
        if divisor is not None:
            torch.div(block_out, divisor, out=block_out)
    _trim_cache()                                       # now that its buffers exist
    return result


def max_pool(x, windows, method="auto", return_indices=False):
    """Max pooling of ``(N, C, *spatial)`` ``x`` over sliding windows.

    Args:
        x: floating-point tensor with a batch axis.
        windows: one :func:`poolkit._windows.sliding` record per spatial dimension.
        method: ``"window"`` (gather every window, then reduce: the path that also
            gives indices and gradients), ``"scan"`` (separable, slot by slot),
            ``"doubling"`` (separable, doubling on stride-1 dimensions, scan on
            the others) or ``"auto"`` (see the module's text).
        return_indices: only with ``method="window"``.

    Returns:
        The pooled tensor, bit for bit PyTorch's: channels-last for a channels-last
        input, contiguous otherwise.
    """
    _check("max_pool", x, windows, method)
    if method == "window":
        return W.reduce_max(x, windows, return_indices)
    if return_indices:
        raise ValueError(f"max_pool: return_indices=True needs method='window', got method={method!r}")
    return _pool(x, windows, method, "max")


def sum_pool(x, windows, method="auto", divisor=None):
    """Window sums of ``(N, C, *spatial)`` ``x`` (padding counts as 0), divided by
    ``divisor`` (a number, or a tensor of the output's spatial shape) if given.

    ``method`` as in :func:`max_pool`. The separable methods need float32 or float64.
    """
    _check("sum_pool", x, windows, method)
    if method == "window":
        sums = W.window_sum(x, windows)
        return sums if divisor is None else sums / divisor
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"sum_pool: method={method!r} needs float32 or float64, got {x.dtype}")
    return _pool(x, windows, method, "sum", divisor)


def _check(op, x, windows, method):
    if method not in METHODS:
        raise ValueError(f"{op}: method must be one of {METHODS}, got method={method!r}")
    if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
        raise TypeError(f"{op}: x must be a floating-point tensor, got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')}".rstrip())
    if x.dim() != len(windows) + 2 or any(w.step is None for w in windows):
        raise ValueError(f"{op}: x must be (N, C, *spatial) with one sliding-window record per spatial "
                         f"dimension, got x of shape {tuple(x.shape)} and {len(windows)} records")


def sum_error_bound(kernel_size, dtype):
    r"""How far a separable average may be from PyTorch's, in units of the
    window's mean magnitude :math:`A = \sum_{\text{window}} |x_i| / \text{divisor}`.

    PyTorch adds a window's :math:`K` elements one after another, so each of
    them passes through at most :math:`K - 1` roundings; the separable methods
    add them as a tree that is at most :math:`\sum_i (k_i - 1) \le K - 1` deep.
    Both then divide once. The classic bound for summation (Higham, *Accuracy
    and Stability of Numerical Algorithms*, 2nd ed., 2002, section 4.2) puts
    each result within :math:`K u A` of the exact mean, to first order in the
    unit roundoff :math:`u`, so the two are within :math:`2 K u A`. The bound
    depends on the window alone, not on the input's size: there is no running
    sum whose rounding grows along a row, as there would be with cumulative sums.

    The bound assumes that no partial sum overflows: when one order overflows
    and the other does not, one result is infinite.

    Returns:
        :math:`2 K u` for ``kernel_size`` (a tuple) and ``dtype``, with a 1% margin
        for the second-order terms.
    """
    return 1.01 * 2 * math.prod(kernel_size) * torch.finfo(dtype).eps / 2
