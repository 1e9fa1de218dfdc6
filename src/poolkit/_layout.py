"""PyTorch's memory layout for the results of its pooling ops, written once.

Two tensors with the same values can lie in memory in different orders; code
that follows a pooling op (a convolution, a ``view``) can tell them apart. So
poolkit returns its values, its indices and its input gradients with the
strides PyTorch gives them. The rules, learned from PyTorch 2.14 on the CPU by
sweeping layouts through every op (``tests/test_contract.py`` keeps checking
them), all come down to a memory format for the result, chosen from the input:

* 2-D ops on a batched input keep the input's format, channels-last or
  contiguous, as ``Tensor.suggest_memory_format`` reads it from the strides;
  unbatched inputs give contiguous results.
* 1-D ops are the 2-D ops on ``input.unsqueeze(-2)``, as PyTorch computes them,
  so they follow the 2-D rule there. One exception: ``max_pool1d`` without
  indices and without autograd has a kernel of its own, which returns a
  contiguous result.
* ``max_pool3d`` keeps channels-last-3d for a batched input, and for an
  unbatched one that is channels-last-3d once unsqueezed (and not contiguous).
  The other 3-D ops return contiguous results whatever the input.
* The input gradient has the layout of the output, applied to the input's shape.

Global average pooling (adaptive, output size 1) is the mean over the pooled
axes in PyTorch, and so in poolkit: its layout is the mean's, with no rule here.
"""

from dataclasses import dataclass

import torch

CONTIGUOUS = torch.contiguous_format


def channels_last_strides(shape, strides):
    """Whether PyTorch takes a 4-D or 5-D tensor of these strides for channels-last.

    The rule of ATen's ``is_channels_last_strides_2d`` and ``_3d``, behind
    ``Tensor.suggest_memory_format``: visit C, then the spatial axes from the
    innermost, then N, and require the strides to grow, with PyTorch's choices
    for axes of size 1.
    """
    order = {4: (1, 3, 2, 0), 5: (1, 4, 3, 2, 0)}.get(len(shape))
    if order is None or strides[1] == 0:
        return False
    smallest = 0
    for d in order:
        if shape[d] == 0 or strides[d] < smallest:
            return False
        if d == 0 and smallest == strides[1]:                 # N111-like: ambiguous, so contiguous
            return False
        smallest = strides[d] * max(shape[d], 1) if shape[d] > 1 else strides[d]
    return True


def suggested_format(t):
    """``t.suggest_memory_format()``, which PyTorch does not expose to Python. (A
    contiguous tensor is never taken for channels-last: its channel stride is
    the largest but the batch's, or ties with it.)"""
    if t.dim() in (4, 5) and not t.is_contiguous() and channels_last_strides(t.shape, t.stride()):
        return torch.channels_last if t.dim() == 4 else torch.channels_last_3d
    return CONTIGUOUS


@dataclass(frozen=True)
class Layout:
    """A memory format, for the tensor with an axis of size 1 inserted at ``unsqueeze``
    (``None``: as it is)."""

    format: torch.memory_format = CONTIGUOUS
    unsqueeze: int = None


def torch_layout(kind, dims, input, max1d_kernel=False):
    """The layout PyTorch gives the results of op ``kind`` (``"max"``, ``"avg"``,
    ``"adaptive_max"``, ``"adaptive_avg"``) over ``dims`` dimensions of ``input``
    (batched or not), and the gradient with respect to ``input``.

    ``max1d_kernel``: ``max_pool1d`` takes PyTorch's kernel without indices
    (see :func:`max1d_kernel`).
    """
    batched = input.dim() == dims + 2
    if dims == 1:
        if kind == "max" and max1d_kernel:
            return Layout()
        return Layout(suggested_format(input.unsqueeze(-2)) if batched else CONTIGUOUS, -2)
    if dims == 2:
        return Layout(suggested_format(input) if batched else CONTIGUOUS)
    if kind != "max":
        return Layout()
    if batched:
        return Layout(suggested_format(input))
    # An unbatched input that is channels-last-3d once unsqueezed, and not contiguous,
    # is pooled as such (the CPU kernel's special case for 4-D inputs).
    u = input.unsqueeze(0)
    if not u.is_contiguous() and u.is_contiguous(memory_format=torch.channels_last_3d):
        return Layout(torch.channels_last_3d, 0)
    return Layout()


def max1d_kernel(input, return_indices):
    """Whether PyTorch's ``max_pool1d`` takes its own CPU kernel, ``max_pool1d_impl``:
    no indices, no gradient to track (backward or forward mode), a plain CPU tensor.
    Otherwise it calls ``max_pool2d_with_indices`` (``aten/src/ATen/native/MaxPooling.cpp``)."""
    from torch.autograd import forward_ad
    if return_indices or (input.requires_grad and torch.is_grad_enabled()):
        return False
    if type(input) is not torch.Tensor and type(input) is not torch.nn.Parameter:
        return False
    if input.device.type != "cpu":
        return False
    return forward_ad.unpack_dual(input).tangent is None


def arrange(t, layout):
    """``t`` in ``layout``: itself if already so laid out, else a copy (differentiable)."""
    u = t if layout.unsqueeze is None else t.unsqueeze(layout.unsqueeze)
    if u.is_contiguous(memory_format=layout.format):
        return t
    u = u.contiguous(memory_format=layout.format)
    return u if layout.unsqueeze is None else u.squeeze(layout.unsqueeze)


class _GradientLayout(torch.autograd.Function):
    """The identity, whose backward lays the gradient out as PyTorch's pooling
    backward would. The backward is made of differentiable ops, so double
    backward, ``gradcheck`` and ``gradgradcheck`` see through it."""

    @staticmethod
    def forward(ctx, x, layout):        # ctx here, not in setup_context: apply() then binds no signature
        ctx.layout = layout
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return arrange(grad, ctx.layout), None


def gradient_layout(x, layout):
    """``x``, through :class:`_GradientLayout` when autograd will differentiate with respect to it.

    Only for plain autograd: functorch transforms and tracing see ``x`` itself."""
    if x.requires_grad and torch.is_grad_enabled():
        return _GradientLayout.apply(x, layout)
    return x
