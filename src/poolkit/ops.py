"""Pooling over regions of interest, as ``torchvision.ops``: :func:`roi_pool`
(Girshick, *Fast R-CNN*, ICCV 2015) and :func:`roi_align` (He, Gkioxari, Dollár
and Girshick, *Mask R-CNN*, ICCV 2017), with their modules :class:`RoIPool` and
:class:`RoIAlign`. Same signatures, same rules and, for ROI Pool, the same bits
as torchvision's CPU kernels; see :mod:`poolkit._roi` for how they are computed.

Example:
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> roi_pool(x, torch.tensor([[0.0, 0, 0, 3, 3]]), output_size=2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
"""

from ._roi import RoIAlign, RoIPool, roi_align, roi_pool

__all__ = ["RoIAlign", "RoIPool", "roi_align", "roi_pool"]
