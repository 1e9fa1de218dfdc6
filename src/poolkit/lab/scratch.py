"""The from-scratch teaching version of 2-D pooling.

``pool2d`` is the two-loop program that the book starts from. Its loop body is
kept exactly as the book's source notes wrote it; the only addition is an
argument check in front of it, so that bad input fails loudly instead of
producing a silently wrong result.
"""

import torch

from .._arguments import check_int

MODES = ("max", "avg")


def check_pool2d_args(X, pool_size, mode):
    """Raise ``TypeError`` or ``ValueError`` unless ``pool2d`` can handle the arguments.

    The rules, each with its own message:

    * ``X`` is a 2-D ``torch.Tensor`` (one plane: no batch or channel axes).
    * ``X`` has the default floating dtype (``torch.get_default_dtype()``,
      normally ``torch.float32``), because ``pool2d`` allocates its output with
      ``torch.zeros`` and so in that dtype; any other dtype would be converted
      silently.
    * ``pool_size`` is a pair of positive integers (``int``, NumPy integers or
      one-element integer tensors, never ``bool``), no larger than ``X``.
    * ``mode`` is ``'max'`` or ``'avg'``.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"pool2d: X must be a torch.Tensor, got {type(X).__name__}")
    if X.dim() != 2:
        raise ValueError(
            f"pool2d: X must be 2-D (height, width), got {X.dim()}-D input of shape "
            f"{tuple(X.shape)}; pool one plane at a time, or use torch.nn.MaxPool2d "
            f"for (N, C, H, W) batches"
        )
    if not X.dtype.is_floating_point:
        raise TypeError(
            f"pool2d: X must have a floating dtype, got {X.dtype}; convert it with X.float()"
        )
    default = torch.get_default_dtype()
    if X.dtype != default:
        raise TypeError(
            f"pool2d: X.dtype is {X.dtype} but the output is allocated with the default "
            f"dtype {default}; convert X to {default} or call torch.set_default_dtype({X.dtype})"
        )
    if not isinstance(pool_size, (tuple, list)) or len(pool_size) != 2:
        raise TypeError(
            f"pool2d: pool_size must be a pair (p_h, p_w) of ints, got {pool_size!r}"
        )
    for name, p in zip(("p_h", "p_w"), pool_size):
        check_int(name, p, minimum=1, op="pool2d")
    if pool_size[0] > X.shape[0] or pool_size[1] > X.shape[1]:
        raise ValueError(
            f"pool2d: window pool_size={tuple(pool_size)} is larger than the input "
            f"X of shape {tuple(X.shape)}; no window fits"
        )
    if mode not in MODES:
        raise ValueError(f"pool2d: mode must be 'max' or 'avg', got {mode!r}")


def pool2d(X, pool_size, mode='max'):
    """Slide a ``pool_size`` window over the 2-D tensor ``X`` with stride 1 and no padding.

    Args:
        X: tensor of shape ``(h, w)`` in the default dtype (``torch.float32``).
        pool_size: ``(p_h, p_w)``, the window height and width, each in ``1..h`` and ``1..w``.
        mode: ``'max'`` for the largest element of each window, ``'avg'`` for its mean.

    Returns:
        Tensor of shape ``(h - p_h + 1, w - p_w + 1)``: entry ``(i, j)`` pools the
        window whose top-left corner is ``X[i, j]``.

    Raises:
        TypeError, ValueError: see :func:`check_pool2d_args`.
    """
    check_pool2d_args(X, pool_size, mode)
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode == 'avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y
