r"""Pooling layers that ``torch.nn`` does not have, with the same conventions
as :mod:`poolkit.functional`: ``(N, C, H, W)`` or ``(C, H, W)`` inputs, and
``TypeError``/``ValueError`` naming the parameter for bad arguments.

**Anti-aliased downsampling**: BlurPool (Zhang, *Making Convolutional Networks
Shift-Invariant Again*, ICML 2019).

Subsampling a signal that holds frequencies above half the new sampling rate
aliases them: a one-pixel shift of the input can change the output
completely. BlurPool low-pass filters first, with a fixed binomial filter
applied to every channel on its own (depthwise), and subsamples second.
Zhang's anti-aliased max pooling, :func:`max_blur_pool2d`, keeps the max but
evaluates it densely (stride 1) and lets the blur do the subsampling.

**Smooth maxima**: pooling ops that move from the average to the maximum as a
temperature parameter :math:`\beta` grows.

* log-sum-exp pooling, :math:`\frac{1}{\beta}\log\frac{1}{|w|}\sum_{i \in w} e^{\beta x_i}`
  (Pinheiro and Collobert, CVPR 2015), lies between the window mean
  (:math:`\beta \to 0`) and the window maximum (:math:`\beta \to \infty`);
* softmax pooling, :math:`\sum_{i \in w} \mathrm{softmax}(\beta x)_i \, x_i`
  (the weighting of SoftPool: Stergiou, Poppe and Kalliatakis, ICCV 2021,
  who use :math:`\beta = 1`), is a weighted mean whose weights move from uniform
  (:math:`\beta = 0`) to all on the maximum (:math:`\beta \to \infty`).

Unlike max pooling, both pass a gradient to every element of the window.

**Learned global pooling**:

* generalised-mean (GeM) pooling, :func:`gem1d`, :func:`gem2d`, :func:`gem3d`,
  :math:`\left(\frac{1}{n}\sum \max(x_i, \varepsilon)^p\right)^{1/p}` over the
  whole map, with an order :math:`p` that may be learned (Radenović, Tolias
  and Chum, TPAMI 2019);
* attention pooling, :func:`attention_pool`: multi-head attention from learned
  or mean queries over a set of tokens (the Set Transformer's PMA, Lee et al.,
  ICML 2019; CLIP's attention pooling, Radford et al., ICML 2021).

**Set pooling**: symmetric pooling over the elements of sets or sequences of
any size, with a mask or lengths for padded batches: :func:`set_pool` (max,
mean or sum; the symmetric function of Deep Sets, Zaheer et al., NeurIPS 2017,
and PointNet, Qi et al., CVPR 2017) and :func:`max_over_time` (Collobert et
al., JMLR 2011). Like GeM and attention pooling, which pool whole maps, they
pool whole sets, not windows.

Every windowed layer here is computed on the window tensor of the same
sliding-window primitive as the ops of :mod:`poolkit.functional`.
"""

import math
from fractions import Fraction

import torch
import torch.nn.functional as F

from . import _windows as W
from . import functional as P
from ._attention import attention_pool  # noqa: F401  (re-exported)
from ._gem import gem1d, gem2d, gem3d  # noqa: F401  (re-exported)
from ._arguments import as_tuple, check_bool, check_input, check_int, check_positive, check_real, window_arguments

PAD_MODES = ("reflect", "replicate", "zeros")


def binomial_filter(size, dtype=None):
    r"""The normalised 1-D binomial filter of ``size`` taps: row ``size - 1`` of
    Pascal's triangle divided by its sum :math:`2^{size-1}`.

    Every tap is :math:`\binom{n}{j} / 2^n` (:math:`n = size - 1`) rounded once,
    to the nearest value of ``dtype`` (ties to even): the binomial coefficient is
    an exact Python integer, and dividing it by a power of two only moves the
    binary point, so it is rounded to the precision of ``dtype`` as an integer.
    Large filters are therefore right too (a tap below the smallest subnormal
    of ``dtype`` is 0), and the taps sum to 1 within the rounding of each.
    The exact integers make a filter of ``size`` taps cost about ``size**2``
    bit operations: thousands of taps take a fraction of a second.

    Args:
        size: number of taps, at least 1 (1: ``[1]``, 2: ``[1, 1]/2``, 3:
            ``[1, 2, 1]/4``, 4: ``[1, 3, 3, 1]/8``, ...).
        dtype: floating dtype of the result; ``None`` means the default dtype.

    Returns:
        ``(size,)`` tensor of non-negative weights summing to 1.
    """
    size = check_int("size", size, minimum=1, op="binomial_filter")
    dtype = dtype or torch.get_default_dtype()
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point and not dtype.is_complex):
        raise TypeError(f"binomial_filter: dtype must be a floating torch.dtype, got dtype={dtype!r}")
    n = size - 1
    taps, coefficient = [], 1
    for j in range(size):
        taps.append(_nearest(coefficient, n, dtype))
        coefficient = coefficient * (n - j) // (j + 1)                  # C(n, j + 1), exactly
    return torch.tensor(taps, dtype=torch.float64).to(dtype)


def _nearest(numerator, exponent, dtype):
    """``numerator / 2**exponent`` (``numerator`` a non-negative int) rounded to the nearest
    ``dtype`` value, ties to even, returned as a Python float that holds it exactly."""
    if numerator == 0:
        return 0.0
    info = torch.finfo(dtype)
    fraction_bits = round(-math.log2(info.eps))                     # 52 for float64, 23 for float32
    lowest = round(math.log2(info.smallest_normal)) - fraction_bits  # exponent of the smallest subnormal
    leading = numerator.bit_length() - 1 - exponent                  # 2**leading <= value < 2**(leading + 1)
    unit = max(leading - fraction_bits, lowest)                      # the spacing of dtype at the value
    units = round(Fraction(numerator, 2**exponent) / Fraction(2) ** unit)   # ties to even
    return math.ldexp(units, unit)


def blur_pool2d(input, filter_size=3, stride=2, pad_mode="reflect"):
    r"""Blur every channel with a binomial filter, then keep every ``stride``-th value.

    The 2-D filter is the outer product of :func:`binomial_filter` with itself.
    The input is padded by :math:`\lfloor (f-1)/2 \rfloor` before and
    :math:`\lceil (f-1)/2 \rceil` after, on each spatial axis, as in Zhang's
    implementation, so an ``H x W`` input gives
    :math:`\lceil H/s \rceil \times \lceil W/s \rceil` outputs.

    Args:
        input: floating-point tensor ``(N, C, H, W)`` or ``(C, H, W)``.
        filter_size: taps :math:`f` of the binomial filter per axis, an int or a
            pair, each at least 1 (1 is plain subsampling).
        stride: subsampling step :math:`s`, an int or a pair, each at least 1.
        pad_mode: ``'reflect'`` (Zhang's default), ``'replicate'`` or ``'zeros'``.

    Returns:
        ``(N, C, ceil(H/s_h), ceil(W/s_w))`` (or without ``N``), the input's dtype.

    Example:
        >>> blur_pool2d(torch.ones(1, 4, 4))
        tensor([[[1., 1.],
                 [1., 1.]]])
    """
    op = "blur_pool2d"
    x, batched = check_input(op, input, 2)
    sizes = as_tuple(op, "filter_size", filter_size, 2)
    steps = as_tuple(op, "stride", stride, 2)
    check_positive(op, "filter_size", sizes)
    check_positive(op, "stride", steps)
    if pad_mode not in PAD_MODES:
        raise ValueError(f"{op}: pad_mode must be one of {PAD_MODES}, got pad_mode={pad_mode!r}")
    pad = []
    for f in reversed(sizes):
        pad += [(f - 1) // 2, f // 2]
    if pad_mode == "reflect" and any(n <= max(pad[2 * i], pad[2 * i + 1])
                                     for i, n in enumerate(reversed(x.shape[2:]))):
        raise ValueError(f"{op}: reflect padding needs every spatial size larger than the padding "
                         f"{max(pad)}, got input of shape {tuple(input.shape)} with filter_size={sizes}")
    x = F.pad(x, pad, mode="constant" if pad_mode == "zeros" else pad_mode)
    windows = [W.sliding(n, f, s, 0, 1, False) for n, f, s in zip(x.shape[2:], sizes, steps)]
    taps = W.gather(x, windows, 0.0)                                     # (N, C, H', W', f_h, f_w)
    kernel = binomial_filter(sizes[0], x.dtype)[:, None] * binomial_filter(sizes[1], x.dtype)
    out = (taps * kernel.to(x.device)).sum(dim=(-2, -1))
    return out if batched else out.squeeze(0)


def max_blur_pool2d(input, kernel_size=2, filter_size=3, stride=2, pad_mode="reflect"):
    r"""Zhang's anti-aliased max pooling: max pooling with stride 1, then
    :func:`blur_pool2d` with stride ``stride``.

    Args:
        input: floating-point tensor ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: the max-pooling window (an int or a pair), evaluated at every position.
        filter_size, stride, pad_mode: as in :func:`blur_pool2d`.

    Returns:
        ``(N, C, ceil((H - k_h + 1)/s_h), ceil((W - k_w + 1)/s_w))`` (or without ``N``).
    """
    dense = P.max_pool2d(input, kernel_size, stride=1)
    return blur_pool2d(dense, filter_size, stride, pad_mode)



def _windows(op, input, kernel_size, stride, ceil_mode, beta):
    x, batched = check_input(op, input, 2)
    kernel, steps, _, _ = window_arguments(op, 2, kernel_size, stride, 0)
    check_bool(op, "ceil_mode", ceil_mode)
    beta = _check_beta(op, beta, x.dtype)
    try:
        windows = [W.sliding(n, k, s, 0, 1, ceil_mode) for n, k, s in zip(x.shape[2:], kernel, steps)]
    except ValueError as error:
        raise ValueError(f"{op}: {error} (input of shape {tuple(input.shape)}, kernel_size={kernel})") from None
    values = W.gather(x, windows, float("-inf")).flatten(-2)           # (N, C, H_out, W_out, k_h * k_w)
    valid = W.valid_mask(windows).flatten(-2).to(x.device)            # ceil mode: slots past the end
    top = values.detach().amax(-1, keepdim=True)                       # NaN if the window holds one
    return values, valid, top, beta, batched


def _check_beta(op, beta, dtype):
    """``beta`` must be a positive, finite number that stays positive and finite in ``dtype``."""
    beta = check_real("beta", beta, op=op, positive=True)
    rounded = torch.tensor(beta, dtype=dtype).item()
    if not 0 < rounded < math.inf:
        info = torch.finfo(dtype)
        raise ValueError(f"{op}: beta must be positive and finite in the input's dtype {dtype}, got beta={beta!r}, "
                         f"which {dtype} rounds to {rounded} "
                         f"(it holds {info.smallest_normal * info.eps:g} to {info.max:g})")
    return beta


def logsumexp_pool2d(input, kernel_size, beta=1.0, stride=None, ceil_mode=False):
    r"""Log-sum-exp pooling: :math:`\frac{1}{\beta}\log\left(\frac{1}{n}\sum e^{\beta x_i}\right)`
    over each window's :math:`n` elements.

    It is computed as :math:`m + \frac{1}{\beta}\log\frac{1}{n}\sum e^{\beta (x_i - m)}`
    with :math:`m` the window's maximum, so no exponential overflows, whatever
    ``beta`` and the values. When the mean of :math:`e^{\beta (x_i - m)} - 1`
    is above :math:`-1/2` (``beta`` small against the spread of the window)
    the logarithm is taken as :math:`\operatorname{log1p}` of the mean of
    :math:`\operatorname{expm1}`, which keeps the result close to the window
    mean instead of losing it to cancellation.

    Infinities and NaN take their limits: a window holding NaN gives NaN; one
    holding :math:`+\infty` gives :math:`+\infty`; a :math:`-\infty` element
    adds nothing to the sum, and a window of :math:`-\infty` only gives
    :math:`-\infty`.

    Args:
        input: floating-point ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: window, an int or a pair.
        beta: sharpness, a number that is positive and finite in the input's
            dtype (``ValueError`` otherwise: for example ``1e39`` for float32
            or ``1e5`` for float16); small: close to the mean, large: close to the max.
        stride: step between windows; ``None`` means ``kernel_size``.
        ceil_mode: as in :func:`poolkit.output_size`; a window cut by the edge
            averages over the elements it holds.

    Returns:
        ``(N, C, H_out, W_out)`` (or without ``N``), each value between the
        window's mean and its maximum: :math:`\max - \log(n)/\beta \le` output :math:`\le \max`.
    """
    values, valid, top, beta, batched = _windows("logsumexp_pool2d", input, kernel_size, stride, ceil_mode, beta)
    count = valid.sum(-1).to(values.dtype)
    shift = torch.where(torch.isfinite(top), top, 0)                   # an infinite maximum is the result itself
    scaled = beta * (values - shift)                                   # <= 0 when the maximum is finite
    excess = torch.where(valid, torch.expm1(scaled), 0).sum(-1) / count    # mean of e^scaled - 1, in [-1, 0]
    near_mean = excess > -0.5
    log_mean = torch.where(near_mean, torch.log1p(torch.where(near_mean, excess, 0)),
                           torch.logsumexp(scaled, dim=-1) - torch.log(count))
    out = shift.squeeze(-1) + log_mean / beta
    return out if batched else out.squeeze(0)


def softmax_pool2d(input, kernel_size, beta=1.0, stride=None, ceil_mode=False):
    r"""Softmax pooling: the mean of each window weighted by :math:`\mathrm{softmax}(\beta x)`.

    The weights are computed from :math:`\beta (x_i - m)`, with :math:`m` the
    window's maximum, so they never overflow. Infinities and NaN take their
    limits: a window holding NaN gives NaN; one holding :math:`+\infty`
    gives :math:`+\infty` (all the weight on its infinite elements); a
    :math:`-\infty` element weighs 0 and adds nothing, unless the window
    holds nothing else, which gives :math:`-\infty`.

    Args:
        input, kernel_size, beta, stride, ceil_mode: as in :func:`logsumexp_pool2d`.

    Returns:
        ``(N, C, H_out, W_out)`` (or without ``N``), each value between the
        window's mean (:math:`\beta \to 0`) and its maximum (:math:`\beta \to \infty`).
    """
    values, valid, top, beta, batched = _windows("softmax_pool2d", input, kernel_size, stride, ceil_mode, beta)
    inf = torch.tensor(math.inf, dtype=values.dtype, device=values.device)
    logits = beta * (values - torch.where(torch.isfinite(top), top, 0))    # -inf: padding and real -inf
    # Windows whose maximum is infinite: uniform weights over the +inf elements, or over all
    # elements of a window of -inf only. NaN windows keep their NaN logits.
    logits = torch.where(top == inf, torch.where(values == inf, 0, -inf), logits)
    logits = torch.where(top == -inf, torch.where(valid, 0, -inf), logits)
    weights = torch.softmax(logits, dim=-1)
    out = (weights * torch.where(weights > 0, values, 0)).sum(-1)     # an element of weight 0 adds 0, even -inf
    return out if batched else out.squeeze(0)


from ._sets import max_over_time, set_pool  # noqa: E402,F401
