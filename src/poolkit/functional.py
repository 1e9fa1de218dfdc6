r"""Pooling ops with the names, signatures and results of ``torch.nn.functional``.

Every op here is written in plain PyTorch tensor operations. The reference
path rests on one primitive, :mod:`poolkit._windows`: the input becomes a tensor
of windows, ``(N, C, *out, *window)``, and the op reduces its last axes.

Max and average pooling have a second, faster path, :mod:`poolkit._separable`,
which pools one dimension at a time in cache-sized blocks, and doubles the
window width at each step where the stride is 1. The ops choose it by
themselves whenever it can give the same answer:

* ``max_pool*`` use it unless ``return_indices=True`` or the input requires
  grad (with autograd on). It does not track which element won, so indices and
  gradients come from the window path. Its values are the window path's, bit
  for bit.
* ``avg_pool*`` use it for float32 and float64 inputs that do not require
  grad. It adds each window in another order, so it agrees with PyTorch
  within :func:`poolkit._separable.sum_error_bound`.

* max pooling takes the largest element of each window, padding counting as
  :math:`-\infty`;
* average pooling sums each window (padding counting as 0) and divides;
* power-average (LP) pooling is average pooling of :math:`x^p`, rescaled;
* adaptive pooling uses bins instead of sliding windows.

Inputs are ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` tensors of a
floating dtype, in any memory layout. The results equal PyTorch's: max pooling
bit for bit (for float16 and bfloat16, up to the payload bits of NaNs), with the same indices, the same NaN propagation and the same
gradients; average pooling within floating-point rounding (the window sums are
added in another order). Bad arguments raise ``TypeError`` or ``ValueError``
wherever PyTorch raises, naming the parameter and the value.

One case differs on purpose. With dilation, a max-pooling window can fall
entirely in the padding (for example length 1, ``kernel_size=2``,
``padding=1``, ``dilation=2``: the window reads positions -1 and 1). PyTorch
2.14 returns :math:`-\infty` there with an index past the end of the input,
and its backward pass then writes out of bounds. poolkit returns
:math:`-\infty` with index ``-1``, meaning "no element", and that output
passes no gradient to the input.
"""

import torch
from torch.autograd import forward_ad

try:                                    # private to PyTorch: if it moves, every input takes the window path
    from torch._C._functorch import is_functorch_wrapped_tensor
except ImportError:                     # pragma: no cover
    def is_functorch_wrapped_tensor(x):
        return True

from . import _separable as separable
from . import _windows as W
from ._arguments import as_stride, as_tuple, check_bool, check_input, check_positive


def _pool_windows(op, x, dims, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = as_tuple(op, "kernel_size", kernel_size, dims)
    stride = as_stride(op, stride, kernel, dims)
    padding = as_tuple(op, "padding", padding, dims)
    dilation = as_tuple(op, "dilation", dilation, dims)
    check_bool(op, "ceil_mode", ceil_mode)
    check_positive(op, "kernel_size", kernel)
    check_positive(op, "stride", stride)
    check_positive(op, "dilation", dilation)
    if any(p < 0 for p in padding):
        raise ValueError(f"{op}: padding must be non-negative, got padding={padding}")
    try:
        return [W.sliding(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)]
    except ValueError as error:
        raise ValueError(
            f"{op}: {error} (input of shape {tuple(x.shape)}, kernel_size={kernel}, "
            f"stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})"
        ) from None


def _window_path_only(x):
    """True unless the separable path may read ``x`` directly: it builds no
    autograd graph (backward or forward mode) and writes into its own buffers,
    which functorch's wrapped tensors (``vmap``, ``jvp``) cannot see through."""
    if x.requires_grad and torch.is_grad_enabled():
        return True
    if type(x) not in (torch.Tensor, torch.nn.Parameter) or is_functorch_wrapped_tensor(x):
        return True
    return forward_ad.unpack_dual(x).tangent is not None


def _finish(result, batched):
    if batched:
        return result
    if isinstance(result, tuple):
        return tuple(r.squeeze(0) for r in result)
    return result.squeeze(0)


def _unbatched_layout(x, batched):
    # PyTorch returns an unbatched result in the default layout, whatever the input's
    # strides, except max_pool3d (see _in_stride_order).
    return x if batched else x.contiguous()


def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, batched = check_input(op, input, dims)
    if dims < 3:
        x = _unbatched_layout(x, batched)
    check_bool(op, "return_indices", return_indices)
    windows = _pool_windows(op, x, dims, kernel_size, stride, padding, dilation, ceil_mode)
    if return_indices or _window_path_only(x):
        result = W.reduce_max(x, windows, return_indices)
    else:
        result = separable.max_pool(x, windows)
    if dims == 3 and not batched and not isinstance(result, tuple):
        return _in_stride_order(_finish(result, batched), input)
    return _finish(result, batched)


def _in_stride_order(out, like):
    """``out`` with its axes laid out in memory in the order of ``like``'s strides,
    as PyTorch's max_pool3d returns an unbatched result."""
    order = sorted(range(like.dim()), key=lambda d: -like.stride(d))       # outermost first
    if order == sorted(order, key=lambda d: -out.stride(d)):
        return out
    laid_out = torch.empty([out.shape[d] for d in order], dtype=out.dtype, device=out.device)
    return laid_out.permute([order.index(d) for d in range(out.dim())]).copy_(out)


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, batched = check_input(op, input, dims)
    x = _unbatched_layout(x, batched)
    check_bool(op, "count_include_pad", count_include_pad)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int):
            raise TypeError(f"{op}: divisor_override must be an int or None, got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be zero, got divisor_override=0")
    windows = _pool_windows(op, x, dims, kernel_size, stride, padding, 1, ceil_mode)
    if dims == 3 and any(w.size < w.width for w in windows):
        # PyTorch's avg_pool3d (alone) requires this even when padding would make windows fit.
        raise ValueError(
            f"{op}: the input must be at least as large as the kernel in every dimension, "
            f"got input of shape {tuple(x.shape)} and kernel_size={tuple(w.width for w in windows)}"
        )
    method = "window" if _window_path_only(x) or x.dtype not in (torch.float32, torch.float64) else "auto"
    if divisor_override is not None:
        return _finish(_avg_layout(separable.sum_pool(x, windows, method, divisor_override), dims), batched)
    divisor = 1
    for i, w in enumerate(windows):
        first = w.positions[:, 0]
        last = torch.minimum(first + w.width, torch.tensor(w.size + w.left))  # overhang past the padding never counts
        if not count_include_pad:
            first, last = first.clamp(min=0), last.clamp(max=w.size)
        shape = [1] * dims
        shape[i] = w.out
        divisor = divisor * (last - first).reshape(shape)
    divisor = divisor.to(x.device, x.dtype)
    return _finish(_avg_layout(separable.sum_pool(x, windows, method, divisor), dims), batched)


def _avg_layout(out, dims):
    # PyTorch's avg_pool3d returns a contiguous tensor even for a channels-last input.
    return out.contiguous() if dims == 3 else out


def _lp_pool(op, dims, input, norm_type, kernel_size, stride, ceil_mode):
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)):
        raise TypeError(f"{op}: norm_type must be a number, got norm_type={norm_type!r}")
    if norm_type == 0:
        raise ValueError(f"{op}: norm_type must be non-zero, got norm_type={norm_type}")
    # PyTorch takes an int, or (for 2-D and 3-D) a tuple with one entry per dimension;
    # its 1-D version accepts a 1-tuple only for an infinite norm_type.
    is_tuple = isinstance(kernel_size, (tuple, list))
    tuple_ok = is_tuple and (len(kernel_size) == dims if dims > 1 else abs(norm_type) == float("inf"))
    if not (isinstance(kernel_size, int) or tuple_ok):
        raise TypeError(
            f"{op}: kernel_size must be an int" + (f" or a tuple of {dims} ints" if dims > 1 else "")
            + f", got kernel_size={kernel_size!r} with norm_type={norm_type}"
        )
    if norm_type == float("inf"):
        return _max_pool(op, dims, input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
    if norm_type == float("-inf"):
        return -_max_pool(op, dims, -input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
    x, batched = check_input(op, input, dims)
    kernel = as_tuple(op, "kernel_size", kernel_size, dims)
    out = _avg_pool(op, dims, x.pow(norm_type), kernel, stride, 0, ceil_mode, True, None)
    volume = 1
    for k in kernel:
        volume *= k
    # As PyTorch: keep the sign of the mean, clip its magnitude at zero, undo the division.
    out = (torch.sign(out) * torch.relu(torch.abs(out))).mul(volume).pow(1.0 / norm_type)
    return _finish(out, batched)


def _adaptive_windows(op, x, dims, output_size):
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        sizes = (output_size,) * dims
    elif isinstance(output_size, (tuple, list)) and len(output_size) == dims:
        if dims == 1 and output_size[0] is None:
            raise TypeError(f"{op}: output_size must be an int or a 1-tuple of an int, got {output_size!r}")
        sizes = tuple(n if s is None else s for n, s in zip(x.shape[2:], output_size))
    else:
        raise TypeError(
            f"{op}: output_size must be an int or a tuple of {dims} "
            + ("ints" if dims == 1 else "ints or Nones") + f", got output_size={output_size!r}"
        )
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, int):
            raise TypeError(f"{op}: output_size entries must be ints, got output_size={output_size!r}")
        if s < 0:
            raise ValueError(f"{op}: output_size must be non-negative, got output_size={output_size!r}")
    return [W.adaptive(n, s) for n, s in zip(x.shape[2:], sizes)]


def _adaptive_max_pool(op, dims, input, output_size, return_indices):
    x, batched = check_input(op, input, dims)
    check_bool(op, "return_indices", return_indices)
    windows = _adaptive_windows(op, x, dims, output_size)
    return _finish(W.reduce_max(x, windows, return_indices), batched)


def _adaptive_avg_pool(op, dims, input, output_size):
    x, batched = check_input(op, input, dims)
    windows = _adaptive_windows(op, x, dims, output_size)
    sums = W.gather(x, windows, 0.0).sum(dim=tuple(range(-dims, 0)))
    counts = W.valid_mask(windows).sum(dim=tuple(range(-dims, 0)))
    return _finish(sums / counts.to(x.device, sums.dtype), batched)


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
            element in the input's last axis (``-1`` for a window of padding only).
            Indices, and inputs that require grad, take the window path; the
            rest takes the faster separable path (see the module's text).

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
        input: floating-point tensor.
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
    r"""3-D average pooling, as ``torch.nn.functional.avg_pool3d``; arguments as :func:`avg_pool2d`."""
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
    r"""3-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool3d``."""
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
