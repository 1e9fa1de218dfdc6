"""Layer-by-layer shift errors, class activation maps and pooling over groups of channels."""

import pytest
import torch
from torch import nn

from poolkit.lab.consistency import move_images
from poolkit.lab.equivariance import (
    ChannelMax, ChannelMean, channel_max, class_activation_map, layer_outputs, localisation_rate, map_peaks,
    nearest_shift_error, relative_change, rotated_copies, shift_errors, total_strides,
)


def small_network(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten()).double()


def blob(size=16, corner=4):
    x = torch.zeros(2, 1, size, size, dtype=torch.float64)
    x[:, :, corner:corner + 4, corner:corner + 4] = torch.rand(2, 1, 4, 4, dtype=torch.float64,
                                                              generator=torch.Generator().manual_seed(1)) + 0.1
    return x


def test_layer_outputs_ends_with_the_model_output():
    model, x = small_network(), blob()
    outputs = layer_outputs(model, x)
    assert [name for name, _ in outputs][:3] == ["0 Conv2d", "1 ReLU", "2 MaxPool2d"]
    assert torch.equal(outputs[-1][1], model(x))


def test_layer_outputs_wants_a_sequential():
    with pytest.raises(TypeError, match="model"):
        layer_outputs(nn.ReLU(), blob())


def test_total_strides_follow_the_pools():
    assert total_strides(small_network(), blob()) == [1, 1, 2, 2, None, None]


def test_total_strides_refuses_a_size_it_cannot_divide():
    with pytest.raises(ValueError, match="divide"):
        total_strides(nn.Sequential(nn.MaxPool2d(2)), torch.zeros(1, 1, 5, 5))
    with pytest.raises(ValueError, match="square"):
        total_strides(nn.Sequential(nn.MaxPool2d(2)), torch.zeros(1, 1, 4, 6))


def test_relative_change():
    a = torch.tensor([3.0, 4.0])
    assert relative_change(a, a) == 0 and relative_change(a, torch.zeros(2)) == 1
    with pytest.raises(ValueError, match="zeros"):
        relative_change(torch.zeros(2), a)
    with pytest.raises(ValueError, match="shape"):
        relative_change(a, torch.zeros(3))


def test_shift_errors_find_equivariance_and_invariance_where_theory_puts_them():
    rows = {name: (stride, eq, inv) for name, stride, eq, inv in shift_errors(small_network(), blob(), 2)}
    for name in ("0 Conv2d", "1 ReLU", "2 MaxPool2d", "3 Conv2d"):
        assert rows[name][1] < 1e-12 < rows[name][2]            # equivariant, not invariant
    assert rows["5 Flatten"][1] is None and rows["5 Flatten"][2] < 1e-12  # the global pool: invariant
    odd = {name: eq for name, _, eq, _ in shift_errors(small_network(), blob(), 1)}
    assert odd["2 MaxPool2d"] is None and odd["1 ReLU"] < 1e-12


def test_shift_errors_refuses_a_negative_shift_or_a_flat_input():
    with pytest.raises(ValueError, match="shift"):
        shift_errors(small_network(), blob(), -1)
    with pytest.raises(TypeError, match="shift"):
        shift_errors(small_network(), blob(), 1.5)
    with pytest.raises(ValueError, match="x"):
        shift_errors(small_network(), torch.zeros(16, 16), 1)


def test_a_shift_that_moves_content_off_the_map_breaks_the_global_invariance():
    x = blob(16, 10)                                          # content in rows and columns 10 to 13
    [*_, (_, _, eq, inv)] = shift_errors(small_network(), x, 2, check=False)
    assert eq is None and inv > 1e-3                          # the first map reaches past the border


def test_shift_errors_refuses_a_shift_that_pushes_content_off_a_map():
    with pytest.raises(ValueError, match="layer 0 Conv2d"):    # the input stays, the first map does not
        shift_errors(small_network(), blob(16, 10), 2)
    with pytest.raises(ValueError, match="input x"):
        shift_errors(small_network(), blob(16, 10), 3)
    with pytest.raises(TypeError, match="check"):
        shift_errors(small_network(), blob(), 1, check=1)


def test_shift_errors_equivariance_error_is_relative_to_the_unshifted_map():
    model = nn.Sequential(nn.Identity())
    x = blob(16, 4)
    [(_, _, eq, inv)] = shift_errors(model, x, 2)
    assert eq == 0 and inv == pytest.approx((move_images(x, shift=(2, 2)) - x).norm().item() / x.norm().item())


def test_shift_errors_checks_squareness_before_running_the_model():
    class Exploding(nn.Module):
        def forward(self, x):
            raise AssertionError("the model must not run")

    with pytest.raises(ValueError, match="x must be square"):
        shift_errors(nn.Sequential(Exploding()), torch.zeros(1, 1, 8, 6), 1)


def test_shift_errors_cannot_measure_a_pool_that_shrinks_the_map():
    with pytest.raises(ValueError, match="divide"):
        shift_errors(nn.Sequential(nn.MaxPool2d(2, stride=1)), blob(32, 12), 1)


def test_non_tensor_arguments_raise_type_errors_naming_them():
    x, w = torch.zeros(1, 2, 3, 3), torch.zeros(4, 2)
    cases = [("x", lambda: shift_errors(small_network(), [[0.0]], 1)),
             ("a", lambda: relative_change([1.0], torch.ones(1))),
             ("b", lambda: relative_change(torch.ones(1), [1.0])),
             ("weight", lambda: class_activation_map(x, [[0.0, 0.0]])),
             ("weight", lambda: rotated_copies([[0.0]])),
             ("corners", lambda: localisation_rate(torch.zeros(1, 2), [[0, 0]], 2)),
             ("peaks", lambda: localisation_rate([[0.0, 0.0]], torch.zeros(1, 2), 2)),
             ("features", lambda: class_activation_map("features", w))]
    for name, call in cases:
        with pytest.raises(TypeError, match=name):
            call()


def test_shape_errors_print_the_shape():
    with pytest.raises(ValueError, match=r"x of shape \(16, 16\)"):
        shift_errors(small_network(), torch.zeros(16, 16), 1)


def test_nearest_shift_error_tries_both_neighbours():
    f = blob(8, 2)
    error, t = nearest_shift_error(f, move_images(f, shift=(1, 1)), 3, 2)
    assert error == 0 and t == 1
    error, t = nearest_shift_error(f, move_images(f, shift=(2, 2)), 3, 2)
    assert error == 0 and t == 2
    with pytest.raises(ValueError, match="stride"):
        nearest_shift_error(f, f, 1, 0)
    with pytest.raises(ValueError, match="g must be a 4-D"):
        nearest_shift_error(f, f[0], 1, 2)
    with pytest.raises(TypeError, match="g must be a torch.Tensor"):
        nearest_shift_error(f, None, 1, 2)
    with pytest.raises(ValueError, match="g must have the shape"):
        nearest_shift_error(f, f[:1], 1, 2)


def test_the_average_of_a_class_activation_map_is_the_logit_minus_the_bias():
    torch.manual_seed(0)
    features = torch.rand(3, 5, 4, 6, dtype=torch.float64)
    linear = nn.Linear(5, 7).double()
    cam = class_activation_map(features, linear.weight)
    assert cam.shape == (3, 7, 4, 6)
    logits = linear(features.mean((2, 3)))
    assert torch.allclose(cam.mean((2, 3)), logits - linear.bias, rtol=0, atol=1e-12)


def test_class_activation_map_refuses_a_weight_of_the_wrong_width():
    with pytest.raises(ValueError, match="weight"):
        class_activation_map(torch.zeros(1, 5, 2, 2), torch.zeros(3, 4))


def test_class_activation_map_refuses_mixed_or_integer_dtypes():
    with pytest.raises(TypeError, match="dtype"):
        class_activation_map(torch.zeros(1, 5, 2, 2), torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype"):
        class_activation_map(torch.zeros(1, 5, 2, 2, dtype=torch.long), torch.zeros(3, 5, dtype=torch.long))


def test_map_peaks_are_cell_centres_in_input_pixels():
    maps = torch.zeros(2, 3, 4)
    maps[0, 1, 2] = 1
    maps[1, 2, 3] = 5
    assert map_peaks(maps, 1).tolist() == [[1, 2], [2, 3]]
    assert map_peaks(maps, 2).tolist() == [[2.5, 4.5], [4.5, 6.5]]
    with pytest.raises(ValueError, match="stride"):
        map_peaks(maps, 0)


def test_localisation_rate_counts_peaks_inside_their_boxes():
    peaks = torch.tensor([[2.0, 2.0], [9.6, 3.0], [9.5, 3.0]], dtype=torch.float64)
    corners = torch.tensor([[0, 0], [2, 2], [2, 2]])
    assert localisation_rate(peaks, corners, 8) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="box"):
        localisation_rate(peaks, corners, 0)
    with pytest.raises(ValueError, match="corners"):
        localisation_rate(peaks, corners[:2], 8)
    with pytest.raises(ValueError, match="at least one"):
        localisation_rate(torch.zeros(0, 2), torch.zeros(0, 2), 8)


def test_rotated_copies_are_quarter_turns_in_order():
    w = torch.arange(2 * 9.0).reshape(2, 1, 3, 3)
    bank = rotated_copies(w)
    assert bank.shape == (8, 1, 3, 3)
    assert torch.equal(bank[4], w[1]) and torch.equal(bank[5], torch.rot90(w[1], 1, dims=(1, 2)))
    with pytest.raises(ValueError, match="square"):
        rotated_copies(torch.zeros(1, 1, 3, 2))
    with pytest.raises(ValueError, match="odd"):
        rotated_copies(torch.zeros(1, 1, 2, 2))


def test_a_max_over_quarter_turns_then_a_global_pool_is_invariant_to_quarter_turns():
    torch.manual_seed(0)
    bank = rotated_copies(torch.randn(3, 1, 3, 3, dtype=torch.float64))
    x = torch.randn(2, 1, 9, 9, dtype=torch.float64)

    def features(images):
        return channel_max(nn.functional.conv2d(images, bank, padding=1), 4).mean((2, 3))

    turned = features(torch.rot90(x, 1, dims=(2, 3)))
    assert torch.allclose(turned, features(x), rtol=0, atol=1e-12)
    plain = nn.functional.conv2d(x, bank, padding=1).mean((2, 3))
    assert not torch.allclose(nn.functional.conv2d(torch.rot90(x, 1, dims=(2, 3)), bank, padding=1).mean((2, 3)),
                              plain)


def test_channel_max_and_mean_reduce_consecutive_groups():
    x = torch.arange(6.0).reshape(1, 6, 1, 1)
    assert channel_max(x, 3).flatten().tolist() == [2, 5]
    assert ChannelMax(2)(x).flatten().tolist() == [1, 3, 5]
    assert ChannelMean(3)(x).flatten().tolist() == [1, 4]
    for bad in (lambda: channel_max(x, 4), lambda: ChannelMean(4)(x)):
        with pytest.raises(ValueError, match="group"):
            bad()
    with pytest.raises(TypeError, match="group"):
        ChannelMax(1.5)


def test_channel_max_sends_each_gradient_to_one_member_of_its_group():
    x = torch.ones(1, 4, 1, 1, requires_grad=True)            # a four-way tie
    channel_max(x, 4).sum().backward()
    assert x.grad.sum() == 1 and (x.grad == 1).sum() == 1
