"""The output-size rule of sliding windows, written once.

PyTorch computes the length of each pooled axis with one function
(``pooling_output_shape`` in ``aten/src/ATen/native/Pool.h``). ``output_size``
is the same rule in Python, with the same checks, so the book can state the
formula and test it against every example it shows. ``conv_output_size`` is
the convolution's rule: the same count of windows, without pooling's limit on
padding and without ``ceil_mode``.
"""

from ._arguments import check_int


def _window_count(input_size, kernel_size, stride, padding, dilation, ceil_mode):
    """How many windows fit; the arguments are already checked."""
    window = dilation * (kernel_size - 1) + 1
    span = input_size + 2 * padding - window
    # Floor division, as PyTorch's div_rtn; adding stride - 1 first turns it into a ceiling.
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= input_size + padding:
        out -= 1  # the last window would start in the right padding
    if out < 1:
        raise ValueError(
            f"no window fits: input_size={input_size} with padding={padding} is shorter "
            f"than the window {window} (kernel_size={kernel_size}, dilation={dilation}), "
            f"so the output size would be {out}"
        )
    return out


def _check_common(input_size, kernel_size, stride, padding, dilation):
    return (check_int("input_size", input_size, 1), check_int("kernel_size", kernel_size, 1),
            check_int("stride", stride, 1), check_int("padding", padding, 0),
            check_int("dilation", dilation, 1))


def output_size(input_size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    r"""Length of one pooled axis, as PyTorch computes it.

    With input length :math:`n`, kernel :math:`k`, stride :math:`s`, padding
    :math:`p` on each side and dilation :math:`d`, the window covers
    :math:`d(k-1)+1` input positions and

    .. math::

        n_{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    With ``ceil_mode=True`` the floor becomes a ceiling, except that a last
    window starting past the input and its left padding (at
    :math:`(n_{out}-1)s \ge n + p`) is dropped.

    Args:
        input_size: :math:`n \ge 1`.
        kernel_size: :math:`k \ge 1`.
        stride: :math:`s \ge 1`; ``None`` means ``kernel_size`` (PyTorch's default).
        padding: :math:`p \ge 0`, at most half the kernel: :math:`p \le \lfloor k/2 \rfloor`
            (PyTorch checks this for every pooling op, whatever the dilation).
        dilation: :math:`d \ge 1`.
        ceil_mode: round the window count up instead of down.

    Returns:
        :math:`n_{out}`, an ``int`` of at least 1.

    Raises:
        TypeError: an argument is not an int (what ``operator.index`` takes, not a
            bool; ``ceil_mode``: not a ``bool``).
        ValueError: an argument is out of range, padding exceeds half the
            kernel, or no window fits (:math:`n_{out} < 1`).

    Example:
        >>> output_size(4, 3, stride=2, padding=1)
        2
    """
    if stride is None:
        stride = kernel_size
    input_size, kernel_size, stride, padding, dilation = _check_common(
        input_size, kernel_size, stride, padding, dilation)
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    if padding > kernel_size // 2:
        raise ValueError(
            f"padding must be at most half of kernel_size, got padding={padding} with "
            f"kernel_size={kernel_size} (so padding <= {kernel_size // 2})"
        )
    return _window_count(input_size, kernel_size, stride, padding, dilation, ceil_mode)


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    r"""Length of one axis after a convolution, as ``torch.nn.Conv2d`` computes it.

    The same count of windows as :func:`output_size` with ``ceil_mode=False``,
    :math:`\lfloor (n + 2p - d(k-1) - 1)/s \rfloor + 1`, but the stride
    defaults to 1 and the padding may be as large as you like.

    Raises:
        TypeError: an argument is not an ``int``.
        ValueError: an argument is out of range, or no window fits.
    """
    input_size, kernel_size, stride, padding, dilation = _check_common(
        input_size, kernel_size, stride, padding, dilation)
    return _window_count(input_size, kernel_size, stride, padding, dilation, False)
