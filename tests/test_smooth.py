"""Log-sum-exp and softmax pooling: between the mean and the max, and their gradients."""

import math
import pytest
import torch
import torch.nn.functional as F

from poolkit.layers import logsumexp_pool2d, softmax_pool2d


@pytest.fixture
def x():
    return torch.randn(2, 3, 6, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
def test_small_beta_gives_the_mean_and_large_beta_the_max(x, pool):
    assert torch.allclose(pool(x, 2, beta=1e-6), F.avg_pool2d(x, 2), atol=1e-5)
    assert torch.allclose(pool(x, 2, beta=1e4), F.max_pool2d(x, 2), atol=1e-3)


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
def test_always_between_mean_and_max_and_grows_with_beta(x, pool):
    previous = F.avg_pool2d(x, 3, 1)
    for beta in (0.5, 1.0, 2.0, 8.0):
        out = pool(x, 3, beta=beta, stride=1)
        assert (out >= previous - 1e-12).all() and (out <= F.max_pool2d(x, 3, 1) + 1e-12).all()
        previous = out


def test_logsumexp_bound(x):
    beta = 2.0
    gap = F.max_pool2d(x, 2) - logsumexp_pool2d(x, 2, beta)
    assert (gap >= 0).all() and (gap <= torch.log(torch.tensor(4.0)) / beta + 1e-12).all()


def test_large_inputs_do_not_overflow():
    x = torch.full((1, 1, 2, 2), 1000.0)
    assert logsumexp_pool2d(x, 2, beta=10.0).item() == pytest.approx(1000.0)
    assert softmax_pool2d(x, 2, beta=10.0).item() == pytest.approx(1000.0)


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
def test_every_element_gets_a_gradient(pool, x):
    x = x.clone().requires_grad_()
    pool(x, 2).sum().backward()
    assert (x.grad != 0).all()
    assert torch.autograd.gradcheck(lambda t: pool(t, 2, beta=1.5, stride=1), (x[:1, :1, :4, :4].detach().requires_grad_(),))


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
def test_ceil_mode_edge_windows_use_what_they_hold(pool):
    x = torch.arange(5.0).reshape(1, 1, 1, 5)
    out = pool(x, (1, 2), beta=1e-6, ceil_mode=True)
    assert out.shape == (1, 1, 1, 3)
    assert torch.allclose(out[..., -1], torch.tensor(4.0), atol=1e-4)
    assert torch.equal(pool(x[0], (1, 2)), pool(x, (1, 2))[0])


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(beta=0.0), ValueError, r"beta must be positive and finite, got beta=0.0"),
    (dict(beta=float("inf")), ValueError, r"beta must be positive and finite"),
    (dict(beta="1"), TypeError, r"beta must be a number, got beta='1'"),
    (dict(stride=0), ValueError, r"stride must be positive"),
    (dict(kernel_size=9), ValueError, r"input of shape"),
])
def test_bad_arguments(pool, kwargs, error, message):
    args = dict(kernel_size=2) | kwargs
    with pytest.raises(error, match=message):
        pool(torch.zeros(1, 1, 4, 4), **args)


def test_a_known_value():
    X = torch.tensor([[[[0.0, math.log(3.0)]]]], dtype=torch.float64)
    # log((e^0 + e^log 3) / 2) = log 2; the softmax weights are 1/4 and 3/4
    assert logsumexp_pool2d(X, (1, 2), 1.0).item() == pytest.approx(math.log(2.0))
    assert softmax_pool2d(X, (1, 2), 1.0).item() == pytest.approx(0.75 * math.log(3.0))
