r"""Pooling ops with the names, signatures and results of ``torch.nn.functional``.

Every op here is written in plain PyTorch tensor operations. The reference
path rests on one primitive, :mod:`poolkit._windows`: the input becomes a tensor
of windows, ``(N, C, *out, *window)``, and the op reduces its last axes.

* max pooling takes the largest element of each window, padding counting as
  :math:`-\infty`;
* average pooling sums each window (padding counting as 0) and divides;
* power-average (LP) pooling is average pooling of :math:`x^p`, rescaled;
* adaptive pooling uses bins instead of sliding windows.

Max and average pooling have a second, faster path, :mod:`poolkit._separable`,
which pools one dimension at a time in cache-sized blocks, and doubles the
window width at each step where the stride is 1; :mod:`poolkit._training`
adds indices and gradients to it. One function, :func:`_choose_path`, picks
the path for every call, and takes a fast one only where it gives the same
answer:

* ``"separable"``: ``max_pool*`` without indices, and ``avg_pool*`` of float32
  and float64, on a plain CPU tensor, when no autograd graph is recorded
  (backward or forward mode) and no functorch transform, ``torch.compile`` or
  ``torch.export`` is tracing the call. Its maxima are the window path's, bit
  for bit; its averages add each window in another order, within
  :func:`poolkit._separable.sum_error_bound` of PyTorch's.
* ``"training"``: the same calls with indices, or under plain (backward-mode)
  autograd. Indices and max pooling's gradients are PyTorch's bit for bit;
  average pooling's gradients add in another order, within the same bound.
* Everything else takes the window path: forward-mode AD, meta and fake
  tensors, tracing, float16 and bfloat16 averages, adaptive pooling. It makes
  no decision in Python from the values of a tensor, so it traces and runs on
  the meta device.

Inputs are ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` tensors of
float16, bfloat16, float32 or float64, in any memory layout. The results are
PyTorch's (torch 2.14, CPU):

* shapes, dtypes and memory layouts (strides) of values, indices and input
  gradients, by the rules of :mod:`poolkit._layout`;
* max pooling bit for bit, with the same indices, NaN propagation and
  gradients (for float16 and bfloat16, up to the payload bits of NaNs);
* average pooling within rounding: sums are added in float32 for float16 and
  bfloat16 inputs, as PyTorch's kernels do, and rounded once at the end;
  global average pooling is PyTorch's own mean;
* ``TypeError`` or ``ValueError`` wherever PyTorch raises for an argument,
  naming the parameter and the value, and the same arguments accepted: ints
  as ``operator.index`` takes them (NumPy integers, integer tensors of one
  element), a truthy ``return_indices``, a tensor ``norm_type``.

The deliberate differences:

* **Windows wholly in padding.** With dilation, a max-pooling window can
  fall entirely in the padding (for example length 1, ``kernel_size=2``,
  ``padding=1``, ``dilation=2``: the window reads positions -1 and 1).
  PyTorch 2.14 returns :math:`-\infty` there with an index past the end of the
  input, and its backward pass then writes out of bounds. poolkit returns
  :math:`-\infty` with index ``-1``, meaning "no element", and that output
  passes no gradient to the input.
* **Integer inputs.** PyTorch 2.14 on the CPU pools integer tensors in some
  ops only: ``max_pool2d``, ``max_pool3d`` and ``max_pool1d`` with
  ``return_indices=True`` take int8, int16, int32, int64 and uint8;
  ``avg_pool1d``, ``avg_pool2d``, ``avg_pool3d`` take int64 alone (and
  ``lp_pool*`` then return float32); ``max_pool1d`` without indices and every
  adaptive op refuse integers (``NotImplementedError``). poolkit refuses every
  integer (and bool, complex and float8) dtype with a ``TypeError`` naming it.
* **Huge windows.** Window slots that read padding in every window are
  dropped before any work, so a kernel of :math:`10^9` on a short input costs
  what the input costs (``max_pool1d`` without indices, the one op whose
  PyTorch kernel takes 64-bit sizes, loops over every slot there).
* **Windows of -inf in channels-last max_pool3d.** PyTorch's CPU kernel for
  channels-last-3d inputs starts each window's index without its depth term
  (``h * W + w`` instead of ``(d * H + h) * W + w``), so a window whose
  maximum is :math:`-\infty` gets the index of an element in the first depth
  slice, and its gradient goes there. poolkit gives the window's first real
  element, as PyTorch's kernels for every other layout do.
* **Unbatched max_pool3d with channels innermost in 4-D.** PyTorch refuses a
  ``(C, D, H, W)`` input whose strides read as channels-last in four
  dimensions ("Unsupported memory format"); poolkit pools it and returns a
  contiguous result.
* **adaptive_avg_pool3d of float16 and bfloat16** adds in float32, as every
  other average does; PyTorch 2.14's CPU kernel for it adds in the input's
  precision and can overflow or lose the sum.
* **A bool tensor as a size** (``kernel_size=torch.tensor(True)``), which
  PyTorch reads as 1, is refused like a bool.
"""

import functools

import torch
from torch.autograd import forward_ad

try:                                    # private to PyTorch: if it moves, every input takes the window path
    from torch._C._functorch import is_functorch_wrapped_tensor
except ImportError:                     # pragma: no cover
    def is_functorch_wrapped_tensor(x):
        return True

from . import _layout as L
from . import _separable as separable
from . import _training as training
from . import _windows as W
from ._arguments import (INT32_MAX, INT64_MAX, as_flag, as_tuple, check_bool, check_divisor, check_input,
                         check_int, check_norm_type, window_arguments)

_HALF = (torch.float16, torch.bfloat16)


def _traced(x):
    """True when ``torch.compile`` or ``torch.export`` traces the call, or ``x`` is not
    a plain tensor (fake, functional, functorch-wrapped, a subclass)."""
    if torch.compiler.is_compiling():         # dynamo and export, strict or not; checked first
        return True
    if type(x) is not torch.Tensor and type(x) is not torch.nn.Parameter:
        return True
    return is_functorch_wrapped_tensor(x)


def _plain_autograd(x):
    """True if plain autograd will differentiate the call with respect to ``x``
    (and no transform or tracer is in the way)."""
    return x.requires_grad and torch.is_grad_enabled() and not _traced(x)


def _choose_path(x, kind, return_indices=False):
    """``"separable"``, ``"training"`` or ``"window"``: the one place that picks the path of a call.

    Args:
        x: the input, as the caller received it.
        kind: ``"max"``, ``"sum"`` (average pooling), ``"adaptive_max"`` or ``"adaptive_avg"``.
        return_indices: whether indices are asked for.

    The separable path writes into buffers of its own, inspects the values
    (for NaN and -0.0) in Python, and builds no autograd graph; it has no
    indices and no adaptive bins. So it is taken for sliding-window max and
    sum pooling of a plain, strided CPU tensor, without indices, when nothing
    records the call: no autograd graph (backward or forward mode), no
    functorch transform, no ``torch.compile`` or ``torch.export``. Sums need
    float32 or float64 (its error bound is stated for them). The training
    path takes the same calls when indices are asked for or plain autograd
    records the call: its backward passes are autograd functions of their own.
    """
    if kind not in ("max", "sum"):
        return "window"
    if _traced(x) or x.is_meta or x.device.type != "cpu" or x.layout != torch.strided:
        return "window"
    if forward_ad.unpack_dual(x).tangent is not None:
        return "window"
    if kind == "sum" and x.dtype not in (torch.float32, torch.float64):
        return "window"
    if return_indices or (x.requires_grad and torch.is_grad_enabled()):
        return "training"
    return "separable"


def _sliding(op, x, kernel, stride, padding, dilation, ceil_mode):
    """The :func:`poolkit._windows.sliding` record of each pooled dimension of ``x``."""
    args = (tuple(x.shape[2:]), kernel, stride, padding, dilation, ceil_mode)
    try:
        return _sliding_records(*args) if not torch.compiler.is_compiling() else _make_records(*args)
    except ValueError as error:
        raise ValueError(
            f"{op}: {error} (input of shape {tuple(x.shape)}, kernel_size={kernel}, "
            f"stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})"
        ) from None


def _make_records(sizes, kernel, stride, padding, dilation, ceil_mode):
    return [W.sliding(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation)]


@functools.lru_cache(maxsize=512)
def _sliding_records(*args):
    """:func:`_make_records`, remembered: a network asks for the same windows at every
    step. The records are frozen and hold Python ints only, so nothing a call makes
    (on a device, under a mode or a tracer) outlives it. Tracing builds them afresh."""
    return tuple(_make_records(*args))


def _finish(result, batched, layout):
    """Drop the batch axis an unbatched input was given, and lay each result out as PyTorch does."""
    results = result if isinstance(result, tuple) else (result,)
    if not batched:
        results = tuple(r.squeeze(0) for r in results)
    results = tuple(L.arrange(r, layout) for r in results)
    return results if isinstance(result, tuple) else results[0]


def _window_input(input, batched, layout):
    """The input as the window and training paths read it: with a batch axis, and,
    under plain autograd, through the identity that gives its gradient PyTorch's layout."""
    x = L.gradient_layout(input, layout) if _plain_autograd(input) else input
    return x if batched else x.unsqueeze(0)


def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    return_indices = as_flag(op, "return_indices", return_indices)
    x, batched = check_input(op, input, dims)
    own_kernel = dims == 1 and L.max1d_kernel(input, return_indices)
    kernel, stride, padding, dilation = window_arguments(
        op, dims, kernel_size, stride, padding, dilation, limit=INT64_MAX if own_kernel else INT32_MAX)
    check_bool(op, "ceil_mode", ceil_mode)
    windows = _sliding(op, x, kernel, stride, padding, dilation, ceil_mode)
    layout = L.torch_layout("max", dims, input, max1d_kernel=own_kernel)
    path = _choose_path(input, "max", return_indices)
    if path == "separable":
        result = separable.max_pool(x, windows)
    elif path == "training":
        values, indices = training.max_pool(_window_input(input, batched, layout), windows, _plain_autograd(input))
        result = (values, indices) if return_indices else values
    else:
        result = W.reduce_max(_window_input(input, batched, layout), windows, return_indices)
    return _finish(result, batched, layout)


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, batched = check_input(op, input, dims)
    if dims == 3 and x.dtype in _HALF:
        raise TypeError(f"{op}: input must be float32 or float64, got {x.dtype}, for which PyTorch "
                        f"has no avg_pool3d kernel")
    kernel, stride, padding, _ = window_arguments(op, dims, kernel_size, stride, padding)
    check_bool(op, "ceil_mode", ceil_mode)
    check_bool(op, "count_include_pad", count_include_pad)
    divisor_override = check_divisor(op, divisor_override)
    windows = _sliding(op, x, kernel, stride, padding, (1,) * dims, ceil_mode)
    if dims == 3 and any(w.size < w.width for w in windows):
        # PyTorch's avg_pool3d (alone) requires this even when padding would make windows fit.
        raise ValueError(
            f"{op}: the input must be at least as large as the kernel in every dimension, "
            f"got input of shape {tuple(x.shape)} and kernel_size={tuple(w.width for w in windows)}"
        )
    if divisor_override is not None:
        divisor = divisor_override
    else:
        divisor = 1                     # PyTorch's divide_factor: an int64 per window
        for i, w in enumerate(windows):
            d = w.divisor(count_include_pad, x.device)
            divisor = divisor * (d if isinstance(d, int) else
                                 d.reshape([w.out if j == i else 1 for j in range(dims)]))
    layout = L.torch_layout("avg", dims, input)
    path = _choose_path(input, "sum")
    if path == "separable":
        out = separable.sum_pool(x, windows, "auto", divisor)
    elif path == "training":
        out = training.average(_window_input(input, batched, layout), windows, divisor)
    else:
        x = _window_input(input, batched, layout)
        # As PyTorch's kernels: add in float32 for float16 and bfloat16, divide, round once.
        sums = W.window_sum(x, windows, torch.float32 if x.dtype in _HALF else None)
        out = (sums / divisor).to(x.dtype)
    return _finish(out, batched, layout)


def _lp_pool(op, dims, input, norm_type, kernel_size, stride, ceil_mode):
    check_input(op, input, dims)
    norm_type = check_norm_type(op, norm_type)
    # PyTorch takes an int, or (for 2-D and 3-D) a tuple with one entry per dimension;
    # its 1-D version accepts a 1-tuple only for an infinite norm_type.
    infinite = isinstance(norm_type, (int, float)) and abs(norm_type) == float("inf")
    if isinstance(kernel_size, (tuple, list)) and (len(kernel_size) == dims if dims > 1 else infinite):
        kernel = as_tuple(op, "kernel_size", kernel_size, dims, exact=True)
    elif not isinstance(kernel_size, (tuple, list)) and (dims == 1 or not isinstance(kernel_size, torch.Tensor)):
        kernel = (check_int("kernel_size", kernel_size, op=op),) * dims
    else:
        raise TypeError(
            f"{op}: kernel_size must be an int" + (f" or a tuple of {dims} ints" if dims > 1 else "")
            + f", got kernel_size={kernel_size!r} with norm_type={norm_type}"
        )
    # From here on, PyTorch's own composition (torch.nn.functional.lp_pool*d), op for op.
    if infinite and norm_type > 0:
        return _max_pool(op, dims, input.abs(), kernel, stride, 0, 1, ceil_mode, False)
    if infinite:
        return -_max_pool(op, dims, -input.abs(), kernel, stride, 0, 1, ceil_mode, False)
    out = _avg_pool(op, dims, input.pow(norm_type), kernel, stride, 0, ceil_mode, True, None)
    volume = 1
    for k in kernel:
        volume *= k
    return (torch.sign(out) * torch.relu(torch.abs(out))).mul(volume).pow(1.0 / norm_type)


def _adaptive_windows(op, x, dims, output_size):
    # PyTorch takes, for 1-D, an int (as operator.index takes it) or a 1-tuple of one;
    # for 2-D and 3-D, a Python int or a tuple of dims entries, each an int or None.
    if dims == 1 and not isinstance(output_size, (tuple, list)):
        sizes = (check_int("output_size", output_size, op=op),)
    elif isinstance(output_size, int) and not isinstance(output_size, bool):
        sizes = (output_size,) * dims
    elif isinstance(output_size, (tuple, list)) and len(output_size) == dims:
        if dims == 1 and output_size[0] is None:
            raise TypeError(f"{op}: output_size must be an int or a 1-tuple of an int, got {output_size!r}")
        sizes = tuple(n if s is None else check_int("output_size entries", s, op=op)
                      for n, s in zip(x.shape[2:], output_size))
    else:
        raise TypeError(
            f"{op}: output_size must be an int or a tuple of {dims} "
            + ("ints" if dims == 1 else "ints or Nones") + f", got output_size={output_size!r}"
        )
    for s in sizes:
        if s < 0:
            raise ValueError(f"{op}: output_size must be non-negative, got output_size={output_size!r}")
        if s > INT64_MAX:
            raise ValueError(f"{op}: output_size must fit in 64 bits, got output_size={output_size!r}")
    return [W.adaptive(n, s) for n, s in zip(x.shape[2:], sizes)]


def _adaptive_max_pool(op, dims, input, output_size, return_indices):
    return_indices = as_flag(op, "return_indices", return_indices)
    x, batched = check_input(op, input, dims)
    windows = _adaptive_windows(op, x, dims, output_size)
    layout = L.torch_layout("adaptive_max", dims, input)
    _choose_path(input, "adaptive_max", return_indices)              # always the window path
    result = W.reduce_max(_window_input(input, batched, layout), windows, return_indices)
    return _finish(result, batched, layout)


def _global_mean(input, dims):
    """Adaptive average pooling to size 1, as PyTorch computes it: the mean over the
    pooled axes (``adaptive_avg_pool2d`` and ``_3d`` in
    ``aten/src/ATen/native/AdaptiveAveragePooling*.cpp``), re-strided for a
    channels-last input; 1-D is the 2-D op on ``input.unsqueeze(-2)``."""
    u = input.unsqueeze(-2) if dims == 1 else input
    out = u.mean(tuple(range(-max(dims, 2), 0)), keepdim=True)
    if L.suggested_format(u) == (torch.channels_last_3d if dims == 3 else torch.channels_last):
        n, c = u.shape[:2]
        out = out.as_strided(out.shape, (c, 1) + (c,) * (u.dim() - 2))
    return out.squeeze(-2) if dims == 1 else out


def _adaptive_avg_pool(op, dims, input, output_size):
    x, batched = check_input(op, input, dims)
    windows = _adaptive_windows(op, x, dims, output_size)
    if all(w.out == 1 for w in windows):
        return _global_mean(input, dims)
    layout = L.torch_layout("adaptive_avg", dims, input)
    _choose_path(input, "adaptive_avg")                               # always the window path
    x = _window_input(input, batched, layout)
    out = W.window_sum(x, windows, torch.float32 if x.dtype in _HALF else None)
    # PyTorch's kernels divide by each bin's extent in turn (channels-last: by their product).
    counts = []
    for i, w in enumerate(windows):
        d = w.divisor(True, x.device)
        counts.append(d if isinstance(d, int) else d.reshape([w.out if j == i else 1 for j in range(dims)]))
    if layout.format != L.CONTIGUOUS:
        volume = counts[0]
        for c in counts[1:]:
            volume = volume * c
        counts = [volume]
    for c in counts:
        out = out / c
    return _finish(out.to(x.dtype), batched, layout)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    r"""1-D max pooling over ``(N, C, L)`` or ``(C, L)``, as ``torch.nn.functional.max_pool1d``.

    Args:
        input: floating-point tensor.
        kernel_size: window length :math:`k`, an int or a 1-tuple.
        stride: step :math:`s` between windows; ``None`` means ``kernel_size``.
        padding: :math:`p \le \lfloor k/2 \rfloor` positions of :math:`-\infty` on each side.
        dilation: spacing :math:`d` between the window's elements.
        ceil_mode: count windows with a ceiling instead of a floor (see :func:`poolkit.output_size`).
        return_indices: also return, for each output, the index of the chosen
            element in the input's last axis (``-1`` for a window of padding only);
            any truthy value asks for them, as in PyTorch. Indices, and inputs
            that require grad, take the training path; the rest takes the
            separable path, which gives values only (see the module's text).

    Returns:
        ``(N, C, L_out)`` (or ``(C, L_out)``), and the int64 indices if asked for, where
        :math:`L_{out} = \lfloor (L + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Example:
        >>> max_pool1d(torch.tensor([[1., 3., 2., 5.]]), 2)
        tensor([[3., 5.]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    r"""2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)``, as ``torch.nn.functional.max_pool2d``.

    Arguments as :func:`max_pool1d`, each an int or a pair ``(height, width)``.
    Indices are flat positions ``h * W + w`` within each ``(n, c)`` plane.

    Returns:
        ``(N, C, H_out, W_out)``, each size given by :func:`poolkit.output_size`.

    Example:
        >>> max_pool2d(torch.arange(16.).reshape(1, 4, 4), 3, stride=2, padding=1)
        tensor([[[ 5.,  7.],
                 [13., 15.]]])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    r"""3-D max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as ``torch.nn.functional.max_pool3d``.

    Arguments as :func:`max_pool1d`, each an int or a triple. Indices are flat
    positions ``(d * H + h) * W + w`` within each ``(n, c)`` volume.
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    r"""1-D average pooling over ``(N, C, L)`` or ``(C, L)``, as ``torch.nn.functional.avg_pool1d``.

    Args:
        input: floating-point tensor (float16 and bfloat16 are added in float32).
        kernel_size, stride, padding, ceil_mode: as in :func:`max_pool1d`; padding counts as 0.
        count_include_pad: divide by the number of window slots inside the
            padded input (True), or only by those inside the input (False). Slots
            that a ceil-mode window reaches past the right padding never count.

    Returns:
        ``(N, C, L_out)`` or ``(C, L_out)``.
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    r"""2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Arguments as :func:`avg_pool1d`, each an int or a pair. ``divisor_override``,
    a non-zero int, replaces the divisor of every window.
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    r"""3-D average pooling, as ``torch.nn.functional.avg_pool3d``; arguments as :func:`avg_pool2d`.

    As in PyTorch, the input must be float32 or float64, and at least as large
    as the kernel in every dimension."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""1-D power-average pooling, as ``torch.nn.functional.lp_pool1d``:
    :math:`\left(\sum_{\text{window}} x^p\right)^{1/p}` with :math:`p` = ``norm_type``.

    :math:`p = 1` gives the window sum; as :math:`p \to \infty` it approaches
    the maximum (of non-negative inputs). There is no padding.
    """
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""2-D power-average pooling, as ``torch.nn.functional.lp_pool2d``; see :func:`lp_pool1d`."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""3-D power-average pooling, as ``torch.nn.functional.lp_pool3d``; see :func:`lp_pool1d`."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    r"""Max over ``output_size`` bins of ``(N, C, L)`` or ``(C, L)``, as
    ``torch.nn.functional.adaptive_max_pool1d``.

    Bin :math:`i` of :math:`m` covers positions :math:`\lfloor iL/m \rfloor` to
    :math:`\lceil (i+1)L/m \rceil - 1`; bins overlap when :math:`m` does not divide :math:`L`.
    """
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    r"""2-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``.

    ``output_size`` is an int or a pair; an entry of ``None`` keeps that input size.
    """
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    r"""3-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool3d``."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_avg_pool1d(input, output_size):
    r"""Mean over ``output_size`` bins, as ``torch.nn.functional.adaptive_avg_pool1d``;
    the bins are those of :func:`adaptive_max_pool1d`."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    r"""2-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    ``output_size=1`` is global average pooling.
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    r"""3-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool3d``.

    float16 and bfloat16 inputs are added in float32 and rounded once, as in
    the 1-D and 2-D ops. PyTorch 2.14's CPU kernel for this op alone adds them
    in their own precision, and overflows (a float16 bin of 3136 elements of
    21.0 gives :math:`\infty`), so poolkit's results there are the accurate ones,
    not PyTorch's."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


# --- Fractional max pooling and max unpooling -------------------------------------------------
# The bodies live in poolkit._fractional and poolkit._unpool; these are the public signatures,
# equal to torch.nn.functional's.

from . import _fractional, _unpool  # noqa: E402


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    r"""2-D fractional max pooling (Graham, 2014), as ``torch.nn.functional.fractional_max_pool2d``.

    Each output is the maximum of a :math:`k_H \times k_W` window, but the
    windows start at pseudo-random positions: along an axis of length :math:`n`
    pooled to :math:`m` outputs, with :math:`\alpha = (n - k)/(m - 1)` and a
    sample :math:`u \in [0, 1)`, window :math:`i < m - 1` starts at
    :math:`\operatorname{trunc}((i + u)\alpha) - \operatorname{trunc}(u\alpha)`
    and the last at :math:`n - k`. This is the rule of PyTorch's
    ``generate_intervals`` (``aten/src/ATen/native/FractionalMaxPooling.h``,
    used by ``FractionalMaxPool2d.cpp``), computed in the input's dtype as it
    computes it; within a window the first maximum in row-major order wins, and
    the last NaN beats everything.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``, floating point.
        kernel_size: :math:`k`, an int or a pair ``(k_H, k_W)``.
        output_size: ``(m_H, m_W)`` or one int for both; needs
            :math:`m + k - 1 \le n` along each axis (0 gives an empty output).
        output_ratio: instead of ``output_size``: a number or a pair in
            :math:`(0, 1)`, giving :math:`m = \lfloor n \cdot r \rfloor`.
            Exactly one of the two must be given.
        return_indices: also return, for each output, the flat position
            ``h * W + w`` of its element in the input plane.
        _random_samples: ``(N', C, 2)`` samples :math:`u` in the input's dtype,
            :math:`N' \ge N` (1 for an unbatched input); column 0 drives the
            width, column 1 the height. ``None`` draws
            ``torch.rand(N, C, 2, dtype=input.dtype, device=input.device)``,
            as PyTorch does, so that the same ``torch.manual_seed`` gives the
            same result.

    Returns:
        ``(N, C, m_H, m_W)`` (or ``(C, m_H, m_W)``), contiguous, and the int64
        indices if asked for. Gradients flow to the chosen elements; an
        element chosen by several outputs receives the sum of their gradients.

    Raises:
        TypeError, ValueError: as PyTorch refuses, naming the argument. Beyond
        PyTorch's functional form (as its ``nn.FractionalMaxPool2d`` does), this
        refuses both ``output_size`` and ``output_ratio`` together, and a ratio
        outside :math:`(0, 1)`; it accepts a single number as ``output_ratio``
        (PyTorch's functional form documents but refuses it). It also refuses
        samples for which PyTorch's rule would leave the input or overflow a C
        ``int`` (where PyTorch fails an internal assertion or is undefined).

    Example:
        >>> x = torch.arange(25.).reshape(1, 5, 5)
        >>> fractional_max_pool2d(x, 2, output_size=3, _random_samples=torch.tensor([[[0.5, 0.5]]]))
        tensor([[[ 6.,  8.,  9.],
                 [16., 18., 19.],
                 [21., 23., 24.]]])
    """
    return _fractional.fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size,
                                           output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    r"""3-D fractional max pooling, as ``torch.nn.functional.fractional_max_pool3d``.

    As :func:`fractional_max_pool2d` over ``(N, C, D, H, W)`` or ``(C, D, H, W)``,
    with triples for ``kernel_size``, ``output_size`` and ``output_ratio``, and
    ``_random_samples`` of shape ``(N', C, 3)`` whose columns drive depth, height
    and width in that order (``FractionalMaxPool3d.cpp``). PyTorch's 3-D kernel
    is stricter than its 2-D one: it needs :math:`k \le n` and
    :math:`m + k - 1 < n` along each axis. Indices are flat positions
    ``(d * H + h) * W + w``.

    Example:
        >>> x = torch.arange(64.).reshape(1, 1, 4, 4, 4)
        >>> fractional_max_pool3d(x, 2, output_size=1, _random_samples=torch.zeros(1, 1, 3))
        tensor([[[[[63.]]]]])
    """
    return _fractional.fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size,
                                           output_ratio, return_indices, _random_samples)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of :func:`max_pool1d`, as ``torch.nn.functional.max_unpool1d``.

    Puts each value of ``input`` at the position its index names and zeros
    everywhere else. The output length is by default the largest that pools to
    :math:`L_{in}` without ceil mode, :math:`(L_{in} - 1)s + k - 2p`;
    ``output_size`` may ask for any length strictly between that minus and
    plus the stride (PyTorch's ``_unpool_output_size`` in ``torch/nn/functional.py``).

    Args:
        input: pooled values ``(N, C, L_in)`` or ``(C, L_in)``, floating point.
        indices: int64, the shape of ``input``: positions in the output's last axis,
            as :func:`max_pool1d` returns them with ``return_indices=True``.
        kernel_size, stride, padding: the arguments of that max pooling
            (``stride=None`` means ``kernel_size``); ints or 1-tuples.
        output_size: ``None``, ``(L,)`` or ``(N, C, L)`` (only ``L`` is read).

    Returns:
        ``(N, C, L)`` or ``(C, L)``. When two indices name one position, the
        later value stays (PyTorch's CPU kernel writes in order); in the
        backward pass every value receives the gradient at its index.

    Raises:
        TypeError: ``indices`` is not an int64 tensor, or an argument is not an int.
        ValueError: an index lies outside ``[0, L - 1]`` (naming the range and the
            values found), ``output_size`` is out of range, ``indices`` has
            another shape, or ``kernel_size``/``stride`` is below 1 or
            ``padding`` below 0 (which PyTorch does not check).

    Example:
        >>> y, i = max_pool1d(torch.tensor([[1., 3., 2., 5.]]), 2, return_indices=True)
        >>> max_unpool1d(y, i, 2)
        tensor([[0., 3., 0., 5.]])
    """
    return _unpool.max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``.

    As :func:`max_unpool1d` over ``(N, C, H_in, W_in)`` or ``(C, H_in, W_in)``, with
    pairs for ``kernel_size``, ``stride`` and ``padding``; ``output_size`` is
    ``(H, W)`` or ``(N, C, H, W)``, and indices are flat positions ``h * W + w``
    of the output plane. A channels-last input gives a channels-last output, as
    in PyTorch.

    Example:
        >>> x = torch.arange(16.).reshape(1, 4, 4)
        >>> y, i = max_pool2d(x, 2, return_indices=True)
        >>> max_unpool2d(y, i, 2)
        tensor([[[ 0.,  0.,  0.,  0.],
                 [ 0.,  5.,  0.,  7.],
                 [ 0.,  0.,  0.,  0.],
                 [ 0., 13.,  0., 15.]]])
    """
    return _unpool.max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of :func:`max_pool3d`, as ``torch.nn.functional.max_unpool3d``.

    As :func:`max_unpool1d` over ``(N, C, D_in, H_in, W_in)`` or
    ``(C, D_in, H_in, W_in)``, with triples for ``kernel_size``, ``stride`` and
    ``padding``; ``output_size`` is ``(D, H, W)`` or ``(N, C, D, H, W)``, and
    indices are flat positions ``(d * H + h) * W + w``. The output is
    contiguous whatever the input's layout, as in PyTorch.

    Example:
        >>> x = torch.arange(8.).reshape(1, 1, 2, 2, 2)
        >>> y, i = max_pool3d(x, 2, return_indices=True)
        >>> max_unpool3d(y, i, 2).flatten().tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]
    """
    return _unpool.max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


# The ``*_with_indices`` names of torch.nn.functional: the same ops, always
# returning ``(output, indices)``, whatever ``return_indices`` says.

def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """:func:`max_pool1d` with ``return_indices=True``, as ``torch.nn.functional.max_pool1d_with_indices``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """:func:`max_pool2d` with ``return_indices=True``, as ``torch.nn.functional.max_pool2d_with_indices``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """:func:`max_pool3d` with ``return_indices=True``, as ``torch.nn.functional.max_pool3d_with_indices``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """:func:`adaptive_max_pool1d` with ``return_indices=True``."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """:func:`adaptive_max_pool2d` with ``return_indices=True``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """:func:`adaptive_max_pool3d` with ``return_indices=True``."""
    return adaptive_max_pool3d(input, output_size, True)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """:func:`fractional_max_pool2d` with ``return_indices=True``."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """:func:`fractional_max_pool3d` with ``return_indices=True``."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)
