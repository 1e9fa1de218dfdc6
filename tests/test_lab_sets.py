"""The lab code of the chapter on pooling beyond grids: the sequence and point-set data, the two
models, critical points, stochastic and mixed pooling, and their refusals."""

import math

import pytest
import torch

from poolkit.lab.sets import (GaussianGrid, MotifNet, PointSetNet, critical_points, digit_point_sets, mixed_pool2d,
                              motif_sequences, set_accuracy, stochastic_pool2d)

MOTIF = torch.tensor([1.0, -1.0, 1.0])


def test_motif_sequences_plant_the_motif_in_positives_only_and_pad_with_zeros():
    x, y, positions = motif_sequences(40, 5, 9, MOTIF, seed=0, noise=0.0)
    lengths = x[:, 1].sum(-1).long()
    assert x.shape == (40, 2, 9) and set(y.tolist()) == {0, 1} and y.sum() == 20
    assert lengths.min() >= 5 and lengths.max() <= 9
    for i in range(40):
        signal = x[i, 0]
        assert torch.equal(signal[lengths[i]:], torch.zeros(9 - lengths[i]))
        if y[i]:
            start = positions[i].item()
            assert 0 <= start <= lengths[i] - 3 and torch.equal(signal[start:start + 3], MOTIF)
            assert signal.abs().sum() == 3
        else:
            assert positions[i] == -1 and signal.abs().sum() == 0
    again = motif_sequences(40, 5, 9, MOTIF, seed=0, noise=0.5)
    assert torch.equal(again[0], motif_sequences(40, 5, 9, MOTIF, seed=0, noise=0.5)[0])


def test_motif_net_pools_only_the_valid_steps():
    torch.manual_seed(0)
    net = MotifNet(channels=3, kernel_size=3)
    x, _, _ = motif_sequences(6, 4, 8, MOTIF, seed=1)
    junk = x.clone()
    junk[:, 0] += 100 * (1 - x[:, 1])                      # change only the padding
    assert torch.equal(net.features(x), net.features(junk))
    h = torch.relu(net.conv(x[:1, :1]))
    valid = int(x[0, 1].sum()) - 2
    assert torch.equal(net.features(x[:1])[0], h[0, :, :valid].amax(-1))
    assert net(x).shape == (6, 2)


def test_digit_point_sets_hold_one_jittered_point_per_inked_pixel():
    from sklearn.datasets import load_digits
    x_train, y_train, x_test, y_test = digit_point_sets(threshold=8, jitter=0.5, seed=0, test_size=100)
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 100 and x_train.shape[2] == 3
    digits = load_digits()
    images = torch.tensor(digits.images)
    order = torch.randperm(1797, generator=torch.Generator().manual_seed(0))
    for k in range(5):
        i = order[k].item()
        points = x_test[k][x_test[k, :, 2] > 0, :2]
        assert len(points) == int((images[i] >= 8).sum()) and y_test[k] == digits.target[i]
        cols, rows = points[:, 0] * 4 + 3.5, 3.5 - points[:, 1] * 4
        assert (cols - cols.round()).abs().max() <= 0.5 + 1e-6
        assert all(images[i][int(r), int(c)] >= 8 for r, c in zip(rows.round(), cols.round()))
    assert (x_train[..., 2].sum(1) > 0).all()
    exact = digit_point_sets(jitter=0.0, test_size=100)[2]
    assert torch.equal(exact[..., :2] * 8 % 2, exact[..., 2:].expand(-1, -1, 2))      # odd multiples of 1/8


def test_point_set_net_is_permutation_invariant_and_its_critical_points_pool_to_the_same_vector():
    torch.manual_seed(0)
    _, _, x, _ = digit_point_sets(test_size=20)
    for reduction in ("sum", "mean", "max"):
        net = PointSetNet(reduction)
        order = torch.randperm(x.shape[1])
        moved = x[:, order]
        got, expected = net(moved), net(x)
        if reduction == "max":
            assert torch.equal(got, expected)
        else:
            torch.testing.assert_close(got, expected)
    net = PointSetNet("max")
    points = x[0][x[0, :, 2] > 0, :2]
    critical = critical_points(net, points)
    assert 0 < len(critical) <= len(points)
    full = torch.cat([points, torch.ones(len(points), 1)], 1)[None]
    kept, dropped = full.clone(), full.clone()
    kept[0, :, 2] = 0
    kept[0, critical, 2] = 1                             # only the critical points present
    dropped[0, critical[0], 2] = 0                       # one critical point absent
    assert torch.equal(net.pooled(kept), net.pooled(full))
    assert not torch.equal(net.pooled(dropped), net.pooled(full))       # a critical point matters


def test_gaussian_grid_and_set_accuracy():
    grid = GaussianGrid(3, width=1.0)
    assert grid(torch.zeros(2)).shape == (9,) and grid(torch.zeros(2))[4] == 1
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    assert set_accuracy(model, x, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_stochastic_pooling_picks_a_window_element_with_probability_proportional_to_it():
    x = torch.tensor([[[[0.0, 1.0], [3.0, 0.0]]]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([stochastic_pool2d(x, 2, generator=g) for _ in range(4000)]).flatten()
    assert set(draws.tolist()) == {1.0, 3.0}
    share = (draws == 3.0).double().mean().item()
    assert abs(share - 0.75) < 5 * math.sqrt(0.75 * 0.25 / 4000)
    assert stochastic_pool2d(x, 2, training=False).item() == pytest.approx(10 / 4)     # (1 + 9) / (1 + 3)
    assert stochastic_pool2d(torch.zeros(1, 1, 2, 2), 2).item() == 0
    assert stochastic_pool2d(torch.zeros(1, 1, 2, 2), 2, training=False).item() == 0


def test_stochastic_pooling_averages_to_its_test_time_output():
    g = torch.Generator().manual_seed(1)
    x = torch.relu(torch.randn(2, 3, 6, 6, generator=g, dtype=torch.float64))
    expected = stochastic_pool2d(x, 3, training=False)
    samples = torch.stack([stochastic_pool2d(x, 3, generator=g) for _ in range(3000)])
    windows = x.unfold(2, 3, 3).unfold(3, 3, 3).flatten(-2)
    p = windows / windows.sum(-1, keepdim=True).clamp(min=1e-300)
    sd = ((p * windows ** 2).sum(-1) - expected ** 2).clamp(min=0).sqrt()
    assert ((samples.mean(0) - expected).abs() <= 5 * sd / math.sqrt(3000) + 1e-12).all()


def test_stochastic_pooling_sends_the_gradient_to_the_picked_element():
    x = torch.tensor([[[[0.0, 2.0], [0.0, 0.0]]]], requires_grad=True)
    stochastic_pool2d(x, 2).sum().backward()
    assert x.grad.flatten().tolist() == [0.0, 1.0, 0.0, 0.0]


def test_mixed_pooling_is_max_or_average_in_every_window():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, 8, 8, generator=g)
    top, mean = torch.nn.functional.max_pool2d(x, 2), torch.nn.functional.avg_pool2d(x, 2)
    out, choice = mixed_pool2d(x, 2, generator=g, return_choice=True)
    assert torch.equal(out, torch.where(choice, top, mean))
    assert abs(choice.double().mean().item() - 0.5) < 5 * math.sqrt(0.25 / choice.numel())
    out, choice = mixed_pool2d(x, 2, per="layer", generator=g, return_choice=True)
    assert choice.dim() == 0 and torch.equal(out, top if choice else mean)
    assert torch.equal(mixed_pool2d(x, 2, p_max=1.0, generator=g), top)
    assert torch.equal(mixed_pool2d(x, 2, p_max=0.0, generator=g), mean)
    torch.testing.assert_close(mixed_pool2d(x, 2, training=False, p_max=0.25), 0.25 * top + 0.75 * mean)
    assert mixed_pool2d(x, 2, training=False, return_choice=True)[1] is None
    assert mixed_pool2d(x, 3, stride=2, generator=g).shape == (4, 3, 3, 3)


@pytest.mark.parametrize("call, error, words", [
    (lambda: motif_sequences(0, 5, 9, MOTIF, 0), ValueError, "n=0"),
    (lambda: motif_sequences(4, 2, 9, MOTIF, 0), ValueError, "min_length=2"),
    (lambda: motif_sequences(4, 5, 4, MOTIF, 0), ValueError, "max_length=4"),
    (lambda: motif_sequences(4, 5, 9, [1.0], 0), TypeError, "motif=[1.0]"),
    (lambda: motif_sequences(4, 5, 9, MOTIF, 0, noise=-1), ValueError, "noise=-1"),
    (lambda: motif_sequences(4, 5, 9, MOTIF, 0.5), TypeError, "seed=0.5"),
    (lambda: MotifNet(channels=0), ValueError, "channels=0"),
    (lambda: digit_point_sets(threshold=17), ValueError, "threshold=17"),
    (lambda: digit_point_sets(jitter=0.7), ValueError, "jitter=0.7"),
    (lambda: digit_point_sets(test_size=0), ValueError, "test_size=0"),
    (lambda: PointSetNet("median"), ValueError, "reduction='median'"),
    (lambda: PointSetNet(features=0), ValueError, "features=0"),
    (lambda: GaussianGrid(1), ValueError, "size=1"),
    (lambda: GaussianGrid(3, width=0), ValueError, "width=0"),
    (lambda: critical_points(PointSetNet("sum"), torch.zeros(3, 2)), ValueError, "reduction='max'"),
    (lambda: critical_points(PointSetNet("max"), torch.zeros(3, 3)), ValueError, "(S, 2)"),
    (lambda: set_accuracy(torch.nn.Identity(), torch.zeros(2, 2), torch.zeros(3)), ValueError, "got 2 and 3"),
    (lambda: stochastic_pool2d(-torch.ones(1, 1, 2, 2), 2), ValueError, "smallest value of -1.0"),
    (lambda: stochastic_pool2d(torch.ones(1, 2, 2), 2), ValueError, "shape (1, 2, 2)"),
    (lambda: stochastic_pool2d(torch.ones(1, 1, 2, 2, dtype=torch.long), 2), TypeError, "floating"),
    (lambda: stochastic_pool2d(torch.ones(1, 1, 2, 2), 3), ValueError, "kernel_size=3"),
    (lambda: stochastic_pool2d(torch.ones(1, 1, 2, 2), 2, stride=0), ValueError, "stride=0"),
    (lambda: stochastic_pool2d(torch.ones(1, 1, 2, 2), 2, training=1), TypeError, "training=1"),
    (lambda: mixed_pool2d(torch.ones(1, 1, 2, 2), 2, p_max=1.5), ValueError, "p_max=1.5"),
    (lambda: mixed_pool2d(torch.ones(1, 1, 2, 2), 2, per="channel"), ValueError, "per='channel'"),
    (lambda: mixed_pool2d(torch.ones(1, 1, 2, 2), 2.0), TypeError, "kernel_size=2.0"),
])
def test_refusals_name_the_parameter_and_the_value(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
