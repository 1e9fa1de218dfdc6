"""Max pooling from convolutions and ReLUs, against nn.MaxPool2d."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from poolkit.lab import relu_layers, relu_max_pool2d
from poolkit.lab.relu_pool import dilations


def test_one_relu_layer_takes_the_maximum_of_two_numbers():
    a, b = torch.meshgrid(torch.arange(-3.0, 4.0), torch.arange(-3.0, 4.0), indexing="ij")
    pairs = torch.stack([a.flatten(), b.flatten()], dim=-1).reshape(-1, 1, 1, 2)     # every (a, b), one per sample
    net = relu_max_pool2d((1, 2))
    assert relu_layers((1, 2)) == 1 == sum(isinstance(m, nn.ReLU) for m in net)
    out = net(pairs)
    assert torch.equal(out, F.max_pool2d(pairs, (1, 2)))
    assert torch.equal(out.flatten(), torch.maximum(a, b).flatten())
    # the layer computes ReLU(a - b), ReLU(b) and ReLU(-b) and adds them up as +1, +1, -1
    first, relu, last = net
    hidden = relu(first(pairs))
    assert torch.equal(hidden.flatten(1), torch.stack([(a - b).relu(), b.relu(), (-b).relu()], -1).reshape(-1, 3))
    assert last.weight.flatten().tolist() == [1.0, 1.0, -1.0]


@pytest.mark.parametrize("k, expected", [(1, []), (2, [1]), (3, [1, 1]), (4, [1, 2]), (5, [1, 2, 1]), (8, [1, 2, 4])])
def test_dilations_cover_the_window(k, expected):
    assert dilations(k) == expected
    assert 1 + sum(dilations(k)) == k


@st.composite
def case(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    if k == (1, 1):
        k = (1, 2)
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(k[0], 9)), draw(st.integers(k[1], 9))
    values = draw(st.lists(st.integers(-100, 100), min_size=2 * c * h * w, max_size=2 * c * h * w))
    return k, s, c, torch.tensor(values, dtype=torch.float32).reshape(2, c, h, w)


@given(case())
def test_equals_max_pooling_exactly_on_integers(args):
    k, s, c, X = args
    net = relu_max_pool2d(k, stride=s, channels=c)
    assert torch.equal(net(X), F.max_pool2d(X, k, stride=s))


def test_equals_max_pooling_up_to_rounding_on_random_floats():
    torch.manual_seed(0)
    X = torch.randn(4, 3, 12, 12)
    for k in (2, 3, (2, 3)):
        torch.testing.assert_close(relu_max_pool2d(k, channels=3)(X), F.max_pool2d(X, k))


@pytest.mark.parametrize("k, convs, relus", [(2, 3, 2), (3, 5, 4), ((2, 3), 4, 3), (4, 5, 4)])
def test_layer_counts_and_widths(k, convs, relus):
    net = relu_max_pool2d(k, channels=2)
    layers = list(net)
    assert sum(isinstance(m, nn.Conv2d) for m in layers) == convs
    assert sum(isinstance(m, nn.ReLU) for m in layers) == relus == relu_layers(k)
    assert [m.out_channels for m in layers if isinstance(m, nn.Conv2d)] == [6] * (convs - 1) + [2]
    assert all(not p.requires_grad for p in net.parameters())
    assert all(m.bias is None for m in layers if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("call, error, message", [
    (lambda: relu_max_pool2d(1), ValueError, r"kernel_size=\(1, 1\) takes no maximum"),
    (lambda: relu_max_pool2d(0), ValueError, r"kernel_size must be at least 1, got kernel_size=0"),
    (lambda: relu_max_pool2d((2, 2, 2)), TypeError, r"got kernel_size=\(2, 2, 2\)"),
    (lambda: relu_max_pool2d(2, stride=2.0), TypeError, r"stride must be an int or a pair of ints, got stride=2\.0"),
    (lambda: relu_max_pool2d(2, channels=0), ValueError, r"channels must be at least 1, got channels=0"),
    (lambda: relu_max_pool2d(2, channels=2.0), TypeError, r"channels must be an int, got channels=2\.0"),
    (lambda: dilations(0), ValueError, r"kernel_size must be at least 1, got kernel_size=0"),
    (lambda: dilations(True), TypeError, r"kernel_size must be an int, got kernel_size=True"),
    (lambda: relu_layers("3"), TypeError, r"kernel_size='3'"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
