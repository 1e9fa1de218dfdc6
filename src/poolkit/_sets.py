r"""Symmetric pooling over the elements of a set or a sequence of any size.

A set :math:`X = \{x_1, \dots, x_n\}` has no order, so a function of it must
not depend on the order in which its elements are stored: it must be
*permutation invariant*. Sum, mean and max over the elements are the simplest
such functions, and the ones networks on sets use:

* Deep Sets (Zaheer et al., *Deep Sets*, NeurIPS 2017) computes
  :math:`\rho\left(\sum_{i=1}^{n} \phi(x_i)\right)` with learned
  :math:`\phi` and :math:`\rho`;
* PointNet (Qi et al., *PointNet: Deep Learning on Point Sets for 3D
  Classification and Segmentation*, CVPR 2017) uses the max over the points
  as its symmetric function;
* max-over-time pooling (Collobert et al., *Natural Language Processing
  (Almost) from Scratch*, JMLR 2011) takes the max of each channel of a 1-D
  convolution's output over the time axis, so that a sentence of any length
  gives a vector of one size.

A batch holds sets of different sizes padded to one length; ``mask`` (True
where an element is present) or ``lengths`` (the first ``lengths[b]``
elements of set ``b`` are present) says which elements count. Padded
elements never reach the result and get zero gradient.
"""

import torch

from ._arguments import check_bool, check_int

REDUCTIONS = ("max", "mean", "sum")


def _check_reduction(op, reduction):
    if not isinstance(reduction, str):
        raise TypeError(f"{op}: reduction must be a str, one of {REDUCTIONS}, got reduction={reduction!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got reduction={reduction!r}")
    return reduction


def _presence(op, input, dim, mask, lengths):
    """The presence mask broadcast against ``input`` (or None), and the set axis ``dim`` as a non-negative int."""
    if mask is not None and lengths is not None:
        raise ValueError(f"{op}: give mask or lengths, not both, got mask of shape {tuple(mask.shape)} "
                         f"and lengths={lengths!r}")
    if mask is None and lengths is None:
        return None
    if dim == 0:
        raise ValueError(f"{op}: mask and lengths need a batch axis 0 that is not the set axis, got dim=0")
    batch, size = input.shape[0], input.shape[dim]
    if lengths is not None:
        if not isinstance(lengths, torch.Tensor):
            try:
                lengths = torch.as_tensor(lengths)
            except (TypeError, ValueError, RuntimeError):
                raise TypeError(f"{op}: lengths must be a 1-D tensor or sequence of ints, got lengths={lengths!r}") \
                    from None
        if lengths.dtype == torch.bool or lengths.dtype.is_floating_point or lengths.dtype.is_complex:
            raise TypeError(f"{op}: lengths must hold integers, got lengths={lengths!r} of dtype {lengths.dtype}")
        if tuple(lengths.shape) != (batch,):
            raise ValueError(f"{op}: lengths must have shape ({batch},), one length per set, "
                             f"got lengths of shape {tuple(lengths.shape)}")
        if batch and (lengths.min() < 0 or lengths.max() > size):
            raise ValueError(f"{op}: every length must lie in [0, {size}] (the size of axis {dim}), "
                             f"got lengths={lengths.tolist()}")
        mask = torch.arange(size, device=lengths.device) < lengths[:, None]
    else:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            what = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise TypeError(f"{op}: mask must be a bool tensor (True = present), got mask of {what}")
        if tuple(mask.shape) != (batch, size):
            raise ValueError(f"{op}: mask must have shape ({batch}, {size}), (batch, set size), "
                             f"got mask of shape {tuple(mask.shape)}")
    shape = [batch] + [1] * (input.dim() - 1)
    shape[dim] = size
    return mask.to(input.device).reshape(shape)


def set_pool(input, reduction="max", dim=1, mask=None, lengths=None, keepdim=False):
    r"""Pool the elements of sets (or sequences) along ``dim`` with a symmetric function.

    For set :math:`b` with present elements :math:`S_b` (all of axis ``dim``,
    or those that ``mask``/``lengths`` mark), and every other index :math:`c`:

    .. math::

        y_{b,c} = \max_{i \in S_b} x_{b,i,c}, \qquad
        y_{b,c} = \frac{1}{|S_b|} \sum_{i \in S_b} x_{b,i,c}, \qquad
        y_{b,c} = \sum_{i \in S_b} x_{b,i,c}

    for ``"max"``, ``"mean"`` and ``"sum"``. Each is invariant to any
    permutation of a set's present elements: the max exactly, the sum and the
    mean up to the rounding of floating-point addition, whose order changes
    (exactly, too, when every partial sum is representable, as for small
    integers in float64).

    This is the symmetric function of Deep Sets (sum; Zaheer et al., NeurIPS
    2017) and PointNet (max; Qi et al., CVPR 2017). Over the time axis of
    ``(N, C, T)`` convolution features it is max-over-time pooling
    (Collobert et al., JMLR 2011): see :func:`max_over_time`.

    **Empty sets.** A set with no present element (a fully masked row, or a
    length of 0) gives **0** for every reduction: the empty sum is 0, and the
    mean and the max of no element are defined here as 0, never NaN or
    :math:`-\infty`, so that one empty set cannot poison a batch. Its elements
    all get zero gradient.

    **Gradients.** Sum and mean pass the output's gradient (divided by
    :math:`|S_b|` for the mean) to every present element. Max passes it to the
    elements that attain the maximum; when several tie, it is split equally
    among them (the rule of ``torch.amax``), so the gradient does not depend
    on the order either. Padded (absent) elements get zero gradient.

    Args:
        input: floating tensor; axis ``dim`` indexes the elements of each set.
            With ``mask`` or ``lengths``, axis 0 is the batch of sets.
        reduction: ``"max"``, ``"mean"`` or ``"sum"``.
        dim: the set (or time) axis; negative values count from the end.
            Must not be 0 with ``mask`` or ``lengths``.
        mask: optional bool tensor of shape ``(N, L)``, ``N = input.shape[0]``
            and ``L = input.shape[dim]``; True marks a present element.
        lengths: optional integers ``(N,)`` in ``[0, L]``: set ``b`` holds its
            first ``lengths[b]`` elements (padding at the end). Give at most one
            of ``mask`` and ``lengths``.
        keepdim: keep axis ``dim`` with size 1.

    Returns:
        ``input`` reduced over ``dim``.

    Raises:
        TypeError: ``input`` is not a floating tensor, ``reduction`` not a str,
            ``dim`` not an int, ``mask`` not a bool tensor, ``lengths`` not integers,
            ``keepdim`` not a bool.
        ValueError: an unknown ``reduction``, ``dim`` out of range, ``mask`` or
            ``lengths`` of the wrong shape, a length outside ``[0, L]``, both
            ``mask`` and ``lengths``, or ``dim`` 0 with either.

    Example:
        >>> x = torch.tensor([[[1.], [5.], [9.]], [[2.], [7.], [0.]]])      # (N=2, L=3, C=1)
        >>> set_pool(x, "max", lengths=[3, 1]).flatten().tolist()
        [9.0, 2.0]
        >>> set_pool(x, "mean", lengths=[3, 0]).flatten().tolist()
        [5.0, 0.0]
    """
    op = "set_pool"
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}: input must be a torch.Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: input must have a floating dtype, got {input.dtype}")
    if input.dim() == 0:
        raise ValueError(f"{op}: input must have at least one dimension, got a 0-D tensor")
    _check_reduction(op, reduction)
    rank = input.dim()
    dim = check_int("dim", dim, minimum=-rank, maximum=rank - 1, op=op) % rank
    check_bool(op, "keepdim", keepdim)
    present = _presence(op, input, dim, mask, lengths)
    if present is None:
        if input.shape[dim] == 0:                                # sets with no element: 0, as documented
            return input.sum(dim, keepdim=keepdim)
        if reduction == "max":
            return input.amax(dim, keepdim=keepdim)
        if reduction == "sum":
            return input.sum(dim, keepdim=keepdim)
        return input.mean(dim, keepdim=keepdim)
    if reduction == "max":
        top = input.masked_fill(~present, float("-inf")).amax(dim, keepdim=True)
        empty = ~present.any(dim, keepdim=True)
        out = torch.where(empty, torch.zeros((), dtype=input.dtype, device=input.device), top)
    else:
        out = input.masked_fill(~present, 0).sum(dim, keepdim=True)
        if reduction == "mean":
            count = present.sum(dim, keepdim=True).clamp(min=1).to(input.dtype)
            out = out / count
    return out if keepdim else out.squeeze(dim)


def max_over_time(input, lengths=None):
    r"""Max-over-time pooling: the max of each channel over the time axis.

    For convolution features :math:`h \in \mathbb{R}^{N \times C \times T}` of
    sequences of lengths :math:`T_b \le T`,
    :math:`y_{b,c} = \max_{t < T_b} h_{b,c,t}`: one number per channel,
    whatever the length (Collobert et al., *Natural Language Processing
    (Almost) from Scratch*, JMLR 2011; Kim, *Convolutional Neural Networks for
    Sentence Classification*, EMNLP 2014). It is
    ``set_pool(input, "max", dim=-1, lengths=lengths)``, with its rules: an
    empty sequence gives 0, ties share the gradient, padding gets none.

    Args:
        input: floating ``(N, C, T)``, or ``(C, T)`` without ``lengths``.
        lengths: optional integers ``(N,)`` in ``[0, T]``, the valid steps of
            each sequence (padding at the end).

    Returns:
        ``(N, C)`` (or ``(C,)``).
    """
    op = "max_over_time"
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}: input must be a torch.Tensor, got {type(input).__name__}")
    if input.dim() not in (2, 3) or (lengths is not None and input.dim() != 3):
        need = "3-D (N, C, T) with lengths" if lengths is not None else "2-D (C, T) or 3-D (N, C, T)"
        raise ValueError(f"{op}: input must be {need}, got input of shape {tuple(input.shape)}")
    return set_pool(input, "max", dim=-1, lengths=lengths)
