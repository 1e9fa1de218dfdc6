r"""Generalised-mean (GeM) pooling: global pooling between the mean and the maximum.

For each channel of a map with :math:`n` positions,

.. math::

    f = \left(\frac{1}{n} \sum_{i=1}^{n} \max(x_i, \varepsilon)^p\right)^{1/p},

the power mean of order :math:`p` of the clamped activations (Radenović,
Tolias and Chum, *Fine-tuning CNN Image Retrieval with No Human Annotation*,
IEEE TPAMI 41(7), 2019). At :math:`p = 1` it is the mean of the clamped values;
as :math:`p \to \infty` it tends to their maximum; it is non-decreasing in
:math:`p` in between. :math:`p` may be learned, one for the layer or one per
channel, and is differentiable like the input.

It is poolkit's (and PyTorch's) power-average pooling, ``lp_pool2d``, taken
over the whole map and divided by :math:`n^{1/p}`: LP pooling sums the
:math:`p`-th powers, GeM averages them, so on the clamped input
``lp_pool2d(x, p, x.shape[-2:]) == n ** (1 / p) * gem2d(x, p)``.

The pooled value is computed as :math:`m \left(\frac{1}{n}\sum (x_i/m)^p\right)^{1/p}`
with :math:`m` the channel's largest clamped value, held constant for autograd.
That is the same function, with the same gradients, but no power overflows or
underflows to zero whatever :math:`p`: every ratio lies in :math:`(0, 1]` and
the largest is 1.
"""

import torch

from ._arguments import check_bool, check_input, check_int, check_real


def _check_p(op, p, channels, dtype):
    """``p`` as a float or a tensor that broadcasts over ``(N, C)``; refused unless positive and finite."""
    if isinstance(p, torch.Tensor):
        if not p.dtype.is_floating_point:
            raise TypeError(f"{op}: p must be a real number or a floating-point tensor, got a tensor of dtype {p.dtype}")
        if p.dim() > 1 or (p.dim() == 1 and p.numel() not in (1, channels)):
            raise ValueError(f"{op}: p must be a number, a tensor of one element or one per channel ({channels}), "
                             f"got p of shape {tuple(p.shape)}")
        with torch.no_grad():
            bad = ~(torch.isfinite(p) & (p > 0))
            if bool(bad.any()):
                raise ValueError(f"{op}: p must be positive and finite, got p={p.detach().flatten()[bad.flatten()][:4].tolist()} "
                                 f"among its entries")
        return p.to(dtype).reshape(-1) if p.dim() == 1 else p.to(dtype)
    return check_real("p", p, op=op, positive=True)


def _gem(op, input, p, eps, dims):
    x, batched = check_input(op, input, dims)
    eps = check_real("eps", eps, op=op, positive=True)
    if not torch.tensor(eps, dtype=x.dtype).item() > 0:
        raise ValueError(f"{op}: eps must stay positive in the input's dtype {x.dtype}, got eps={eps!r}, "
                         f"which it rounds to 0")
    p = _check_p(op, p, x.shape[1], x.dtype)
    spatial = tuple(range(2, 2 + dims))
    if isinstance(p, torch.Tensor):
        p = p.reshape(p.shape + (1,) * dims)                          # (C, 1, ...) or (1, 1, ...): over (N, C, *)
    clamped = x.clamp(min=eps)
    top = clamped.detach().amax(dim=spatial, keepdim=True)            # m > 0, a constant for autograd
    out = top * (clamped / top).pow(p).mean(dim=spatial, keepdim=True).pow(1 / p)
    return out if batched else out.squeeze(0)


def gem1d(input, p=3.0, eps=1e-6):
    r"""Global generalised-mean pooling over the length of ``(N, C, L)`` or ``(C, L)``.

    As :func:`gem2d`, over one spatial axis. Returns ``(N, C, 1)`` (or ``(C, 1)``).
    """
    return _gem("gem1d", input, p, eps, 1)


def gem2d(input, p=3.0, eps=1e-6):
    r"""Global generalised-mean (GeM) pooling of ``(N, C, H, W)`` or ``(C, H, W)``.

    .. math::

        f_c = \left(\frac{1}{HW} \sum_{h, w} \max(x_{c,h,w}, \varepsilon)^{p}\right)^{1/p}

    (Radenović, Tolias and Chum, TPAMI 2019). ``p = 1`` gives the mean of the
    clamped map (``adaptive_avg_pool2d(x.clamp(min=eps), 1)``); as ``p`` grows
    the result rises to the clamped maximum, which it never exceeds. It is
    ``lp_pool2d`` over the whole map divided by :math:`(HW)^{1/p}`: a mean of
    powers where LP pooling takes their sum.

    Args:
        input: floating-point ``(N, C, H, W)`` or ``(C, H, W)``.
        p: the order, a positive, finite number, or a floating-point tensor of
            one element or of ``C`` elements (one order per channel), for
            example a learned ``nn.Parameter``; gradients flow to it.
        eps: the clamp, a positive, finite number; the inputs below it are
            raised to it, so that powers and their gradients stay finite.

    Returns:
        ``(N, C, 1, 1)`` (or ``(C, 1, 1)``), like ``adaptive_avg_pool2d(input, 1)``.

    Raises:
        TypeError: ``input`` is not a floating tensor, or ``p`` or ``eps`` not a number.
        ValueError: wrong rank or an empty map; ``p`` not positive and finite in every
            entry, or of another shape; ``eps`` not positive and finite.
    """
    return _gem("gem2d", input, p, eps, 2)


def gem3d(input, p=3.0, eps=1e-6):
    r"""Global generalised-mean pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``.

    As :func:`gem2d`, over three spatial axes. Returns ``(N, C, 1, 1, 1)``.
    """
    return _gem("gem3d", input, p, eps, 3)


def init_p(p, learn_p, num_channels):
    """The order a :class:`poolkit.nn.GeM` holds: a ``Parameter`` of ``num_channels``
    entries (one if None) when learned, else a float, after checking all three."""
    check_bool("GeM", "learn_p", learn_p)
    if num_channels is not None:
        num_channels = check_int("num_channels", num_channels, minimum=1, op="GeM")
    value = check_real("p", p, op="GeM", positive=True)
    if not learn_p:
        if num_channels is not None:
            raise ValueError(f"GeM: num_channels gives one learned p per channel and needs learn_p=True, "
                             f"got num_channels={num_channels} with learn_p=False")
        return value
    return torch.nn.Parameter(torch.full((1 if num_channels is None else num_channels,), value))


class GeM(torch.nn.Module):
    r"""Global generalised-mean pooling of ``(N, C, H, W)`` or ``(C, H, W)`` to ``(N, C, 1, 1)``:
    :func:`poolkit.layers.gem2d` with the order :math:`p` held by the module
    (Radenović, Tolias and Chum, TPAMI 2019).

    :math:`f_c = \left(\frac{1}{HW}\sum \max(x, \varepsilon)^p\right)^{1/p}`:
    the mean at :math:`p = 1`, the maximum as :math:`p \to \infty`; the mean of
    the :math:`p`-th powers where ``LPPool2d`` over the whole map takes their sum.

    Args:
        p: the initial order, a positive, finite number.
        eps: the clamp, a positive, finite number.
        learn_p: hold ``p`` as an ``nn.Parameter`` (trained with the network);
            otherwise it is a plain float.
        num_channels: with ``learn_p``, learn one order per channel (``p`` then
            has ``num_channels`` entries); None for a single learned order.
    """

    def __init__(self, p=3.0, eps=1e-6, learn_p=True, num_channels=None):
        super().__init__()
        self.p = init_p(p, learn_p, num_channels)
        self.eps = check_real("eps", eps, op="GeM", positive=True)

    def extra_repr(self):
        p = self.p.detach().tolist() if isinstance(self.p, torch.Tensor) else self.p
        return f"p={p}, eps={self.eps}, learn_p={isinstance(self.p, torch.nn.Parameter)}"

    def forward(self, input):
        return gem2d(input, self.p, self.eps)
