r"""The receptive field of a stack of convolution and pooling layers.

A sliding-window layer with window ``kernel_size`` :math:`k`, ``stride``
:math:`s`, ``padding`` :math:`p` (on the left) and ``dilation`` :math:`d`
spans :math:`k_e = d (k - 1) + 1` elements of its input. Counting positions
in the stack's input, write :math:`r` for the receptive field's size (how
many input positions one output element spans), :math:`j` for its jump (how
far apart the fields of two neighbouring output elements start) and
:math:`a` for its start (the input position where the field of output
element 0 begins; negative when it begins in the padding). The input itself
has :math:`r_0 = 1`, :math:`j_0 = 1`, :math:`a_0 = 0`, and layer :math:`l`
gives

.. math::

    r_l = r_{l-1} + (k_{e,l} - 1)\, j_{l-1}, \qquad
    j_l = j_{l-1}\, s_l, \qquad
    a_l = a_{l-1} - p_l\, j_{l-1},

on each axis separately. Only the padding on the left (the start) of an axis
enters; ``ceil_mode`` changes how many elements a layer has, not where they
look. Output element :math:`i` of the last layer then depends on input
positions :math:`a + i j` to :math:`a + i j + r - 1` at most: positions in
the padding are not part of the input, a dilated window skips positions, a
stride larger than the window skips some, and a layer whose windows do not
reach the end of its input drops its last positions.

The recurrence is equivalent to the closed forms of Araujo, Norris and Sim,
*Computing Receptive Fields of Convolutional Neural Networks* (Distill,
2019, doi:10.23915/distill.00021), written forward, layer by layer, with
PyTorch's parameter names.
"""

import re
from typing import NamedTuple

from torch import nn

from ._arguments import as_tuple, check_int

OP = "receptive_field"
KEYS = ("kernel_size", "stride", "padding", "dilation")

# Layers that act on each position on its own (in evaluation mode), and so leave
# the receptive field as it is. Normalisations over positions (instance, group
# and layer norm) and softmax over an axis that may be spatial are not among them.
POINTWISE = (
    nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish, nn.Softplus, nn.Softsign,
    nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.Threshold, nn.LogSigmoid, nn.RReLU,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
    nn.AlphaDropout, nn.LocalResponseNorm, nn.Softmax2d,
)


class ReceptiveField(NamedTuple):
    r"""The receptive field of the last layer of a stack, one entry per spatial axis.

    Attributes:
        size: input positions one output element spans, :math:`r`.
        jump: distance in input positions between the fields of neighbouring
            output elements, :math:`j` (the product of the strides).
        start: input position where the field of output element 0 begins,
            :math:`a`; negative when it begins in the padding.
    """

    size: tuple
    jump: tuple
    start: tuple

    def bounds(self, *index):
        """``((first, last), ...)``: the input positions that output element
        ``index`` (one int per axis) spans, padding included: ``first = start
        + index * jump`` and ``last = first + size - 1`` on each axis."""
        if len(index) != len(self.size):
            raise ValueError(f"bounds: index must have one entry per axis ({len(self.size)}), got index={index!r}")
        index = [check_int(f"index[{axis}]", i, minimum=0, op="bounds") for axis, i in enumerate(index)]
        return tuple((a + i * j, a + i * j + r - 1) for r, j, a, i in zip(self.size, self.jump, self.start, index))


def _dims_of(module):
    match = re.search(r"([123])d$", type(module).__name__)
    return int(match.group(1)) if match else None


def _geometry(where, layer):
    """``(dims or None, {key: value})`` of one layer, or None for a pointwise one."""
    if isinstance(layer, dict):
        unknown = sorted(set(layer) - set(KEYS), key=str)
        if unknown:
            raise ValueError(f"{OP}: {where} has an unknown key {unknown[0]!r}; a layer is described by "
                             f"{', '.join(KEYS)}, got {where}={layer!r}")
        if "kernel_size" not in layer:
            raise ValueError(f"{OP}: {where} must give kernel_size, got {where}={layer!r}")
        spec = {"stride": 1, "padding": 0, "dilation": 1, **layer}
        lengths = {len(v) for v in spec.values() if isinstance(v, (tuple, list)) and len(v) > 1}
        if len(lengths) > 1:
            raise ValueError(f"{OP}: the tuples of {where} disagree on the number of axes, got {where}={layer!r}")
        return (lengths.pop() if lengths else None), spec
    if isinstance(layer, POINTWISE):
        return None
    if isinstance(layer, (nn.modules.conv._ConvTransposeNd,)):
        raise TypeError(f"{OP}: {where} is a transposed convolution, which enlarges its input; "
                        f"only convolution and pooling layers are supported, got {where}={layer!r}")
    if isinstance(layer, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd))\
            or type(layer).__name__.startswith("Adaptive"):
        raise ValueError(f"{OP}: {where} is an adaptive pool, whose windows depend on the size of its "
                         f"input (for an input whose size is a multiple of the output's, it is a pool with "
                         f"kernel_size = stride = input // output, which a dict can describe), got {where}={layer!r}")
    if isinstance(layer, nn.modules.conv._ConvNd):
        if layer.padding_mode != "zeros":
            raise ValueError(f"{OP}: {where} pads with padding_mode={layer.padding_mode!r}, which folds input "
                             f"positions back into the padding; only padding_mode='zeros' is supported")
        padding = layer.padding
        if padding == "valid":
            padding = 0
        elif padding == "same":      # PyTorch puts the smaller half on the left
            padding = tuple(d * (k - 1) // 2 for k, d in zip(layer.kernel_size, layer.dilation))
        return len(layer.kernel_size), dict(kernel_size=layer.kernel_size, stride=layer.stride,
                                            padding=padding, dilation=layer.dilation)
    if isinstance(layer, _pools()):
        stride = getattr(layer, "stride", None)
        stride = layer.kernel_size if stride is None else stride
        return _dims_of(layer), dict(kernel_size=layer.kernel_size, stride=stride,
                                     padding=getattr(layer, "padding", 0), dilation=getattr(layer, "dilation", 1))
    if isinstance(layer, (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d,
                          nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)):
        # PyTorch's order is (left, right) of the last axis, then of the one before, and so on.
        dims = _dims_of(layer)
        padding = tuple(layer.padding[2 * (dims - 1 - axis)] for axis in range(dims))
        return dims, dict(kernel_size=1, stride=1, padding=padding, dilation=1)
    if "Fractional" in type(layer).__name__:
        raise TypeError(f"{OP}: {where} is a fractional max pool, whose windows are drawn at random; "
                        f"it has no fixed receptive field, got {where}={layer!r:.200}")
    raise TypeError(f"{OP}: {where} must be a convolution or a max, average or LP pooling module, a "
                    f"pointwise module (activation, batch norm, dropout), a zero padding, an nn.Sequential of "
                    f"those, or a dict of {', '.join(KEYS)}; got {where}={layer!r:.200}")


def _pools():
    """The pooling modules with a fixed sliding window, PyTorch's and poolkit's."""
    from . import nn as pnn

    return (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._LPPoolNd,
            pnn._MaxPoolNd, pnn._AvgPoolNd, pnn._LPPoolNd, pnn._SmoothMaxPool2d)


def _flatten(layers, prefix):
    for i, layer in enumerate(layers):
        where = f"{prefix}[{i}]"
        if isinstance(layer, (nn.Sequential, nn.ModuleList)):
            yield from _flatten(layer, where)
        else:
            yield where, layer


def receptive_field(layers, dims=None):
    r"""The receptive field of the last of ``layers``, applied in order.

    On each spatial axis, starting from :math:`r_0 = 1`, :math:`j_0 = 1`,
    :math:`a_0 = 0`, every layer with ``kernel_size`` :math:`k`, ``stride``
    :math:`s`, ``padding`` :math:`p` and ``dilation`` :math:`d` gives

    .. math::

        r_l = r_{l-1} + d_l (k_l - 1)\, j_{l-1}, \qquad
        j_l = j_{l-1}\, s_l, \qquad
        a_l = a_{l-1} - p_l\, j_{l-1}.

    Output element :math:`i` of the last layer depends on input positions
    :math:`a + i j` to :math:`a + i j + r - 1` at most (see
    :meth:`ReceptiveField.bounds`, whose ends are inclusive); which of them
    it can really depend on is the part of that interval inside the input,
    less any positions that a dilation or a stride larger than the window
    skips, and less the last positions of a layer whose windows stop before
    the end of its input. For a stack without dilation or strides larger than
    the windows, whose interval lies inside the input, it is the whole
    interval.

    Args:
        layers: the layers in order, each one of

            * a convolution (``nn.Conv1d``, ``nn.Conv2d``, ``nn.Conv3d``, with
              ``padding_mode='zeros'``) or a pooling module of ``torch.nn`` or
              ``poolkit.nn`` with a fixed window (max, average, LP,
              log-sum-exp and softmax pooling);
            * ``nn.ZeroPad1d`` to ``nn.ZeroPad3d`` or ``nn.ConstantPad1d`` to
              ``nn.ConstantPad3d``, which move the start;
            * a pointwise module, which changes nothing: activations, batch
              norm (whose statistics in training mode are not counted), dropout,
              local response norm;
            * an ``nn.Sequential`` or ``nn.ModuleList`` of these, read in order;
            * a dict with ``kernel_size`` and any of ``stride`` (default 1),
              ``padding`` (default 0) and ``dilation`` (default 1), each an
              int or a tuple of one int per axis, as in ``torch.nn``.

            An ``nn.Sequential`` or ``nn.ModuleList`` may be passed for
            ``layers`` itself, and is read in its order. poolkit's BlurPool
            layers pad by reflection and are not supported.
        dims: the number of spatial axes, 1 to 3; by default taken from the
            layers (``Conv2d`` has 2, a tuple of 3 ints has 3), else 1.

    Returns:
        :class:`ReceptiveField` of tuples ``size``, ``jump`` and ``start``,
        one int per axis. With no layers, the field of the input itself:
        size 1, jump 1, start 0.

    Raises:
        TypeError: a layer is of a kind without a fixed sliding window (a
            linear layer, a flatten, a transposed convolution, unpooling,
            fractional max pooling, a residual block), or a parameter is not
            an int.
        ValueError: a parameter is out of range (``kernel_size``,
            ``stride`` or ``dilation`` below 1, ``padding`` below 0), the
            layers disagree on the number of axes, a dict has an unknown key,
            or a layer's windows depend on its input's size (adaptive pooling).

    Example:
        ResNet-18's stem, a :math:`7 \times 7` convolution of stride 2 and a
        :math:`3 \times 3` max pool of stride 2::

            >>> from torch import nn
            >>> receptive_field([nn.Conv2d(3, 64, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1)])
            ReceptiveField(size=(11, 11), jump=(4, 4), start=(-5, -5))
    """
    if isinstance(layers, (nn.Module, dict, str, bytes)) and not isinstance(layers, (nn.Sequential, nn.ModuleList)):
        raise TypeError(f"{OP}: layers must be a list of layers or an nn.Sequential, got layers={layers!r:.200}")
    try:
        items = list(_flatten(layers, "layers"))
    except TypeError:
        raise TypeError(f"{OP}: layers must be a list of layers or an nn.Sequential, "
                        f"got layers={layers!r:.200}") from None
    if dims is not None:
        dims = check_int("dims", dims, minimum=1, maximum=3, op=OP)
    found = [(where, g) for where, layer in items if (g := _geometry(where, layer)) is not None]
    source = f"dims={dims}"
    for where, (d, _) in found:
        if d is None:
            continue
        if dims is None:
            dims, source = d, f"{where} has {d}"
        elif d != dims:
            raise ValueError(f"{OP}: {where} has {d} spatial ax{'is' if d == 1 else 'es'} but {source}")
    dims = dims or 1
    size, jump, start = [1] * dims, [1] * dims, [0] * dims
    for where, (_, spec) in found:
        k = as_tuple(OP, f"{where}.kernel_size", spec["kernel_size"], dims)
        s = as_tuple(OP, f"{where}.stride", spec["stride"], dims)
        p = as_tuple(OP, f"{where}.padding", spec["padding"], dims)
        d = as_tuple(OP, f"{where}.dilation", spec["dilation"], dims)
        for name, values, low in (("kernel_size", k, 1), ("stride", s, 1), ("padding", p, 0), ("dilation", d, 1)):
            for v in values:
                if v < low:
                    raise ValueError(f"{OP}: {where}.{name} must be at least {low}, got {where}.{name}={v}")
        for axis in range(dims):
            start[axis] -= p[axis] * jump[axis]
            size[axis] += d[axis] * (k[axis] - 1) * jump[axis]
            jump[axis] *= s[axis]
    return ReceptiveField(tuple(size), tuple(jump), tuple(start))
