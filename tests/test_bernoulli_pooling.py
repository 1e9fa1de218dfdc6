"""Pooled binary features: closed forms against exact enumeration and simulation, and the refusals."""

import itertools
import math

import pytest
import torch

from poolkit.lab.bernoulli_pooling import pooled_moments, separability, simulate_pooling


@pytest.mark.parametrize("alpha, pool_size", [(0.3, 1), (0.3, 3), (0.05, 4), (0.9, 2), (0.0, 3), (1.0, 3)])
def test_moments_match_an_exact_enumeration_of_every_pool(alpha, pool_size):
    outcomes = list(itertools.product((0, 1), repeat=pool_size))
    weights = [math.prod(alpha if v else 1 - alpha for v in o) for o in outcomes]
    for mode, reduce in (("avg", lambda o: sum(o) / len(o)), ("max", max)):
        values = [reduce(o) for o in outcomes]
        mean = sum(w * v for w, v in zip(weights, values))
        variance = sum(w * (v - mean) ** 2 for w, v in zip(weights, values))
        assert pooled_moments(alpha, pool_size, mode) == pytest.approx((mean, variance), abs=1e-12)


def test_a_simulation_agrees_with_the_closed_forms():
    average, maximum = simulate_pooling(0.1, 8, 200_000, seed=0)
    for values, mode in ((average, "avg"), (maximum, "max")):
        mean, variance = pooled_moments(0.1, 8, mode)
        assert abs(values.mean().item() - mean) < 5 * math.sqrt(variance / len(values))
        assert values.var().item() == pytest.approx(variance, rel=0.02)
    assert torch.equal(maximum, (average > 0).double())                 # the max is whether any fired
    assert torch.equal(simulate_pooling(0.1, 8, 1000, seed=3)[0], simulate_pooling(0.1, 8, 1000, seed=3)[0])


def test_separability_is_equal_for_a_pool_of_one_and_grows_with_the_pool_for_the_average():
    assert separability(0.1, 0.2, 1, "avg") == pytest.approx(separability(0.1, 0.2, 1, "max"))
    assert separability(0.1, 0.2, 16, "avg") == pytest.approx(4 * separability(0.1, 0.2, 1, "avg"))
    assert separability(0.1, 0.2, 1000, "max") < separability(0.1, 0.2, 10, "max")    # the max saturates
    assert separability(0.3, 0.3, 5, "avg") == 0 and separability(0.0, 1.0, 5, "max") == math.inf
    assert separability(1.0, 1.0, 5, "max") == 0


@pytest.mark.parametrize("call, match", [
    (lambda: pooled_moments(1.5, 2, "avg"), "alpha"), (lambda: pooled_moments(0.5, 0, "avg"), "pool_size"),
    (lambda: pooled_moments(0.5, 2, "mean"), "mode"), (lambda: separability(0.1, -0.1, 2, "max"), "alpha2"),
    (lambda: separability(True, 0.1, 2, "max"), "alpha1"), (lambda: simulate_pooling(0.5, 2, 0, 0), "samples"),
    (lambda: simulate_pooling(0.5, 2, 10, 0.5), "seed"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


@pytest.mark.parametrize("seed", [2**70, 2**64, -(2**63) - 1])
def test_a_seed_the_generator_cannot_take_is_a_value_error_naming_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        simulate_pooling(0.5, 2, 10, seed)


def test_the_extreme_seeds_the_generator_takes_are_accepted():
    for seed in (2**64 - 1, -(2**63)):
        average, maximum = simulate_pooling(0.5, 2, 10, seed)
        assert average.shape == maximum.shape == (10,)
