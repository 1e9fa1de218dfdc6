"""Generalised-mean pooling: values against the naive formula, its limits, gradients
to the input and to p, the module, and every refusal."""

import math

import pytest
import torch

import poolkit.functional as P
from poolkit.layers import gem1d, gem2d, gem3d
from poolkit.nn import GeM


def naive(x, p, eps):
    """The formula as written, one channel at a time, in float64."""
    n, c = x.shape[:2]
    out = torch.empty(n, c, dtype=torch.float64)
    ps = p if isinstance(p, torch.Tensor) else torch.full((c,), float(p))
    ps = ps.double().expand(c)
    for i in range(n):
        for j in range(c):
            values = x[i, j].double().flatten().clamp(min=eps)
            out[i, j] = (values ** ps[j]).mean() ** (1 / ps[j])
    return out


@pytest.mark.parametrize("op, shape", [(gem1d, (2, 3, 7)), (gem2d, (2, 3, 4, 5)), (gem3d, (2, 3, 2, 3, 4))])
@pytest.mark.parametrize("p", [0.5, 1.0, 3.0, 7.5])
def test_gem_matches_the_naive_formula(op, shape, p):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    got = op(x, p)
    assert got.shape == shape[:2] + (1,) * (len(shape) - 2)
    torch.testing.assert_close(got.flatten(2).squeeze(-1).double(), naive(x, p, 1e-6), rtol=1e-5, atol=1e-7)


def test_unbatched_input_drops_the_batch_axis():
    x = torch.rand(3, 4, 4)
    assert torch.equal(gem2d(x), gem2d(x[None])[0])
    assert gem2d(x).shape == (3, 1, 1)


def test_p_one_is_the_mean_and_large_p_approaches_the_max():
    x = torch.rand(4, 5, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.1
    torch.testing.assert_close(gem2d(x, 1.0), P.adaptive_avg_pool2d(x, 1))
    top = P.adaptive_max_pool2d(x, 1)
    gaps = [(top - gem2d(x, p)).max().item() for p in (2.0, 8.0, 64.0, 1024.0)]
    assert all(g >= 0 for g in gaps) and gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-2 * gaps[0]
    assert (top - gem2d(x, 1e6)).abs().max() < 1e-4


def test_large_p_and_large_values_do_not_overflow():
    x = torch.tensor([[[[1e30, 3e30], [2e30, 0.0]]]])                # float32, whose max is 3.4e38
    out = gem2d(x, 50.0)
    assert torch.isfinite(out).all() and 2e30 < out.item() <= 3e30
    assert torch.isfinite(gem2d(torch.zeros(1, 1, 2, 2), 100.0)).all()


def test_gem_is_lp_pooling_averaged_instead_of_summed():
    x = torch.rand(2, 3, 4, 5, dtype=torch.float64) + 0.01
    for p in (1.0, 2.0, 3.5):
        torch.testing.assert_close(P.lp_pool2d(x, p, (4, 5)), 20 ** (1 / p) * gem2d(x, p))


def test_eps_clamps_the_input_from_below():
    x = torch.tensor([[[[-1.0, 0.0], [0.5, 2.0]]]], dtype=torch.float64)
    expected = ((0.1 ** 3 + 0.1 ** 3 + 0.5 ** 3 + 2.0 ** 3) / 4) ** (1 / 3)
    assert math.isclose(gem2d(x, 3.0, eps=0.1).item(), expected, rel_tol=1e-12)


def test_a_tensor_p_per_channel_and_its_gradient():
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64) + 0.05
    p = torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64)
    torch.testing.assert_close(gem2d(x, p).flatten(1), naive(x, p, 1e-6))
    scalar = torch.tensor(2.5, dtype=torch.float64)
    torch.testing.assert_close(gem2d(x, scalar), gem2d(x, 2.5))


@pytest.mark.parametrize("p_shape", [(), (1,), (3,)])
def test_gradcheck_to_input_and_p(p_shape):
    g = torch.Generator().manual_seed(2)
    x = (torch.rand(2, 3, 3, 3, dtype=torch.float64, generator=g) + 0.1).requires_grad_()
    p = (2.0 + torch.rand(p_shape, dtype=torch.float64, generator=g)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: gem2d(a, b), (x, p))
    x1 = (torch.rand(2, 2, 5, dtype=torch.float64, generator=g) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: gem1d(a, b), (x1, p[..., :1] if p_shape == (3,) else p))


def test_the_gradient_to_p_has_the_closed_form():
    # d/dp (mean x^p)^(1/p) = f * (mean(x^p log x) / (p mean x^p) - log(mean x^p) / p^2)
    x = torch.tensor([[[[0.5, 1.0], [2.0, 4.0]]]], dtype=torch.float64)
    p = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    f = gem2d(x, p)
    f.sum().backward()
    v = x.flatten()
    m = (v ** 3).mean()
    expected = f.item() * ((v ** 3 * v.log()).mean() / (3 * m) - m.log() / 9)
    assert math.isclose(p.grad.item(), expected.item(), rel_tol=1e-12)


def test_module_agrees_with_the_functional_and_learns_p():
    x = torch.rand(2, 4, 5, 5)
    m = GeM()
    assert isinstance(m.p, torch.nn.Parameter) and m.p.shape == (1,) and m.p.item() == 3.0
    torch.testing.assert_close(m(x), gem2d(x, 3.0))
    m(x).sum().backward()
    assert m.p.grad is not None and m.p.grad.abs().item() > 0
    fixed = GeM(p=2.0, learn_p=False)
    assert fixed.p == 2.0 and list(fixed.parameters()) == []
    torch.testing.assert_close(fixed(x), gem2d(x, 2.0))
    per_channel = GeM(p=1.5, num_channels=4)
    assert per_channel.p.shape == (4,)
    torch.testing.assert_close(per_channel(x), gem2d(x, 1.5))
    assert "learn_p=True" in repr(m) and "learn_p=False" in repr(fixed)
    m64 = GeM(p=2.0, learn_p=False)
    assert m64(x.double()).dtype == torch.float64


@pytest.mark.parametrize("call, error, words", [
    (lambda: gem2d([[1.0]]), TypeError, "input"),
    (lambda: gem2d(torch.ones(1, 2, 2, dtype=torch.int64)), TypeError, "floating"),
    (lambda: gem2d(torch.ones(2, 2)), ValueError, "3-D"),
    (lambda: gem2d(torch.ones(1, 2, 0, 2)), ValueError, "only the batch size"),
    (lambda: gem2d(torch.ones(1, 2, 2), p=0.0), ValueError, "p=0.0"),
    (lambda: gem2d(torch.ones(1, 2, 2), p=-1), ValueError, "p=-1"),
    (lambda: gem2d(torch.ones(1, 2, 2), p=math.inf), ValueError, "p=inf"),
    (lambda: gem2d(torch.ones(1, 2, 2), p=math.nan), ValueError, "p=nan"),
    (lambda: gem2d(torch.ones(1, 2, 2), p="3"), TypeError, "p='3'"),
    (lambda: gem2d(torch.ones(1, 2, 2), p=True), TypeError, "p=True"),
    (lambda: gem2d(torch.ones(1, 2, 2), p=torch.tensor(3)), TypeError, "dtype torch.int64"),
    (lambda: gem2d(torch.ones(1, 2, 2), p=torch.tensor([-1.0])), ValueError, "positive and finite"),
    (lambda: gem2d(torch.ones(3, 2, 2), p=torch.ones(2)), ValueError, "shape (2,)"),
    (lambda: gem2d(torch.ones(3, 2, 2), p=torch.ones(3, 1)), ValueError, "shape (3, 1)"),
    (lambda: gem2d(torch.ones(1, 2, 2), eps=0.0), ValueError, "eps=0.0"),
    (lambda: gem2d(torch.ones(1, 2, 2), eps=math.inf), ValueError, "eps=inf"),
    (lambda: gem2d(torch.ones(1, 2, 2), eps=None), TypeError, "eps=None"),
    (lambda: gem2d(torch.ones(1, 2, 2), eps=1e-60), ValueError, "rounds to 0"),
    (lambda: gem1d(torch.ones(1, 2, 2, 2)), ValueError, "3-D (N, C, L)"),
    (lambda: gem3d(torch.ones(2, 2)), ValueError, "4-D"),
    (lambda: GeM(p=0), ValueError, "p=0"),
    (lambda: GeM(p="a"), TypeError, "p='a'"),
    (lambda: GeM(eps=-1.0), ValueError, "eps=-1.0"),
    (lambda: GeM(learn_p=1), TypeError, "learn_p"),
    (lambda: GeM(num_channels=0), ValueError, "num_channels=0"),
    (lambda: GeM(num_channels=2.0), TypeError, "num_channels=2.0"),
    (lambda: GeM(learn_p=False, num_channels=3), ValueError, "num_channels=3"),
])
def test_refusals_name_the_parameter_and_value(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value), str(info.value)
