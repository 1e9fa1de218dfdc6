r"""A small, deterministic training set-up for comparing downsampling layers on
real data: scikit-learn's handwritten digits (8 x 8 images that ship inside
the package, so nothing is downloaded).

* :func:`load_digits_split` loads the digits, pads them and splits them the
  same way every time;
* :func:`lenet` builds a LeNet-sized network (d2l, section 7.6) around any
  downsampling layer;
* :func:`train` trains it with fixed seeds, a fixed number of threads and
  PyTorch's deterministic algorithms;
* :func:`evaluate` reports the test accuracy, the accuracy on the test set
  shifted by one pixel, and the shift consistency of the predictions.

scikit-learn is imported only when the data is loaded.
"""

import contextlib

import torch
from torch import nn

from .._arguments import check_int
from .consistency import ONE_PIXEL_SHIFTS, consistency, move_images


def load_digits_split(test_size=450, seed=0, pad=2):
    r"""scikit-learn's 1,797 digits, scaled to ``[0, 1]``, padded and split at random.

    Args:
        test_size: number of test images, in ``1 .. 1796``.
        seed: seed of the permutation that picks them.
        pad: zero pixels added on every side, so that shifts by up to ``pad``
            pixels move no stroke off the image.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 images of shape
        ``(n, 1, 8 + 2 pad, 8 + 2 pad)`` and int64 labels ``(n,)``.
    """
    test_size = check_int("test_size", test_size, minimum=1, maximum=1796, op="load_digits_split")
    pad = check_int("pad", pad, minimum=0, op="load_digits_split")
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16
    images = nn.functional.pad(images, (pad,) * 4)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    test, train = order[:test_size], order[test_size:]
    return images[train], labels[train], images[test], labels[test]


def lenet(downsample, channels=(8, 16), image_size=12, classes=10):
    r"""A LeNet-sized network with a choice of downsampling layer.

    Two blocks of a :math:`3 \times 3` convolution (padding 1), a ReLU and a
    downsampling layer, then a fully connected classifier.

    Args:
        downsample: callable taking a channel count and returning the
            downsampling module for that many channels, for example
            ``lambda c: nn.MaxPool2d(2)``; it should halve height and width.
        channels: output channels of the two convolutions.
        image_size: side of the square input images.
        classes: number of outputs.

    Returns:
        ``torch.nn.Sequential`` mapping ``(N, 1, image_size, image_size)`` to ``(N, classes)``.
    """
    if not callable(downsample):
        raise TypeError(f"lenet: downsample must be a callable taking a channel count, got {downsample!r}")
    c1, c2 = channels
    body = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), downsample(c1),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), downsample(c2), nn.Flatten())
    with torch.no_grad():
        features = body(torch.zeros(1, 1, image_size, image_size)).shape[1]
    return nn.Sequential(*body, nn.Linear(features, classes))


@contextlib.contextmanager
def deterministic(num_threads=1):
    """Within the block: ``num_threads`` intra-op threads, deterministic algorithms,
    and convolutions without oneDNN; restored after.

    oneDNN picks its convolution kernels, and so the order of their sums, from
    the processor it runs on; without it, a convolution is a matrix product of
    the BLAS library, whose code path can be pinned from outside the process (the
    book's notebooks run with ``MKL_CBWR=COMPATIBLE``; see the Makefile).
    """
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    had_onednn = torch.backends.mkldnn.enabled
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True)
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic)
        torch.backends.mkldnn.enabled = had_onednn


def train(make_model, x, y, seed, epochs=12, batch_size=64, lr=0.01, num_threads=1, losses=None,
          criterion=nn.functional.cross_entropy):
    r"""Train a fresh model with Adam on cross-entropy, reproducibly.

    The seed fixes the initial weights and the order of the mini-batches; the
    number of threads and deterministic algorithms fix the arithmetic.

    Args:
        make_model: callable returning a fresh ``nn.Module``, called after seeding.
        x, y: training images ``(n, ...)`` and int64 labels ``(n,)``.
        seed: int seed.
        epochs, batch_size, lr: the optimisation (each a positive number).
        num_threads: intra-op threads used while training.
        losses: a list to which the loss of every mini-batch is appended (a
            Python float), in training order; None to keep none.
        criterion: the loss, called as ``criterion(model(x[batch]), y[batch])``;
            cross-entropy by default (``y`` int64 labels), any other for other
            targets (``nn.functional.mse_loss`` for real ones).

    Returns:
        The trained model, in evaluation mode.
    """
    epochs = check_int("epochs", epochs, minimum=1, op="train")
    batch_size = check_int("batch_size", batch_size, minimum=1, op="train")
    num_threads = check_int("num_threads", num_threads, minimum=1, op="train")
    if not callable(criterion):
        raise TypeError(f"train: criterion must be callable, got criterion={criterion!r}")
    if losses is not None and not isinstance(losses, list):
        raise TypeError(f"train: losses must be a list or None, got losses={losses!r}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"train: x and y must hold the same, non-zero number of samples, got {len(x)} and {len(y)}")
    with deterministic(num_threads):
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        order = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            for batch in torch.randperm(len(x), generator=order).split(batch_size):
                loss = criterion(model(x[batch]), y[batch])
                if losses is not None:
                    losses.append(loss.item())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return model.eval()


def evaluate(model, x, y, num_threads=1):
    r"""Accuracy, accuracy under one-pixel shifts, and shift consistency.

    Args:
        model: a classifier of ``(n, C, H, W)`` images.
        x, y: test images and int64 labels.
        num_threads: intra-op threads used.

    Returns:
        A dict of floats in ``[0, 1]``: ``accuracy`` on ``x``; ``shifted`` the
        mean accuracy over the four one-pixel shifts of ``x`` (right, left,
        down, up); ``consistency``, the fraction of predictions those shifts
        leave unchanged.
    """
    with deterministic(num_threads), torch.no_grad():
        def predict(images):
            return model(images).argmax(1)

        accuracy = (predict(x) == y).double().mean().item()
        shifted = sum((predict(move_images(x, **m)) == y).double().mean().item()
                      for m in ONE_PIXEL_SHIFTS) / len(ONE_PIXEL_SHIFTS)
        return dict(accuracy=accuracy, shifted=shifted, consistency=consistency(predict, x, ONE_PIXEL_SHIFTS))
