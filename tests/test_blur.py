"""BlurPool: the binomial filter, the blur against a depthwise convolution, shapes and modules."""

import math
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st

from poolkit import nn as pnn
from poolkit.layers import binomial_filter, blur_pool2d, max_blur_pool2d


def depthwise_reference(x, size, stride, mode):
    k = binomial_filter(size, x.dtype)
    kernel = (k[:, None] * k).expand(x.shape[1], 1, size, size)
    pad = [(size - 1) // 2, size // 2] * 2
    padded = F.pad(x, pad, mode="constant" if mode == "zeros" else mode)
    return F.conv2d(padded, kernel, stride=stride, groups=x.shape[1])


def test_binomial_filters_are_rows_of_pascals_triangle():
    assert binomial_filter(1).tolist() == [1.0]
    assert binomial_filter(3).tolist() == [0.25, 0.5, 0.25]
    assert torch.equal(binomial_filter(5, torch.float64) * 16, torch.tensor([1.0, 4, 6, 4, 1], dtype=torch.float64))
    assert binomial_filter(7).sum().item() == pytest.approx(1.0)


def neighbours(value, dtype):
    """The representable values of ``dtype`` just below and just above ``value``."""
    v = torch.tensor([value], dtype=dtype)
    return [torch.nextafter(v, torch.tensor([limit], dtype=dtype)).item() for limit in (-math.inf, math.inf)]


def assert_correctly_rounded(size, dtype):
    taps = binomial_filter(size, dtype)
    assert taps.dtype == dtype and taps.shape == (size,)
    n = size - 1
    half_ulps = Fraction(0)
    for j, tap in enumerate(taps.tolist()):
        exact = Fraction(math.comb(n, j), 2**n)
        error = abs(Fraction(tap) - exact)
        for other in neighbours(tap, dtype):                     # no representable value is nearer
            assert error <= abs(Fraction(other) - exact), (size, j, tap)
        half_ulps += max(abs(Fraction(other) - Fraction(tap)) for other in neighbours(tap, dtype)) / 2
    assert abs(sum(map(Fraction, taps.tolist())) - 1) <= half_ulps      # rounding each tap is the only error
    assert taps.sum().item() == pytest.approx(1.0, abs=size * torch.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1030, 1100])
def test_every_tap_is_the_exact_binomial_weight_correctly_rounded(size, dtype):
    assert_correctly_rounded(size, dtype)


@settings(max_examples=40)
@given(st.integers(1, 400), st.sampled_from([torch.float64, torch.float32, torch.float16, torch.bfloat16]))
def test_any_size_is_correctly_rounded(size, dtype):
    event(f"{dtype}, {'1 to 63' if size < 64 else '64 to 400'} taps")
    assert_correctly_rounded(size, dtype)


def test_large_filters_are_not_zero():
    taps = binomial_filter(1030, torch.float64)
    assert taps.max().item() == pytest.approx(math.sqrt(2 / (math.pi * 1029)), rel=1e-3)   # the normal approximation
    assert taps.sum().item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "zeros"])
def test_blur_pool_is_a_depthwise_binomial_convolution(size, stride, mode):
    torch.manual_seed(size * 10 + stride)
    x = torch.randn(2, 3, 9, 7, dtype=torch.float64)
    ours = blur_pool2d(x, size, stride, mode)
    assert torch.allclose(ours, depthwise_reference(x, size, stride, mode))
    assert ours.shape[2:] == (-(-9 // stride), -(-7 // stride))


def test_blur_keeps_constants_and_channels_apart():
    x = torch.stack([torch.full((6, 6), 2.0), torch.full((6, 6), -1.0)])
    assert torch.equal(blur_pool2d(x), torch.stack([torch.full((3, 3), 2.0), torch.full((3, 3), -1.0)]))


def test_filter_size_one_is_plain_subsampling():
    x = torch.randn(1, 2, 8, 8)
    assert torch.equal(blur_pool2d(x, 1, 2), x[..., ::2, ::2])


def test_one_dimensional_blur_through_a_pair():
    x = torch.tensor([[[[0.0, 0, 1, 1, 0, 0, 1, 1]]]])
    out = blur_pool2d(x, filter_size=(1, 3), stride=(1, 2))
    assert out.shape == (1, 1, 1, 4)
    # reflect-padded: 0 | 0 0 1 1 0 0 1 1 | 1; windows [0 0 0], [0 1 1], [1 0 0], [0 1 1] weighted 1/4, 1/2, 1/4
    assert torch.equal(out, torch.tensor([[[[0.0, 0.75, 0.25, 0.75]]]]))


def test_max_blur_pool_is_dense_max_then_blur():
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(max_blur_pool2d(x), blur_pool2d(F.max_pool2d(x, 2, 1)))
    assert max_blur_pool2d(x).shape == (2, 4, 4, 4)


def test_modules_have_no_parameters_and_match_the_functions():
    x = torch.randn(2, 5, 10, 10)
    for module, function in [(pnn.BlurPool2d(), blur_pool2d), (pnn.MaxBlurPool2d(), max_blur_pool2d)]:
        assert list(module.parameters()) == []
        assert torch.equal(module(x), function(x))
    assert "filter_size=3, stride=2" in repr(pnn.BlurPool2d())


def test_unbatched_input_and_gradient():
    x = torch.randn(3, 6, 6, dtype=torch.float64, requires_grad=True)
    assert blur_pool2d(x).shape == (3, 3, 3)
    assert torch.autograd.gradcheck(lambda t: blur_pool2d(t, 4, 2), (x,))


@pytest.mark.parametrize("call, error, message", [
    (lambda: binomial_filter(0), ValueError, r"size must be at least 1, got size=0"),
    (lambda: binomial_filter(2.0), TypeError, r"size must be an int, got size=2.0"),
    (lambda: binomial_filter(True), TypeError, r"size must be an int, got size=True"),
    (lambda: binomial_filter(3, torch.int64), TypeError, r"dtype must be a floating torch.dtype, got dtype=torch.int64"),
    (lambda: blur_pool2d(torch.zeros(1, 1, 4, 4), pad_mode="circular"), ValueError, r"pad_mode must be one of"),
    (lambda: blur_pool2d(torch.zeros(1, 1, 4, 4), filter_size=0), ValueError, r"filter_size must be positive"),
    (lambda: blur_pool2d(torch.zeros(1, 1, 4, 4), stride=(1, 0)), ValueError, r"stride must be positive"),
    (lambda: blur_pool2d(torch.zeros(1, 1, 2, 2), filter_size=5), ValueError, r"reflect padding needs"),
    (lambda: blur_pool2d(torch.zeros(1, 4, 4, dtype=torch.int64)), TypeError, r"floating dtype"),
    (lambda: blur_pool2d(torch.zeros(4, 4)), ValueError, r"must be 3-D"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
