r"""Attention pooling: a weighted mean of tokens, with weights computed from the data.

A set or sequence of :math:`L` tokens :math:`x_1, \dots, x_L \in \mathbb{R}^E`
is pooled to :math:`Q` vectors, one per query :math:`s_1, \dots, s_Q`, by
multi-head attention: with :math:`h` heads of :math:`d = E/h` dimensions, head
:math:`j` projects the queries, keys and values,
:math:`q = W^Q_j s + b^Q_j`, :math:`k_i = W^K_j x_i + b^K_j`,
:math:`v_i = W^V_j x_i + b^V_j`, and takes

.. math::

    o_j = \sum_{i=1}^{L} a_i v_i, \qquad
    a = \mathrm{softmax}_i\left(\frac{q \cdot k_i}{\sqrt{d}}\right);

the heads are concatenated and projected, :math:`W^O [o_1; \dots; o_h] + b^O`.
This is exactly what ``torch.nn.MultiheadAttention`` computes with the query
:math:`s` and the tokens as keys and values (no dropout, no extra key/value
biases, no zero attention), with its weights laid out the same way
(``in_proj_weight`` stacks :math:`W^Q, W^K, W^V`).

Two choices of query:

* **learned seed vectors** (``query="learned"``): the core of the pooling by
  multi-head attention (PMA) of the Set Transformer (Lee et al., ICML 2019),
  :math:`\mathrm{Multihead}(S, Z, Z)` with :math:`Q` learned seeds :math:`S`.
  The paper's PMA wraps it in a multi-head attention block and a feed-forward
  layer, :math:`\mathrm{PMA}_k(Z) = \mathrm{MAB}(S, \mathrm{rFF}(Z))` with
  :math:`\mathrm{MAB}(X, Y) = \mathrm{LayerNorm}(H + \mathrm{rFF}(H))` and
  :math:`H = \mathrm{LayerNorm}(X + \mathrm{Multihead}(X, Y, Y))`; poolkit
  offers only the attention, without the row-wise feed-forward layers, the
  residual connections and the layer norms;
* **the mean token** (``query="mean"``): CLIP's attention pooling of its
  ResNet image encoders (``AttentionPool2d``; Radford et al., ICML 2021),
  which queries with the mean of the tokens, prepends that mean token to the
  keys and values (``prepend_query=True``) and adds a learned positional
  embedding to all the tokens, the mean token included (``num_positions``
  in :class:`poolkit.nn.AttentionPool`). CLIP's output projection may change
  the width (``output_dim``), as here. CLIP's separate query, key and value
  projections are the three blocks of ``in_proj_weight`` here.

Without a positional embedding the pooling is invariant to the order of the
tokens, and it takes sets of any size, with a key padding mask for sets of
different sizes in one batch.
"""

import math

import torch
from torch import nn

from ._arguments import check_bool, check_int

QUERIES = ("learned", "mean")


def _check_tensor(op, name, value, shape, dtype):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{op}: {name} must be a torch.Tensor, got {name}={value!r:.60} ({type(value).__name__})")
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {name} of shape {tuple(value.shape)}")
    if value.dtype != dtype:
        raise TypeError(f"{op}: {name} must have the input's dtype {dtype}, got {value.dtype}")


def _check_tokens(op, input):
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}: input must be a torch.Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: input must have a floating dtype, got {input.dtype}")
    if input.dim() not in (2, 3):
        raise ValueError(f"{op}: input must be 2-D (L, E) or 3-D (N, L, E) tokens, "
                         f"got {input.dim()}-D input of shape {tuple(input.shape)}")
    batched = input.dim() == 3
    if 0 in input.shape[-2:]:
        raise ValueError(f"{op}: only the batch size may be zero, got input of shape {tuple(input.shape)}")
    return (input if batched else input.unsqueeze(0)), batched


def _check_mask(op, key_padding_mask, x, batched):
    """``None`` or a bool ``(N, L)`` (``(L,)`` unbatched) mask, True where a token is padding."""
    if key_padding_mask is None:
        return None
    n, length = x.shape[:2]
    expected = (n, length) if batched else (length,)
    if not isinstance(key_padding_mask, torch.Tensor) or key_padding_mask.dtype != torch.bool:
        raise TypeError(f"{op}: key_padding_mask must be a bool tensor or None, got "
                        f"{key_padding_mask!r:.60}")
    if tuple(key_padding_mask.shape) != expected:
        raise ValueError(f"{op}: key_padding_mask must have shape {expected}, got key_padding_mask of shape "
                         f"{tuple(key_padding_mask.shape)}")
    return key_padding_mask if batched else key_padding_mask.unsqueeze(0)


def masked_mean(tokens, mask=None):
    """The mean of ``(N, L, E)`` tokens over ``L``, over the tokens that ``mask`` (``(N, L)``, True:
    padding) does not hide; ``(N, 1, E)``."""
    if mask is None:
        return tokens.mean(1, keepdim=True)
    keep = (~mask).to(tokens.dtype).unsqueeze(-1)
    return (tokens * keep).sum(1, keepdim=True) / keep.sum(1, keepdim=True)


def attention_pool(input, query, num_heads, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias,
                   key_padding_mask=None, prepend_query=False, need_weights=False):
    r"""Pool ``L`` tokens to ``Q`` vectors by multi-head attention from ``Q`` queries.

    With the tokens as keys and values, each head weighs the projected values by
    :math:`\mathrm{softmax}(q \cdot k_i / \sqrt{d})` over the tokens :math:`i`;
    the heads are concatenated and projected (the module docstring of
    ``poolkit._attention`` gives the formula and the sources: the Set
    Transformer's PMA without its feed-forward layers and layer norms, and
    CLIP's attention pooling). The result equals
    ``nn.MultiheadAttention(E, num_heads, batch_first=True)`` with these
    weights, called as ``mha(query, keys, keys)``, up to rounding.

    Args:
        input: tokens ``(N, L, E)`` or ``(L, E)``, floating point.
        query: ``"mean"`` (the mean of each sample's tokens, one query), or a
            tensor of queries ``(Q, E)``, shared by the batch, or ``(N, Q, E)``.
        num_heads: number of heads, a divisor of ``E``.
        in_proj_weight: ``(3E, E)``, the query, key and value projections stacked.
        in_proj_bias: ``(3E,)`` or None.
        out_proj_weight: ``(E_out, E)``, the output projection.
        out_proj_bias: ``(E_out,)`` or None.
        key_padding_mask: None, or a bool ``(N, L)`` (``(L,)`` unbatched) tensor,
            True for the tokens to ignore (PyTorch's convention), so that sets of
            different sizes can share a batch. The mean query averages only the
            tokens that are not masked.
        prepend_query: the queries also join the keys and values, before the
            tokens (CLIP's attention pooling does this with its mean token).
        need_weights: also return the attention weights.

    Returns:
        ``(N, Q, E_out)`` (or ``(Q, E_out)``); with ``need_weights``, also the
        weights ``(N, num_heads, Q, L')`` (without ``N`` for unbatched input),
        ``L' = L``, or ``Q + L`` with ``prepend_query`` (the queries first),
        each row summing to 1.

    Raises:
        TypeError: a tensor of the wrong kind or dtype, or a flag that is not a bool.
        ValueError: a tensor of the wrong shape, ``num_heads`` not dividing ``E``,
            an unknown ``query``, or a sample whose every token is masked
            (without ``prepend_query``, its weights would be undefined).
    """
    op = "attention_pool"
    x, batched = _check_tokens(op, input)
    n, length, embed = x.shape
    num_heads = check_int("num_heads", num_heads, minimum=1, op=op)
    if embed % num_heads:
        raise ValueError(f"{op}: num_heads must divide the embedding size {embed}, got num_heads={num_heads}")
    check_bool(op, "prepend_query", prepend_query)
    check_bool(op, "need_weights", need_weights)
    mask = _check_mask(op, key_padding_mask, x, batched)
    if mask is not None and not prepend_query and bool(mask.all(1).any()):
        raise ValueError(f"{op}: key_padding_mask hides every token of sample "
                         f"{int(mask.all(1).nonzero()[0])}; without prepend_query it would have nothing to attend to")
    _check_tensor(op, "in_proj_weight", in_proj_weight, (3 * embed, embed), x.dtype)
    if in_proj_bias is not None:
        _check_tensor(op, "in_proj_bias", in_proj_bias, (3 * embed,), x.dtype)
    if not isinstance(out_proj_weight, torch.Tensor) or out_proj_weight.dim() != 2:
        raise TypeError(f"{op}: out_proj_weight must be a 2-D tensor (E_out, E), got {out_proj_weight!r:.60}")
    out_dim = out_proj_weight.shape[0]
    _check_tensor(op, "out_proj_weight", out_proj_weight, (out_dim, embed), x.dtype)
    if out_proj_bias is not None:
        _check_tensor(op, "out_proj_bias", out_proj_bias, (out_dim,), x.dtype)

    if isinstance(query, str):
        if query != "mean":
            raise ValueError(f"{op}: query must be 'mean' or a tensor of queries, got query={query!r}")
        s = masked_mean(x, mask)
    elif isinstance(query, torch.Tensor):
        if query.dtype != x.dtype:
            raise TypeError(f"{op}: query must have the input's dtype {x.dtype}, got {query.dtype}")
        if query.dim() == 2 and query.shape[1] == embed and query.shape[0] > 0:
            s = query.unsqueeze(0).expand(n, -1, -1)
        elif query.dim() == 3 and query.shape[0] == n and query.shape[2] == embed and query.shape[1] > 0:
            s = query
        else:
            raise ValueError(f"{op}: query must have shape (Q, {embed}) or ({n}, Q, {embed}), "
                             f"got query of shape {tuple(query.shape)}")
    else:
        raise TypeError(f"{op}: query must be 'mean' or a tensor, got query={query!r:.60}")

    keys = torch.cat([s, x], 1) if prepend_query else x
    if mask is not None and prepend_query:
        mask = torch.cat([mask.new_zeros(n, s.shape[1]), mask], 1)
    w_q, w_k, w_v = in_proj_weight.chunk(3)
    b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
    head = embed // num_heads

    def heads(t, w, b):                                               # (N, T, E) -> (N, h, T, d)
        return nn.functional.linear(t, w, b).unflatten(-1, (num_heads, head)).transpose(1, 2)

    q, k, v = heads(s, w_q, b_q), heads(keys, w_k, b_k), heads(keys, w_v, b_v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(head)                # (N, h, Q, L')
    if mask is not None:
        scores = scores.masked_fill(mask[:, None, None, :], -math.inf)
    weights = scores.softmax(-1)
    pooled = (weights @ v).transpose(1, 2).flatten(2)                 # (N, Q, E)
    out = nn.functional.linear(pooled, out_proj_weight, out_proj_bias)
    if not batched:
        out, weights = out.squeeze(0), weights.squeeze(0)
    return (out, weights) if need_weights else out


class AttentionPool(nn.Module):
    r"""Attention pooling of tokens ``(N, L, E)`` or of a feature map ``(N, E, H, W)``.

    Pools to ``num_queries`` vectors with :func:`poolkit.layers.attention_pool`
    (the formula and sources are in its module's docstring). Two set-ups:

    * ``AttentionPool(E, h, num_queries=k)``: ``k`` learned seed vectors as
      queries, the attention of the Set Transformer's PMA (Lee et al., ICML
      2019) without its feed-forward layers, residual connections and layer
      norms. With no positional embedding it is invariant to the order of the
      tokens and takes any number of them.
    * ``AttentionPool(E, h, query="mean", prepend_query=True, num_positions=H * W)``:
      CLIP's ``AttentionPool2d`` (Radford et al., ICML 2021): the mean token is
      the query and is prepended to the keys and values, and a learned
      positional embedding of ``H * W + 1`` rows (row 0 for the mean token) is
      added to all of them. Its output projection may change the width
      (``output_dim``). Initialisation and anything around the pooling in
      CLIP's encoders are not reproduced.

    A feature map ``(N, E, H, W)`` is read as ``H * W`` tokens in row-major
    order. Three-dimensional input is always tokens ``(N, L, E)``; two-dimensional
    input is one sample's tokens ``(L, E)``.

    The parameters have ``nn.MultiheadAttention``'s names and layout
    (``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``,
    ``out_proj.bias``) and its initialisation (Xavier-uniform input projection,
    zero biases); the seeds (``seeds``, ``(num_queries, E)``) and the
    positional embedding (``positional_embedding``) start as normal samples
    with standard deviation :math:`E^{-1/2}`.

    Args:
        embed_dim: ``E``, the token size.
        num_heads: heads; must divide ``embed_dim``.
        num_queries: number of learned seeds (``query="learned"``); 1 for ``"mean"``.
        query: ``"learned"`` or ``"mean"``.
        prepend_query: prepend the queries to the keys and values.
        num_positions: None for no positional embedding, or the number of tokens
            (every input must then have exactly that many).
        output_dim: width of the output projection; None means ``embed_dim``.
        bias: biases in the projections.

    Shape:
        ``forward(input, key_padding_mask=None, need_weights=False)`` returns
        ``(N, num_queries, output_dim)`` (``(num_queries, output_dim)`` for
        ``(L, E)`` input), and with ``need_weights`` the attention weights
        ``(N, num_heads, num_queries, L')``.
    """

    def __init__(self, embed_dim, num_heads=1, num_queries=1, query="learned", prepend_query=False,
                 num_positions=None, output_dim=None, bias=True):
        super().__init__()
        op = "AttentionPool"
        self.embed_dim = check_int("embed_dim", embed_dim, minimum=1, op=op)
        self.num_heads = check_int("num_heads", num_heads, minimum=1, op=op)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"{op}: num_heads must divide embed_dim={self.embed_dim}, got num_heads={num_heads}")
        self.num_queries = check_int("num_queries", num_queries, minimum=1, op=op)
        if query not in QUERIES:
            raise ValueError(f"{op}: query must be 'learned' or 'mean', got query={query!r}")
        if query == "mean" and self.num_queries != 1:
            raise ValueError(f"{op}: the mean query is one query, got num_queries={num_queries} with query='mean'")
        self.query = query
        check_bool(op, "prepend_query", prepend_query)
        check_bool(op, "bias", bias)
        self.prepend_query = prepend_query
        self.num_positions = None if num_positions is None else check_int("num_positions", num_positions,
                                                                          minimum=1, op=op)
        self.output_dim = self.embed_dim if output_dim is None else check_int("output_dim", output_dim,
                                                                              minimum=1, op=op)
        e = self.embed_dim
        self.in_proj_weight = nn.Parameter(torch.empty(3 * e, e))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * e)) if bias else None
        self.out_proj = nn.Linear(e, self.output_dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)
        if bias:
            nn.init.zeros_(self.out_proj.bias)
        self.seeds = nn.Parameter(torch.randn(self.num_queries, e) / e ** 0.5) if query == "learned" else None
        if self.num_positions is not None:
            rows = self.num_positions + (1 if query == "mean" else 0)
            self.positional_embedding = nn.Parameter(torch.randn(rows, e) / e ** 0.5)
        else:
            self.positional_embedding = None

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, num_queries={self.num_queries}, "
                f"query={self.query!r}, prepend_query={self.prepend_query}, num_positions={self.num_positions}, "
                f"output_dim={self.output_dim}")

    def forward(self, input, key_padding_mask=None, need_weights=False):
        op = "AttentionPool"
        if isinstance(input, torch.Tensor) and input.dim() == 4:
            if input.shape[1] != self.embed_dim:
                raise ValueError(f"{op}: a feature map must have embed_dim={self.embed_dim} channels, "
                                 f"got input of shape {tuple(input.shape)}")
            input = input.flatten(2).transpose(1, 2)                  # (N, E, H, W) -> (N, H W, E)
        x, batched = _check_tokens(op, input)
        if x.shape[2] != self.embed_dim:
            raise ValueError(f"{op}: tokens must have embed_dim={self.embed_dim} entries, "
                             f"got input of shape {tuple(input.shape)}")
        mask = _check_mask(op, key_padding_mask, x, batched)
        query = self.seeds.to(x.dtype) if self.query == "learned" else "mean"
        if self.positional_embedding is not None:
            if x.shape[1] != self.num_positions:
                raise ValueError(f"{op}: the positional embedding is for num_positions={self.num_positions} "
                                 f"tokens, got {x.shape[1]}")
            position = self.positional_embedding.to(x.dtype)
            if self.query == "mean":
                query = masked_mean(x, mask) + position[0]
                position = position[1:]
            x = x + position
        params = [self.in_proj_weight, self.in_proj_bias, self.out_proj.weight, self.out_proj.bias]
        params = [None if p is None else p.to(x.dtype) for p in params]
        result = attention_pool(x, query, self.num_heads, *params, key_padding_mask=mask,
                                prepend_query=self.prepend_query, need_weights=need_weights)
        if batched:
            return result
        return tuple(r.squeeze(0) for r in result) if need_weights else result.squeeze(0)
