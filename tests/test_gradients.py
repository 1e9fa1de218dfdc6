"""Hand-written backward passes and max unpooling, against PyTorch's autograd and max_unpool2d."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import poolkit.functional as P
from poolkit.lab.gradients import avg_pool2d_backward, max_pool2d_backward, max_unpool2d, unpool_output_size


@st.composite
def pooling_cases(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    h, w = draw(st.integers(k[0], 9)), draw(st.integers(k[1], 9))
    ceil = draw(st.booleans())
    ties = draw(st.booleans())   # small integers make ties in many windows
    seed = draw(st.integers(0, 2**16))
    return k, s, p, (2, 3, h, w), ceil, ties, seed


def make_input(shape, ties, seed):
    g = torch.Generator().manual_seed(seed)
    if ties:
        return torch.randint(0, 3, shape, generator=g).double()
    return torch.randn(shape, generator=g, dtype=torch.float64)


@given(pooling_cases())
def test_max_backward_equals_autograd(case):
    # No dilation: every window holds a real element, so torch's backward is safe here.
    k, s, p, shape, ceil, ties, seed = case
    x = make_input(shape, ties, seed).requires_grad_()
    y, indices = F.max_pool2d(x, k, s, p, ceil_mode=ceil, return_indices=True)
    grad_out = make_input(tuple(y.shape), False, seed + 1)
    y.backward(grad_out)
    assert torch.equal(max_pool2d_backward(grad_out, indices, shape), x.grad)


@given(pooling_cases(), st.booleans())
def test_avg_backward_equals_autograd(case, count_include_pad):
    k, s, p, shape, ceil, ties, seed = case
    x = make_input(shape, ties, seed).requires_grad_()
    y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=count_include_pad)
    grad_out = make_input(tuple(y.shape), False, seed + 1)
    y.backward(grad_out)
    ours = avg_pool2d_backward(grad_out, shape, k, s, p, ceil, count_include_pad)
    assert torch.allclose(ours, x.grad)


def test_ties_send_everything_to_the_first_maximum():
    x = torch.ones(1, 1, 2, 2, requires_grad=True)
    y, i = P.max_pool2d(x, 2, return_indices=True)
    y.backward(torch.ones_like(y))
    assert x.grad.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]
    assert torch.equal(max_pool2d_backward(torch.ones_like(y), i, x.shape), x.grad)


def test_overlapping_windows_accumulate():
    x = torch.tensor([[[[0.0, 5.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    y, i = P.max_pool2d(x, 2, stride=1, return_indices=True)
    assert max_pool2d_backward(torch.ones_like(y), i, x.shape)[0, 0, 0, 1] == 2.0   # chosen by two windows
    assert avg_pool2d_backward(torch.ones(1, 1, 2, 2), x.shape, 2, 1)[0, 0, 1, 1] == 1.0   # 4 windows x 1/4


def test_padding_only_windows_pass_nothing():
    grad = max_pool2d_backward(torch.ones(1, 1, 1, 2), torch.tensor([[[[-1, 0]]]]), (1, 1, 1, 1))
    assert grad.tolist() == [[[[1.0]]]]


def test_nan_takes_the_max_gradient():
    x = torch.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]], requires_grad=True)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    y.backward(torch.ones_like(y))
    assert x.grad.flatten().tolist() == [0.0, 1.0, 0.0, 0.0]
    assert torch.equal(max_pool2d_backward(torch.ones_like(y), i, x.shape), x.grad)


@pytest.mark.parametrize("size, kernel, stride, padding, output_size", [
    ((5, 5), 2, 2, 0, None), ((5, 5), 2, 2, 0, (5, 5)), ((4, 4), 2, 2, 0, None),
    ((7, 6), 3, 2, 1, None), ((7, 6), 3, 2, 1, (1, 1, 7, 6)), ((6, 6), 2, 1, 0, None),
])
def test_max_unpool_equals_torch(size, kernel, stride, padding, output_size):
    torch.manual_seed(0)
    x = torch.randn(2, 3, *size)
    y, i = F.max_pool2d(x, kernel, stride, padding, return_indices=True)
    if output_size is None and unpool_output_size(y.shape[2:], kernel, stride, padding) != size:
        output_size = size
    ours = max_unpool2d(y, i, kernel, stride, padding, output_size)
    assert torch.equal(ours, F.max_unpool2d(y, i, kernel, stride, padding, output_size))
    assert torch.equal(max_unpool2d(y[0], i[0], kernel, stride, padding, output_size), ours[0])


def test_five_pools_to_two_and_unpools_to_four_or_five():
    assert unpool_output_size((2, 2), 2) == (4, 4)
    for size in (3, 4, 5):   # strictly between 4 - 2 and 4 + 2
        assert unpool_output_size((2, 2), 2, output_size=(size, size)) == (size, size)
    for size in (2, 6):
        with pytest.raises(ValueError, match=r"output_size entries must be ints strictly between"):
            unpool_output_size((2, 2), 2, output_size=(size, size))


@pytest.mark.parametrize("call, error, message", [
    (lambda: max_pool2d_backward(torch.ones(1, 1, 1, 1), torch.tensor([[[[4]]]]), (1, 1, 2, 2)),
     ValueError, r"indices must lie in \[-1, 3\]"),
    (lambda: max_pool2d_backward(torch.ones(1, 1, 1, 1), torch.zeros(1, 1, 1, 1), (1, 1, 2, 2)),
     ValueError, r"indices must be an int64 tensor"),
    (lambda: max_pool2d_backward(torch.ones(1, 1, 1, 1), torch.zeros(1, 1, 1, 1, dtype=torch.long), (1, 2, 2)),
     ValueError, r"input_shape must be \(N, C, H, W\)"),
    (lambda: max_pool2d_backward(torch.ones(1, 1, 1, 1, dtype=torch.long), None, (1, 1, 2, 2)),
     TypeError, r"grad_output must be a floating-point"),
    (lambda: avg_pool2d_backward(torch.ones(1, 1, 3, 3), (1, 1, 4, 4), 2), ValueError, r"grad_output must be \(2, 2\)"),
    (lambda: avg_pool2d_backward(torch.ones(1, 1, 2, 2), (1, 1, 4, 4), 2, padding=2), ValueError, r"padding must be"),
    (lambda: max_unpool2d(torch.ones(1, 1, 2, 2), torch.full((1, 1, 2, 2), 20), 2), ValueError,
     r"indices must lie in \[0, 15\] for an output of size \(4, 4\)"),
    (lambda: max_unpool2d(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.long), 2, output_size=(4,)),
     ValueError, r"output_size must be \(H, W\) or \(N, C, H, W\)"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
