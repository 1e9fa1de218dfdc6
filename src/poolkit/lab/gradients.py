r"""Backward passes of max and average pooling, written by hand, and max unpooling.

Autograd computes these for free; writing them out shows where the gradient
goes. Both backward passes scatter each output's gradient into the input
positions its window read, so overlapping windows add up:

* max pooling sends the whole gradient of an output to the one element it
  chose (the index of :func:`poolkit.functional.max_pool2d`: the first maximum
  in window order, or the last NaN), and nothing to the others;
* average pooling sends each of its window's real elements the gradient
  divided by the divisor (by default the window size).

:func:`max_unpool2d` (the library's :func:`poolkit.functional.max_unpool2d`)
puts pooled values back at the positions they came from, with zeros
elsewhere, as ``torch.nn.functional.max_unpool2d`` does.
"""

import torch

from .. import _unpool
from .. import _windows as W
from .._arguments import check_bool, check_int, window_arguments
from ..functional import max_unpool2d  # noqa: F401  (the library's, used by the book as gradients.max_unpool2d)


def _check_grad(op, grad_output, input_shape):
    if not isinstance(grad_output, torch.Tensor) or not grad_output.dtype.is_floating_point:
        raise TypeError(f"{op}: grad_output must be a floating-point torch.Tensor, got {grad_output!r:.80}")
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list, torch.Size)) else None
    if shape is None or len(shape) != 4:
        raise ValueError(f"{op}: input_shape must be (N, C, H, W) with positive ints, got input_shape={input_shape!r}")
    shape = tuple(check_int(f"input_shape[{i}]", n, minimum=1, op=op) for i, n in enumerate(shape))
    if tuple(grad_output.shape[:2]) != shape[:2] or grad_output.dim() != 4:
        raise ValueError(f"{op}: grad_output must be (N, C, H_out, W_out) with N, C of input_shape={shape}, "
                         f"got grad_output of shape {tuple(grad_output.shape)}")
    return shape


def _scatter(grad_values, flat_index, shape):
    """Add ``grad_values`` (N, C, ...) into a zero ``shape`` tensor at flat plane positions ``flat_index``."""
    n, c = shape[:2]
    grad_input = torch.zeros(n, c, shape[2] * shape[3], dtype=grad_values.dtype, device=grad_values.device)
    grad_input.scatter_add_(-1, flat_index.reshape(n, c, -1), grad_values.reshape(n, c, -1))
    return grad_input.reshape(shape)


def max_pool2d_backward(grad_output, indices, input_shape):
    r"""The gradient of :func:`poolkit.functional.max_pool2d` with respect to its input.

    Args:
        grad_output: ``(N, C, H_out, W_out)``, the gradient of the loss with
            respect to the pooled output.
        indices: int64 ``(N, C, H_out, W_out)``, as returned with
            ``return_indices=True``: the flat position ``h * W + w`` each output
            took its value from, ``-1`` for a window of padding only.
        input_shape: ``(N, C, H, W)`` of the pooled input.

    Returns:
        ``(N, C, H, W)``: every position receives the sum of the gradients of
        the outputs that chose it, and zero if none did.
    """
    op = "max_pool2d_backward"
    shape = _check_grad(op, grad_output, input_shape)
    if not isinstance(indices, torch.Tensor) or indices.dtype != torch.int64 or indices.shape != grad_output.shape:
        raise ValueError(f"{op}: indices must be an int64 tensor of the shape of grad_output "
                         f"{tuple(grad_output.shape)}, got {indices!r:.80}")
    plane = shape[2] * shape[3]
    if indices.numel() and (indices.min() < -1 or indices.max() >= plane):
        raise ValueError(f"{op}: indices must lie in [-1, {plane - 1}] for input_shape={shape}, "
                         f"got values from {indices.min().item()} to {indices.max().item()}")
    chosen = indices >= 0                                      # -1: nothing was chosen
    return _scatter(torch.where(chosen, grad_output, 0), indices.clamp(min=0), shape)


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True):
    r"""The gradient of :func:`poolkit.functional.avg_pool2d` with respect to its input.

    Args:
        grad_output: ``(N, C, H_out, W_out)``.
        input_shape: ``(N, C, H, W)`` of the pooled input.
        kernel_size, stride, padding, ceil_mode, count_include_pad: the
            arguments of the forward pass.

    Returns:
        ``(N, C, H, W)``: each output's gradient, divided by its window's
        divisor, added to every real element of its window.
    """
    op = "avg_pool2d_backward"
    shape = _check_grad(op, grad_output, input_shape)
    kernel, steps, pads, _ = window_arguments(op, 2, kernel_size, stride, padding)
    check_bool(op, "ceil_mode", ceil_mode)
    check_bool(op, "count_include_pad", count_include_pad)
    if any(p < 0 or p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(f"{op}: padding must be in 0..kernel_size // 2, got padding={pads} with kernel_size={kernel}")
    windows = [W.sliding(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip(shape[2:], kernel, steps, pads)]
    if tuple(grad_output.shape[2:]) != tuple(w.out for w in windows):
        raise ValueError(f"{op}: grad_output must be {tuple(w.out for w in windows)} spatially for these "
                         f"arguments, got grad_output of shape {tuple(grad_output.shape)}")
    divisor = 1
    for i, w in enumerate(windows):                            # the forward pass's divisor, per axis
        per_window = torch.as_tensor(w.divisor(count_include_pad, grad_output.device))
        divisor = divisor * (per_window.reshape([-1, 1] if i == 0 else [1, -1]) if per_window.dim() else per_window)
    share = grad_output / divisor.to(grad_output.device, grad_output.dtype)     # (N, C, H_out, W_out)
    valid = W.valid_mask(windows).to(grad_output.device)                      # (H_out, W_out, k_h, k_w)
    values = torch.where(valid, share[..., None, None], 0).expand(*shape[:2], *valid.shape)
    flat = W.flat_positions(windows).clamp(0, shape[2] * shape[3] - 1).to(grad_output.device)
    return _scatter(values, flat.expand(values.shape), shape)


def unpool_output_size(input_size, kernel_size, stride=None, padding=0, output_size=None):
    r"""The spatial size :func:`max_unpool2d` returns.

    Without ``output_size`` it is the largest input that pools to
    ``input_size`` without ceil mode: :math:`(n - 1)s + k - 2p` per axis. An
    input of any of the sizes that pool to ``n`` can be asked for instead: each
    entry of ``output_size`` must lie strictly between the default minus and
    plus the stride, as in PyTorch. (The rule itself is the library's, in
    :mod:`poolkit._unpool`.)

    Args:
        input_size: ``(H_in, W_in)`` of the pooled tensor.
        kernel_size, stride, padding: the arguments of the max pooling.
        output_size: ``None``, ``(H, W)`` or ``(N, C, H, W)``.

    Returns:
        ``(H, W)``, a tuple of ints.
    """
    return _unpool.unpool_output_size("max_unpool2d", 2, input_size, kernel_size, stride, padding, output_size)
