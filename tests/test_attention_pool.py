"""Attention pooling: the same numbers as ``nn.MultiheadAttention`` with the same
weights, CLIP's set-up by hand, masks, permutation invariance, gradients, and
every refusal."""

import math

import pytest
import torch
from torch import nn

from poolkit.layers import attention_pool
from poolkit.nn import AttentionPool


def mha_like(pool):
    """An ``nn.MultiheadAttention`` holding the pool's weights (same names and layout)."""
    mha = nn.MultiheadAttention(pool.embed_dim, pool.num_heads, batch_first=True,
                                bias=pool.in_proj_bias is not None)
    mha.load_state_dict({k: v for k, v in pool.state_dict().items() if k.startswith(("in_proj", "out_proj"))})
    return mha.double()


def make(seed=0, **kwargs):
    torch.manual_seed(seed)
    return AttentionPool(**kwargs).double()


@pytest.mark.parametrize("heads, queries, bias", [(1, 1, True), (2, 3, True), (4, 2, False)])
def test_learned_queries_equal_multihead_attention(heads, queries, bias):
    pool = make(embed_dim=8, num_heads=heads, num_queries=queries, bias=bias)
    mha = mha_like(pool)
    x = torch.randn(3, 7, 8, dtype=torch.float64)
    got, weights = pool(x, need_weights=True)
    seeds = pool.seeds.unsqueeze(0).expand(3, -1, -1)
    expected, expected_weights = mha(seeds, x, x, need_weights=True, average_attn_weights=False)
    assert got.shape == (3, queries, 8) and weights.shape == (3, heads, queries, 7)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, heads, queries, dtype=torch.float64))


def test_key_padding_mask_equals_multihead_attention_and_dropping_the_tokens():
    pool = make(embed_dim=6, num_heads=2, num_queries=2)
    mha = mha_like(pool)
    x = torch.randn(2, 5, 6, dtype=torch.float64)
    mask = torch.tensor([[False, False, True, False, True], [False] * 5])
    seeds = pool.seeds.unsqueeze(0).expand(2, -1, -1)
    expected, _ = mha(seeds, x, x, key_padding_mask=mask)
    torch.testing.assert_close(pool(x, key_padding_mask=mask), expected)
    torch.testing.assert_close(pool(x, key_padding_mask=mask)[0], pool(x[0, [0, 1, 3]]))


def test_mean_query_with_prepended_query_and_positions_is_clip_attention_pooling():
    pool = make(embed_dim=8, num_heads=2, query="mean", prepend_query=True, num_positions=9, output_dim=5)
    feature_map = torch.randn(2, 8, 3, 3, dtype=torch.float64)
    # CLIP's recipe, written out: tokens (HW+1) N C with the mean first, plus positions, query = token 0.
    t = feature_map.flatten(2).permute(2, 0, 1)
    t = torch.cat([t.mean(0, keepdim=True), t]) + pool.positional_embedding[:, None, :]
    w_q, w_k, w_v = pool.in_proj_weight.chunk(3)
    b_q, b_k, b_v = pool.in_proj_bias.chunk(3)
    expected, _ = nn.functional.multi_head_attention_forward(
        t[:1], t, t, 8, 2, None, torch.cat([b_q, b_k, b_v]), None, None, False, 0.0,
        pool.out_proj.weight, pool.out_proj.bias, use_separate_proj_weight=True,
        q_proj_weight=w_q, k_proj_weight=w_k, v_proj_weight=w_v, need_weights=False)
    got, weights = pool(feature_map, need_weights=True)
    assert got.shape == (2, 1, 5) and weights.shape == (2, 2, 1, 10)
    torch.testing.assert_close(got, expected.transpose(0, 1))


def test_the_functional_with_the_mean_query():
    torch.manual_seed(3)
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    w_in, b_in = torch.randn(18, 6, dtype=torch.float64), torch.randn(18, dtype=torch.float64)
    w_out, b_out = torch.randn(6, 6, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    got = attention_pool(x, "mean", 3, w_in, b_in, w_out, b_out)
    explicit = attention_pool(x, x.mean(1, keepdim=True), 3, w_in, b_in, w_out, b_out)
    torch.testing.assert_close(got, explicit)
    mask = torch.tensor([[False, True, False, False], [False, False, False, True]])
    masked = attention_pool(x, "mean", 3, w_in, b_in, w_out, b_out, key_padding_mask=mask)
    torch.testing.assert_close(masked[0], attention_pool(x[0, [0, 2, 3]], "mean", 3, w_in, b_in, w_out, b_out))
    unbatched, weights = attention_pool(x[1], "mean", 3, w_in, b_in, w_out, b_out, need_weights=True)
    torch.testing.assert_close(unbatched, got[1])
    assert weights.shape == (3, 1, 4)


def test_a_single_token_returns_its_projected_value():
    pool = make(embed_dim=4, num_heads=2, num_queries=3)
    x = torch.randn(2, 1, 4, dtype=torch.float64)
    w_v, b_v = pool.in_proj_weight.chunk(3)[2], pool.in_proj_bias.chunk(3)[2]
    value = pool.out_proj(nn.functional.linear(x, w_v, b_v))
    torch.testing.assert_close(pool(x), value.expand(2, 3, 4))


@pytest.mark.parametrize("query", ["learned", "mean"])
def test_without_positions_the_pooling_ignores_the_order_of_tokens(query):
    pool = make(embed_dim=8, num_heads=2, query=query, prepend_query=query == "mean")
    x = torch.randn(3, 10, 8, dtype=torch.float64)
    for seed in range(3):
        order = torch.randperm(10, generator=torch.Generator().manual_seed(seed))
        torch.testing.assert_close(pool(x[:, order]), pool(x))
    positioned = make(embed_dim=8, num_heads=2, num_positions=10)
    order = torch.arange(9, -1, -1)
    assert not torch.allclose(positioned(x[:, order]), positioned(x))


def test_a_feature_map_is_read_as_row_major_tokens():
    pool = make(embed_dim=4, num_heads=1, num_queries=2)
    fmap = torch.randn(2, 4, 3, 5, dtype=torch.float64)
    torch.testing.assert_close(pool(fmap), pool(fmap.permute(0, 2, 3, 1).reshape(2, 15, 4)))


def test_gradcheck_to_tokens_queries_and_weights():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 2, dtype=torch.float64, generator=g, requires_grad=True)
    q = torch.randn(2, 2, dtype=torch.float64, generator=g, requires_grad=True)
    w_in = torch.randn(6, 2, dtype=torch.float64, generator=g, requires_grad=True)
    w_out = torch.randn(3, 2, dtype=torch.float64, generator=g, requires_grad=True)
    b_in = torch.randn(6, dtype=torch.float64, generator=g, requires_grad=True)
    mask = torch.tensor([[False, True, False], [False] * 3])
    assert torch.autograd.gradcheck(
        lambda *a: attention_pool(a[0], a[1], 2, a[2], a[3], a[4], None, key_padding_mask=mask), (x, q, w_in, b_in, w_out))
    assert torch.autograd.gradcheck(
        lambda a, w: attention_pool(a, "mean", 2, w, None, w_out.detach(), None, prepend_query=True), (x, w_in))


def test_module_trains_in_float32_and_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    pool = AttentionPool(8, 2, query="mean", prepend_query=True, num_positions=4)
    out = pool(torch.randn(3, 8, 2, 2))
    assert out.dtype == torch.float32
    out.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pool.parameters())
    names = {n for n, _ in pool.named_parameters()}
    assert names == {"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias", "positional_embedding"}
    assert "query='mean'" in repr(pool)


W_IN, W_OUT = torch.zeros(12, 4), torch.zeros(4, 4)
X = torch.zeros(2, 3, 4)


@pytest.mark.parametrize("call, error, words", [
    (lambda: attention_pool([1.0], "mean", 1, W_IN, None, W_OUT, None), TypeError, "input"),
    (lambda: attention_pool(X.long(), "mean", 1, W_IN, None, W_OUT, None), TypeError, "floating"),
    (lambda: attention_pool(torch.zeros(4), "mean", 1, W_IN, None, W_OUT, None), ValueError, "(N, L, E)"),
    (lambda: attention_pool(torch.zeros(2, 0, 4), "mean", 1, W_IN, None, W_OUT, None), ValueError, "batch size"),
    (lambda: attention_pool(X, "max", 1, W_IN, None, W_OUT, None), ValueError, "query='max'"),
    (lambda: attention_pool(X, 3, 1, W_IN, None, W_OUT, None), TypeError, "query=3"),
    (lambda: attention_pool(X, torch.zeros(2, 5), 1, W_IN, None, W_OUT, None), ValueError, "shape (2, 5)"),
    (lambda: attention_pool(X, torch.zeros(3, 1, 4), 1, W_IN, None, W_OUT, None), ValueError, "shape (3, 1, 4)"),
    (lambda: attention_pool(X, torch.zeros(1, 4).double(), 1, W_IN, None, W_OUT, None), TypeError, "float64"),
    (lambda: attention_pool(X, "mean", 3, W_IN, None, W_OUT, None), ValueError, "num_heads=3"),
    (lambda: attention_pool(X, "mean", 0, W_IN, None, W_OUT, None), ValueError, "num_heads=0"),
    (lambda: attention_pool(X, "mean", 1.0, W_IN, None, W_OUT, None), TypeError, "num_heads=1.0"),
    (lambda: attention_pool(X, "mean", 1, torch.zeros(8, 4), None, W_OUT, None), ValueError, "in_proj_weight"),
    (lambda: attention_pool(X, "mean", 1, W_IN, torch.zeros(4), W_OUT, None), ValueError, "in_proj_bias"),
    (lambda: attention_pool(X, "mean", 1, W_IN.double(), None, W_OUT, None), TypeError, "in_proj_weight"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, torch.zeros(4, 5), None), ValueError, "out_proj_weight"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, torch.zeros(4), None), TypeError, "out_proj_weight"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, W_OUT, torch.zeros(3)), ValueError, "out_proj_bias"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, W_OUT, None, key_padding_mask=torch.zeros(2, 3)),
     TypeError, "key_padding_mask"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, W_OUT, None, key_padding_mask=torch.zeros(2, 4).bool()),
     ValueError, "key_padding_mask of shape (2, 4)"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, W_OUT, None, key_padding_mask=torch.ones(2, 3).bool()),
     ValueError, "every token of sample 0"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, W_OUT, None, prepend_query=1), TypeError, "prepend_query"),
    (lambda: attention_pool(X, "mean", 1, W_IN, None, W_OUT, None, need_weights="yes"), TypeError, "need_weights"),
    (lambda: AttentionPool(0), ValueError, "embed_dim=0"),
    (lambda: AttentionPool(6, 4), ValueError, "num_heads=4"),
    (lambda: AttentionPool(4, num_queries=0), ValueError, "num_queries=0"),
    (lambda: AttentionPool(4, query="max"), ValueError, "query='max'"),
    (lambda: AttentionPool(4, num_queries=2, query="mean"), ValueError, "num_queries=2"),
    (lambda: AttentionPool(4, prepend_query="no"), TypeError, "prepend_query"),
    (lambda: AttentionPool(4, num_positions=0), ValueError, "num_positions=0"),
    (lambda: AttentionPool(4, output_dim=1.5), TypeError, "output_dim=1.5"),
    (lambda: AttentionPool(4, bias=None), TypeError, "bias"),
    (lambda: AttentionPool(4)(torch.zeros(2, 3, 2, 2)), ValueError, "embed_dim=4 channels"),
    (lambda: AttentionPool(4)(torch.zeros(2, 3, 5)), ValueError, "embed_dim=4 entries"),
    (lambda: AttentionPool(4, num_positions=4)(torch.zeros(2, 3, 4)), ValueError, "num_positions=4"),
])
def test_refusals_name_the_parameter_and_value(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), str(info.value)


def test_scores_are_scaled_by_the_root_of_the_head_size():
    # One head, identity projections: the weights are softmax(q . k / sqrt(E)).
    e = 4
    eye = torch.eye(e, dtype=torch.float64)
    x = torch.randn(1, 3, e, dtype=torch.float64)
    q = torch.randn(1, e, dtype=torch.float64)
    _, weights = attention_pool(x, q, 1, torch.cat([eye, eye, eye]), None, eye, None, need_weights=True)
    torch.testing.assert_close(weights[0, 0, 0], ((x[0] @ q[0]) / math.sqrt(e)).softmax(0))
