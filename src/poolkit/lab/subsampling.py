r"""LeNet-5's trainable subsampling (LeCun, Bottou, Bengio and Haffner,
*Gradient-based learning applied to document recognition*, Proc. IEEE, 1998):
each output adds the four inputs of its :math:`2 \times 2` window, multiplies
the sum by a trainable coefficient, adds a trainable bias and passes the
result through an S-shaped (sigmoidal) function, with one coefficient and one
bias per feature map.

* :class:`TrainableSubsampling` is that layer;
* :func:`subsampling_connections` counts its connections as the paper counts
  them: each output unit is connected to its window's inputs and to its bias.
"""

import torch
from torch import nn

from .._arguments import check_int


SQUASHES = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}


class TrainableSubsampling(nn.Module):
    r"""``squash(coefficient[c] * (sum of each 2 x 2 window of channel c) + bias[c])``.

    Windows do not overlap (stride 2); a trailing odd row or column is dropped,
    as by ``nn.AvgPool2d(2)``.

    Args:
        channels: number of feature maps, a positive int.
        squash: the S-shaped function, ``"tanh"`` (centred on 0) or ``"sigmoid"`` (the logistic function).

    Attributes:
        coefficient, bias: ``(channels,)`` trainable parameters, initialised to
        ``1/4`` (so that the layer starts as the squashed average) and 0.
    """

    def __init__(self, channels, squash="tanh"):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1, op="TrainableSubsampling")
        if not isinstance(squash, str):
            raise TypeError(f"TrainableSubsampling: squash must be a str, one of {tuple(SQUASHES)}, "
                            f"got squash={squash!r} ({type(squash).__name__})")
        if squash not in SQUASHES:
            raise ValueError(f"TrainableSubsampling: squash must be one of {tuple(SQUASHES)}, got squash={squash!r}")
        self.squash = squash
        self.coefficient = nn.Parameter(torch.full((self.channels,), 0.25))
        self.bias = nn.Parameter(torch.zeros(self.channels))

    def forward(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"TrainableSubsampling: input must be a tensor, got {x!r:.80} ({type(x).__name__})")
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"TrainableSubsampling: input must be an (N, {self.channels}, H, W) tensor, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[2] < 2 or x.shape[3] < 2:
            raise ValueError(f"TrainableSubsampling: input must be at least 2 x 2, got shape {tuple(x.shape)}")
        sums = nn.functional.avg_pool2d(x, 2, divisor_override=1)
        return SQUASHES[self.squash](sums * self.coefficient[:, None, None] + self.bias[:, None, None])

    def extra_repr(self):
        return f"channels={self.channels}, squash={self.squash!r}"


def subsampling_connections(channels, height, width):
    r"""Connections of a :class:`TrainableSubsampling` layer on ``channels`` maps of
    ``height`` x ``width``: each of the ``channels * (height // 2) * (width // 2)``
    outputs has four inputs and a bias, five connections.

    Args:
        channels, height, width: positive ints (height and width at least 2).

    Returns:
        An int.
    """
    channels = check_int("channels", channels, minimum=1, op="subsampling_connections")
    height = check_int("height", height, minimum=2, op="subsampling_connections")
    width = check_int("width", width, minimum=2, op="subsampling_connections")
    return channels * (height // 2) * (width // 2) * (4 + 1)
