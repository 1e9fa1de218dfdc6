"""poolkit.output_size against the shapes and the errors of PyTorch's pooling."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional as F

from poolkit import conv_output_size, output_size


def torch_output_size(n, k, s, p, d, ceil_mode):
    """The output length PyTorch gives, or None where it raises."""
    with torch.no_grad():
        try:
            return F.max_pool1d(torch.zeros(1, 1, n), k, s, p, d, ceil_mode).shape[-1]
        except RuntimeError:
            return None


def poolkit_output_size(*args):
    try:
        return output_size(*args)
    except ValueError:
        return None


@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 5),
       p=st.integers(0, 4), d=st.integers(1, 3), ceil_mode=st.booleans())
def test_matches_torch_including_where_it_raises(n, k, s, p, d, ceil_mode):
    args = (n, k, s, p, d, ceil_mode)
    assert poolkit_output_size(*args) == torch_output_size(*args)


@pytest.mark.parametrize("args, expected", [
    ((4, 3), 1),                       # stride defaults to the kernel size
    ((4, 3, 2, 1), 2),
    ((4, 2, 2, 1), 3),
    ((5, 2, 2, 0, 1, False), 2),
    ((5, 2, 2, 0, 1, True), 3),        # ceil mode keeps the partial last window
    ((5, 2, 2, 1, 1, True), 3),        # ... but drops one that starts in the right padding
    ((7, 3, 1, 0, 2), 3),              # dilation 2 spans 5 positions
])
def test_known_values(args, expected):
    assert output_size(*args) == expected


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(input_size=4, kernel_size=0), ValueError, r"kernel_size must be at least 1, got kernel_size=0"),
    (dict(input_size=4, kernel_size=2, stride=0), ValueError, r"stride must be at least 1, got stride=0"),
    (dict(input_size=4, kernel_size=2, padding=-1), ValueError, r"padding must be at least 0"),
    (dict(input_size=4, kernel_size=2, dilation=0), ValueError, r"dilation must be at least 1"),
    (dict(input_size=0, kernel_size=1), ValueError, r"input_size must be at least 1"),
    (dict(input_size=4, kernel_size=3, padding=2), ValueError,
     r"padding must be at most half of kernel_size, got padding=2 with kernel_size=3"),
    (dict(input_size=9, kernel_size=2, padding=2, dilation=3), ValueError,
     r"padding must be at most half of kernel_size"),  # half the dilated window would allow it
    (dict(input_size=2, kernel_size=3), ValueError, r"no window fits: input_size=2"),
    (dict(input_size=4.0, kernel_size=2), TypeError, r"input_size must be an int, got input_size=4\.0"),
    (dict(input_size=4, kernel_size=True), TypeError, r"kernel_size must be an int, got kernel_size=True"),
    (dict(input_size=4, kernel_size=2, ceil_mode=1), TypeError, r"ceil_mode must be a bool, got 1"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        output_size(**kwargs)


@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 4),
       p=st.integers(0, 6), d=st.integers(1, 3))
def test_conv_output_size_matches_torch_conv(n, k, s, p, d):
    try:
        expected = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]
    except RuntimeError:
        expected = None
    try:
        got = conv_output_size(n, k, s, p, d)
    except ValueError:
        got = None
    assert got == expected


def test_conv_output_size_allows_large_padding():
    assert conv_output_size(10, 3, padding=2) == 12
    assert conv_output_size(4, 1, padding=1) == 6
