"""What a layer costs: output shape, learnable parameters and scalar operations.

Pooling and convolution are compared on the same ``(C, H, W)`` input. The
operation counts are those of a direct implementation:

* max pooling: ``k_h * k_w - 1`` comparisons per output element;
* average pooling: ``k_h * k_w - 1`` additions and one division per output element;
* convolution: one multiplication and one addition per weight per output
  element, ``2 * C_in * k_h * k_w`` per output element. This is the count
  ``torch.utils.flop_counter.FlopCounterMode`` reports for a convolution (the
  bias additions, ``C_out * H_out * W_out`` in all, are left out by both).
"""

from dataclasses import dataclass

from .._arguments import check_int, int_pair
from .._shapes import conv_output_size, output_size


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer on one ``(C, H, W)`` input (batch size 1).

    Attributes:
        output_shape: ``(C_out, H_out, W_out)``.
        parameters: number of learnable scalars.
        operations: scalar operations for one forward pass (see the module docstring).
    """

    output_shape: tuple
    parameters: int
    operations: int


def _input_shape(shape):
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise TypeError(f"shape must be (C, H, W), got {shape!r}")
    return tuple(check_int(name, size, minimum=1) for name, size in zip(("C", "H", "W"), shape))


def _spatial(shape, kernel_size, stride, padding, rule):
    _, h, w = _input_shape(shape)
    k = int_pair("kernel_size", kernel_size)
    s = int_pair("stride", stride)
    p = int_pair("padding", padding)
    return k, (rule(h, k[0], s[0], p[0]), rule(w, k[1], s[1], p[1]))


def pool2d_cost(shape, kernel_size, stride=None, padding=0, mode="max"):
    """Cost of ``max`` or ``avg`` pooling, channel by channel, on a ``(C, H, W)`` input.

    Args:
        shape: ``(C, H, W)``.
        kernel_size, stride, padding: as in ``torch.nn.MaxPool2d`` (``stride=None``
            means ``kernel_size``).
        mode: ``'max'`` or ``'avg'``.

    Returns:
        :class:`LayerCost` with ``C`` output channels and no parameters.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    stride = kernel_size if stride is None else stride
    (k_h, k_w), (h_out, w_out) = _spatial(shape, kernel_size, stride, padding, output_size)
    outputs = shape[0] * h_out * w_out
    per_output = k_h * k_w - 1 if mode == "max" else k_h * k_w
    return LayerCost((shape[0], h_out, w_out), 0, outputs * per_output)


def conv2d_cost(shape, out_channels, kernel_size, stride=1, padding=0, bias=True):
    """Cost of a dense ``torch.nn.Conv2d(C, out_channels, ...)`` on a ``(C, H, W)`` input.

    ``kernel_size``, ``stride`` and ``padding`` are ints or pairs, as in ``nn.Conv2d``
    (stride 1 by default; any padding).

    Returns:
        :class:`LayerCost` with ``out_channels`` output channels,
        ``out_channels * C * k_h * k_w`` weights (plus ``out_channels`` if ``bias``)
        and ``2 * C * k_h * k_w`` operations per output element.
    """
    out_channels = check_int("out_channels", out_channels, minimum=1, op="conv2d_cost")
    (k_h, k_w), (h_out, w_out) = _spatial(shape, kernel_size, stride, padding, conv_output_size)
    weights = out_channels * shape[0] * k_h * k_w
    outputs = out_channels * h_out * w_out
    return LayerCost(
        (out_channels, h_out, w_out),
        weights + (out_channels if bias else 0),
        outputs * 2 * shape[0] * k_h * k_w,
    )
