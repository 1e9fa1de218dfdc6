"""``torch.nn``-style modules for the ops of :mod:`poolkit.functional` and :mod:`poolkit.layers`.

Each module of a ``torch.nn`` pooling class has the same name, the same
constructor and the same attributes as its PyTorch twin (see
``torch/nn/modules/pooling.py``): the same names, the same stored values
(``MaxPool2d(2).stride`` is ``2``, ``MaxUnpool2d(2).kernel_size`` is
``(2, 2)``, ``LPPool2d(2, 3).stride`` is ``None``) and the same ``repr``.
``forward`` reads those attributes on every call, so changing one after
construction (``m.kernel_size = 4``) changes what the module computes, as it
does in PyTorch. The modules hold no parameters; only ``FractionalMaxPool2d``
and ``FractionalMaxPool3d`` may hold a buffer, ``_random_samples``, when one
is given, as in PyTorch.

``forward`` looks the op up in :mod:`poolkit.functional` (or
:mod:`poolkit.layers`) when it is called.

Example:
    >>> m = MaxPool2d(2)
    >>> m
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> m.kernel_size = m.stride = 4
    >>> m(torch.arange(16.0).reshape(1, 4, 4))
    tensor([[[15.]]])
"""

import collections.abc

import torch
from torch import nn

from . import functional as F
from . import layers as L
from ._attention import AttentionPool  # noqa: F401  (re-exported)
from ._gem import GeM  # noqa: F401  (re-exported)
from ._roi import RoIAlign, RoIPool

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "BlurPool2d", "MaxBlurPool2d",
    "FractionalMaxPool2d", "FractionalMaxPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d",
    "LogSumExpPool2d", "SoftmaxPool2d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "AttentionPool", "GeM",
    "RoIAlign", "RoIPool",
    "DeepSets", "MaxOverTime", "SetPool",
]


def _repeat(value, n):
    """``value`` as a tuple: its entries if it is iterable, else ``n`` copies (PyTorch's ``_single``/``_pair``/``_triple``)."""
    if isinstance(value, collections.abc.Iterable):
        return tuple(value)
    return (value,) * n


# --- max pooling --------------------------------------------------------------------------------------------

class _MaxPoolNd(nn.Module):
    """Max pooling's attributes: ``stride`` defaults to ``kernel_size``, everything else is stored as given."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def _pool(self, op, input):
        return op(input, self.kernel_size, self.stride, self.padding, self.dilation,
                  ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """Module form of :func:`poolkit.functional.max_pool1d` (as ``torch.nn.MaxPool1d``)."""

    def forward(self, input):
        return self._pool(F.max_pool1d, input)


class MaxPool2d(_MaxPoolNd):
    """Module form of :func:`poolkit.functional.max_pool2d` (as ``torch.nn.MaxPool2d``)."""

    def forward(self, input):
        return self._pool(F.max_pool2d, input)


class MaxPool3d(_MaxPoolNd):
    """Module form of :func:`poolkit.functional.max_pool3d` (as ``torch.nn.MaxPool3d``)."""

    def forward(self, input):
        return self._pool(F.max_pool3d, input)


# --- max unpooling ------------------------------------------------------------------------------------------

class _MaxUnpoolNd(nn.Module):
    """Max unpooling's attributes, each stored as a tuple of one entry per dimension, as in PyTorch."""

    dims = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _repeat(kernel_size, self.dims)
        self.stride = _repeat(stride if stride is not None else kernel_size, self.dims)
        self.padding = _repeat(padding, self.dims)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Module form of :func:`poolkit.functional.max_unpool1d` (as ``torch.nn.MaxUnpool1d``):
    ``forward(input, indices, output_size=None)``."""

    dims = 1

    def forward(self, input, indices, output_size=None):
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool2d(_MaxUnpoolNd):
    """Module form of :func:`poolkit.functional.max_unpool2d` (as ``torch.nn.MaxUnpool2d``):
    ``forward(input, indices, output_size=None)``."""

    dims = 2

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool3d(_MaxUnpoolNd):
    """Module form of :func:`poolkit.functional.max_unpool3d` (as ``torch.nn.MaxUnpool3d``):
    ``forward(input, indices, output_size=None)``."""

    dims = 3

    def forward(self, input, indices, output_size=None):
        return F.max_unpool3d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


# --- average pooling ----------------------------------------------------------------------------------------

class _AvgPoolNd(nn.Module):
    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Module form of :func:`poolkit.functional.avg_pool1d` (as ``torch.nn.AvgPool1d``, which
    stores ``kernel_size``, ``stride`` and ``padding`` as 1-tuples)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = _repeat(kernel_size, 1)
        self.stride = _repeat(stride if stride is not None else kernel_size, 1)
        self.padding = _repeat(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class _AvgPool(_AvgPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def _pool(self, op, input):
        return op(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                  self.divisor_override)


class AvgPool2d(_AvgPool):
    """Module form of :func:`poolkit.functional.avg_pool2d` (as ``torch.nn.AvgPool2d``)."""

    def forward(self, input):
        return self._pool(F.avg_pool2d, input)


class AvgPool3d(_AvgPool):
    """Module form of :func:`poolkit.functional.avg_pool3d` (as ``torch.nn.AvgPool3d``)."""

    def forward(self, input):
        return self._pool(F.avg_pool3d, input)


# --- fractional max pooling ---------------------------------------------------------------------------------

class _FractionalMaxPoolNd(nn.Module):
    """Fractional max pooling (Graham, *Fractional Max-Pooling*, 2014, arXiv:1412.6071).

    Exactly one of ``output_size`` and ``output_ratio`` must be given; each
    entry of ``output_ratio`` must lie strictly between 0 and 1. ``kernel_size``,
    ``output_size`` and ``output_ratio`` are stored as tuples of one entry per
    dimension (``None`` when not given), and ``_random_samples``, the pooling
    regions' offsets, as a buffer (``None`` when not given: then each call draws
    new ones). There is no ``extra_repr``, as in PyTorch.
    """

    dims = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name = type(self).__name__
        sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
        if any(isinstance(k, (int, float)) and k <= 0 for k in sizes):
            raise ValueError(f"{name}: kernel_size must be greater than 0, got kernel_size={kernel_size!r}")
        self.kernel_size = _repeat(kernel_size, self.dims)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _repeat(output_size, self.dims) if output_size is not None else None
        self.output_ratio = _repeat(output_ratio, self.dims) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} needs output_size or output_ratio, got output_size=None and output_ratio=None")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name} takes only one of output_size and output_ratio, got "
                             f"output_size={output_size!r} and output_ratio={output_ratio!r}")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"{name}: output_ratio must lie strictly between 0 and 1, got output_ratio={output_ratio!r}")

    def _pool(self, op, input):
        return op(input, self.kernel_size, output_size=self.output_size, output_ratio=self.output_ratio,
                  return_indices=self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Module form of :func:`poolkit.functional.fractional_max_pool2d` (as ``torch.nn.FractionalMaxPool2d``)."""

    dims = 2

    def forward(self, input):
        return self._pool(F.fractional_max_pool2d, input)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Module form of :func:`poolkit.functional.fractional_max_pool3d` (as ``torch.nn.FractionalMaxPool3d``)."""

    dims = 3

    def forward(self, input):
        return self._pool(F.fractional_max_pool3d, input)


# --- power-average pooling ----------------------------------------------------------------------------------

class _LPPoolNd(nn.Module):
    """Power-average pooling's attributes; ``stride`` stays ``None`` when not given (the op reads
    ``None`` as ``kernel_size``), and ``norm_type`` may not be 0."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        if norm_type == 0:
            raise ValueError(f"{type(self).__name__}: norm_type must not be zero, got norm_type={norm_type!r}")
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")

    def _pool(self, op, input):
        return op(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class LPPool1d(_LPPoolNd):
    """Module form of :func:`poolkit.functional.lp_pool1d` (as ``torch.nn.LPPool1d``)."""

    def forward(self, input):
        return self._pool(F.lp_pool1d, input)


class LPPool2d(_LPPoolNd):
    """Module form of :func:`poolkit.functional.lp_pool2d` (as ``torch.nn.LPPool2d``)."""

    def forward(self, input):
        return self._pool(F.lp_pool2d, input)


class LPPool3d(_LPPoolNd):
    """Module form of :func:`poolkit.functional.lp_pool3d` (as ``torch.nn.LPPool3d``)."""

    def forward(self, input):
        return self._pool(F.lp_pool3d, input)


# --- adaptive pooling ---------------------------------------------------------------------------------------

class _AdaptiveMaxPoolNd(nn.Module):
    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Module form of :func:`poolkit.functional.adaptive_max_pool1d` (as ``torch.nn.AdaptiveMaxPool1d``)."""

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Module form of :func:`poolkit.functional.adaptive_max_pool2d` (as ``torch.nn.AdaptiveMaxPool2d``)."""

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Module form of :func:`poolkit.functional.adaptive_max_pool3d` (as ``torch.nn.AdaptiveMaxPool3d``)."""

    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class _AdaptiveAvgPoolNd(nn.Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Module form of :func:`poolkit.functional.adaptive_avg_pool1d` (as ``torch.nn.AdaptiveAvgPool1d``)."""

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Module form of :func:`poolkit.functional.adaptive_avg_pool2d` (as ``torch.nn.AdaptiveAvgPool2d``)."""

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Module form of :func:`poolkit.functional.adaptive_avg_pool3d` (as ``torch.nn.AdaptiveAvgPool3d``)."""

    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)


# --- the layers torch.nn lacks ------------------------------------------------------------------------------

class BlurPool2d(nn.Module):
    """Module form of :func:`poolkit.layers.blur_pool2d`: a fixed binomial blur of every
    channel, then subsampling by ``stride`` (Zhang, ICML 2019). It has no parameters
    and works for any number of channels."""

    def __init__(self, filter_size=3, stride=2, pad_mode="reflect"):
        super().__init__()
        self.filter_size = filter_size
        self.stride = stride
        self.pad_mode = pad_mode

    def extra_repr(self):
        return f"filter_size={self.filter_size}, stride={self.stride}, pad_mode={self.pad_mode!r}"

    def forward(self, input):
        return L.blur_pool2d(input, self.filter_size, self.stride, self.pad_mode)


class MaxBlurPool2d(nn.Module):
    """Module form of :func:`poolkit.layers.max_blur_pool2d`: max pooling with stride 1,
    then :class:`BlurPool2d` (Zhang's anti-aliased replacement for ``MaxPool2d(2)``)."""

    def __init__(self, kernel_size=2, filter_size=3, stride=2, pad_mode="reflect"):
        super().__init__()
        self.kernel_size = kernel_size
        self.filter_size = filter_size
        self.stride = stride
        self.pad_mode = pad_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, filter_size={self.filter_size}, stride={self.stride}, "
                f"pad_mode={self.pad_mode!r}")

    def forward(self, input):
        return L.max_blur_pool2d(input, self.kernel_size, self.filter_size, self.stride, self.pad_mode)


class _SmoothMaxPool2d(nn.Module):
    """The attributes of the smooth maxima of :mod:`poolkit.layers`; ``stride`` defaults to
    ``kernel_size``, as in :class:`MaxPool2d`."""

    def __init__(self, kernel_size, beta=1.0, stride=None, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.beta = beta
        self.stride = stride if stride is not None else kernel_size
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, beta={self.beta}, stride={self.stride}, ceil_mode={self.ceil_mode}"


class LogSumExpPool2d(_SmoothMaxPool2d):
    """Module form of :func:`poolkit.layers.logsumexp_pool2d` (Pinheiro and Collobert, CVPR 2015)."""

    def forward(self, input):
        return L.logsumexp_pool2d(input, self.kernel_size, self.beta, self.stride, self.ceil_mode)


class SoftmaxPool2d(_SmoothMaxPool2d):
    """Module form of :func:`poolkit.layers.softmax_pool2d` (SoftPool's weighting, Stergiou et al., ICCV 2021)."""

    def forward(self, input):
        return L.softmax_pool2d(input, self.kernel_size, self.beta, self.stride, self.ceil_mode)


# --- pooling over sets ---------------------------------------------------------------------------------------

class SetPool(nn.Module):
    """Module form of :func:`poolkit.layers.set_pool`: ``SetPool(reduction, dim, keepdim)(input, mask=None,
    lengths=None)``. Symmetric pooling over the elements of sets of any size (Deep Sets' sum, PointNet's max)."""

    def __init__(self, reduction="max", dim=1, keepdim=False):
        super().__init__()
        self.reduction = reduction
        self.dim = dim
        self.keepdim = keepdim

    def extra_repr(self):
        return f"reduction={self.reduction!r}, dim={self.dim}, keepdim={self.keepdim}"

    def forward(self, input, mask=None, lengths=None):
        return L.set_pool(input, self.reduction, self.dim, mask=mask, lengths=lengths, keepdim=self.keepdim)


class MaxOverTime(nn.Module):
    """Module form of :func:`poolkit.layers.max_over_time`: ``(N, C, T)`` to ``(N, C)``, with optional
    ``lengths`` (Collobert et al., JMLR 2011)."""

    def forward(self, input, lengths=None):
        return L.max_over_time(input, lengths)


class DeepSets(nn.Module):
    r"""A network on sets: :math:`\rho\left(\operatorname{pool}_{i \in S} \phi(x_i)\right)`.

    Zaheer et al. (*Deep Sets*, NeurIPS 2017) use the sum,
    :math:`\rho\left(\sum_{i \in S} \phi(x_i)\right)`, and show that functions of sets from a
    countable universe that are permutation invariant can all be written so; PointNet (Qi et al.,
    CVPR 2017) uses the max. Any of :func:`poolkit.layers.set_pool`'s reductions may be chosen.

    Args:
        phi: module applied to every element on its own: ``(N, L, D)`` to ``(N, L, H)``
            (for example an ``nn.Linear`` or an MLP, which act on the last axis).
        rho: module applied to the pooled ``(N, H)`` features.
        reduction: ``"sum"`` (Deep Sets), ``"mean"`` or ``"max"`` (PointNet).

    ``forward(input, mask=None, lengths=None)`` takes ``(N, L, D)`` padded sets and the
    presence ``mask`` ``(N, L)`` or ``lengths`` ``(N,)``, as :func:`poolkit.layers.set_pool`;
    an empty set pools to 0, so its output is ``rho(0)``.
    """

    def __init__(self, phi, rho, reduction="sum"):
        super().__init__()
        for name, module in (("phi", phi), ("rho", rho)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"DeepSets: {name} must be a torch.nn.Module, got {name}={module!r}")
        from ._sets import _check_reduction
        self.phi = phi
        self.rho = rho
        self.reduction = _check_reduction("DeepSets", reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"

    def pooled(self, input, mask=None, lengths=None):
        r"""The pooled features :math:`\operatorname{pool}_i \phi(x_i)`, ``(N, H)``, before ``rho``."""
        if not isinstance(input, torch.Tensor):
            raise TypeError(f"DeepSets: input must be a torch.Tensor, got {type(input).__name__}")
        if input.dim() != 3:
            raise ValueError(f"DeepSets: input must be 3-D (N, L, D), padded sets, got input of shape "
                             f"{tuple(input.shape)}")
        return L.set_pool(self.phi(input), self.reduction, 1, mask=mask, lengths=lengths)

    def forward(self, input, mask=None, lengths=None):
        return self.rho(self.pooled(input, mask, lengths))
