r"""scikit-learn's digits placed on a larger, empty canvas, for experiments in
which *where* a digit sits matters: locating it, or classifying it wherever it
is.

* :func:`place` puts a batch of 8 x 8 digits at given rows and columns of
  zero canvases;
* :func:`digits_on_canvas` loads the 1,797 digits, places each one at a
  seeded random position (or at the centre) and splits them into a training
  and a test set, the same way every time.

scikit-learn is imported only when the data is loaded.
"""

import torch

from .._arguments import check_int

DIGIT = 8                                               # side of a scikit-learn digit


def place(digits, rows, cols, size):
    r"""Zero canvases of side ``size`` with ``digits[i]`` pasted so that its top-left
    pixel is at ``(rows[i], cols[i])``.

    Args:
        digits: ``(N, 1, h, w)`` tensor.
        rows, cols: int64 tensors of ``N`` positions, each in ``0 .. size - h``
            (``size - w``), so that every digit lies wholly on its canvas.
        size: side of the square canvas, at least ``max(h, w)``.

    Returns:
        ``(N, 1, size, size)`` tensor, the dtype of ``digits``.
    """
    if not isinstance(digits, torch.Tensor) or digits.dim() != 4 or digits.shape[1] != 1:
        raise ValueError(f"place: digits must be an (N, 1, h, w) tensor, got {digits!r:.80}")
    n, _, h, w = digits.shape
    size = check_int("size", size, minimum=max(h, w), op="place")
    for name, pos, limit in (("rows", rows, size - h), ("cols", cols, size - w)):
        if not isinstance(pos, torch.Tensor) or pos.dtype != torch.int64 or pos.shape != (n,):
            raise TypeError(f"place: {name} must be an int64 tensor of {n} positions, got {name}={pos!r:.80}")
        if n and (pos.min() < 0 or pos.max() > limit):
            raise ValueError(f"place: {name} must lie in 0 .. {limit} so that each digit fits, "
                             f"got {name} from {pos.min().item()} to {pos.max().item()}")
    canvas = digits.new_zeros(n, 1, size, size)
    # Index of every digit pixel on its canvas: one advanced-indexing write for the whole batch.
    r = rows[:, None, None] + torch.arange(h)[None, :, None]
    c = cols[:, None, None] + torch.arange(w)[None, None, :]
    canvas[torch.arange(n)[:, None, None], 0, r, c] = digits[:, 0]
    return canvas


def digits_on_canvas(size=32, test_size=450, seed=0, centred=False):
    r"""scikit-learn's digits, scaled to ``[0, 1]``, each on a ``size`` x ``size`` canvas.

    Every digit gets a position drawn uniformly from all those that keep it
    wholly on the canvas (top-left corner in ``0 .. size - 8`` on each
    axis), or with ``centred`` the one central position. The split is a fixed
    random permutation, as in :func:`poolkit.lab.training.load_digits_split`.

    Args:
        size: side of the canvas, at least 8.
        test_size: number of test images, in ``1 .. 1796``.
        seed: int seed of the permutation and of the positions.
        centred: bool, place every digit at the centre instead of at random.

    Returns:
        ``(x_train, y_train, p_train, x_test, y_test, p_test)``: float32
        canvases ``(n, 1, size, size)``, int64 labels ``(n,)`` and int64
        top-left positions ``(n, 2)`` as (row, column).
    """
    size = check_int("size", size, minimum=DIGIT, op="digits_on_canvas")
    test_size = check_int("test_size", test_size, minimum=1, maximum=1796, op="digits_on_canvas")
    seed = check_int("seed", seed, minimum=-(2**63), maximum=2**64 - 1, op="digits_on_canvas")
    if not isinstance(centred, bool):
        raise TypeError(f"digits_on_canvas: centred must be a bool, got centred={centred!r} ({type(centred).__name__})")
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16
    labels = torch.tensor(digits.target, dtype=torch.int64)
    n = len(labels)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)              # first, so that centred gives the same split
    if centred:
        positions = torch.full((n, 2), (size - DIGIT) // 2, dtype=torch.int64)
    else:
        positions = torch.randint(0, size - DIGIT + 1, (n, 2), generator=generator)
    canvases = place(images, positions[:, 0].contiguous(), positions[:, 1].contiguous(), size)
    test, train = order[:test_size], order[test_size:]
    return canvases[train], labels[train], positions[train], canvases[test], labels[test], positions[test]
