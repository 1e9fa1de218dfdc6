r"""Max unpooling: the pooled values put back where max pooling found them.

The output of ``max_unpool{1,2,3}d`` is zero except at the positions that the
indices name, one flat position per ``(n, c)`` plane of the output. Its size is
ambiguous (several input sizes pool to the same output), so by default it is
the largest input that pools to the given size without ceil mode,

.. math::

    n_{out} = (n_{in} - 1)\,s + k - 2p,

and ``output_size`` may ask for any size strictly between :math:`n_{out} - s`
and :math:`n_{out} + s`. These are the rules of PyTorch's
``_unpool_output_size`` (``torch/nn/functional.py``); the placement follows its
CPU kernel (``aten/src/ATen/native/cpu/MaxUnpoolKernel.cpp``), which writes the
inputs in order, so that when two inputs name the same position the later one
stays, and whose backward pass gives every input the output gradient at its
index.
"""

import math

import torch

from ._arguments import check_input, check_int, exact_tuple

_SHAPES = {1: ("(L,)", "(N, C, L)"), 2: ("(H, W)", "(N, C, H, W)"), 3: ("(D, H, W)", "(N, C, D, H, W)")}


def unpool_output_size(op, dims, input_size, kernel_size, stride=None, padding=0, output_size=None):
    """The spatial size max unpooling returns, as a tuple of ``dims`` ints.

    Args:
        op: the op's name, for error messages.
        dims: 1, 2 or 3.
        input_size: the last ``dims`` sizes of the pooled tensor.
        kernel_size, stride, padding: the arguments of the max pooling.
        output_size: ``None``, ``dims`` sizes, or ``dims + 2`` (the leading two are ignored).

    Raises:
        TypeError: an argument is not an int or a sequence of ints.
        ValueError: a size is outside the range above, or would be negative.
    """
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("padding", padding)):
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            # PyTorch makes a tuple of it by iterating over it, which a 0-d tensor refuses.
            raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {name}={value!r} "
                            f"(a 0-d tensor, which PyTorch's max_unpool cannot iterate over)")
    if output_size is None:
        for name, value in (("kernel_size", kernel_size), ("stride", stride), ("padding", padding)):
            _python_ints(op, name, value)
    elif isinstance(output_size, (tuple, list)):
        # PyTorch ignores the leading two of dims + 2 entries, whatever they are.
        _python_ints(op, "output_size", tuple(output_size)[2:] if len(output_size) == dims + 2 else output_size)
    kernel = exact_tuple(op, "kernel_size", kernel_size, dims, minimum=1)
    steps = kernel if stride is None else exact_tuple(op, "stride", stride, dims, minimum=1)
    pads = exact_tuple(op, "padding", padding, dims, minimum=0)
    sizes = tuple(input_size)[-dims:]
    default = tuple((n - 1) * s + k - 2 * p for n, s, k, p in zip(sizes, steps, kernel, pads))
    if output_size is None:
        size = default
    else:
        if not isinstance(output_size, (tuple, list, torch.Size)):
            raise TypeError(f"{op}: output_size must be a tuple {' or '.join(_SHAPES[dims])} or None, "
                            f"got output_size={output_size!r} ({type(output_size).__name__})")
        if len(output_size) not in (dims, dims + 2):
            raise ValueError(f"{op}: output_size must be {_SHAPES[dims][0]} or {_SHAPES[dims][1]}, "
                             f"got output_size={output_size!r}")
        try:
            size = tuple(check_int("output_size", n) for n in tuple(output_size)[-dims:])
        except TypeError:
            raise TypeError(f"{op}: output_size entries must be ints, got output_size={output_size!r}") from None
        for n, d, s in zip(size, default, steps):
            if not d - s < n < d + s:
                raise ValueError(f"{op}: output_size entries must be ints strictly between default - stride and "
                                 f"default + stride, got output_size={output_size!r} with default {default} "
                                 f"and stride {steps}")
    if min(size) < 0:
        raise ValueError(f"{op}: the output size must be non-negative, got {size} for an input of size {sizes} "
                         f"with kernel_size={kernel}, stride={steps}, padding={pads}")
    return size


def _python_ints(op, name, value):
    """Without an ``output_size``, PyTorch's max_unpool refuses a NumPy integer or
    a tensor among these arguments (a comparison of its default size then gives
    no Python bool): so does poolkit."""
    entries = value if isinstance(value, (tuple, list)) else (value,)
    for entry in entries:
        if entry is not None and not isinstance(entry, int):
            raise TypeError(f"{op}: {name} must be a Python int or a tuple of Python ints, as in PyTorch, "
                            f"got {name}={value!r} ({type(entry).__name__})")


def max_unpool(op, dims, input, indices, kernel_size, stride, padding, output_size):
    """The shared body of ``max_unpool1d``, ``max_unpool2d`` and ``max_unpool3d``."""
    x, batched = check_input(op, input, dims)
    if not isinstance(indices, torch.Tensor):
        raise TypeError(f"{op}: indices must be a torch.Tensor, got {type(indices).__name__}")
    if indices.dtype != torch.int64:
        raise TypeError(f"{op}: indices must be an int64 tensor, got indices of dtype {indices.dtype}")
    if indices.shape != input.shape:
        raise ValueError(f"{op}: indices must have the shape of input {tuple(input.shape)}, "
                         f"got indices of shape {tuple(indices.shape)}")
    size = unpool_output_size(op, dims, x.shape[2:], kernel_size, stride, padding, output_size)
    n, c = x.shape[:2]
    pooled = math.prod(x.shape[2:])
    plane = math.prod(size)
    index = (indices if batched else indices.unsqueeze(0)).to(x.device).reshape(n, c, pooled)
    if n * c * plane and index.device.type != "meta":   # empty output: PyTorch checks nothing; meta: no values
        low, high = index.min().item(), index.max().item()
        if low < 0 or high >= plane:
            raise ValueError(f"{op}: indices must lie in [0, {plane - 1}] for an output of size {size}, "
                             f"got values from {low} to {high}")
    out = _Place.apply(x.reshape(n, c, pooled), index, plane).reshape(n, c, *size)
    if batched and dims < 3 and _strides_like_channels_last(x if dims == 2 else x.unsqueeze(-1)):
        # PyTorch's 2-D kernel (through which the 1-D op runs) keeps a channels-last layout,
        # with the canonical strides even where size-1 axes make several strides possible.
        four = out if dims == 2 else out.unsqueeze(-1)
        four = torch.empty_like(four, memory_format=torch.channels_last).copy_(four)
        out = four if dims == 2 else four.squeeze(-1)
    return out if batched else out.squeeze(0)


class _Place(torch.autograd.Function):
    """``(N, C, P_in)`` values placed at ``(N, C, P_in)`` positions of a zero
    ``(N, C, plane)`` tensor; the later of two values for one position stays.

    The backward pass gives every value the gradient at its position, even a value
    that a later one overwrote, as PyTorch's ``max_unpool`` backward does.
    Both directions copy elements with ``index_select``, which keeps every bit
    (NaN payloads included).
    """

    @staticmethod
    def forward(ctx, values, index, plane):
        ctx.save_for_backward(index)
        n, c, pooled = values.shape
        if n * c * plane == 0:
            return values.new_zeros(n, c, plane)
        order = torch.arange(pooled, device=values.device).expand(n, c, pooled)
        last = torch.full((n, c, plane), -1, dtype=torch.int64, device=values.device)
        last.scatter_reduce_(-1, index, order, "amax")                 # the last input naming each position
        padded = torch.cat([values, values.new_zeros(n, c, 1)], -1)   # slot `pooled` holds the zero
        rows = torch.arange(n * c, device=values.device).reshape(n, c, 1) * (pooled + 1)
        pick = torch.where(last < 0, pooled, last) + rows
        return padded.reshape(-1).index_select(0, pick.reshape(-1)).reshape(n, c, plane)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        n, c, pooled = index.shape
        plane = grad.shape[-1]
        if n * c * plane == 0:
            return grad.new_zeros(n, c, pooled), None, None
        rows = torch.arange(n * c, device=grad.device).reshape(n, c, 1) * plane
        return grad.reshape(-1).index_select(0, (index + rows).reshape(-1)).reshape(n, c, pooled), None, None


def _strides_like_channels_last(x):
    """Whether PyTorch would call the strides of a 4-D tensor channels-last
    (``is_channels_last_strides_2d_s4`` in ``c10/core/MemoryFormat.h``): the
    strides must grow in the order C, W, H, N, ties among size-1 axes resolved
    towards the default layout."""
    sizes, strides = x.shape, x.stride()
    if strides[1] == 0:
        return False
    smallest = 0
    for d in (1, 3, 2, 0):
        if sizes[d] == 0 or strides[d] < smallest:
            return False
        if d == 0 and smallest == strides[1]:
            return False
        smallest = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True
