"""Locating digits: coordinate channels, the three regressors, training and the pixel error."""

import pytest
import torch

from poolkit.lab.canvas import place
from poolkit.lab.position import (KINDS, coordinate_channels, mean_position_error, position_error,
                                  position_net, train_position)


def test_coordinate_channels_hold_rows_then_columns_from_minus_one_to_one():
    x = torch.rand(2, 3, 4, 5)
    y = coordinate_channels(x)
    assert y.shape == (2, 5, 4, 5) and torch.equal(y[:, :3], x)
    assert torch.equal(y[0, 3, :, 0], torch.linspace(-1, 1, 4)) and (y[0, 3] == y[0, 3, :, :1]).all()
    assert torch.equal(y[1, 4, 0], torch.linspace(-1, 1, 5)) and (y[1, 4] == y[1, 4, :1]).all()
    assert (coordinate_channels(torch.zeros(1, 1, 1, 3))[0, 1] == 0).all()      # a side of one pixel


@pytest.mark.parametrize("x", [torch.zeros(3, 4, 4), torch.zeros(1, 1, 4, 4, dtype=torch.int64)])
def test_coordinate_channels_refuse_what_is_not_a_float_batch(x):
    with pytest.raises(ValueError, match="coordinate_channels: x"):
        coordinate_channels(x)


@pytest.mark.parametrize("x", ["image", [[[[0.0]]]]])
def test_coordinate_channels_refuse_what_is_not_a_tensor_with_a_type_error(x):
    with pytest.raises(TypeError, match="coordinate_channels: x"):
        coordinate_channels(x)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_coordinate_channels_follow_the_dtype_and_device_of_x(dtype):
    x = torch.zeros(1, 1, 3, 3, dtype=dtype, device="meta")
    y = coordinate_channels(x)
    assert y.dtype == dtype and y.device == x.device and y.shape == (1, 3, 3, 3)
    assert coordinate_channels(torch.zeros(1, 1, 3, 3, dtype=dtype)).dtype == dtype


@pytest.mark.parametrize("kind", KINDS)
def test_position_nets_map_canvases_to_two_numbers(kind):
    net = position_net(kind, 16, (3, 5))
    assert net(torch.rand(7, 1, 16, 16)).shape == (7, 2)


def test_the_pooled_net_cannot_tell_positions_four_pixels_apart_but_the_others_can():
    torch.manual_seed(0)
    digit = torch.rand(1, 1, 8, 8)
    a = place(digit, torch.tensor([8]), torch.tensor([8]), 32)
    b = place(digit, torch.tensor([12]), torch.tensor([16]), 32)           # 4 and 8 pixels on: the stride's multiples
    with torch.no_grad():
        pooled = position_net("pooled", 32)
        assert torch.allclose(pooled(a), pooled(b), atol=1e-6)
        for kind in ("flattened", "coordinates"):
            net = position_net(kind, 32)
            assert not torch.allclose(net(a), net(b), atol=1e-3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="global"), "kind"), (dict(size=3), "size"), (dict(size=16.0), "size"),
    (dict(channels=(4,)), "channels"), (dict(channels=(4, 0)), "channels"),
])
def test_position_net_names_a_bad_argument(kwargs, match):
    arguments = dict(kind="pooled", size=16, channels=(4, 8)) | kwargs
    with pytest.raises((TypeError, ValueError), match=match):
        position_net(**arguments)


def test_training_learns_positions_reproducibly_and_predicts_pixels():
    generator = torch.Generator().manual_seed(0)
    positions = torch.randint(0, 9, (256, 2), generator=generator)
    x = place(torch.ones(256, 1, 8, 8), positions[:, 0].contiguous(), positions[:, 1].contiguous(), 16)
    guess = mean_position_error(positions, positions)
    model = train_position(lambda: position_net("flattened", 16, (4, 8)), x, positions, seed=0, epochs=8)
    error = position_error(model, x, positions)
    assert error < guess / 3
    again = train_position(lambda: position_net("flattened", 16, (4, 8)), x, positions, seed=0, epochs=8)
    assert position_error(again, x, positions) == error


def test_the_errors_are_mean_euclidean_distances():
    truth = torch.tensor([[0, 0], [3, 4]])
    assert mean_position_error(torch.tensor([[0, 0]]), truth) == 2.5                # 0 and 5
    model = lambda x: torch.tensor([[3.0, 4.0], [3.0, 4.0]])                        # noqa: E731
    assert position_error(model, torch.zeros(2, 1, 4, 4), truth) == 2.5


@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=0), "epochs"), (dict(lr=-1.0), "lr"), (dict(seed=1.5), "seed"), (dict(batch_size=0), "batch_size"),
    (dict(positions=torch.zeros(4, 3)), "positions"), (dict(make_model=None), "make_model"),
    (dict(x=torch.zeros(4, 1, 8, 8, dtype=torch.int64)), "x"), (dict(x="canvases"), "x"),
    (dict(positions=torch.tensor([[0.0, 1.0]] * 3 + [[float("nan"), 1.0]])), "positions"),
    (dict(positions=torch.tensor([[0.0, 1.0]] * 3 + [[float("inf"), 1.0]])), "positions"),
])
def test_train_position_names_a_bad_argument(kwargs, match):
    arguments = dict(make_model=lambda: position_net("pooled", 8, (2, 2)), x=torch.zeros(4, 1, 8, 8),
                     positions=torch.zeros(4, 2), seed=0) | kwargs
    with pytest.raises((TypeError, ValueError), match=match):
        train_position(**arguments)


def test_mean_position_error_refuses_empty_or_misshapen_positions():
    with pytest.raises(ValueError, match="train_positions"):
        mean_position_error(torch.zeros(0, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="test_positions"):
        mean_position_error(torch.zeros(3, 2), torch.zeros(3))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_threads=0), ValueError, "num_threads"), (dict(num_threads=1.0), TypeError, "num_threads"),
    (dict(model=lambda x: torch.zeros(len(x), 3)), ValueError, "model"),
    (dict(model=lambda x: torch.zeros(len(x))), ValueError, "model"),
    (dict(model=lambda x: torch.zeros(1, 2)), ValueError, "model"),
    (dict(model=lambda x: [[0.0, 0.0]] * len(x)), ValueError, "model"),
    (dict(model="net"), TypeError, "model"),
    (dict(x=None), TypeError, "x"),
])
def test_position_error_names_a_bad_argument(kwargs, error, match):
    arguments = dict(model=lambda x: torch.zeros(len(x), 2), x=torch.zeros(4, 1, 8, 8), positions=torch.zeros(4, 2))
    with pytest.raises(error, match=match):
        position_error(**(arguments | kwargs))


def test_only_the_flattened_net_depends_on_the_canvas_size():
    for kind in ("pooled", "coordinates"):
        net = position_net(kind, 16, (3, 5))
        assert net(torch.rand(2, 1, 24, 24)).shape == (2, 2)
    with pytest.raises(RuntimeError):
        position_net("flattened", 16, (3, 5))(torch.rand(2, 1, 24, 24))
