r"""Locating a digit on a canvas: a task that needs exactly what pooling throws away.

* :func:`coordinate_channels` appends two channels holding each pixel's row
  and column (CoordConv's coordinate channels, Liu et al., NeurIPS 2018);
* :func:`position_net` builds the three small regressors of the chapter
  "When pooling hurts": pooled to one value per channel, flattened with the
  layout kept, or pooled with coordinate channels given to each convolution;
* :func:`train_position` trains one with fixed seeds on the squared error of
  the predicted (row, column);
* :func:`position_error` and :func:`mean_position_error` measure the mean
  Euclidean distance, in pixels, of a model's predictions and of the constant
  guess of the mean training position.
"""

import torch
from torch import nn

from .._arguments import check_int, check_real
from .training import deterministic, train

KINDS = ("pooled", "flattened", "coordinates")


def coordinate_channels(x):
    r"""``x`` with two channels appended: each pixel's row, then its column,
    scaled linearly to ``[-1, 1]`` (0 for a side of one pixel).

    Args:
        x: ``(N, C, H, W)`` floating-point tensor.

    Returns:
        ``(N, C + 2, H, W)`` tensor of ``x``'s dtype, on ``x``'s device.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: it is not a floating-point 4-d tensor.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"coordinate_channels: x must be a tensor, got x={x!r:.80} ({type(x).__name__})")
    if x.dim() != 4 or not x.dtype.is_floating_point:
        raise ValueError(f"coordinate_channels: x must be a floating-point (N, C, H, W) tensor, "
                         f"got shape {tuple(x.shape)} and dtype {x.dtype}")
    n, _, h, w = x.shape

    def ramp(length):
        if length > 1:
            return torch.linspace(-1, 1, length, dtype=x.dtype, device=x.device)
        return torch.zeros(1, dtype=x.dtype, device=x.device)

    rows = ramp(h)[:, None].expand(h, w)
    cols = ramp(w)[None, :].expand(h, w)
    grid = torch.stack([rows, cols])[None].expand(n, 2, h, w)
    return torch.cat([x, grid], dim=1)


class CoordinateChannels(nn.Module):
    """:func:`coordinate_channels` as a layer (no parameters)."""

    def forward(self, x):
        return coordinate_channels(x)


def position_net(kind, size, channels=(8, 16)):
    r"""A small convolutional regressor of a digit's (row, column).

    Two blocks of a :math:`3 \times 3` convolution (padding 1), a ReLU and a
    :math:`2 \times 2` max pool, then a linear layer to two outputs. What
    reaches the linear layer depends on ``kind``:

    * ``"pooled"``: the last map averaged to one value per channel (global
      average pooling), so that the head never sees where a feature was;
    * ``"flattened"``: the last map flattened, one input per channel and position;
    * ``"coordinates"``: as ``"pooled"``, with :func:`coordinate_channels`
      appended to the input of each convolution (CoordConv's layer).

    Args:
        kind: one of ``"pooled"``, ``"flattened"``, ``"coordinates"``.
        size: side of the square input canvas, at least 4. Only ``"flattened"``
            depends on it (its linear layer has ``channels[1] * (size // 4) ** 2``
            inputs); the other two take canvases of any size.
        channels: output channels of the two convolutions, two positive ints.

    Returns:
        ``torch.nn.Sequential`` mapping ``(N, 1, size, size)`` to ``(N, 2)``.
    """
    if kind not in KINDS:
        raise ValueError(f"position_net: kind must be one of {KINDS}, got kind={kind!r}")
    size = check_int("size", size, minimum=4, op="position_net")
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise TypeError(f"position_net: channels must be a pair of ints, got channels={channels!r}")
    c1, c2 = (check_int("channels", c, minimum=1, op="position_net") for c in channels)
    extra = 2 if kind == "coordinates" else 0

    def conv(c_in, c_out):
        layer = nn.Conv2d(c_in + extra, c_out, 3, padding=1)
        return [CoordinateChannels(), layer] if extra else [layer]

    layers = [*conv(1, c1), nn.ReLU(), nn.MaxPool2d(2), *conv(c1, c2), nn.ReLU(), nn.MaxPool2d(2)]
    if kind == "flattened":
        features = c2 * (size // 4) ** 2
    else:
        layers.append(nn.AdaptiveAvgPool2d(1))
        features = c2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, 2))


def _check_data(op, x, positions):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{op}: x must be a tensor, got x={x!r:.80} ({type(x).__name__})")
    if x.dim() != 4:
        raise ValueError(f"{op}: x must be an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    if not isinstance(positions, torch.Tensor) or positions.shape != (len(x), 2):
        raise ValueError(f"{op}: positions must be an ({len(x)}, 2) tensor of (row, column), got {positions!r:.80}")
    if len(x) == 0:
        raise ValueError(f"{op}: x must hold at least one image, got {len(x)}")


def train_position(make_model, x, positions, seed, epochs=10, batch_size=64, lr=0.01, num_threads=1):
    r"""Train a fresh regressor with Adam on the squared error of (row, column), reproducibly.

    The targets are the positions centred and scaled by the training set's
    mean and standard deviation; the returned model undoes the scaling, so
    that it predicts pixels.

    Args:
        make_model: callable returning a fresh ``nn.Module`` with two outputs, called after seeding.
        x: training images ``(n, C, H, W)``.
        positions: their ``(n, 2)`` positions (row, column), any real dtype.
        seed: int seed of the initial weights and of the mini-batch order.
        epochs, batch_size: positive ints.
        lr: positive learning rate.
        num_threads: intra-op threads used while training.

    Returns:
        The trained model, in evaluation mode, predicting positions in pixels.

    Raises:
        TypeError, ValueError: an argument is malformed (``x`` must be a
        floating-point tensor, ``positions`` finite), naming it.
    """
    _check_data("train_position", x, positions)
    if not x.dtype.is_floating_point:
        raise ValueError(f"train_position: x must be floating point, got dtype {x.dtype}")
    if not torch.isfinite(positions.double()).all():
        raise ValueError(f"train_position: positions must be finite, got {positions!r:.80}")
    seed = check_int("seed", seed, minimum=0, op="train_position")
    epochs = check_int("epochs", epochs, minimum=1, op="train_position")
    batch_size = check_int("batch_size", batch_size, minimum=1, op="train_position")
    lr = check_real("lr", lr, op="train_position", positive=True)
    num_threads = check_int("num_threads", num_threads, minimum=1, op="train_position")
    if not callable(make_model):
        raise TypeError(f"train_position: make_model must be callable, got {make_model!r}")
    target = positions.to(x.dtype)
    mean = target.mean(0)
    scale = target.std(0).clamp(min=1e-6) if len(x) > 1 else torch.ones(2, dtype=x.dtype)
    scaled = (target - mean) / scale
    model = train(make_model, x, scaled, seed, epochs=epochs, batch_size=batch_size, lr=lr,
                  num_threads=num_threads, criterion=nn.functional.mse_loss)
    return _Rescaled(model, mean, scale).eval()


class _Rescaled(nn.Module):
    def __init__(self, model, mean, scale):
        super().__init__()
        self.model = model
        self.register_buffer("mean", mean)
        self.register_buffer("scale", scale)

    def forward(self, x):
        return self.model(x) * self.scale + self.mean


def position_error(model, x, positions, num_threads=1):
    r"""Mean Euclidean distance, in pixels, between ``model(x)`` and ``positions``.

    Args:
        model: maps ``(n, C, H, W)`` images to ``(n, 2)`` (row, column).
        x, positions: test images and their ``(n, 2)`` true positions.
        num_threads: intra-op threads used, a positive int.

    Returns:
        A float.

    Raises:
        ValueError: the model's output is not ``(n, 2)``, or an argument is malformed.
    """
    _check_data("position_error", x, positions)
    num_threads = check_int("num_threads", num_threads, minimum=1, op="position_error")
    if not callable(model):
        raise TypeError(f"position_error: model must be callable, got model={model!r:.80}")
    with deterministic(num_threads), torch.no_grad():
        predicted = model(x)
    if not isinstance(predicted, torch.Tensor) or predicted.shape != (len(x), 2):
        shape = tuple(predicted.shape) if isinstance(predicted, torch.Tensor) else type(predicted).__name__
        raise ValueError(f"position_error: model must map {len(x)} images to a ({len(x)}, 2) tensor, got {shape}")
    return (predicted.double() - positions.double()).norm(dim=1).mean().item()


def mean_position_error(train_positions, test_positions):
    r"""The error of the best constant guess in the sense of squared error: the
    mean training position, for every test image. Mean Euclidean distance in pixels.

    Args:
        train_positions, test_positions: ``(n, 2)`` tensors (row, column), ``n`` at least 1.

    Returns:
        A float.
    """
    for name, p in (("train_positions", train_positions), ("test_positions", test_positions)):
        if not isinstance(p, torch.Tensor) or p.dim() != 2 or p.shape[1] != 2 or len(p) == 0:
            raise ValueError(f"mean_position_error: {name} must be a non-empty (n, 2) tensor, got {p!r:.80}")
    guess = train_positions.double().mean(0)
    return (test_positions.double() - guess).norm(dim=1).mean().item()
