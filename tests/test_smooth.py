"""Log-sum-exp and softmax pooling: between the mean and the max, and their gradients."""

import decimal
import re
import math
import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given
from hypothesis import strategies as st

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
    (dict(beta="1"), TypeError, r"beta must be a real number, got beta='1'"),
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


# --- infinities, NaN and extreme beta ----------------------------------------------------------------------

INF, NAN = math.inf, math.nan


def reference(pool, xs, beta):
    """One window by the definition, with 60 significant digits (decimal) and the limits
    for infinities: NaN wins, then +inf; -inf weighs 0 unless every element is -inf."""
    if any(math.isnan(v) for v in xs):
        return NAN
    if INF in xs:
        return INF
    if all(v == -INF for v in xs):
        return -INF
    with decimal.localcontext() as context:
        context.prec = 60
        finite = [decimal.Decimal(v) for v in xs if v != -INF]
        top, b = max(finite), decimal.Decimal(beta)
        weights = [(b * (v - top)).exp() for v in finite]
        if pool is softmax_pool2d:
            return float(sum(w * v for w, v in zip(weights, finite)) / sum(weights))
        return float(top + (sum(weights) / len(xs)).ln() / b)     # -inf elements still count in n


def one_window(xs, dtype=torch.float64):
    return torch.tensor(xs, dtype=dtype).reshape(1, 1, 1, len(xs))


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
@pytest.mark.parametrize("xs", [
    [-INF, 1.0, 2.0, 3.0], [1.0, -INF, -INF, 0.5], [-INF, -INF], [-INF], [INF, 1.0, -INF], [2.0, INF, INF],
    [NAN, 1.0], [NAN, INF], [-INF, NAN], [INF, -INF], [5.0],
])
def test_infinities_and_nan_take_their_limits(pool, xs):
    expected = reference(pool, xs, 1.5)
    out = pool(one_window(xs), (1, len(xs)), beta=1.5).item()
    if math.isnan(expected):
        assert math.isnan(out)
    else:
        assert out == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
def test_minus_infinity_is_the_limit_of_ever_smaller_values(pool):
    x = torch.tensor([[[[-INF, 0.3], [1.2, -0.7]]]], dtype=torch.float64)
    almost = torch.where(torch.isinf(x), -1e300, x)
    assert pool(x, 2).item() == pytest.approx(pool(almost, 2).item(), rel=1e-15)


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
def test_finite_elements_beside_minus_infinity_get_finite_gradients(pool):
    x = torch.tensor([[[[-INF, 0.3], [1.2, -0.7]]]], dtype=torch.float64, requires_grad=True)
    pool(x, 2).sum().backward()
    assert x.grad[0, 0, 0, 0] == 0 and torch.isfinite(x.grad).all()
    y = torch.tensor([[[[-1e300, 0.3], [1.2, -0.7]]]], dtype=torch.float64, requires_grad=True)
    pool(y, 2).sum().backward()
    torch.testing.assert_close(x.grad, y.grad)


@st.composite
def windows(draw):
    """Up to 8 finite elements and up to 3 of +inf, -inf and NaN, in any order."""
    finite = draw(st.lists(st.floats(-1e3, 1e3), max_size=8))
    special = draw(st.lists(st.sampled_from([INF, -INF, NAN]), min_size=0 if finite else 1, max_size=3))
    return draw(st.permutations(finite + special))


@given(st.sampled_from([logsumexp_pool2d, softmax_pool2d]), windows(), st.floats(1e-6, 1e6))
def test_any_window_against_the_definition(pool, xs, beta):
    kind = ("nan" if any(map(math.isnan, xs)) else "+inf" if INF in xs else
            "all -inf" if all(v == -INF for v in xs) else "some -inf" if -INF in xs else "finite")
    event(kind)
    expected = reference(pool, xs, beta)
    out = pool(one_window(xs), (1, len(xs)), beta=beta).item()
    if math.isnan(expected):
        assert math.isnan(out)
    else:
        spread = max((abs(v) for v in xs if math.isfinite(v)), default=0.0)
        assert out == pytest.approx(expected, rel=1e-9, abs=1e-9 * (1 + spread))


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
@pytest.mark.parametrize("dtype, beta", [(torch.float32, 1e39), (torch.float32, 1e-50), (torch.float16, 1e5),
                                         (torch.bfloat16, 1e39)])
def test_beta_must_be_positive_and_finite_in_the_input_dtype(pool, dtype, beta):
    x = torch.zeros(1, 1, 2, 2, dtype=dtype)
    with pytest.raises(ValueError, match=re.escape(f"beta must be positive and finite in the input's dtype {dtype}, got beta={beta!r}")):
        pool(x, 2, beta=beta)
    assert torch.isfinite(pool(x.double(), 2, beta=beta)).all()     # float64 holds it


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
def test_large_beta_times_large_values_stays_finite_in_float32(pool):
    x = torch.tensor([[[[1e10, 0.0], [-3e38, 4.0]]]])
    out = pool(x, 2, beta=1e30)
    assert out.item() == 1e10                      # all the weight on the maximum; log(4)/beta is far below its ulp


@pytest.mark.parametrize("pool", [logsumexp_pool2d, softmax_pool2d])
@pytest.mark.parametrize("beta", [1e-9, 1e-20])
def test_tiny_beta_gives_the_mean_in_float32(pool, beta):
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert pool(x, 2, beta=beta).item() == pytest.approx(2.5, rel=1e-6)


def test_huge_integer_beta_is_a_value_error_not_an_overflow():
    with pytest.raises(ValueError, match=r"beta="):
        softmax_pool2d(torch.zeros(1, 1, 2, 2, dtype=torch.float64), 2, beta=10**400)
