"""The exact invariance experiment of the summary chapter."""

import pytest
import torch
from torch import nn

from poolkit.lab import kept_fraction, moved_point_maps


def test_no_move_keeps_every_map():
    before, after = moved_point_maps(6)
    assert before.shape == (36, 1, 6, 6)
    assert torch.equal(before, after)
    assert (before.flatten(1).sum(dim=1) == 1).all()
    assert torch.equal(before.sum(dim=0)[0], torch.ones(6, 6))   # every position once


def test_shift_moves_each_pixel_one_column():
    before, after = moved_point_maps(5, shift=(0, 1))
    assert len(before) == 5 * 4                                   # the last column leaves the map
    assert torch.equal(torch.roll(before, 1, dims=3), after)


def test_quarter_turn_is_rot90():
    before, after = moved_point_maps(6, angle=90)
    assert len(before) == 36
    # (r, c) goes to (5 - c, r): exactly what torch.rot90 does to an image
    assert torch.equal(after, torch.rot90(before, 1, dims=(2, 3)))


def test_scaling_drops_pixels_that_leave():
    before, after = moved_point_maps(8, scale=2.0)
    assert 0 < len(before) < 64
    assert (after.flatten(1).sum(dim=1) == 1).all()


def test_kept_fraction_counts_whole_maps():
    before, after = moved_point_maps(8, shift=(0, 1))
    assert kept_fraction(before, after, nn.Identity()) == 0.0
    # A 2x2 window keeps the pixel when it moves from an even to an odd column:
    # 4 of the 7 columns it can start in, on every row.
    assert kept_fraction(before, after, nn.MaxPool2d(2)) == pytest.approx(4 / 7)
    assert kept_fraction(before, before, nn.MaxPool2d(2)) == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: moved_point_maps(0), r"size must be at least 1, got size=0"),
    (lambda: moved_point_maps(4, scale=0), r"scale must be positive and finite, got scale=0"),
    (lambda: kept_fraction(torch.zeros(2, 3), torch.zeros(3, 3), nn.Identity()), r"got \(2, 3\) and \(3, 3\)"),
    (lambda: kept_fraction(torch.zeros(0, 3), torch.zeros(0, 3), nn.Identity()), r"non-empty batches"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(shift=1), TypeError, r"shift must be a pair \(rows, columns\) of numbers, got shift=1"),
    (dict(shift=(1,)), TypeError, r"got shift=\(1,\)"),
    (dict(shift=(1, 2, 3)), TypeError, r"got shift=\(1, 2, 3\)"),
    (dict(shift=(0, float("inf"))), ValueError, r"shift\[1\] must be finite, got shift\[1\]=inf"),
    (dict(shift=(0, "1")), TypeError, r"shift\[1\] must be a real number, got shift\[1\]='1'"),
    (dict(angle=float("nan")), ValueError, r"angle must be finite, got angle=nan"),
    (dict(angle=10**400), ValueError, r"angle must be finite, got angle=1000"),
    (dict(angle="10"), TypeError, r"angle must be a real number, got angle='10'"),
    (dict(scale=True), TypeError, r"scale must be a real number, got scale=True"),
    (dict(scale=float("inf")), ValueError, r"scale must be positive and finite, got scale=inf"),
    (dict(scale=1e300), ValueError, r"scale must be at most size=4, got scale=1e\+300"),
])
def test_bad_moves(kwargs, error, message):
    with pytest.raises(error, match=message):
        moved_point_maps(4, **kwargs)


def test_kept_fraction_handles_flat_batches_and_nan():
    a = torch.tensor([1.0, 2.0, float("nan")])
    assert kept_fraction(a, a, nn.Identity()) == pytest.approx(2 / 3)   # NaN != NaN


def test_kept_fraction_rejects_a_layer_that_mixes_samples():
    with pytest.raises(ValueError, match=r"one output per sample: 3 samples gave an output of shape \(\)"):
        kept_fraction(torch.zeros(3, 2), torch.zeros(3, 2), lambda t: t.sum())
