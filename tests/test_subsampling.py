"""LeNet-5's trainable subsampling: the formula, the counts of the paper's S2 and S4, and its refusals."""

import pytest
import torch

from poolkit.lab.subsampling import TrainableSubsampling, subsampling_connections


def test_each_output_is_the_sigmoid_of_a_scaled_window_sum_plus_a_bias():
    layer = TrainableSubsampling(2, squash="sigmoid")
    with torch.no_grad():
        layer.coefficient.copy_(torch.tensor([0.5, -2.0]))
        layer.bias.copy_(torch.tensor([0.1, 0.3]))
    x = torch.arange(2 * 4 * 5, dtype=torch.float32).reshape(1, 2, 4, 5) / 10
    y = layer(x)
    assert y.shape == (1, 2, 2, 2)                                     # the odd last column is dropped
    for c, (w, b) in enumerate(((0.5, 0.1), (-2.0, 0.3))):
        for i in range(2):
            for j in range(2):
                window = x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].sum()
                assert torch.isclose(y[0, c, i, j], torch.sigmoid(w * window + b))


def test_it_starts_as_the_squashed_average_and_learns():
    x = torch.rand(2, 3, 6, 6)
    assert torch.allclose(TrainableSubsampling(3, "sigmoid")(x), torch.sigmoid(torch.nn.functional.avg_pool2d(x, 2)))
    layer = TrainableSubsampling(3)
    assert torch.allclose(layer(x), torch.tanh(torch.nn.functional.avg_pool2d(x, 2)))
    layer(x).sum().backward()
    assert layer.coefficient.grad.abs().min() > 0 and layer.bias.grad.abs().min() > 0


def test_lenet5_s2_and_s4_counts():
    s2, s4 = TrainableSubsampling(6), TrainableSubsampling(16)
    assert sum(p.numel() for p in s2.parameters()) == 12 and sum(p.numel() for p in s4.parameters()) == 32
    assert subsampling_connections(6, 28, 28) == 5880 and subsampling_connections(16, 10, 10) == 2000
    assert s2(torch.zeros(1, 6, 28, 28)).shape == (1, 6, 14, 14)


@pytest.mark.parametrize("channels, error", [(0, ValueError), (2.0, TypeError), (True, TypeError)])
def test_it_names_a_bad_channel_count(channels, error):
    with pytest.raises(error, match="channels"):
        TrainableSubsampling(channels)


@pytest.mark.parametrize("squash, error", [("relu", ValueError), (["tanh"], TypeError), (None, TypeError)])
def test_it_names_a_bad_squash(squash, error):
    with pytest.raises(error, match="squash"):
        TrainableSubsampling(2, squash=squash)


@pytest.mark.parametrize("x", [torch.zeros(1, 3, 4, 4), torch.zeros(2, 4, 4), torch.zeros(1, 2, 1, 4)])
def test_it_refuses_an_input_of_the_wrong_shape(x):
    with pytest.raises(ValueError, match="input"):
        TrainableSubsampling(2)(x)


@pytest.mark.parametrize("kwargs", [dict(channels=0), dict(height=1), dict(width=2.5)])
def test_subsampling_connections_names_a_bad_argument(kwargs):
    arguments = dict(channels=1, height=4, width=4) | kwargs
    with pytest.raises((TypeError, ValueError), match=next(iter(kwargs))):
        subsampling_connections(**arguments)


@pytest.mark.parametrize("x", ["image", [[[[0.0, 1.0], [2.0, 3.0]]]], None])
def test_it_refuses_what_is_not_a_tensor_with_a_type_error(x):
    with pytest.raises(TypeError, match="input"):
        TrainableSubsampling(1)(x)
