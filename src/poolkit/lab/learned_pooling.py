r"""Learned global pooling on the digits: one small convolutional backbone, and
heads that pool its last feature map in different ways.

* :func:`backbone`: two :math:`3 \times 3` convolutions with ReLUs and one
  :math:`2 \times 2` max pool between them, so an :math:`8 \times 8` digit
  becomes a :math:`4 \times 4` map, 16 tokens;
* :func:`pooling_head`: a module mapping that map ``(N, C, H, W)`` to one
  vector ``(N, C)``: global average (``"GAP"``), global max (``"max"``),
  generalised mean with a learned order (``"GeM"``), a CLS token through one
  transformer encoder layer (``"CLS"``, :class:`ClsTokenEncoder`), learned-query
  attention pooling (``"PMA"``) or CLIP-style mean-query attention pooling
  with positions (``"CLIP"``);
* :func:`pooling_net`: backbone, head and a linear classifier, trained end to end;
* :func:`flatten_net`, :func:`feature_maps` and :func:`head_net`: a backbone
  trained once with a flattening classifier (which keeps every position),
  its feature maps, and a head with a classifier to train on them, frozen;
* :func:`head_multiply_adds`: the head's multiply-adds in matrix products, as
  ``torch.utils.flop_counter.FlopCounterMode`` counts them, and
  :func:`attention_multiply_adds`, the same counts from their formulas;
* :func:`cls_row_output` and :func:`cls_row_multiply_adds`: a one-layer CLS
  head computed on the CLS token's row alone (the only row it returns), and
  the cost of that row;
* :func:`attention_map`: where an attention head looks, as a map over the
  feature-map positions.
"""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .. import nn as pnn
from .._arguments import check_int

HEADS = ("GAP", "max", "GeM", "CLS", "PMA", "CLIP")
"""The pooling heads :func:`pooling_head` builds."""


def backbone(channels=(8, 16)):
    r"""``Conv(1, c1, 3, padding 1) - ReLU - MaxPool(2) - Conv(c1, c2, 3, padding 1) - ReLU``.

    Args:
        channels: the two convolutions' output channels, positive ints.

    Returns:
        ``nn.Sequential`` mapping ``(N, 1, S, S)`` to ``(N, c2, S // 2, S // 2)``.
    """
    if not (isinstance(channels, (tuple, list)) and len(channels) == 2):
        raise TypeError(f"backbone: channels must be a pair of ints, got channels={channels!r}")
    c1, c2 = (check_int("channels", c, minimum=1, op="backbone") for c in channels)
    return nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), pnn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU())


class ClsTokenEncoder(nn.Module):
    r"""A learned CLS token prepended to the map's tokens, one transformer encoder
    layer over all of them, and the CLS token's output as the pooled vector.

    The layer is ``nn.TransformerEncoderLayer(embed_dim, num_heads,
    dim_feedforward, dropout=0, batch_first=True)`` (post-norm, ReLU), as in
    BERT's and ViT's use of a classification token, minus everything else
    those models have; no positional embedding, so the pooled vector does not
    depend on the order of the tokens.

    Args:
        embed_dim: channels of the map, the token size.
        num_heads: attention heads, a divisor of ``embed_dim``.
        dim_feedforward: width of the layer's feed-forward block.
    """

    def __init__(self, embed_dim, num_heads=2, dim_feedforward=32):
        super().__init__()
        embed_dim = check_int("embed_dim", embed_dim, minimum=1, op="ClsTokenEncoder")
        num_heads = check_int("num_heads", num_heads, minimum=1, op="ClsTokenEncoder")
        dim_feedforward = check_int("dim_feedforward", dim_feedforward, minimum=1, op="ClsTokenEncoder")
        if embed_dim % num_heads:
            raise ValueError(f"ClsTokenEncoder: num_heads must divide embed_dim={embed_dim}, got num_heads={num_heads}")
        self.cls = nn.Parameter(torch.randn(1, 1, embed_dim) / embed_dim ** 0.5)
        self.layer = nn.TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward, dropout=0.0,
                                                batch_first=True)

    def forward(self, fmap):
        tokens = fmap.flatten(2).transpose(1, 2)                      # (N, H W, E)
        tokens = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], 1)
        return self.layer(tokens)[:, 0]


class _Flat(nn.Module):
    """A pooling module followed by flattening to ``(N, C)``."""

    def __init__(self, pool):
        super().__init__()
        self.pool = pool

    def forward(self, fmap):
        return self.pool(fmap).flatten(1)


def pooling_head(name, channels, positions, num_heads=2, dim_feedforward=32):
    r"""A module mapping a feature map ``(N, channels, H, W)`` to ``(N, channels)``.

    Args:
        name: one of :data:`HEADS`: ``"GAP"`` (``AdaptiveAvgPool2d(1)``),
            ``"max"`` (``AdaptiveMaxPool2d(1)``), ``"GeM"`` (:class:`poolkit.nn.GeM`
            with one learned order, starting at 3), ``"CLS"``
            (:class:`ClsTokenEncoder`), ``"PMA"`` (one learned query,
            :class:`poolkit.nn.AttentionPool`) or ``"CLIP"`` (the mean query
            prepended to the keys, and a learned positional embedding).
        channels: the map's channels.
        positions: ``H * W`` (used by ``"CLIP"``'s positional embedding).
        num_heads, dim_feedforward: of the attention heads.
    """
    if name not in HEADS:
        raise ValueError(f"pooling_head: name must be one of {HEADS}, got name={name!r}")
    channels = check_int("channels", channels, minimum=1, op="pooling_head")
    positions = check_int("positions", positions, minimum=1, op="pooling_head")
    if name == "GAP":
        return _Flat(pnn.AdaptiveAvgPool2d(1))
    if name == "max":
        return _Flat(pnn.AdaptiveMaxPool2d(1))
    if name == "GeM":
        return _Flat(pnn.GeM(p=3.0, learn_p=True))
    if name == "CLS":
        return ClsTokenEncoder(channels, num_heads, dim_feedforward)
    if name == "PMA":
        return _Flat(pnn.AttentionPool(channels, num_heads, num_queries=1))
    return _Flat(pnn.AttentionPool(channels, num_heads, query="mean", prepend_query=True, num_positions=positions))


def pooling_net(name, channels=(8, 16), image_size=8, classes=10, num_heads=2, dim_feedforward=32):
    r"""``nn.Sequential(backbone, head, classifier)`` for square one-channel images.

    Args:
        name: the head, one of :data:`HEADS`.
        channels: of :func:`backbone`.
        image_size: side of the input images, even.
        classes: outputs of the final ``nn.Linear(channels[1], classes)``.
        num_heads, dim_feedforward: of :func:`pooling_head`.

    Returns:
        A model whose items ``[0]``, ``[1]`` and ``[2]`` are the backbone, the
        head and the classifier.
    """
    image_size = check_int("image_size", image_size, minimum=2, op="pooling_net")
    if image_size % 2:
        raise ValueError(f"pooling_net: image_size must be even, got image_size={image_size}")
    classes = check_int("classes", classes, minimum=1, op="pooling_net")
    body = backbone(channels)
    c2 = body[3].out_channels
    return nn.Sequential(body, pooling_head(name, c2, (image_size // 2) ** 2, num_heads, dim_feedforward),
                         nn.Linear(c2, classes))


def flatten_net(channels=(8, 16), image_size=8, classes=10):
    r"""``nn.Sequential(backbone, nn.Flatten(), nn.Linear(c2 * (S / 2)^2, classes))``: the
    backbone with a classifier that sees every position of the map, not a pool of it."""
    image_size = check_int("image_size", image_size, minimum=2, op="flatten_net")
    if image_size % 2:
        raise ValueError(f"flatten_net: image_size must be even, got image_size={image_size}")
    classes = check_int("classes", classes, minimum=1, op="flatten_net")
    body = backbone(channels)
    return nn.Sequential(body, nn.Flatten(), nn.Linear(body[3].out_channels * (image_size // 2) ** 2, classes))


def feature_maps(net, images, num_threads=1):
    r"""The maps ``net[0]`` (a backbone) makes of ``images``, without gradients, with
    :func:`poolkit.lab.training.deterministic` arithmetic."""
    from .training import deterministic
    if not (isinstance(net, nn.Sequential) and len(net) > 0):
        raise TypeError(f"feature_maps: net must be an nn.Sequential whose item 0 is the backbone, got {type(net).__name__}")
    with deterministic(num_threads), torch.no_grad():
        return net[0](images)


def head_net(name, channels=16, positions=16, classes=10, num_heads=2, dim_feedforward=32):
    r"""``nn.Sequential(pooling_head(name, ...), nn.Linear(channels, classes))``: a head and
    its classifier, to train on feature maps ``(N, channels, H, W)`` with ``H W = positions``."""
    classes = check_int("classes", classes, minimum=1, op="head_net")
    head = pooling_head(name, channels, positions, num_heads, dim_feedforward)
    return nn.Sequential(head, nn.Linear(check_int("channels", channels, minimum=1, op="head_net"), classes))


def count_parameters(module):
    """Number of parameter elements of ``module``."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"count_parameters: module must be an nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters())


def head_multiply_adds(head, channels, height, width):
    r"""Multiply-adds of ``head`` for one ``(1, channels, height, width)`` map, in the
    matrix products that ``FlopCounterMode`` counts (linear layers, matrix and
    batched matrix products, attention), half its FLOP count.

    Element-wise work (means, maxima, powers, softmax, layer norms) is not
    counted: GAP, max and GeM heads count 0. Nor, on the CPU, is the fused
    scaled-dot-product attention that ``nn.TransformerEncoderLayer`` calls: for
    the ``"CLS"`` head the count lacks the scores and weighted sums
    (:math:`2T^2E` of :func:`attention_multiply_adds`), so use that function
    for the full cost. The head runs in training mode
    (``FlopCounterMode`` sees the same products as in evaluation, but
    PyTorch's fused inference path of a transformer layer would hide them).
    """
    if not isinstance(head, nn.Module):
        raise TypeError(f"head_multiply_adds: head must be an nn.Module, got {type(head).__name__}")
    shape = [check_int(n, v, minimum=1, op="head_multiply_adds")
             for n, v in (("channels", channels), ("height", height), ("width", width))]
    was_training = head.training
    head.train()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            head(torch.zeros(1, *shape))
    finally:
        head.train(was_training)
    return counter.get_total_flops() // 2


def attention_multiply_adds(name, embed_dim, tokens, dim_feedforward=32):
    r"""The multiply-adds of :func:`head_multiply_adds` from their formulas, for
    ``embed_dim`` :math:`E`, ``tokens`` :math:`L` and a feed-forward width :math:`F`:

    * ``"PMA"``: the query and output projections :math:`2E^2`, keys and values
      :math:`2LE^2`, scores and weighted sum :math:`2LE`;
    * ``"CLIP"``: the same with :math:`L + 1` keys (the prepended mean token);
    * ``"CLS"``: an encoder layer over :math:`T = L + 1` tokens, :math:`4TE^2`
      in the projections, :math:`2T^2E` in the attention and :math:`2TEF` in the
      feed-forward block;
    * ``"GAP"``, ``"max"``, ``"GeM"``: 0 (no matrix product).

    The count does not depend on the number of heads.
    """
    if name not in HEADS:
        raise ValueError(f"attention_multiply_adds: name must be one of {HEADS}, got name={name!r}")
    e = check_int("embed_dim", embed_dim, minimum=1, op="attention_multiply_adds")
    n = check_int("tokens", tokens, minimum=1, op="attention_multiply_adds")
    f = check_int("dim_feedforward", dim_feedforward, minimum=1, op="attention_multiply_adds")
    if name in ("PMA", "CLIP"):
        keys = n + (name == "CLIP")
        return 2 * e * e + 2 * keys * e * e + 2 * keys * e
    if name == "CLS":
        t = n + 1
        return 4 * t * e * e + 2 * t * t * e + 2 * t * e * f
    return 0


def cls_row_output(encoder, fmap):
    r"""The output of a :class:`ClsTokenEncoder` computed on the CLS token's row alone.

    The encoder returns only the first row of its layer's output. In one
    post-norm layer that row depends on the other tokens only through their
    keys and values: the CLS token's query attends to all :math:`T` tokens,
    then the residual, the first layer norm, the feed-forward block and the
    second layer norm act on that one row. The other :math:`T - 1` rows the
    full layer computes are thrown away.

    Args:
        encoder: a :class:`ClsTokenEncoder`.
        fmap: feature maps ``(N, C, H, W)`` with ``C`` the encoder's ``embed_dim``.

    Returns:
        ``(N, C)``, equal to ``encoder(fmap)`` up to rounding.
    """
    if not isinstance(encoder, ClsTokenEncoder):
        raise TypeError(f"cls_row_output: encoder must be a ClsTokenEncoder, got {type(encoder).__name__}")
    if not (isinstance(fmap, torch.Tensor) and fmap.dim() == 4):
        raise ValueError(f"cls_row_output: fmap must be a 4-d tensor (N, C, H, W), got fmap of "
                         f"shape {tuple(getattr(fmap, 'shape', ()))}")
    layer = encoder.layer
    tokens = fmap.flatten(2).transpose(1, 2)
    cls = encoder.cls.expand(len(tokens), -1, -1)
    tokens = torch.cat([cls, tokens], 1)
    attended = layer.self_attn(cls, tokens, tokens, need_weights=False)[0]
    row = layer.norm1(cls + attended)
    row = layer.norm2(row + layer.linear2(layer.activation(layer.linear1(row))))
    return row[:, 0]


def cls_row_multiply_adds(embed_dim, tokens, dim_feedforward=32):
    r"""Multiply-adds of :func:`cls_row_output` per image, in its matrix products:
    for :math:`T = L + 1` tokens of size :math:`E` and a feed-forward width :math:`F`,
    keys and values of all tokens :math:`2TE^2`, the CLS query and the output
    projection :math:`2E^2`, scores and weighted sum :math:`2TE`, and the
    feed-forward block on one row :math:`2EF`.
    """
    e = check_int("embed_dim", embed_dim, minimum=1, op="cls_row_multiply_adds")
    n = check_int("tokens", tokens, minimum=1, op="cls_row_multiply_adds")
    f = check_int("dim_feedforward", dim_feedforward, minimum=1, op="cls_row_multiply_adds")
    t = n + 1
    return 2 * t * e * e + 2 * e * e + 2 * t * e + 2 * e * f


def attention_map(head, fmap):
    r"""The attention weights of an attention-pooling head over the feature-map positions.

    Args:
        head: a ``"PMA"`` or ``"CLIP"`` :func:`pooling_head` (item 0 of a :func:`head_net`,
            item 1 of a :func:`pooling_net`).
        fmap: feature maps ``(N, C, H, W)``.

    Returns:
        ``(maps, extra)``: ``maps`` ``(N, num_heads, H, W)``, the weight of each
        position for the (single) query; ``extra`` ``(N, num_heads)``, the weight on
        the prepended mean token (zeros for ``"PMA"``). For each image and head,
        the map and the extra weight sum to 1.
    """
    pool = getattr(head, "pool", None)
    if not isinstance(pool, pnn.AttentionPool):
        raise TypeError(f"attention_map: head must be a 'PMA' or 'CLIP' pooling head, got {type(head).__name__}")
    with torch.no_grad():
        _, weights = pool(fmap, need_weights=True)                    # (N, h, 1, L')
    weights = weights[:, :, 0]
    h, w = fmap.shape[-2:]
    if pool.prepend_query:
        extra, weights = weights[..., 0], weights[..., 1:]
    else:
        extra = weights.new_zeros(weights.shape[:2])
    return weights.unflatten(-1, (h, w)), extra
