"""Max pooling built from convolutions and ReLUs only.

One ReLU layer computes the maximum of two numbers:

    max(a, b) = ReLU(a - b) + ReLU(b) - ReLU(-b)

(if ``a >= b`` the first term is ``a - b`` and the other two add up to ``b``;
otherwise the first term is 0). The three terms are linear in ``(a, b)``
before the ReLU, so a convolution computes them, and a ``1 x 1`` convolution
adds them up afterwards.

A ``k``-wide maximum is built from such pairs. After a level that covers
``w`` neighbours, the next level takes the maximum of the values at ``j`` and
``j + d`` with ``d = min(w, k - w)`` (a convolution with two taps, dilated by
``d``), which covers ``w + d`` neighbours. ``ceil(log2 k)`` levels cover
``k``: the doubling schedule of :mod:`poolkit._doubling`, whose steps are the
dilations. The window's maximum is the row maximum of the column maxima, so a
``k_h x k_w`` window takes ``ceil(log2 k_w) + ceil(log2 k_h)`` ReLU layers.
Each ``1 x 1`` combination is merged into the convolution that follows it.
"""

import torch
from torch import nn

from .._arguments import check_int, int_pair
from .._doubling import doubling_steps

# Per pair (a, b): the three pre-activations a - b, b and -b, as two-tap weights ...
_PAIR = torch.tensor([[1.0, -1.0], [0.0, 1.0], [0.0, -1.0]])
# ... and how their ReLUs add up to max(a, b).
_SUM = torch.tensor([1.0, 1.0, -1.0])


dilations = doubling_steps
"""The tap distances ``d`` of the levels that take a maximum over ``kernel_size`` neighbours:
the steps of the doubling schedule (:func:`poolkit._doubling.doubling_steps`)."""


def relu_max_pool2d(kernel_size, stride=None, channels=1):
    """An ``nn.Sequential`` of ``Conv2d`` and ``ReLU`` layers equal to ``nn.MaxPool2d(kernel_size, stride)``.

    Every weight is fixed (``requires_grad=False``) and there is no bias. The
    result equals max pooling up to floating-point rounding (``a - b + b`` need
    not be ``a``), and exactly on inputs such as small integers.

    Args:
        kernel_size: int or ``(k_h, k_w)``; a ``1 x 1`` window is rejected (it
            is the identity, with no maximum to build).
        stride: int or pair; ``None`` means ``kernel_size``, as in ``nn.MaxPool2d``.
        channels: number of channels, pooled separately (convolutions with
            ``groups=channels``).

    Returns:
        ``nn.Sequential``: conv, ReLU, conv, ReLU, ..., conv, with one ReLU per
        level (see the module docstring) and ``3 * channels`` channels between
        the convolutions. Padding is not offered: max pooling pads with
        ``-inf``, which a convolution's zero padding cannot imitate.
    """
    k = int_pair("kernel_size", kernel_size, 1)
    s = k if stride is None else int_pair("stride", stride, 1)
    channels = check_int("channels", channels, minimum=1, op="relu_max_pool2d")
    if k == (1, 1):
        raise ValueError("kernel_size=(1, 1) takes no maximum: it needs no ReLU layer")
    levels = [("w", d) for d in dilations(k[1])] + [("h", d) for d in dilations(k[0])]
    layers = []
    for n, (axis, d) in enumerate(levels):
        shape, dilation = ((1, 2), (1, d)) if axis == "w" else ((2, 1), (d, 1))
        in_per_group = 1 if n == 0 else 3
        conv = nn.Conv2d(in_per_group * channels, 3 * channels, shape, dilation=dilation,
                         groups=channels, bias=False)
        taps = _PAIR if n == 0 else _PAIR[:, None, :] * _SUM[None, :, None]   # merged with the sum
        weight = taps.reshape(3, in_per_group, *shape).repeat(channels, 1, 1, 1)
        conv.weight = nn.Parameter(weight, requires_grad=False)
        layers += [conv, nn.ReLU()]
    final = nn.Conv2d(3 * channels, channels, 1, stride=s, groups=channels, bias=False)
    final.weight = nn.Parameter(_SUM.reshape(1, 3, 1, 1).repeat(channels, 1, 1, 1), requires_grad=False)
    return nn.Sequential(*layers, final)


def relu_layers(kernel_size):
    """How many ReLU layers :func:`relu_max_pool2d` uses: ``ceil(log2 k_h) + ceil(log2 k_w)``,
    one per doubling step along each axis."""
    k_h, k_w = int_pair("kernel_size", kernel_size, 1)
    return len(dilations(k_h)) + len(dilations(k_w))
