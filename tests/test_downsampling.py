"""Space-to-depth, Focus, patch merging and the reconstructions of the downsampling chapter."""

import pytest
import torch
from torch.nn import functional as F

from poolkit.lab.downsampling import (PatchMerging, blocks_2x2, focus_slices, focus_to_unshuffle, from_blocks_2x2,
                                      fit_affine_decoder, pca_2x2, pca_reconstruct, pool_reconstruct, relative_error)


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_focus_is_pixel_unshuffle_with_its_channels_reordered(channels):
    x = torch.randn(2, channels, 4, 6)
    focus = focus_slices(x)
    assert focus.shape == (2, 4 * channels, 2, 3)
    assert torch.equal(focus[:, focus_to_unshuffle(channels)], F.pixel_unshuffle(x, 2))
    assert torch.equal(focus[0, channels, 0, 0], x[0, 0, 1, 0])            # the (odd row, even column) pixel
    assert sorted(focus_to_unshuffle(channels).tolist()) == list(range(4 * channels))


def test_blocks_round_trip_and_hold_each_block():
    x = torch.arange(2 * 2 * 4 * 4, dtype=torch.float32).reshape(2, 2, 4, 4)
    rows = blocks_2x2(x)
    assert rows.shape == (8, 8)
    assert rows[0].tolist() == [0, 1, 4, 5, 16, 17, 20, 21]
    assert torch.equal(from_blocks_2x2(rows, x.shape), x)


def test_patch_merging_is_norm_then_a_linear_map_of_the_concatenated_block():
    torch.manual_seed(0)
    merge = PatchMerging(3).double()
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    out = merge(x)
    assert out.shape == (2, 6, 2, 2)
    block = torch.cat([x[1, :, 2, 0], x[1, :, 3, 0], x[1, :, 2, 1], x[1, :, 3, 1]])     # Swin's order
    normed = (block - block.mean()) / torch.sqrt(block.var(unbiased=False) + merge.norm.eps)
    assert torch.allclose(out[1, :, 1, 0], merge.reduction.weight @ (normed * merge.norm.weight + merge.norm.bias))
    assert merge.reduction.bias is None and merge.reduction.weight.shape == (6, 12)


def test_pca_keeps_everything_with_all_directions_and_less_with_fewer():
    torch.manual_seed(1)
    x = torch.randn(3, 2, 6, 6)
    errors = []
    for k in range(9):
        mean, directions = pca_2x2(x, k)
        assert torch.allclose(directions.T @ directions, torch.eye(k, dtype=torch.float64))
        errors.append(relative_error(x, pca_reconstruct(x, mean, directions)))
    assert errors[-1] < 1e-12 and all(a > b for a, b in zip(errors, errors[1:]))


def test_pooled_reconstructions_copy_the_mean_or_the_max_over_each_block():
    x = torch.tensor([[[[1.0, 3.0], [0.0, 4.0]]]])
    assert torch.equal(pool_reconstruct(x, "avg"), torch.full_like(x, 2.0))
    assert torch.equal(pool_reconstruct(x, "max"), torch.full_like(x, 4.0))
    # The mean is the best constant: no other constant block does better.
    best = relative_error(x, pool_reconstruct(x, "avg"))
    assert all(relative_error(x, torch.full_like(x, c)) >= best for c in (1.5, 1.9, 2.1, 3.0))


def test_affine_decoder_is_least_squares_and_with_a_rank_limit_is_pca():
    torch.manual_seed(2)
    features = torch.randn(50, 3, dtype=torch.float64)
    truth, shift = torch.randn(3, 2, dtype=torch.float64), torch.tensor([1.0, -2.0], dtype=torch.float64)
    weight, bias = fit_affine_decoder(features, features @ truth + shift)           # an exact affine relation
    assert torch.allclose(weight, truth) and torch.allclose(bias, shift)
    targets = features @ truth + shift + 0.3 * torch.randn(50, 2, dtype=torch.float64)
    features = features.float().double()                                       # float32 features accepted
    weight, bias = fit_affine_decoder(features.float(), targets)
    residual = features @ weight + bias - targets
    # Least squares: the residual is orthogonal to every feature and to the constant.
    assert torch.allclose(features.T @ residual, torch.zeros(3, 2, dtype=torch.float64), atol=1e-9)
    assert abs(residual.sum()) < 1e-9
    x = torch.randn(4, 1, 6, 6)
    rows = blocks_2x2(x)
    for k in range(5):
        weight, bias = fit_affine_decoder(rows, rows, rank=k)
        assert torch.linalg.matrix_rank(weight) == k
        mean, directions = pca_2x2(x, k)
        assert torch.allclose(from_blocks_2x2((rows.double() @ weight + bias).float(), x.shape),
                              pca_reconstruct(x, mean, directions), atol=1e-5)


@pytest.mark.parametrize("call, error, name", [
    (lambda: focus_slices(torch.ones(1, 1, 3, 4)), ValueError, "even"),
    (lambda: focus_slices(torch.ones(1, 4, 4)), ValueError, "input"),
    (lambda: focus_slices(torch.ones(1, 1, 4, 4, dtype=torch.int64)), ValueError, "floating"),
    (lambda: focus_to_unshuffle(0), ValueError, "channels"),
    (lambda: PatchMerging(2)(torch.ones(1, 3, 4, 4)), ValueError, "dim"),
    (lambda: PatchMerging(1.0), TypeError, "dim"),
    (lambda: from_blocks_2x2(torch.ones(4, 4), (1, 1, 3, 4)), ValueError, "even"),
    (lambda: from_blocks_2x2(torch.ones(3, 4), (1, 1, 4, 4)), ValueError, "rows"),
    (lambda: from_blocks_2x2(torch.ones(4, 4), (1, 4, 4)), TypeError, "shape"),
    (lambda: pca_2x2(torch.ones(1, 1, 4, 4), 5), ValueError, "k"),
    (lambda: pca_reconstruct(torch.ones(1, 2, 4, 4), torch.zeros(4), torch.zeros(4, 1)), ValueError, "mean"),
    (lambda: pool_reconstruct(torch.ones(1, 1, 4, 4), "lp"), ValueError, "mode"),
    (lambda: relative_error(torch.ones(2), torch.ones(3)), ValueError, "shape"),
    (lambda: fit_affine_decoder(torch.ones(4), torch.ones(4, 1)), ValueError, "features"),
    (lambda: fit_affine_decoder(torch.ones(4, 2), torch.ones(4, 1, dtype=torch.int64)), ValueError, "targets"),
    (lambda: fit_affine_decoder(torch.ones(4, 2), torch.ones(3, 1)), ValueError, "rows"),
    (lambda: fit_affine_decoder(torch.ones(4, 2), torch.ones(4, 1), rank=2), ValueError, "rank"),
    (lambda: fit_affine_decoder(torch.ones(4, 2), torch.ones(4, 1), rank=1.0), TypeError, "rank"),
    (lambda: relative_error(torch.zeros(2), torch.ones(2)), ValueError, "zeros"),
])
def test_bad_arguments_are_refused_by_name(call, error, name):
    with pytest.raises(error, match=name):
        call()
