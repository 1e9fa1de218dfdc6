r"""Pooling beyond grids: sequences of any length, sets of points, and two
randomised poolings.

* :func:`motif_sequences`: a seeded motif-detection task, 1-D signals of
  different lengths that may hold a short pattern anywhere;
* :class:`MotifNet`: a 1-D convolution, a ReLU and max-over-time pooling
  (Collobert et al., JMLR 2011), then a linear classifier;
* :func:`digit_point_sets`: scikit-learn's digits as 2-D point sets, the
  jittered coordinates of their inked pixels, of different sizes;
* :class:`GaussianGrid` and :class:`PointSetNet`: a Deep Sets / PointNet classifier of those sets with
  a choice of symmetric function, and :func:`critical_points`, the points that
  attain its max-pooled features (Qi et al., CVPR 2017);
* :func:`set_accuracy`: the test accuracy of a classifier of padded inputs;
* :func:`stochastic_pool2d`: stochastic pooling (Zeiler and Fergus, ICLR 2013);
* :func:`mixed_pool2d`: max or average pooling chosen at random (after Yu et
  al., RSKT 2014).

Padded inputs carry their presence mask as a last channel (sequences: channel
1; point sets: coordinate 2), so that one tensor holds a batch and
:func:`poolkit.lab.training.train` can train on it.
"""

import torch
from torch import nn

from .._arguments import check_bool, check_int, check_real
from ..layers import set_pool
from .training import deterministic

REDUCTIONS = ("sum", "mean", "max")


def motif_sequences(n, min_length, max_length, motif, seed, noise=0.5):
    r"""A seeded motif-detection task: ``n`` noisy 1-D signals, half of which hold ``motif``.

    Each signal has a length drawn uniformly from ``min_length .. max_length``
    and Gaussian values of standard deviation ``noise``; a positive one (label
    1) has ``motif`` added at a uniform random position that keeps it whole.
    Signals are padded with zeros to ``max_length``.

    Args:
        n: number of signals (labels alternate 0, 1, 0, ... before shuffling).
        min_length, max_length: lengths, with ``len(motif) <= min_length <= max_length``.
        motif: 1-D float tensor, the pattern.
        seed: int seed of every random choice.
        noise: standard deviation of the background, non-negative.

    Returns:
        ``(x, y, positions)``: ``x`` is ``(n, 2, max_length)`` float32, channel 0
        the signal and channel 1 its presence (1 on the first ``length`` steps, 0
        on the padding); ``y`` int64 labels; ``positions`` int64, where the motif
        starts (-1 for negatives).
    """
    op = "motif_sequences"
    n = check_int("n", n, minimum=1, op=op)
    if not isinstance(motif, torch.Tensor) or motif.dim() != 1 or len(motif) == 0:
        raise TypeError(f"{op}: motif must be a non-empty 1-D tensor, got motif={motif!r:.80}")
    min_length = check_int("min_length", min_length, minimum=len(motif), op=op)
    max_length = check_int("max_length", max_length, minimum=min_length, op=op)
    noise = check_real("noise", noise, op=op)
    if noise < 0:
        raise ValueError(f"{op}: noise must be non-negative, got noise={noise!r}")
    g = torch.Generator().manual_seed(check_int("seed", seed, op=op))
    lengths = torch.randint(min_length, max_length + 1, (n,), generator=g)
    y = torch.arange(n) % 2
    y = y[torch.randperm(n, generator=g)]
    x = torch.zeros(n, 2, max_length)
    x[:, 0] = noise * torch.randn(n, max_length, generator=g)
    x[:, 1] = (torch.arange(max_length) < lengths[:, None]).float()
    x[:, 0] *= x[:, 1]
    room = lengths - len(motif) + 1
    positions = (torch.rand(n, generator=g) * room).long().clamp(max=room - 1)
    positions = torch.where(y == 1, positions, -1)
    for i in torch.nonzero(y).flatten().tolist():
        start = positions[i].item()
        x[i, 0, start:start + len(motif)] += motif.float()
    return x, y, positions


class MotifNet(nn.Module):
    r"""Conv1d over the signal, ReLU, max over time, linear: ``(N, 2, T)`` to ``(N, classes)``.

    Channel 1 of the input is the presence mask of :func:`motif_sequences`: a
    sequence of length :math:`T_b` has :math:`T_b - k + 1` valid convolution
    outputs (no padding), and only those are pooled, so the padding never
    counts. :meth:`features` returns the pooled ``(N, channels)`` vector.
    """

    def __init__(self, channels=4, kernel_size=5, classes=2):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1, op="MotifNet")
        self.conv = nn.Conv1d(1, check_int("channels", channels, minimum=1, op="MotifNet"), kernel_size)
        self.classify = nn.Linear(channels, check_int("classes", classes, minimum=1, op="MotifNet"))

    def features(self, x):
        lengths = x[:, 1].sum(-1).long()
        h = torch.relu(self.conv(x[:, :1]))
        return set_pool(h, "max", dim=2, lengths=(lengths - self.kernel_size + 1).clamp(min=0))

    def forward(self, x):
        return self.classify(self.features(x))


def digit_point_sets(threshold=8, jitter=0.5, seed=0, test_size=450):
    r"""scikit-learn's digits as 2-D point sets: one point per inked pixel.

    A pixel of value at least ``threshold`` (of 16) gives the point
    :math:`((col - 3.5)/4, (3.5 - row)/4)` in :math:`[-1, 1]^2`, moved by a
    uniform jitter of up to ``jitter`` pixels on each axis (seeded), so sets
    differ in size and no two points share a grid position. The points of each
    set are stored in a seeded random order and padded to the largest set; the
    split is the fixed permutation of :func:`poolkit.lab.training.load_digits_split`.

    Args:
        threshold: ink level in ``1 .. 16``.
        jitter: largest jitter in pixels, in ``[0, 0.5]``.
        seed: seed of the jitter, the order of the points and the split.
        test_size: number of test sets, in ``1 .. 1796``.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: ``x`` is ``(n, S, 3)`` float32,
        coordinates then presence (1 for a point, 0 for padding); ``y`` int64 labels.
    """
    op = "digit_point_sets"
    threshold = check_int("threshold", threshold, minimum=1, maximum=16, op=op)
    jitter = check_real("jitter", jitter, op=op)
    if not 0 <= jitter <= 0.5:
        raise ValueError(f"{op}: jitter must lie in [0, 0.5] pixels, got jitter={jitter!r}")
    seed = check_int("seed", seed, op=op)
    test_size = check_int("test_size", test_size, minimum=1, maximum=1796, op=op)
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    g = torch.Generator().manual_seed(seed)
    inked = (images >= threshold).flatten(1)                                 # (n, 64)
    counts = inked.sum(1)
    size = int(counts.max())
    # A random order of each image's inked pixels: sort random keys, with the blank pixels' keys last.
    keys = torch.rand(inked.shape, generator=g, dtype=torch.float64).masked_fill(~inked, 2.0)
    pixels = keys.argsort(1)[:, :size]
    rows, cols = (pixels // 8).double(), (pixels % 8).double()
    shake = (torch.rand(len(images), size, 2, generator=g, dtype=torch.float64) * 2 - 1) * jitter
    present = torch.arange(size) < counts[:, None]
    points = torch.stack([(cols - 3.5 + shake[..., 0]) / 4, (3.5 - rows + shake[..., 1]) / 4], -1)
    x = torch.cat([points * present[..., None], present[..., None].double()], -1).float()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    test, train = order[:test_size], order[test_size:]
    return x[train], labels[train], x[test], labels[test]


class GaussianGrid(nn.Module):
    r"""A fixed embedding of 2-D points: Gaussian bumps centred on a ``size`` x ``size`` grid over :math:`[-1, 1]^2`.

    Point :math:`p` becomes :math:`\left(e^{-\lVert p - c_k \rVert^2 / 2\sigma^2}\right)_k`, one value per
    centre :math:`c_k`, with :math:`\sigma` = ``width`` (default: 0.6 grid spacings). Summed over a set it is a
    blurred picture of the set, maxed over a set a dilated one. ``(..., 2)`` to ``(..., size**2)``.
    """

    def __init__(self, size=6, width=None):
        super().__init__()
        size = check_int("size", size, minimum=2, op="GaussianGrid")
        centres = torch.linspace(-1, 1, size)
        self.register_buffer("centres", torch.cartesian_prod(centres, centres))
        self.width = 0.6 * 2 / (size - 1) if width is None else check_real("width", width, op="GaussianGrid",
                                                                            positive=True)

    def forward(self, points):
        # |p - c|^2 = |p|^2 - 2 p.c + |c|^2: a matrix product, much cheaper than broadcasting p - c
        distance2 = ((points * points).sum(-1, keepdim=True) - 2 * points @ self.centres.T
                     + (self.centres * self.centres).sum(-1)).clamp(min=0)
        return torch.exp(distance2 * (-0.5 / self.width ** 2))


class PointSetNet(nn.Module):
    r"""A Deep Sets / PointNet classifier of padded 2-D point sets ``(N, S, 3)``.

    :math:`\rho(\operatorname{pool}_{i} \phi(p_i))` with :math:`\phi`: a fixed
    :class:`GaussianGrid` of ``grid`` x ``grid`` centres, Linear(``grid**2``,
    ``features``) and a ReLU, applied to every point on its own; the
    symmetric ``reduction`` of :func:`poolkit.layers.set_pool` over the present
    points (coordinate 2 of the input is the presence); and :math:`\rho`:
    Linear(``features``, ``hidden``), ReLU, Linear(``hidden``, ``classes``).
    With ``"sum"`` this is Deep Sets (Zaheer et al., NeurIPS 2017), with
    ``"max"`` the symmetric part of PointNet (Qi et al., CVPR 2017).
    """

    def __init__(self, reduction="max", grid=6, features=32, hidden=32, classes=10):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"PointSetNet: reduction must be one of {REDUCTIONS}, got reduction={reduction!r}")
        features = check_int("features", features, minimum=1, op="PointSetNet")
        hidden = check_int("hidden", hidden, minimum=1, op="PointSetNet")
        classes = check_int("classes", classes, minimum=1, op="PointSetNet")
        self.reduction = reduction
        embed = GaussianGrid(grid)
        self.phi = nn.Sequential(embed, nn.Linear(embed.centres.shape[0], features), nn.ReLU())
        self.rho = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def pooled(self, x):
        """The pooled ``(N, features)`` vector, before ``rho``."""
        return set_pool(self.phi(x[..., :2]), self.reduction, dim=1, mask=x[..., 2] > 0)

    def forward(self, x):
        return self.rho(self.pooled(x))


def critical_points(model, points):
    r"""The critical points of one set for a max-pooling :class:`PointSetNet`.

    For every feature channel whose maximum over the set is positive, the
    points that attain it; channels that are 0 on every point (after the ReLU)
    need none. Any subset holding these points pools to the same vector, bit for
    bit: Qi et al.'s critical point set (CVPR 2017), for this network.

    Args:
        model: a :class:`PointSetNet` with ``reduction="max"``.
        points: ``(S, 2)`` coordinates of the present points of one set.

    Returns:
        Sorted int64 indices into ``points``.
    """
    if not isinstance(model, PointSetNet) or model.reduction != "max":
        raise ValueError(f"critical_points: model must be a PointSetNet with reduction='max', got {model!r:.80}")
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"critical_points: points must be a non-empty (S, 2) tensor, got {points!r:.80}")
    with torch.no_grad():
        h = model.phi(points)
        top = h.amax(0)
        attains = (h == top) & (top > 0)
    return torch.nonzero(attains.any(1)).flatten()


def set_accuracy(model, x, y, num_threads=1):
    """Fraction of ``x`` that ``model`` (in evaluation mode, no gradients, ``num_threads``) classifies as ``y``."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"set_accuracy: x and y must hold the same, non-zero number of samples, "
                         f"got {len(x)} and {len(y)}")
    with deterministic(num_threads), torch.no_grad():
        model.eval()
        return (model(x).argmax(1) == y).double().mean().item()


def _windows(op, input, kernel_size, stride):
    if not isinstance(input, torch.Tensor) or not input.dtype.is_floating_point:
        raise TypeError(f"{op}: input must be a floating torch.Tensor, got {input!r:.80}")
    if input.dim() != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got input of shape {tuple(input.shape)}")
    kernel_size = check_int("kernel_size", kernel_size, minimum=1, op=op)
    stride = kernel_size if stride is None else check_int("stride", stride, minimum=1, op=op)
    if kernel_size > min(input.shape[2:]):
        raise ValueError(f"{op}: kernel_size must fit in the input's {tuple(input.shape[2:])}, "
                         f"got kernel_size={kernel_size}")
    w = input.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return w.reshape(*w.shape[:4], kernel_size * kernel_size)


def stochastic_pool2d(input, kernel_size, stride=None, training=True, generator=None):
    r"""Stochastic pooling (Zeiler and Fergus, *Stochastic Pooling for
    Regularization of Deep Convolutional Neural Networks*, ICLR 2013).

    In each window of non-negative activations :math:`a_i`, let
    :math:`p_i = a_i / \sum_k a_k`. Training (``training=True``) outputs one
    element :math:`a_j`, drawn with probability :math:`p_j`; the gradient goes
    to it alone. Testing outputs the probability-weighted average
    :math:`\sum_i p_i a_i = \sum_i a_i^2 / \sum_k a_k`, the expectation of the
    training output. A window of zeros gives 0 in both.

    Args:
        input: non-negative ``(N, C, H, W)`` floating tensor (after a ReLU).
        kernel_size: side of the square windows.
        stride: their step; ``None`` means ``kernel_size``.
        training: sample (True) or take the weighted average (False).
        generator: ``torch.Generator`` for the draws, or None for the global one.

    Returns:
        ``(N, C, H_out, W_out)``.
    """
    op = "stochastic_pool2d"
    windows = _windows(op, input, kernel_size, stride)
    check_bool(op, "training", training)
    if (input < 0).any():
        raise ValueError(f"{op}: input must be non-negative (after a ReLU, say), "
                         f"got a smallest value of {input.min().item()!r}")
    total = windows.sum(-1, keepdim=True)
    if not training:
        weighted = (windows * windows).sum(-1, keepdim=True) / torch.where(total > 0, total, 1)
        return weighted.squeeze(-1)
    weights = torch.where(total > 0, windows, 1).detach().flatten(0, 3)     # zero windows: any element, all 0
    pick = torch.multinomial(weights.double(), 1, generator=generator).reshape(*windows.shape[:4], 1)
    return windows.gather(-1, pick).squeeze(-1)


MIXED = ("window", "layer")


def mixed_pool2d(input, kernel_size, stride=None, training=True, p_max=0.5, per="window", generator=None,
                 return_choice=False):
    r"""Mixed pooling: max or average pooling, chosen at random while training.

    :math:`y = \lambda \max_{i \in w} x_i + (1 - \lambda) \frac{1}{|w|}\sum_{i \in w} x_i`
    with :math:`\lambda \in \{0, 1\}` drawn as Bernoulli(``p_max``) for every
    window (``per="window"``: every output element of every channel and sample)
    or once for the whole call (``per="layer"``). Yu, Wang, Chen and Wei (*Mixed
    Pooling for Convolutional Neural Networks*, RSKT 2014) propose replacing
    max or average pooling by such a random choice between the two. At test
    time (``training=False``) this function returns the expectation of its
    training output, :math:`p \max + (1 - p)\,\mathrm{mean}`; that rule is this
    function's, not the paper's.

    Args:
        input: ``(N, C, H, W)`` floating tensor.
        kernel_size, stride: square windows and their step (``None``: ``kernel_size``).
        training: draw :math:`\lambda` (True) or return the expectation (False).
        p_max: probability of the max, in ``[0, 1]``.
        per: ``"window"`` or ``"layer"``.
        generator: ``torch.Generator`` for the draws.
        return_choice: also return :math:`\lambda` (bool, True for max; shaped like
            the output, or a 0-D tensor for ``per="layer"``; None when not training).

    Returns:
        ``(N, C, H_out, W_out)``, and :math:`\lambda` with ``return_choice``.
    """
    op = "mixed_pool2d"
    windows = _windows(op, input, kernel_size, stride)
    check_bool(op, "training", training)
    p_max = check_real("p_max", p_max, op=op)
    if not 0 <= p_max <= 1:
        raise ValueError(f"{op}: p_max must be a probability in [0, 1], got p_max={p_max!r}")
    if per not in MIXED:
        raise ValueError(f"{op}: per must be one of {MIXED}, got per={per!r}")
    top, mean = windows.amax(-1), windows.mean(-1)
    if not training:
        out = p_max * top + (1 - p_max) * mean
        return (out, None) if return_choice else out
    shape = top.shape if per == "window" else ()
    choice = torch.rand(shape, generator=generator, dtype=torch.float64) < p_max
    out = torch.where(choice, top, mean)
    return (out, choice) if return_choice else out
