"""The learned-pooling experiment's models: shapes, parameter and multiply-add
counts, the CLS-token encoder, attention maps, and refusals."""

import pytest
import torch
from torch import nn

from poolkit import nn as pnn
from poolkit.lab.learned_pooling import (HEADS, ClsTokenEncoder, attention_map, attention_multiply_adds, backbone,
                                         cls_row_multiply_adds, cls_row_output, count_parameters, feature_maps, flatten_net, head_multiply_adds, head_net,
                                         pooling_head, pooling_net)


def test_backbone_halves_the_image_and_keeps_c2_channels():
    assert backbone()(torch.zeros(2, 1, 8, 8)).shape == (2, 16, 4, 4)
    assert backbone((4, 6))(torch.zeros(1, 1, 12, 12)).shape == (1, 6, 6, 6)


@pytest.mark.parametrize("name", HEADS)
def test_every_net_maps_images_to_class_scores_and_heads_to_vectors(name):
    torch.manual_seed(0)
    net = pooling_net(name)
    assert net(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    assert net[1](torch.rand(3, 16, 4, 4)).shape == (3, 16)
    assert head_net(name)(torch.rand(2, 16, 4, 4)).shape == (2, 10)


def test_head_parameter_counts():
    e, l = 16, 16
    counts = {name: count_parameters(pooling_head(name, e, l)) for name in HEADS}
    mha = 3 * e * e + 3 * e + e * e + e
    assert counts["GAP"] == counts["max"] == 0 and counts["GeM"] == 1
    assert counts["PMA"] == mha + e                        # one learned query
    assert counts["CLIP"] == mha + (l + 1) * e             # positions for the mean token and the 16 tokens
    ff = 32
    assert counts["CLS"] == e + mha + (e * ff + ff) + (ff * e + e) + 4 * e     # token, attention, FF, 2 norms


@pytest.mark.parametrize("name", HEADS)
def test_counted_multiply_adds_match_their_formulas(name):
    torch.manual_seed(0)
    head = pooling_head(name, 16, 16)
    head.eval()
    fused = 2 * 17 * 17 * 16 if name == "CLS" else 0        # the fused attention the counter does not see
    assert head_multiply_adds(head, 16, 4, 4) == attention_multiply_adds(name, 16, 16) - fused
    assert not head.training                                 # the mode is restored


def test_the_cls_token_encoder_is_the_first_output_of_one_encoder_layer():
    torch.manual_seed(1)
    enc = ClsTokenEncoder(8, 2, 16).eval()
    fmap = torch.randn(2, 8, 3, 3)
    tokens = torch.cat([enc.cls.expand(2, -1, -1), fmap.flatten(2).transpose(1, 2)], 1)
    torch.testing.assert_close(enc(fmap), enc.layer(tokens)[:, 0])
    order = torch.randperm(9)
    shuffled = fmap.flatten(2)[..., order].unflatten(2, (3, 3))
    torch.testing.assert_close(enc(shuffled), enc(fmap), rtol=1e-5, atol=1e-5)


def test_the_cls_row_alone_gives_the_encoder_output():
    torch.manual_seed(2)
    enc = ClsTokenEncoder(16, 2, 32).double()
    fmap = torch.randn(3, 16, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(cls_row_output(enc, fmap), enc(fmap), rtol=1e-10, atol=1e-10)
    with torch.no_grad():
        enc.layer.linear2.weight.mul_(3.0)                   # a changed block changes both the same way
    torch.testing.assert_close(cls_row_output(enc, fmap), enc(fmap), rtol=1e-10, atol=1e-10)


def test_cls_row_multiply_adds():
    e, n, f = 16, 16, 32
    t = n + 1
    assert cls_row_multiply_adds(e, n, f) == 2 * t * e * e + 2 * e * e + 2 * t * e + 2 * e * f == 10_784
    # the row's cost is the full layer's minus the work on the other T - 1 rows
    rest = (t - 1) * (2 * e * e + 2 * t * e + 2 * e * f)
    assert cls_row_multiply_adds(e, n, f) == attention_multiply_adds("CLS", e, n, f) - rest


def test_attention_maps_sum_to_one_with_the_mean_token():
    torch.manual_seed(2)
    fmap = torch.rand(3, 16, 4, 4)
    for name in ("PMA", "CLIP"):
        maps, extra = attention_map(pooling_head(name, 16, 16), fmap)
        assert maps.shape == (3, 2, 4, 4) and extra.shape == (3, 2)
        torch.testing.assert_close(maps.sum((-1, -2)) + extra, torch.ones(3, 2))
        assert (extra == 0).all() == (name == "PMA")


def test_flatten_net_and_feature_maps():
    torch.manual_seed(3)
    net = flatten_net()
    x = torch.rand(4, 1, 8, 8)
    assert net(x).shape == (4, 10)
    maps = feature_maps(net, x)
    assert maps.shape == (4, 16, 4, 4) and not maps.requires_grad
    torch.testing.assert_close(maps, net[0](x))


def test_the_gem_head_learns_its_order():
    head = pooling_head("GeM", 16, 16)
    assert isinstance(head.pool, pnn.GeM) and isinstance(head.pool.p, nn.Parameter) and head.pool.p.item() == 3.0


@pytest.mark.parametrize("call, error, words", [
    (lambda: backbone(8), TypeError, "channels=8"),
    (lambda: backbone((8, 0)), ValueError, "channels=0"),
    (lambda: pooling_head("mean", 16, 16), ValueError, "name='mean'"),
    (lambda: pooling_head("GAP", 0, 16), ValueError, "channels=0"),
    (lambda: pooling_head("CLIP", 16, 1.5), TypeError, "positions=1.5"),
    (lambda: pooling_net("GAP", image_size=7), ValueError, "image_size=7"),
    (lambda: pooling_net("GAP", classes=0), ValueError, "classes=0"),
    (lambda: flatten_net(image_size=9), ValueError, "image_size=9"),
    (lambda: head_net("PMA", classes=-1), ValueError, "classes=-1"),
    (lambda: ClsTokenEncoder(6, 4), ValueError, "num_heads=4"),
    (lambda: ClsTokenEncoder(6, 2, 0), ValueError, "dim_feedforward=0"),
    (lambda: count_parameters(3), TypeError, "module"),
    (lambda: head_multiply_adds("GAP", 16, 4, 4), TypeError, "head"),
    (lambda: head_multiply_adds(pooling_head("GAP", 16, 16), 16, 0, 4), ValueError, "height=0"),
    (lambda: attention_multiply_adds("avg", 16, 16), ValueError, "name='avg'"),
    (lambda: attention_multiply_adds("CLS", 16, 0), ValueError, "tokens=0"),
    (lambda: attention_map(pooling_head("GAP", 16, 16), torch.zeros(1, 16, 4, 4)), TypeError, "head"),
    (lambda: feature_maps(nn.Linear(2, 2), torch.zeros(1, 2)), TypeError, "net"),
    (lambda: cls_row_output(pooling_head("PMA", 16, 16), torch.zeros(1, 16, 4, 4)), TypeError, "encoder"),
    (lambda: cls_row_output(ClsTokenEncoder(16), torch.zeros(16, 4, 4)), ValueError, "fmap"),
    (lambda: cls_row_multiply_adds(16, 0), ValueError, "tokens=0"),
    (lambda: cls_row_multiply_adds(16, 16, 2.5), TypeError, "dim_feedforward=2.5"),
])
def test_refusals(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), str(info.value)
