"""poolkit.functional: named edge cases, gradients and errors."""

import pytest
import torch
from torch.nn import functional as F

import poolkit
from poolkit.lab import pool2d
import poolkit.functional as P

INF = float("inf")
NAN = float("nan")


def test_the_padding_only_window_is_safe():
    # torch 2.14 returns index 1 here (out of range) and its backward writes out of bounds.
    x = torch.tensor([[[2.0]]], requires_grad=True)
    out, index = P.max_pool1d(x, 2, stride=1, padding=1, dilation=2, return_indices=True)
    assert out.tolist() == [[[-INF]]] and index.tolist() == [[[-1]]]
    out.sum().backward()
    assert x.grad.tolist() == [[[0.0]]]


def test_dilated_windows_that_straddle_the_padding():
    x = torch.tensor([[[1.0, 5.0, 3.0]]])
    out, index = P.max_pool1d(x, 2, stride=1, padding=1, dilation=3, return_indices=True)
    # the windows read positions (-1, 2) and (0, 3): one real element each
    assert out.tolist() == [[[3.0, 1.0]]] and index.tolist() == [[[2, 0]]]
    ref_out, ref_index = F.max_pool1d(x, 2, stride=1, padding=1, dilation=3, return_indices=True)
    assert torch.equal(out, ref_out) and torch.equal(index, ref_index)


def test_ties_choose_the_first_maximum_and_nan_the_last_nan():
    x = torch.tensor([[[1.0, 3.0, 3.0, NAN, 2.0, NAN, 0.0]]])
    _, index = P.max_pool1d(x, 3, stride=1, return_indices=True)
    _, ref = F.max_pool1d(x, 3, stride=1, return_indices=True)
    assert index.tolist() == ref.tolist() == [[[1, 3, 3, 5, 5]]]


def test_negative_inputs_never_see_zero_padding():
    x = -torch.arange(1.0, 10.0).reshape(1, 3, 3)
    assert P.max_pool2d(x, 3, stride=1, padding=1).max() < 0
    assert P.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False).max() < 0


def test_all_minus_infinity_picks_the_first_real_element():
    x = torch.full((1, 1, 3), -INF)
    out, index = P.max_pool1d(x, 2, padding=1, return_indices=True)
    assert index.tolist() == [[[0, 1]]]


def test_ceil_mode_overhang_is_not_counted():
    x = torch.ones(1, 1, 5)
    # windows [0, 2), [2, 4), [4, 6): the last reaches past the input and is averaged over 1
    assert P.avg_pool1d(x, 2, ceil_mode=True).tolist() == [[[1.0, 1.0, 1.0]]]
    assert P.avg_pool1d(x, 2, ceil_mode=True, padding=1).tolist() == \
        F.avg_pool1d(x, 2, ceil_mode=True, padding=1).tolist() == [[[0.5, 1.0, 1.0]]]


def test_divisor_override_takes_precedence():
    x = torch.ones(1, 1, 4, 4)
    out = P.avg_pool2d(x, 2, padding=1, count_include_pad=False, divisor_override=8)
    assert torch.equal(out, F.avg_pool2d(x, 2, padding=1, count_include_pad=False, divisor_override=8))
    assert out[0, 0, 1, 1].item() == 0.5


@pytest.mark.parametrize("shape, op, kwargs", [
    ((2, 3, 7), P.max_pool1d, dict(kernel_size=3, stride=2, padding=1, dilation=2)),
    ((2, 3, 6, 5), P.max_pool2d, dict(kernel_size=(3, 2), stride=(2, 1), padding=1, ceil_mode=True)),
    ((1, 2, 4, 5, 3), P.max_pool3d, dict(kernel_size=2, stride=1, padding=1)),
    ((2, 3, 7), P.avg_pool1d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 6, 5), P.avg_pool2d, dict(kernel_size=3, padding=1, count_include_pad=False)),
    ((1, 2, 4, 5, 3), P.avg_pool3d, dict(kernel_size=2, stride=1, padding=1, divisor_override=3)),
    ((2, 3, 6, 5), P.lp_pool2d, dict(norm_type=2, kernel_size=2)),
    ((2, 3, 10), P.adaptive_max_pool1d, dict(output_size=3)),
    ((2, 3, 6, 5), P.adaptive_avg_pool2d, dict(output_size=(4, None))),
    ((1, 2, 4, 5, 3), P.adaptive_max_pool3d, dict(output_size=(2, 3, 2))),
])
def test_gradcheck_in_float64(shape, op, kwargs):
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = (x.abs() + 0.5).requires_grad_()          # distinct, positive values: no ties, lp is smooth
    assert torch.autograd.gradcheck(lambda t: op(t, **kwargs), (x,))


def test_unbatched_and_channels_last_inputs():
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(2))
    assert torch.equal(P.max_pool2d(x[0], 2), F.max_pool2d(x[0], 2))
    cl = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(P.max_pool2d(cl, 3, 2, 1), F.max_pool2d(x, 3, 2, 1))


def test_half_precision_matches_torch():
    x = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16)
    assert torch.equal(P.max_pool2d(x, 3, 1, 1), F.max_pool2d(x, 3, 1, 1))


def test_the_teaching_version_agrees_with_the_general_one():
    X = torch.randn(5, 7, generator=torch.Generator().manual_seed(4))
    for window in [(2, 2), (3, 1), (5, 7)]:
        assert torch.equal(pool2d(X, window), P.max_pool2d(X[None], window, stride=1)[0])
        torch.testing.assert_close(pool2d(X, window, "avg"), P.avg_pool2d(X[None], window, stride=1)[0])


@pytest.mark.parametrize("call, error, message", [
    (lambda: P.max_pool2d([[1.0]], 2), TypeError, r"max_pool2d: input must be a torch\.Tensor, got list"),
    (lambda: P.max_pool2d(torch.zeros(4, 4), 2), ValueError,
     r"max_pool2d: input must be 3-D \(C, H, W\) or 4-D \(N, C, H, W\), got 2-D input of shape \(4, 4\)"),
    (lambda: P.max_pool2d(torch.zeros(1, 0, 4, 4), 2), ValueError, r"only the batch size may be zero"),
    (lambda: P.max_pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.int64), 2), TypeError,
     r"floating dtype, got torch\.int64"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), (2, 2, 2)), ValueError,
     r"kernel_size must be an int or a tuple of 2 ints, got kernel_size=\(2, 2, 2\) with 3 entries"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), 2.0), TypeError, r"kernel_size must be an int or a tuple of ints, got kernel_size=2\.0"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), 0), ValueError, r"kernel_size must be positive, got kernel_size=\(0, 0\)"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), 2, stride=(1, 0)), ValueError, r"stride must be positive, got stride=\(1, 0\)"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), 2, dilation=-1), ValueError, r"dilation must be positive"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), 2, padding=-1), ValueError, r"padding must be non-negative, got padding=\(-1, -1\)"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), 3, padding=2), ValueError,
     r"max_pool2d: padding must be at most half of kernel_size, got padding=2 with kernel_size=3"),
    (lambda: P.max_pool2d(torch.zeros(1, 2, 4), 3), ValueError, r"no window fits: input_size=2"),
    (lambda: P.max_pool2d(torch.zeros(1, 4, 4), 2, ceil_mode=1), TypeError, r"ceil_mode must be a bool, got ceil_mode=1"),
    (lambda: P.avg_pool2d(torch.zeros(1, 4, 4), 2, divisor_override=0), ValueError, r"divisor_override must not be zero"),
    (lambda: P.avg_pool2d(torch.zeros(1, 4, 4), 2, divisor_override=2.5), TypeError, r"divisor_override must be an int or None, got 2\.5"),
    (lambda: P.avg_pool3d(torch.zeros(1, 2, 4, 4), 3, padding=1), ValueError, r"at least as large as the kernel"),
    (lambda: P.lp_pool2d(torch.zeros(1, 4, 4), 0, 2), ValueError, r"norm_type must be non-zero"),
    (lambda: P.lp_pool1d(torch.zeros(1, 4), 2, (2,)), TypeError, r"lp_pool1d: kernel_size must be an int, got kernel_size=\(2,\)"),
    (lambda: P.adaptive_avg_pool2d(torch.zeros(1, 4, 4), (2,)), TypeError, r"output_size must be an int or a tuple of 2 ints or Nones"),
    (lambda: P.adaptive_max_pool1d(torch.zeros(1, 4), (None,)), TypeError, r"adaptive_max_pool1d: output_size must be an int"),
    (lambda: P.adaptive_max_pool2d(torch.zeros(1, 4, 4), -1), ValueError, r"output_size must be non-negative, got output_size=-1"),
])
def test_errors_name_the_parameter_and_value(call, error, message):
    with pytest.raises(error, match=message):
        call()
