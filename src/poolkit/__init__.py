"""poolkit: PyTorch's pooling, written in plain tensor operations and tested
against ``torch.nn.functional``; the library behind The Pooling Book.

The library:

* :mod:`poolkit.functional`: the pooling ops of ``torch.nn.functional``, with
  the same names, signatures and results (max, average, power-average,
  adaptive; 1-D to 3-D).
* :mod:`poolkit.nn`: their modules, as in ``torch.nn``, and modules for the
  layers below.
* :mod:`poolkit.layers`: pooling layers that ``torch.nn`` does not have:
  BlurPool and anti-aliased max pooling, log-sum-exp and softmax pooling,
  generalised-mean (GeM) and attention pooling; set pooling (max, mean, sum
  over sets of any size) and max-over-time pooling.
* :mod:`poolkit.ops`: pooling over regions of interest, as ``torchvision.ops``
  (ROI Pool and ROI Align, with their modules).
* :func:`output_size`, :func:`conv_output_size`: PyTorch's rules for the length
  of an output axis.
* :func:`receptive_field`: the receptive field (size, jump and start) of a
  stack of convolution and pooling layers.
* :func:`clear_cache`: free the buffers that the fast path keeps between calls.

Modules whose names start with an underscore are private machinery: the
sliding-window primitive (``_windows``), the fast separable path
(``_separable``), argument checks and shape rules.

:mod:`poolkit.lab` holds the book's experiments (the from-scratch ``pool2d``,
cost counts, invariance and training experiments, figures, timing). It is not
part of the PyTorch-compatible contract and is not imported here.
"""

from . import functional, layers, nn, ops
from ._receptive import ReceptiveField, receptive_field
from ._separable import clear_cache
from ._shapes import conv_output_size, output_size

__all__ = ["ReceptiveField", "clear_cache", "conv_output_size", "functional", "layers", "nn", "ops", "output_size",
           "receptive_field"]
__version__ = "0.1.0"
