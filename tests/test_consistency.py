"""Moving whole images, the nearest-mean classifier and the consistency count."""

import pytest
import torch

from poolkit.lab.consistency import ONE_PIXEL_SHIFTS, class_means, consistency, move_images, nearest_mean


def grid(h=4, w=4):
    return torch.arange(float(h * w)).reshape(1, 1, h, w)


def test_no_move_is_the_identity():
    x = torch.randn(3, 2, 5, 7)
    assert torch.equal(move_images(x), x)


@pytest.mark.parametrize("rows, cols", [(0, 1), (1, 0), (0, -1), (-1, 0), (2, -1)])
def test_integer_shifts_move_content_and_fill_zeros(rows, cols):
    x = torch.randn(2, 1, 6, 5)
    moved = move_images(x, shift=(rows, cols))
    expected = torch.zeros_like(x)
    h, w = 6, 5
    expected[..., max(rows, 0):h + min(rows, 0), max(cols, 0):w + min(cols, 0)] = \
        x[..., max(-rows, 0):h + min(-rows, 0), max(-cols, 0):w + min(-cols, 0)]
    assert torch.equal(moved, expected)


def test_quarter_turn_is_rot90_and_half_turn_is_flip():
    assert torch.equal(move_images(grid(), angle=90), torch.rot90(grid(), 1, dims=(2, 3)))
    assert torch.equal(move_images(grid(5, 5), angle=180), grid(5, 5).flip(2, 3))


def test_scaling_by_two_repeats_the_central_pixels():
    assert move_images(grid(), scale=2.0)[0, 0].tolist() == [[5, 5, 6, 6], [5, 5, 6, 6], [9, 9, 10, 10], [9, 9, 10, 10]]


def test_nearest_mean_classifies_by_distance():
    features = torch.tensor([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]])
    labels = torch.tensor([0, 0, 1, 1])
    means = class_means(features, labels, 2)
    assert means.tolist() == [[0.0, 1.0], [10.0, 1.0]]
    assert nearest_mean(torch.tensor([[4.0, 0.0], [6.0, 5.0]]), means).tolist() == [0, 1]


def test_consistency_counts_unchanged_predictions():
    x = torch.zeros(4, 1, 4, 4)
    x[:2, 0, 1, 1] = 1.0                                  # two images inked in column 1, two blank

    def predict(images):                                  # "is there ink in the left half?"
        return images[:, 0, :, :2].sum(dim=(1, 2)).gt(0).long()

    assert consistency(predict, x, [dict(shift=(0, 1))]) == 0.5     # column 1 -> 2: the inked two change
    assert consistency(predict, x, [dict(shift=(1, 0))]) == 1.0     # row 1 -> 2: nothing changes
    assert consistency(predict, x, [dict(shift=(0, 1)), dict(shift=(1, 0))]) == 0.75
    assert consistency(lambda t: torch.zeros(len(t), dtype=torch.long), x, ONE_PIXEL_SHIFTS) == 1.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: move_images(torch.zeros(4, 4)), ValueError, r"images must be an \(N, C, H, W\) tensor"),
    (lambda: move_images(grid(), shift=1), TypeError, r"shift must be a pair"),
    (lambda: move_images(grid(), angle=float("nan")), ValueError, r"angle must be finite, got angle=nan"),
    (lambda: move_images(grid(), angle="1"), TypeError, r"angle must be a real number, got angle='1'"),
    (lambda: move_images(grid(), shift=(1, float("nan"))), ValueError, r"shift\[1\] must be finite"),
    (lambda: move_images(grid(), scale=0), ValueError, r"scale must be positive and finite, got scale=0"),
    (lambda: class_means(torch.zeros(3, 2), torch.tensor([0, 0, 2]), 3), ValueError, r"every class 0..2 must occur"),
    (lambda: nearest_mean(torch.zeros(2, 3), torch.zeros(2, 2)), ValueError, r"3 values per sample, the means 2"),
    (lambda: consistency(lambda t: t, grid(), []), ValueError, r"at least one move"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
