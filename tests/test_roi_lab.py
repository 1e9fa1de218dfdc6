"""poolkit.lab.roi: the measurements of where ROI Pool and ROI Align look."""

import pytest
import torch

from poolkit.lab.roi import bin_offsets, cell_centres, ideal_centres, pooled_cells, random_boxes
from poolkit.ops import roi_align


def test_cell_centres_hold_each_cells_centre_in_pixels():
    m = cell_centres(2, 3, 4)
    assert m.shape == (1, 2, 2, 3) and m.dtype == torch.float64
    assert m[0, 0, 1].tolist() == [2.0, 6.0, 10.0] and m[0, 1, :, 2].tolist() == [2.0, 6.0]


def test_random_boxes_keep_their_margin_and_minimum_side():
    b = random_boxes(500, 100, 10, 5, seed=3)
    assert b.shape == (500, 5) and (b[:, 0] == 0).all()
    assert (b[:, 1:3] >= 5).all() and (b[:, 3:] <= 95).all()
    assert ((b[:, 3:] - b[:, 1:3]) >= 10 - 1e-12).all()
    assert torch.equal(b, random_boxes(500, 100, 10, 5, seed=3))
    assert not torch.equal(b, random_boxes(500, 100, 10, 5, seed=4))


def test_pooled_cells_follow_roi_pools_rounding_and_bins():
    # A box from 10 to 37 pixels at stride 8: cells round(1.25) = 1 to round(4.625) = 5, five cells in two bins.
    boxes = torch.tensor([[0.0, 10.0, 10.0, 37.0, 37.0]], dtype=torch.float64)
    first, last = pooled_cells(boxes, 2, 1 / 8, 8, 8)
    assert first[0, 0, 0].tolist() == [1.0, 3.0] and last[0, 0, 0].tolist() == [3.0, 5.0]
    assert first[0, 1, :, 0].tolist() == [1.0, 3.0] and last[0, 1, :, 0].tolist() == [3.0, 5.0]


def test_ideal_centres_split_the_box_evenly():
    boxes = torch.tensor([[0.0, 2.0, 4.0, 8.0, 10.0]], dtype=torch.float64)
    c = ideal_centres(boxes, (2, 3))
    assert c.shape == (1, 2, 2, 3)
    assert c[0, 0, 0].tolist() == [3.0, 5.0, 7.0] and c[0, 1, :, 0].tolist() == [5.5, 8.5]


def test_aligned_roi_align_is_centred_and_the_legacy_one_half_a_cell_off():
    boxes = random_boxes(50, 128, 16, 8, seed=0)
    aligned = bin_offsets(boxes, 3, 8, 16, 16, "roi_align_aligned")
    legacy = bin_offsets(boxes, 3, 8, 16, 16, "roi_align")
    assert aligned.abs().max() < 1e-9
    torch.testing.assert_close(legacy, torch.full_like(legacy, 4.0))


def test_roi_pool_offsets_are_measured_from_its_cells():
    boxes = torch.tensor([[0.0, 10.0, 10.0, 37.0, 37.0]], dtype=torch.float64)
    offsets = bin_offsets(boxes, 2, 8, 8, 8, "roi_pool")
    # Bin 0 pools cells 1..3, pixels 8 to 32, centre 20; its ideal centre is 10 + 27/4 = 16.75.
    assert offsets[0, 0, 0, 0].item() == pytest.approx(20 - 16.75)
    assert offsets[0, 0, 0, 1].item() == pytest.approx(36 - (10 + 3 * 27 / 4))


def test_roi_pool_counts_the_last_cell_whole_and_the_exclusive_box_does_not():
    # Corners on cell edges at stride 4: pixels [8, 32) x [4, 28) are cells 2..7 x 1..6, three bins of two cells.
    boxes = torch.tensor([[0.0, 8.0, 4.0, 32.0, 28.0]], dtype=torch.float64)
    exclusive = bin_offsets(boxes, 3, 4, 10, 10, "roi_pool_exclusive")
    assert exclusive.abs().max().item() == 0
    inclusive = bin_offsets(boxes, 3, 4, 10, 10, "roi_pool")
    # Inclusive, the box is cells 2..8 (7 cells): bin 0 pools cells 2..4, centre 14 against the ideal 12.
    assert inclusive[0, 0, 0, 0].item() == pytest.approx(14 - 12)
    assert (inclusive > 0).all()


def test_the_exclusive_box_leaves_roi_pool_unbiased_on_random_boxes():
    boxes = random_boxes(200, 160, 16, 4, seed=3)
    inclusive = bin_offsets(boxes, 4, 4, 40, 40, "roi_pool")
    exclusive = bin_offsets(boxes, 4, 4, 40, 40, "roi_pool_exclusive")
    assert inclusive.mean().item() > 1.5
    assert abs(exclusive.mean().item()) < 0.3


def test_the_centre_map_is_reproduced_between_cell_centres():
    m = cell_centres(6, 6, 2)
    box = torch.tensor([[0.0, 3.0, 3.0, 7.0, 7.0]], dtype=torch.float64)
    out = roi_align(m, box, 1, 0.5, aligned=True)
    assert out.flatten().tolist() == pytest.approx([5.0, 5.0])


@pytest.mark.parametrize("call, error, name", [
    (lambda: cell_centres(0, 3, 1), ValueError, "height"),
    (lambda: cell_centres(2, 3.0, 1), TypeError, "width"),
    (lambda: cell_centres(2, 3, 0), ValueError, "stride"),
    (lambda: random_boxes(-1, 10, 1, 1, 0), ValueError, "count"),
    (lambda: random_boxes(3, 10, 9, 1, 0), ValueError, "min_side"),
    (lambda: random_boxes(3, 10, 1, 1, 0.5), TypeError, "seed"),
    (lambda: pooled_cells(torch.zeros(1, 5), 2, 1.0, 4, 4), TypeError, "boxes"),
    (lambda: ideal_centres(torch.zeros(1, 4, dtype=torch.float64), 2), TypeError, "boxes"),
    (lambda: bin_offsets(torch.zeros(1, 5, dtype=torch.float64), 2, 8, 4, 4, "max"), ValueError, "method"),
    (lambda: bin_offsets(torch.zeros(1, 5, dtype=torch.float64), 2, -8, 4, 4, "roi_pool"), ValueError, "stride"),
])
def test_bad_arguments_are_refused(call, error, name):
    with pytest.raises(error, match=name):
        call()
