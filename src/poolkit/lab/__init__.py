"""The Pooling Book's lab: the code of the book's experiments, built on
:mod:`poolkit` but not part of its PyTorch-compatible contract.

* :func:`pool2d` (:mod:`~poolkit.lab.scratch`): the from-scratch, two-loop 2-D pooling of the first chapters.
* :mod:`~poolkit.lab.costs`: shapes, parameters and operation counts (:func:`pool2d_cost`, :func:`conv2d_cost`).
* :mod:`~poolkit.lab.invariance`: exact invariance experiments (:func:`moved_point_maps`, :func:`kept_fraction`).
* :mod:`~poolkit.lab.relu_pool`: max pooling built from convolutions and ReLUs only (:func:`relu_max_pool2d`).
* :mod:`~poolkit.lab.gradients`: the backward passes of max and average pooling, by hand.
* :mod:`~poolkit.lab.consistency`: moving whole images and counting the predictions that survive.
* :mod:`~poolkit.lab.equivariance`: shift errors of every layer of a network, class
  activation maps, and pooling over groups of channels.
* :mod:`~poolkit.lab.training`: a small, deterministic digits classifier for comparing
  downsampling layers (imports scikit-learn only when it loads the data).
* :mod:`~poolkit.lab.canvas`: scikit-learn's digits placed on a larger, empty canvas.
* :mod:`~poolkit.lab.receptive`: receptive fields measured with gradients, in a copy of a
  network in which every path is open.
* :mod:`~poolkit.lab.position`: locating digits on a canvas, with pooled, flattened and
  coordinate-channel regressors (:func:`~poolkit.lab.position.position_net`).
* :mod:`~poolkit.lab.subsampling`: LeNet-5's trainable subsampling layer and its connection count.
* :mod:`~poolkit.lab.bernoulli_pooling`: average and max pooling of binary features, in closed form
  and by simulation.
* :mod:`~poolkit.lab.sets`: sequences and point sets of any size (motif detection with max-over-time
  pooling, digits as point sets, Deep Sets / PointNet classifiers and critical points), stochastic
  and mixed pooling.
* :mod:`~poolkit.lab.running`: four stride-1 max filters, compared in the speed chapter.
* :mod:`~poolkit.lab.metaformer`: a tiny MetaFormer with a pooling, attention or identity token
  mixer, and the mixers' costs.
* :mod:`~poolkit.lab.downsampling`: space-to-depth, YOLOv5's Focus slicing, Swin's patch merging,
  and what each downsampling keeps of a map's 2 x 2 blocks.
* :mod:`~poolkit.lab.timing`: interleaved timing.
* :mod:`~poolkit.lab.plot`: the pooling figures; needs matplotlib (the ``plot`` extra)
  and is not imported here.
"""

from .costs import LayerCost, conv2d_cost, pool2d_cost
from .invariance import kept_fraction, moved_point_maps
from .relu_pool import relu_layers, relu_max_pool2d
from .scratch import pool2d

__all__ = [
    "LayerCost",
    "conv2d_cost",
    "kept_fraction",
    "moved_point_maps",
    "pool2d",
    "pool2d_cost",
    "relu_layers",
    "relu_max_pool2d",
]
