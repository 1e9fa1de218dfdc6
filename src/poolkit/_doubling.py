r"""The doubling schedule: a window of ``k`` slots built from windows of 1, 2, 4, ... slots.

The maximum over a window of width :math:`w` starting at slot :math:`j`, and
the one starting at :math:`j + d`, together cover :math:`w + d` slots whenever
:math:`d \le w`: their maximum is the maximum of the wider window. Doubling
starts from :math:`w = 1` and takes :math:`d = \min(w, k - w)` at every step,
so the widths are :math:`1, 2, 4, \dots, 2^m, k` and there are
:math:`\lceil \log_2 k \rceil` steps. The last step overlaps the first half
unless :math:`k` is a power of two; that is harmless for a maximum, but a sum
over the same steps would count the overlap twice.

One schedule serves every place that doubles: the fast path's max pooling
(:mod:`poolkit._separable`), the lab's stride-1 max filter
(:func:`poolkit.lab.running.max_filter2d`), the dilations of the ReLU network
of :mod:`poolkit.lab.relu_pool` and the figure of :func:`poolkit.lab.plot.draw_doubling`.
"""

from ._arguments import check_int


def doubling_widths(kernel_size):
    """The window widths doubling goes through: 1, 2, 4, ..., then ``kernel_size``.

    Args:
        kernel_size: the width :math:`k` to reach, an int of at least 1.

    Returns:
        A list of ints, starting at 1 and ending at ``kernel_size``, with
        :math:`\\lceil \\log_2 k \\rceil + 1` entries; each at most twice the one before.

    Example:
        >>> doubling_widths(13)
        [1, 2, 4, 8, 13]
    """
    k = check_int("kernel_size", kernel_size, minimum=1, op="doubling_widths")
    widths = [1]
    while widths[-1] < k:
        widths.append(min(2 * widths[-1], k))
    return widths


def doubling_steps(kernel_size):
    """The shift :math:`d` of every step of :func:`doubling_widths`: how far apart the two
    narrower windows of each step start. They add up to ``kernel_size - 1``.

    Example:
        >>> doubling_steps(13)
        [1, 2, 4, 5]
    """
    widths = doubling_widths(kernel_size)
    return [after - before for before, after in zip(widths, widths[1:])]
