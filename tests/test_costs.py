"""poolkit's cost counts against the real modules and PyTorch's own FLOP counter."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from poolkit.lab import conv2d_cost, pool2d_cost


def count_parameters(layer):
    return sum(p.numel() for p in layer.parameters())


@st.composite
def layer_config(draw):
    c = draw(st.integers(1, 4))
    h, w = draw(st.integers(3, 12)), draw(st.integers(3, 12))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    return (c, h, w), k, s, p


@given(layer_config(), st.integers(1, 5), st.booleans(), st.integers(0, 2))
def test_conv_cost_matches_module_and_flop_counter(config, out_channels, bias, extra_padding):
    shape, k, s, p = config
    p = (p[0] + extra_padding, p[1])          # convolutions allow more padding than pooling
    layer = nn.Conv2d(shape[0], out_channels, k, stride=s, padding=p, bias=bias)
    with FlopCounterMode(display=False) as counter:
        y = layer(torch.zeros(1, *shape))
    cost = conv2d_cost(shape, out_channels, k, stride=s, padding=p, bias=bias)
    assert cost.output_shape == tuple(y.shape[1:])
    assert cost.parameters == count_parameters(layer)
    assert cost.operations == counter.get_total_flops()


@given(layer_config(), st.sampled_from(["max", "avg"]))
def test_pool_cost_matches_module_and_window_count(config, mode):
    shape, k, s, p = config
    layer = (nn.MaxPool2d if mode == "max" else nn.AvgPool2d)(k, stride=s, padding=p)
    y = layer(torch.zeros(1, *shape))
    cost = pool2d_cost(shape, k, stride=s, padding=p, mode=mode)
    assert cost.output_shape == tuple(y.shape[1:])
    assert cost.parameters == count_parameters(layer) == 0
    per_output = k[0] * k[1] - (1 if mode == "max" else 0)
    assert cost.operations == y.numel() * per_output


def test_stride_defaults_to_kernel_size():
    assert pool2d_cost((1, 6, 6), 2).output_shape == (1, 3, 3)
    assert pool2d_cost((3, 6, 6), 3, stride=1).operations == 3 * 4 * 4 * 8


@pytest.mark.parametrize("call, error, message", [
    (lambda: pool2d_cost((1, 4, 4), 2, mode="min"), ValueError, r"mode must be 'max' or 'avg', got 'min'"),
    (lambda: pool2d_cost((4, 4), 2), TypeError, r"shape must be \(C, H, W\), got \(4, 4\)"),
    (lambda: pool2d_cost((1, 0, 4), 2), ValueError, r"got H=0"),
    (lambda: pool2d_cost((1, 4, 4), (2, 2, 2)), TypeError, r"kernel_size must be an int or a pair"),
    (lambda: pool2d_cost((1, 4, 4), 5), ValueError, r"no window fits"),
    (lambda: conv2d_cost((1, 4, 4), 0, 2), ValueError, r"out_channels must be at least 1, got out_channels=0"),
    (lambda: conv2d_cost((1, 4, 4), 2.0, 2), TypeError, r"out_channels must be an int, got out_channels=2\.0"),
    (lambda: pool2d_cost((1, True, 4), 2), TypeError, r"H must be an int, got H=True"),
    (lambda: conv2d_cost((1, 4, 4), 1, 2, stride=(1,)), TypeError, r"stride must be an int or a pair"),
    (lambda: conv2d_cost((1, 4, 4), 1, 2, stride=None), TypeError, r"stride must be an int or a pair of ints, got stride=None"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
