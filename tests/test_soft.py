"""Log-sum-exp and softmax pooling: between the mean and the maximum, and stable."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional as F

from poolkit import lse_pool2d, softmax_pool2d


@st.composite
def case(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h, w = draw(st.integers(k[0], 7)), draw(st.integers(k[1], 7))
    values = draw(st.lists(st.floats(-20, 20), min_size=2 * h * w, max_size=2 * h * w))
    beta = draw(st.floats(0.01, 100))
    return torch.tensor(values, dtype=torch.float64).reshape(1, 2, h, w), k, s, beta


@given(case())
def test_both_lie_between_the_mean_and_the_maximum(args):
    X, k, s, beta = args
    mean, top = F.avg_pool2d(X, k, stride=s), F.max_pool2d(X, k, stride=s)
    for pool in (lse_pool2d, softmax_pool2d):
        Y = pool(X, k, beta, stride=s)
        assert Y.shape == mean.shape
        assert (Y >= mean - 1e-9).all() and (Y <= top + 1e-9).all()


def test_limits_mean_and_maximum():
    torch.manual_seed(0)
    X = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    mean, top = F.avg_pool2d(X, 2), F.max_pool2d(X, 2)
    for pool in (lse_pool2d, softmax_pool2d):
        torch.testing.assert_close(pool(X, 2, 1e-6), mean, atol=1e-5, rtol=0)
        torch.testing.assert_close(pool(X, 2, 1e4), top, atol=1e-3, rtol=0)
    # the log-sum-exp gap to the maximum is at most log(n) / beta
    for beta in (1.0, 10.0, 100.0):
        assert ((top - lse_pool2d(X, 2, beta)) <= math.log(4) / beta + 1e-12).all()


def test_no_overflow_where_the_naive_formula_overflows():
    X = torch.full((1, 1, 2, 2), 100.0)
    assert torch.isinf(torch.exp(10.0 * X)).all()                    # the naive exp overflows float32
    assert lse_pool2d(X, 2, 10.0).item() == pytest.approx(100.0)
    assert softmax_pool2d(X, 2, 10.0).item() == pytest.approx(100.0)


def test_a_known_value():
    X = torch.tensor([[[[0.0, math.log(3.0)]]]], dtype=torch.float64)
    # (1/1) * log((e^0 + e^log 3) / 2) = log 2;  softmax weights 1/4, 3/4
    assert lse_pool2d(X, (1, 2), 1.0).item() == pytest.approx(math.log(2.0))
    assert softmax_pool2d(X, (1, 2), 1.0).item() == pytest.approx(0.75 * math.log(3.0))


@pytest.mark.parametrize("call, error, message", [
    (lambda: lse_pool2d([[1.0]], 2, 1.0), TypeError, r"lse_pool2d: input must be a torch\.Tensor, got list"),
    (lambda: lse_pool2d(torch.zeros(4, 4), 2, 1.0), ValueError, r"got 2-D input of shape \(4, 4\)"),
    (lambda: lse_pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.int64), 2, 1.0), TypeError, r"torch\.int64"),
    (lambda: lse_pool2d(torch.zeros(1, 1, 4, 4), 2, 0.0), ValueError, r"beta must be a positive finite number, got beta=0\.0"),
    (lambda: softmax_pool2d(torch.zeros(1, 1, 4, 4), 2, float("inf")), ValueError, r"got beta=inf"),
    (lambda: softmax_pool2d(torch.zeros(1, 1, 4, 4), 2, True), ValueError, r"got beta=True"),
    (lambda: lse_pool2d(torch.zeros(1, 1, 4, 4), 5, 1.0), ValueError, r"no window fits: input_size=4"),
    (lambda: lse_pool2d(torch.zeros(1, 1, 4, 4), 2, 1.0, stride=0), ValueError, r"stride must be positive, got stride=\(0, 0\)"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_unbatched_input_gives_the_batched_result():
    X = torch.randn(2, 5, 6, generator=torch.Generator().manual_seed(1))
    for pool in (lse_pool2d, softmax_pool2d):
        torch.testing.assert_close(pool(X, 2, 3.0), pool(X[None], 2, 3.0)[0])
