"""poolkit: the code behind The Pooling Book.

* :mod:`poolkit.functional` and :mod:`poolkit.nn`: PyTorch's pooling ops and
  modules (max, average, power-average, adaptive; 1-D to 3-D), written in plain
  tensor operations on one sliding-window primitive, :mod:`poolkit.windows`.
* :mod:`poolkit.separable`: the fast path behind max and average pooling: one dimension at a time,
  doubling the window, in cache-sized blocks.
* :func:`pool2d`: the from-scratch, two-loop 2-D pooling of the first chapters.
* :func:`output_size`, :func:`conv_output_size`: PyTorch's rules for the length of an output axis.
* :func:`pool2d_cost`, :func:`conv2d_cost`: shapes, parameters and operation counts.
* :func:`moved_point_maps`, :func:`kept_fraction`: exact invariance experiments.
* :func:`relu_max_pool2d`: max pooling built from convolutions and ReLUs only.
* :mod:`poolkit.blur`: BlurPool, anti-aliased downsampling (also as modules in :mod:`poolkit.nn`).
* :mod:`poolkit.gradients`: the backward passes of max and average pooling by hand, and max unpooling.
* :mod:`poolkit.smooth`: log-sum-exp and softmax pooling, smooth maxima.
* :mod:`poolkit.consistency`: moving whole images and counting the predictions that survive.
* :mod:`poolkit.training`: a small, deterministic digits classifier for comparing downsampling layers
  (imports scikit-learn only when it loads the data).

``poolkit.plot`` draws pooling figures; it needs matplotlib (the ``plot``
extra) and is not imported here.
"""

from . import blur, consistency, functional, gradients, nn, separable, smooth, windows
from .costs import LayerCost, conv2d_cost, pool2d_cost
from .invariance import kept_fraction, moved_point_maps
from .relu_pool import relu_layers, relu_max_pool2d
from .scratch import pool2d
from .shapes import conv_output_size, output_size

__all__ = [
    "LayerCost",
    "conv2d_cost",
    "conv_output_size",
    "kept_fraction",
    "moved_point_maps",
    "output_size",
    "pool2d",
    "pool2d_cost",
    "relu_layers",
    "relu_max_pool2d",
]
__version__ = "0.1.0"
