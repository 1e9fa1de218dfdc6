r"""Receptive fields measured with gradients, to hold :func:`poolkit.receptive_field`
to what a network really computes.

An output element depends on an input position when a change there can
change it. Through a max pool or a ReLU, whether a change gets through
depends on the input; the positions that could *ever* matter do not. So the
measurement works on a copy of the network with the same geometry in which
every path is open:

* every convolution's weights are positive (all equal, summing to 1 over a
  window and the input channels) and its bias 0;
* every pool with a fixed window becomes a sum over the same windows (same
  ``kernel_size``, ``stride``, ``padding``, ``dilation`` and ``ceil_mode``),
  through which every input of a window reaches the output;
* every pointwise layer (activations, batch norm, dropout) becomes the
  identity, so that none can block a gradient (a ReLU6 or a hard tanh would,
  where the sums grow past their flat parts); the copy runs in evaluation mode.

With a positive input, every value in the copy is positive, and the gradient
of one output element with respect to the input is positive exactly at the
input positions connected to it by a path through the layers' windows, the
positions it can depend on for some input and some weights:
:func:`input_gradient` returns it, :func:`gradient_support` where it is not 0. It is computed in float64, where products of
hundreds of small weights do not underflow.
"""

import copy

import torch
from torch import nn

from .._arguments import check_int
from .._receptive import POINTWISE, _dims_of, _pools
from .._windows import sliding, window_sum


class WindowSum(nn.Module):
    """The sum over every window of a pooling layer's geometry (padding counts as 0)."""

    def __init__(self, dims, kernel_size, stride, padding=0, dilation=1, ceil_mode=False):
        super().__init__()

        def spread(value):
            return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims

        self.dims = dims
        self.kernel_size, self.stride = spread(kernel_size), spread(stride)
        self.padding, self.dilation, self.ceil_mode = spread(padding), spread(dilation), ceil_mode

    def forward(self, x):
        spatial = x.shape[-self.dims:]
        windows = [sliding(n, k, s, p, d, self.ceil_mode)
                   for n, k, s, p, d in zip(spatial, self.kernel_size, self.stride, self.padding, self.dilation)]
        return window_sum(x, windows)


def _open_copy(module):
    if isinstance(module, nn.modules.conv._ConvNd):
        with torch.no_grad():
            module.weight.fill_(1.0 / module.weight[0].numel())
            if module.bias is not None:
                module.bias.zero_()
        return module
    if isinstance(module, _pools()):
        stride = getattr(module, "stride", None) or module.kernel_size
        return WindowSum(_dims_of(module), module.kernel_size, stride, getattr(module, "padding", 0),
                         getattr(module, "dilation", 1), getattr(module, "ceil_mode", False))
    if isinstance(module, POINTWISE):
        return nn.Identity()
    # Every slot, including a module that appears in several (named_children lists it once).
    for child_name, child in list(module._modules.items()):
        if child is not None:
            setattr(module, child_name, _open_copy(child))
    return module


def open_copy(model):
    """A float64 copy of ``model`` in evaluation mode with every path open (see
    the module's description); ``model`` itself is not changed."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"open_copy: model must be an nn.Module, got model={model!r:.80}")
    return _open_copy(copy.deepcopy(model).double()).eval()


def input_gradient(model, input_size, index, in_channels=None):
    r"""The gradient, with respect to an input of ones, of output element ``index``
    of channel 0 in :func:`open_copy` of ``model``, summed over the input channels.

    In the open copy every convolution averages its window and every pool sums
    its window, so the gradient counts the paths from each input position to
    the output element, each weighted by the product of the convolutions' equal
    weights along it.

    Args:
        model: a stack of convolution, pooling and pointwise layers.
        input_size: spatial size of the input, a tuple of ints.
        index: the output element, one int per spatial axis.
        in_channels: channels of the input; by default those of the first
            convolution in ``model``, else 1.

    Returns:
        A float64 tensor of shape ``input_size``, positive where the element
        depends on the input and 0 elsewhere.
    """
    input_size = tuple(check_int(f"input_size[{i}]", n, minimum=1, op="input_gradient")
                       for i, n in enumerate(input_size))
    if in_channels is None:
        convs = [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]
        in_channels = convs[0].in_channels if convs else 1
    in_channels = check_int("in_channels", in_channels, minimum=1, op="input_gradient")
    opened = open_copy(model)
    x = torch.ones(1, in_channels, *input_size, dtype=torch.float64, requires_grad=True)
    out = opened(x)
    index = tuple(index)
    if len(index) != out.dim() - 2:
        raise ValueError(f"input_gradient: index must have one entry per spatial axis "
                         f"({out.dim() - 2}), got index={index!r}")
    for axis, (i, n) in enumerate(zip(index, out.shape[2:])):
        check_int(f"index[{axis}]", i, minimum=0, maximum=n - 1, op="input_gradient")
    out[(0, 0, *index)].backward()
    return x.grad[0].sum(0)


def gradient_support(model, input_size, index, in_channels=None):
    r"""The input positions that output element ``index`` of channel 0 depends on:
    where :func:`input_gradient` is nonzero (same arguments).

    Returns:
        A bool tensor of shape ``input_size``.
    """
    return input_gradient(model, input_size, index, in_channels).ne(0)
