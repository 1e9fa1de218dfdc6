"""``torch.nn``-style modules for the ops of :mod:`poolkit.functional`.

Each module stores its arguments and calls the functional op, exactly as
``torch.nn.MaxPool2d`` and its relatives do; they have no parameters.
"""

from torch import nn

from . import functional as F
from .layers import blur_pool2d, max_blur_pool2d


class _Pool(nn.Module):
    """Holds keyword arguments for one functional op and applies it in ``forward``."""

    op = None

    def __init__(self, **arguments):
        super().__init__()
        self.arguments = arguments
        for name, value in arguments.items():
            setattr(self, name, value)

    def forward(self, input):
        return type(self).op(input, **self.arguments)

    def extra_repr(self):
        return ", ".join(f"{name}={value!r}" for name, value in self.arguments.items())


class _MaxPool(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, dilation=dilation, ceil_mode=ceil_mode,
                         return_indices=return_indices)


class MaxPool1d(_MaxPool):
    """Module form of :func:`poolkit.functional.max_pool1d` (same arguments as ``torch.nn.MaxPool1d``)."""
    op = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPool):
    """Module form of :func:`poolkit.functional.max_pool2d` (same arguments as ``torch.nn.MaxPool2d``)."""
    op = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPool):
    """Module form of :func:`poolkit.functional.max_pool3d` (same arguments as ``torch.nn.MaxPool3d``)."""
    op = staticmethod(F.max_pool3d)


class AvgPool1d(_Pool):
    """Module form of :func:`poolkit.functional.avg_pool1d` (same arguments as ``torch.nn.AvgPool1d``)."""
    op = staticmethod(F.avg_pool1d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)


class _AvgPoolNd(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__(kernel_size=kernel_size, stride=stride if stride is not None else kernel_size,
                         padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                         divisor_override=divisor_override)


class AvgPool2d(_AvgPoolNd):
    """Module form of :func:`poolkit.functional.avg_pool2d` (same arguments as ``torch.nn.AvgPool2d``)."""
    op = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """Module form of :func:`poolkit.functional.avg_pool3d` (same arguments as ``torch.nn.AvgPool3d``)."""
    op = staticmethod(F.avg_pool3d)


class _LPPool(_Pool):
    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__(norm_type=norm_type, kernel_size=kernel_size, stride=stride, ceil_mode=ceil_mode)


class LPPool1d(_LPPool):
    """Module form of :func:`poolkit.functional.lp_pool1d` (same arguments as ``torch.nn.LPPool1d``)."""
    op = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPool):
    """Module form of :func:`poolkit.functional.lp_pool2d` (same arguments as ``torch.nn.LPPool2d``)."""
    op = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPool):
    """Module form of :func:`poolkit.functional.lp_pool3d` (same arguments as ``torch.nn.LPPool3d``)."""
    op = staticmethod(F.lp_pool3d)


class _AdaptiveMaxPool(_Pool):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size=output_size, return_indices=return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Module form of :func:`poolkit.functional.adaptive_max_pool1d`."""
    op = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Module form of :func:`poolkit.functional.adaptive_max_pool2d`."""
    op = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Module form of :func:`poolkit.functional.adaptive_max_pool3d`."""
    op = staticmethod(F.adaptive_max_pool3d)


class _AdaptiveAvgPool(_Pool):
    def __init__(self, output_size):
        super().__init__(output_size=output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """Module form of :func:`poolkit.functional.adaptive_avg_pool1d`."""
    op = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Module form of :func:`poolkit.functional.adaptive_avg_pool2d`."""
    op = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """Module form of :func:`poolkit.functional.adaptive_avg_pool3d`."""
    op = staticmethod(F.adaptive_avg_pool3d)


class BlurPool2d(_Pool):
    """Module form of :func:`poolkit.layers.blur_pool2d`: a fixed binomial blur of every
    channel, then subsampling by ``stride`` (Zhang, ICML 2019). It has no parameters
    and works for any number of channels."""
    op = staticmethod(blur_pool2d)

    def __init__(self, filter_size=3, stride=2, pad_mode="reflect"):
        super().__init__(filter_size=filter_size, stride=stride, pad_mode=pad_mode)


class MaxBlurPool2d(_Pool):
    """Module form of :func:`poolkit.layers.max_blur_pool2d`: max pooling with stride 1,
    then :class:`BlurPool2d` (Zhang's anti-aliased replacement for ``MaxPool2d(2)``)."""
    op = staticmethod(max_blur_pool2d)

    def __init__(self, kernel_size=2, filter_size=3, stride=2, pad_mode="reflect"):
        super().__init__(kernel_size=kernel_size, filter_size=filter_size, stride=stride, pad_mode=pad_mode)
