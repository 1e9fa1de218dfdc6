"""Set pooling: values against naive loops over sets of different sizes, permutation invariance,
masks and lengths, empty sets, gradients, the modules, and every refusal."""

import pytest
import torch
from hypothesis import event, given, settings
from hypothesis import strategies as st

from poolkit import nn as pnn
from poolkit.layers import max_over_time, set_pool

NAIVE = {"max": max, "sum": sum, "mean": lambda values: sum(values) / len(values)}


def naive_set_pool(x, sizes, reduction):
    """Loop over sets and channels of an (N, L, C) tensor, each set its first sizes[b] rows."""
    out = torch.zeros(x.shape[0], x.shape[2], dtype=torch.float64)
    for b, n in enumerate(sizes):
        for c in range(x.shape[2]):
            values = [float(x[b, i, c]) for i in range(n)]
            out[b, c] = NAIVE[reduction](values) if values else 0.0
    return out


def ragged(seed, sizes, channels=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(len(sizes), max(sizes), channels, generator=g, dtype=dtype)


@pytest.mark.parametrize("reduction", ["max", "mean", "sum"])
def test_values_match_a_naive_loop_over_sets_of_different_sizes(reduction):
    sizes = [5, 1, 3, 0, 5]
    x = ragged(0, sizes)
    expected = naive_set_pool(x, sizes, reduction)
    lengths = torch.tensor(sizes)
    mask = torch.arange(5) < lengths[:, None]
    for got in (set_pool(x, reduction, lengths=lengths), set_pool(x, reduction, mask=mask),
                set_pool(x, reduction, dim=-2, lengths=sizes)):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    # Without a mask every element counts.
    torch.testing.assert_close(set_pool(x, reduction), naive_set_pool(x, [5] * 5, reduction))


def test_a_mask_may_mark_any_elements_not_only_a_prefix():
    x = ragged(1, [6, 6])
    mask = torch.tensor([[True, False, True, False, False, True], [False] * 5 + [True]])
    for reduction in ("max", "mean", "sum"):
        got = set_pool(x, reduction, mask=mask)
        for b in range(2):
            kept = x[b, mask[b]]
            expected = {"max": kept.amax(0), "mean": kept.mean(0), "sum": kept.sum(0)}[reduction]
            torch.testing.assert_close(got[b], expected)


def test_padding_values_never_reach_the_result_even_infinite_or_nan():
    x = ragged(2, [4, 4])
    lengths = torch.tensor([2, 3])
    poisoned = x.clone()
    poisoned[0, 2:] = float("inf")
    poisoned[1, 3:] = float("nan")
    for reduction in ("max", "mean", "sum"):
        assert torch.equal(set_pool(x, reduction, lengths=lengths), set_pool(poisoned, reduction, lengths=lengths))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_an_empty_set_gives_zero_for_every_reduction_and_no_gradient(dtype):
    x = ragged(3, [3, 3], dtype=dtype).requires_grad_()
    for reduction in ("max", "mean", "sum"):
        out = set_pool(x, reduction, lengths=[0, 2])
        assert out.dtype == dtype and torch.equal(out[0], torch.zeros(3, dtype=dtype))
        assert not out.isnan().any()
        (grad,) = torch.autograd.grad(out.sum(), x)
        assert torch.equal(grad[0], torch.zeros_like(grad[0])) and torch.equal(grad[1, 2], torch.zeros(3, dtype=dtype))
    empty_axis = torch.zeros(2, 0, 3, dtype=dtype)
    for reduction in ("max", "mean", "sum"):
        assert torch.equal(set_pool(empty_axis, reduction), torch.zeros(2, 3, dtype=dtype))


@settings(max_examples=40)
@given(sizes=st.lists(st.integers(0, 7), min_size=1, max_size=4), channels=st.integers(1, 3),
       seed=st.integers(0, 2**16), data=st.data())
def test_pooling_is_invariant_to_permuting_the_present_elements(sizes, channels, seed, data):
    length = max(max(sizes), 1)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(sizes), length, channels, generator=g, dtype=torch.float64)
    integers = torch.randint(-50, 50, x.shape, generator=g).double()         # sums of these are exact
    lengths = torch.tensor(sizes)
    permuted, permuted_integers = x.clone(), integers.clone()
    for b, n in enumerate(sizes):
        order = torch.tensor(data.draw(st.permutations(range(n)), label=f"order {b}"), dtype=torch.long)
        permuted[b, :n] = x[b, order]
        permuted_integers[b, :n] = integers[b, order]
    event(f"largest set {max(sizes)}")
    assert torch.equal(set_pool(x, "max", lengths=lengths), set_pool(permuted, "max", lengths=lengths))
    for reduction in ("sum", "mean"):
        torch.testing.assert_close(set_pool(permuted, reduction, lengths=lengths),
                                   set_pool(x, reduction, lengths=lengths), rtol=1e-12, atol=1e-12)
        assert torch.equal(set_pool(permuted_integers, reduction, lengths=lengths),
                           set_pool(integers, reduction, lengths=lengths))


@pytest.mark.parametrize("reduction", ["max", "mean", "sum"])
def test_gradcheck_in_float64(reduction):
    x = ragged(4, [4, 2, 3]).requires_grad_()           # random values: no ties for the max
    mask = torch.tensor([[True, True, False, True], [False, True, False, False], [True, True, True, False]])
    assert torch.autograd.gradcheck(lambda t: set_pool(t, reduction, mask=mask), (x,))
    assert torch.autograd.gradcheck(lambda t: set_pool(t, reduction, dim=2), (x,))


def test_the_max_gradient_goes_to_the_arg_max_and_ties_share_it():
    x = torch.tensor([[[1.0], [3.0], [3.0], [2.0], [9.0]]], requires_grad=True)
    set_pool(x, "max", lengths=[4]).sum().backward()     # the 9 is padding
    assert x.grad.flatten().tolist() == [0.0, 0.5, 0.5, 0.0, 0.0]


def test_max_over_time_is_set_pool_over_the_last_axis():
    g = torch.Generator().manual_seed(5)
    h = torch.randn(3, 4, 6, generator=g)
    lengths = torch.tensor([6, 2, 4])
    expected = torch.stack([h[b, :, :n].amax(-1) for b, n in enumerate(lengths.tolist())])
    assert torch.equal(max_over_time(h, lengths), expected)
    assert torch.equal(max_over_time(h), h.amax(-1))
    assert torch.equal(max_over_time(h[0]), h[0].amax(-1))
    assert torch.equal(pnn.MaxOverTime()(h, lengths), expected)


def test_modules_agree_with_the_functional_form():
    x = ragged(6, [4, 1, 3])
    lengths = torch.tensor([4, 1, 3])
    for reduction in ("max", "mean", "sum"):
        module = pnn.SetPool(reduction)
        assert torch.equal(module(x, lengths=lengths), set_pool(x, reduction, lengths=lengths))
        assert repr(module) == f"SetPool(reduction='{reduction}', dim=1, keepdim=False)"
    assert pnn.SetPool("sum", dim=2, keepdim=True)(x).shape == (3, 4, 1)
    torch.manual_seed(0)
    phi, rho = torch.nn.Linear(3, 5, dtype=torch.float64), torch.nn.Linear(5, 2, dtype=torch.float64)
    for reduction in ("sum", "mean", "max"):
        model = pnn.DeepSets(phi, rho, reduction)
        expected = rho(set_pool(phi(x), reduction, lengths=lengths))
        assert torch.equal(model(x, lengths=lengths), expected)
        assert torch.equal(model.pooled(x, lengths=lengths), set_pool(phi(x), reduction, lengths=lengths))
    assert pnn.DeepSets(phi, rho).reduction == "sum"


def test_deep_sets_is_invariant_to_the_order_of_the_elements():
    torch.manual_seed(1)
    model = pnn.DeepSets(torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU()), torch.nn.Linear(8, 3), "max")
    x = torch.randn(2, 6, 2)
    order = torch.randperm(6)
    assert torch.equal(model(x), model(x[:, order]))


@pytest.mark.parametrize("call, error, words", [
    (lambda x: set_pool(x.tolist()), TypeError, "input must be a torch.Tensor"),
    (lambda x: set_pool(x.long()), TypeError, "floating dtype"),
    (lambda x: set_pool(torch.tensor(1.0)), ValueError, "at least one dimension"),
    (lambda x: set_pool(x, "median"), ValueError, "reduction='median'"),
    (lambda x: set_pool(x, 1), TypeError, "reduction=1"),
    (lambda x: set_pool(x, dim=3), ValueError, "dim=3"),
    (lambda x: set_pool(x, dim=-4), ValueError, "dim=-4"),
    (lambda x: set_pool(x, dim=1.0), TypeError, "dim=1.0"),
    (lambda x: set_pool(x, keepdim=1), TypeError, "keepdim=1"),
    (lambda x: set_pool(x, mask=torch.ones(2, 4)), TypeError, "mask of dtype torch.float32"),
    (lambda x: set_pool(x, mask=[[True] * 4] * 2), TypeError, "mask of list"),
    (lambda x: set_pool(x, mask=torch.ones(2, 3, dtype=torch.bool)), ValueError, "mask of shape (2, 3)"),
    (lambda x: set_pool(x, dim=0, lengths=[1, 2]), ValueError, "dim=0"),
    (lambda x: set_pool(x, lengths=[1, 5]), ValueError, "lengths=[1, 5]"),
    (lambda x: set_pool(x, lengths=[-1, 2]), ValueError, "lengths=[-1, 2]"),
    (lambda x: set_pool(x, lengths=[1, 2, 3]), ValueError, "lengths of shape (3,)"),
    (lambda x: set_pool(x, lengths=[1.0, 2.0]), TypeError, "lengths must hold integers"),
    (lambda x: set_pool(x, lengths=torch.tensor([True, False])), TypeError, "lengths must hold integers"),
    (lambda x: set_pool(x, lengths="ab"), TypeError, "lengths='ab'"),
    (lambda x: set_pool(x, mask=torch.ones(2, 4, dtype=torch.bool), lengths=[1, 2]), ValueError, "not both"),
    (lambda x: max_over_time(x.tolist()), TypeError, "input must be a torch.Tensor"),
    (lambda x: max_over_time(x[0, 0]), ValueError, "shape (3,)"),
    (lambda x: max_over_time(x[0], lengths=[1]), ValueError, "3-D (N, C, T) with lengths"),
    (lambda x: pnn.SetPool("min")(x), ValueError, "reduction='min'"),
    (lambda x: pnn.DeepSets(lambda t: t, torch.nn.Identity()), TypeError, "phi must be a torch.nn.Module"),
    (lambda x: pnn.DeepSets(torch.nn.Identity(), None), TypeError, "rho=None"),
    (lambda x: pnn.DeepSets(torch.nn.Identity(), torch.nn.Identity(), "avg"), ValueError, "reduction='avg'"),
    (lambda x: pnn.DeepSets(torch.nn.Identity(), torch.nn.Identity())(x[0]), ValueError, "shape (4, 3)"),
    (lambda x: pnn.DeepSets(torch.nn.Identity(), torch.nn.Identity())(x.tolist()), TypeError, "torch.Tensor"),
])
def test_refusals_name_the_parameter_and_the_value(call, error, words):
    x = torch.randn(2, 4, 3)
    with pytest.raises(error) as info:
        call(x)
    assert words in str(info.value)
