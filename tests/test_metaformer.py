"""The tiny MetaFormer: PoolFormer's mixer, the attention mixer, their costs and the refusals."""

import pytest
import torch
from torch import nn

from poolkit.lab.metaformer import (AttentionMixer, MetaFormerBlock, PatchEmbedding, PoolingMixer, PositionEmbedding,
                                    attention_flops, count_flops, make_mixer, metaformer, metaformer_flops,
                                    pooling_mixer_flops)


def test_pooling_mixer_is_the_stride_one_average_without_padding_minus_the_input():
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    assert torch.allclose(PoolingMixer(3)(x), pool(x) - x)
    # Naive: the mean over the window's elements inside the map, at one corner and one inner point.
    out = PoolingMixer(3)(x)
    assert torch.allclose(out[..., 0, 0], x[..., :2, :2].mean((-2, -1)) - x[..., 0, 0])
    assert torch.allclose(out[..., 2, 3], x[..., 1:4, 2:5].mean((-2, -1)) - x[..., 2, 3])
    assert list(PoolingMixer(5).parameters()) == []


@pytest.mark.parametrize("size", [1, 3, 5])
def test_pooling_mixer_is_zero_on_a_constant_map(size):
    x = torch.full((1, 2, 4, 7), 2.5)
    assert torch.equal(PoolingMixer(size)(x), torch.zeros_like(x))


def test_attention_mixer_matches_a_loop_over_tokens_and_permutes_with_them():
    torch.manual_seed(0)
    mixer = AttentionMixer(4).double()
    x = torch.randn(1, 4, 2, 3, dtype=torch.float64)
    tokens = x.flatten(2)[0].T                                             # (6, 4)
    q, k, v = mixer.qkv(tokens).chunk(3, dim=-1)
    expected = torch.stack([mixer.proj(torch.softmax(q[i] @ k.T / 2, 0) @ v) for i in range(6)])
    assert torch.allclose(mixer(x).flatten(2)[0].T, expected)
    order = torch.randperm(6)
    permuted = x.flatten(2)[..., order].reshape(1, 4, 2, 3)
    assert torch.allclose(mixer(permuted).flatten(2), mixer(x).flatten(2)[..., order])
    weights = mixer.attention_weights(x)
    assert weights.shape == (1, 6, 6) and torch.allclose(weights.sum(-1), torch.ones(1, 6, dtype=torch.float64))
    assert torch.allclose(weights[0, 2], torch.softmax(q[2] @ k.T / 2, 0))


@pytest.mark.parametrize("side, dim", [(2, 3), (4, 8), (5, 16)])
def test_attention_flops_is_what_the_flop_counter_counts(side, dim):
    mixer = AttentionMixer(dim)
    assert count_flops(mixer, torch.randn(1, dim, side, side)) == attention_flops(side * side, dim)


def test_pooling_mixer_flops_grow_linearly_and_the_counter_sees_none():
    assert pooling_mixer_flops(4, 4, 8) * 4 == pooling_mixer_flops(8, 8, 8) == 8 * 8 * 8 * 10
    assert count_flops(PoolingMixer(3), torch.randn(1, 8, 4, 4)) == 0


@pytest.mark.parametrize("kind", ["pool", "attention", "identity"])
@pytest.mark.parametrize("kwargs", [dict(), dict(image_size=12, dim=6, depth=3, patch_size=3, classes=4, mlp_ratio=3)])
def test_metaformer_flops_is_the_counter_plus_the_pooling_mixers(kind, kwargs):
    model = metaformer(kind, **kwargs)
    size = kwargs.get("image_size", 8)
    counted = count_flops(model, torch.zeros(1, 1, size, size))
    side = size // kwargs.get("patch_size", 2)
    hidden = sum(pooling_mixer_flops(side, side, kwargs.get("dim", 16)) for _ in range(kwargs.get("depth", 2)))
    assert metaformer_flops(kind, **kwargs) == counted + (hidden if kind == "pool" else 0)


def test_metaformer_classifies_any_batch_and_its_pieces_fit():
    for kind in ("pool", "attention", "identity"):
        model = metaformer(kind, image_size=8, dim=6, depth=2, patch_size=2)
        assert model(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    embed = PatchEmbedding(5, 2)
    conv = nn.Conv2d(1, 5, 2, stride=2)
    with torch.no_grad():
        conv.weight.copy_(embed.proj.weight.reshape(5, 1, 2, 2))
        conv.bias.copy_(embed.proj.bias)
    x = torch.randn(2, 1, 6, 4)
    assert torch.allclose(embed(x), conv(x), atol=1e-6)
    block = MetaFormerBlock(4, nn.Identity())
    assert block(torch.randn(2, 4, 3, 3)).shape == (2, 4, 3, 3)
    with_position = sum(p.numel() for p in metaformer("pool", dim=6).parameters())
    without = sum(p.numel() for p in metaformer("pool", dim=6, position=False).parameters())
    assert with_position - without == 6 * 4 * 4


@pytest.mark.parametrize("call, error, name", [
    (lambda: PoolingMixer(2), ValueError, "pool_size"),
    (lambda: PoolingMixer(0), ValueError, "pool_size"),
    (lambda: PoolingMixer(3.0), TypeError, "pool_size"),
    (lambda: PoolingMixer()(torch.ones(2, 3)), ValueError, "input"),
    (lambda: AttentionMixer(0), ValueError, "dim"),
    (lambda: AttentionMixer(4)(torch.ones(1, 3, 2, 2)), ValueError, "channels"),
    (lambda: make_mixer("conv", 4), ValueError, "kind"),
    (lambda: MetaFormerBlock(4, "pool"), TypeError, "mixer"),
    (lambda: MetaFormerBlock(4, nn.Identity(), mlp_ratio=0), ValueError, "mlp_ratio"),
    (lambda: metaformer("pool", image_size=9, patch_size=2), ValueError, "image_size"),
    (lambda: metaformer("pool", position=1), TypeError, "position"),
    (lambda: metaformer("pool", depth=0), ValueError, "depth"),
    (lambda: PositionEmbedding(2, 3, 3)(torch.ones(1, 2, 4, 4)), ValueError, "tokens"),
    (lambda: PatchEmbedding(4, 2)(torch.ones(1, 2, 4, 4)), ValueError, "channels"),
    (lambda: count_flops("model", torch.ones(1)), TypeError, "module"),
    (lambda: attention_flops(0, 4), ValueError, "tokens"),
    (lambda: AttentionMixer(4).attention_weights(torch.ones(1, 3, 2, 2)), ValueError, "channels"),
    (lambda: metaformer_flops("conv"), ValueError, "mixer"),
    (lambda: metaformer_flops("pool", image_size=9), ValueError, "image_size"),
    (lambda: pooling_mixer_flops(4, 4, 2, pool_size=1.5), TypeError, "pool_size"),
])
def test_bad_arguments_are_refused_by_name(call, error, name):
    with pytest.raises(error, match=name):
        call()
