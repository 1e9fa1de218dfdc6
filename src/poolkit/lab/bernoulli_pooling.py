r"""Average and max pooling of binary features, in closed form and by simulation.

A binary feature is observed at ``P`` locations of a pool, present at each
independently with probability :math:`\alpha`. Its average over the pool is
a binomial count divided by ``P``, and its maximum is 1 unless the feature is
absent everywhere. Boureau, Ponce and LeCun (ICML 2010) model pooling this
way; the functions here compute the moments and a separability measure of
two classes that differ only in :math:`\alpha`.

* :func:`pooled_moments`: mean and variance of the pooled feature;
* :func:`separability`: Fisher's criterion between two classes, as a distance in standard deviations;
* :func:`simulate_pooling`: seeded samples of both pooled features, to check the closed forms.
"""

import math

import torch

from .._arguments import check_int, check_real

MODES = ("avg", "max")


def _check_alpha(op, name, alpha):
    alpha = check_real(name, alpha, op=op)
    if not 0 <= alpha <= 1:
        raise ValueError(f"{op}: {name} must be a probability in [0, 1], got {name}={alpha!r}")
    return alpha


def _check_mode(op, mode):
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of {MODES}, got mode={mode!r}")


def pooled_moments(alpha, pool_size, mode):
    r"""Mean and variance of the average or the max of ``pool_size`` independent
    Bernoulli(``alpha``) features.

    * average: mean :math:`\alpha`, variance :math:`\alpha(1-\alpha)/P`;
    * max: a Bernoulli variable with :math:`\beta = 1 - (1-\alpha)^P`, so mean
      :math:`\beta`, variance :math:`\beta(1-\beta)`.

    Args:
        alpha: probability in ``[0, 1]``.
        pool_size: ``P``, a positive int.
        mode: ``"avg"`` or ``"max"``.

    Returns:
        ``(mean, variance)``, two floats.
    """
    alpha = _check_alpha("pooled_moments", "alpha", alpha)
    pool_size = check_int("pool_size", pool_size, minimum=1, op="pooled_moments")
    _check_mode("pooled_moments", mode)
    if mode == "avg":
        return alpha, alpha * (1 - alpha) / pool_size
    beta = -math.expm1(pool_size * math.log1p(-alpha)) if alpha < 1 else 1.0
    return beta, beta * (1 - beta)


def separability(alpha1, alpha2, pool_size, mode):
    r"""How far apart the pooled feature's distributions are for two classes:
    :math:`|\mu_1 - \mu_2| / \sqrt{\sigma_1^2 + \sigma_2^2}`, the square root of
    Fisher's criterion.

    Args:
        alpha1, alpha2: the feature's probability in each class, in ``[0, 1]``.
        pool_size: ``P``, a positive int.
        mode: ``"avg"`` or ``"max"``.

    Returns:
        A float, 0 when both classes' pooled features are constant and equal;
        ``inf`` when they are constant and differ.
    """
    alpha1 = _check_alpha("separability", "alpha1", alpha1)
    alpha2 = _check_alpha("separability", "alpha2", alpha2)
    (m1, v1), (m2, v2) = (pooled_moments(a, pool_size, mode) for a in (alpha1, alpha2))
    distance, spread = abs(m1 - m2), math.sqrt(v1 + v2)
    if spread == 0:
        return 0.0 if distance == 0 else math.inf
    return distance / spread


def simulate_pooling(alpha, pool_size, samples, seed):
    r"""Seeded draws of the average and the max of ``pool_size`` Bernoulli(``alpha``) features.

    Args:
        alpha: probability in ``[0, 1]``.
        pool_size: ``P``, a positive int.
        samples: number of pools drawn, a positive int.
        seed: int seed of the draws, in ``-2**63 .. 2**64 - 1`` (what ``torch.Generator`` takes).

    Returns:
        ``(average, maximum)``: two float64 tensors of ``samples`` values.
    """
    alpha = _check_alpha("simulate_pooling", "alpha", alpha)
    pool_size = check_int("pool_size", pool_size, minimum=1, op="simulate_pooling")
    samples = check_int("samples", samples, minimum=1, op="simulate_pooling")
    # torch.Generator.manual_seed takes seeds in -2**63 .. 2**64 - 1.
    seed = check_int("seed", seed, minimum=-(2**63), maximum=2**64 - 1, op="simulate_pooling")
    generator = torch.Generator().manual_seed(seed)
    features = (torch.rand(samples, pool_size, generator=generator, dtype=torch.float64) < alpha).double()
    return features.mean(1), features.amax(1)
