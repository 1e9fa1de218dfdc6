r"""A tiny MetaFormer for the digits, with a choice of token mixer.

A MetaFormer block (Yu et al., *MetaFormer Is Actually What You Need for
Vision*, CVPR 2022) is a transformer block whose token mixer is left open:

.. math::

    Y = X + \operatorname{Mixer}(\operatorname{Norm}(X)), \qquad
    Z = Y + \operatorname{MLP}(\operatorname{Norm}(Y)).

* :class:`PoolingMixer`: PoolFormer's mixer, a stride-1 average pool minus its
  input, :math:`\operatorname{AvgPool}(X) - X`;
* :class:`AttentionMixer`: single-head self-attention over all tokens;
* :class:`MetaFormerBlock` and :func:`metaformer`: the block and a small
  classifier (patch embedding, blocks, normalisation, global average pooling,
  a linear layer) around any mixer;
* :func:`attention_flops`, :func:`pooling_mixer_flops` and :func:`metaformer_flops`:
  the cost of a mixer on ``N`` tokens and of the whole network, by formula;
  :func:`count_flops` counts with ``torch.utils.flop_counter.FlopCounterMode``,
  whose first use in a process is slow (it imports much of PyTorch's compiler),
  and the tests check the formulas against it.

Tokens are kept as a ``(B, C, H, W)`` map throughout, as in the official
PoolFormer code; the attention mixer flattens them to ``H W`` tokens and back.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._arguments import check_int
from .costs import pool2d_cost

MIXERS = ("pool", "attention", "identity")


def _check_map(op, x, channels=None):
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"{op}: input must be a (B, C, H, W) tensor, got {x!r:.80}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{op}: input must have {channels} channels, got input of shape {tuple(x.shape)}")


class PoolingMixer(nn.Module):
    r"""PoolFormer's token mixer: :math:`\operatorname{AvgPool}(x) - x`.

    A ``pool_size`` x ``pool_size`` average pool with stride 1 and padding
    ``pool_size // 2`` that averages over the window's elements inside the map
    only (``count_include_pad=False``), minus the input. The input is
    subtracted because the block adds it back through its residual connection
    (Yu et al., CVPR 2022). No parameters.

    Args:
        pool_size: odd window side, at least 1.
    """

    def __init__(self, pool_size=3):
        super().__init__()
        self.pool_size = check_int("pool_size", pool_size, minimum=1, op="PoolingMixer")
        if self.pool_size % 2 == 0:
            raise ValueError(f"PoolingMixer: pool_size must be odd, so that the map keeps its size, "
                             f"got pool_size={self.pool_size}")

    def forward(self, x):
        _check_map("PoolingMixer", x)
        k = self.pool_size
        return F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False) - x


class AttentionMixer(nn.Module):
    r"""Single-head self-attention over the ``H W`` tokens of a ``(B, C, H, W)`` map.

    With the tokens as rows of :math:`X \in \mathbb{R}^{N \times C}`:
    :math:`Q, K, V = X W_q, X W_k, X W_v`, then
    :math:`\operatorname{softmax}(Q K^\top / \sqrt{C})\, V W_o` (each linear map
    with a bias). Without position embeddings, like the mixer, the block is
    equivariant to permutations of the tokens.

    Args:
        dim: channels ``C`` of a token, at least 1.
    """

    def __init__(self, dim):
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1, op="AttentionMixer")
        self.qkv = nn.Linear(self.dim, 3 * self.dim)
        self.proj = nn.Linear(self.dim, self.dim)

    def _weights_and_values(self, x):
        _check_map("AttentionMixer", x, self.dim)
        tokens = x.flatten(2).transpose(1, 2)                       # (B, N, C)
        q, k, v = self.qkv(tokens).chunk(3, dim=-1)
        return torch.softmax(q @ k.transpose(1, 2) / math.sqrt(x.shape[1]), dim=-1), v

    def attention_weights(self, x):
        """The ``(B, N, N)`` attention weights on the ``N = H W`` tokens of ``x``: row ``i``
        holds how much token ``i``'s output takes from each token (each row sums to 1)."""
        return self._weights_and_values(x)[0]

    def forward(self, x):
        weights, v = self._weights_and_values(x)
        b, c, h, w = x.shape
        out = self.proj(weights @ v)
        return out.transpose(1, 2).reshape(b, c, h, w)


def make_mixer(kind, dim, pool_size=3):
    """A token mixer by name: ``'pool'``, ``'attention'`` or ``'identity'`` (``nn.Identity``)."""
    dim = check_int("dim", dim, minimum=1, op="make_mixer")
    if kind == "pool":
        return PoolingMixer(pool_size)
    if kind == "attention":
        return AttentionMixer(dim)
    if kind == "identity":
        return nn.Identity()
    raise ValueError(f"make_mixer: kind must be one of {MIXERS}, got kind={kind!r}")


class MetaFormerBlock(nn.Module):
    r"""One MetaFormer block: norm, token mixer, residual; norm, MLP, residual.

    Tokens enter and leave as a ``(B, dim, H, W)`` map. The norms are layer
    norms over each token's channels, as in a transformer (the official
    PoolFormer code normalises with a group norm of one group instead, over
    channels and positions); the MLP is two linear layers applied to each token,
    with a ReLU between them (PoolFormer uses a GELU, slower on a CPU).

    Args:
        dim: channels of the map.
        mixer: an ``nn.Module`` mapping ``(B, dim, H, W)`` to the same shape.
        mlp_ratio: hidden channels of the MLP per channel, at least 1.
    """

    def __init__(self, dim, mixer, mlp_ratio=2):
        super().__init__()
        dim = check_int("dim", dim, minimum=1, op="MetaFormerBlock")
        mlp_ratio = check_int("mlp_ratio", mlp_ratio, minimum=1, op="MetaFormerBlock")
        if not isinstance(mixer, nn.Module):
            raise TypeError(f"MetaFormerBlock: mixer must be an nn.Module, got mixer={mixer!r}")
        self.norm1 = nn.LayerNorm(dim)
        self.mixer = mixer
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.ReLU(), nn.Linear(mlp_ratio * dim, dim))

    @staticmethod
    def _per_token(layer, x):
        return layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def forward(self, x):
        x = x + self.mixer(self._per_token(self.norm1, x))
        return x + self._per_token(self.mlp, self._per_token(self.norm2, x))


class PatchEmbedding(nn.Module):
    """Each non-overlapping ``patch_size`` x ``patch_size`` patch of a one-channel image,
    mapped linearly to a token of ``dim`` channels: ``(B, 1, H, W)`` to
    ``(B, dim, H / patch_size, W / patch_size)``, the same map as a convolution
    with kernel and stride ``patch_size``."""

    def __init__(self, dim, patch_size):
        super().__init__()
        self.patch_size = check_int("patch_size", patch_size, minimum=1, op="PatchEmbedding")
        self.proj = nn.Linear(self.patch_size ** 2, check_int("dim", dim, minimum=1, op="PatchEmbedding"))

    def forward(self, x):
        _check_map("PatchEmbedding", x, 1)
        return MetaFormerBlock._per_token(self.proj, F.pixel_unshuffle(x, self.patch_size))


class Head(nn.Module):
    """Layer norm of each token, global average pooling over the tokens, a linear layer."""

    def __init__(self, dim, classes):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        return self.fc(self.norm(x.permute(0, 2, 3, 1)).mean((1, 2)))


class PositionEmbedding(nn.Module):
    """A learned ``(dim, height, width)`` map added to every input, zero at the start.

    Args:
        dim, height, width: its shape, each at least 1.
    """

    def __init__(self, dim, height, width):
        super().__init__()
        shape = [check_int(name, value, minimum=1, op="PositionEmbedding")
                 for name, value in (("dim", dim), ("height", height), ("width", width))]
        self.weight = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x):
        _check_map("PositionEmbedding", x, self.weight.shape[1])
        if x.shape[2:] != self.weight.shape[2:]:
            raise ValueError(f"PositionEmbedding: input must be {tuple(self.weight.shape[2:])} tokens, "
                             f"got input of shape {tuple(x.shape)}")
        return x + self.weight


def metaformer(mixer, image_size=8, dim=16, depth=2, patch_size=2, classes=10, mlp_ratio=2, pool_size=3,
               position=True):
    r"""A small MetaFormer classifier of one-channel images.

    A :class:`PatchEmbedding` maps each ``patch_size`` x ``patch_size`` patch
    to a token of ``dim`` channels and, with ``position``, a learned
    :class:`PositionEmbedding` is added; ``depth`` :class:`MetaFormerBlock`
    follow, then a :class:`Head` (layer norm, global average pooling over the
    tokens, a linear layer).

    Args:
        mixer: ``'pool'``, ``'attention'`` or ``'identity'`` (see :func:`make_mixer`).
        image_size: side of the square input, a multiple of ``patch_size``.
        dim, depth, patch_size, classes, mlp_ratio: positive ints.
        pool_size: window of the pooling mixer (odd).
        position: bool, add a learned position embedding to the tokens.

    Returns:
        ``nn.Sequential`` mapping ``(B, 1, image_size, image_size)`` to ``(B, classes)``.
    """
    dim = check_int("dim", dim, minimum=1, op="metaformer")
    depth = check_int("depth", depth, minimum=1, op="metaformer")
    patch_size = check_int("patch_size", patch_size, minimum=1, op="metaformer")
    classes = check_int("classes", classes, minimum=1, op="metaformer")
    image_size = check_int("image_size", image_size, minimum=patch_size, op="metaformer")
    if image_size % patch_size:
        raise ValueError(f"metaformer: image_size must be a multiple of patch_size={patch_size}, "
                         f"got image_size={image_size}")
    if not isinstance(position, bool):
        raise TypeError(f"metaformer: position must be a bool, got position={position!r}")
    side = image_size // patch_size
    embed = [PatchEmbedding(dim, patch_size)] + ([PositionEmbedding(dim, side, side)] if position else [])
    blocks = [MetaFormerBlock(dim, make_mixer(mixer, dim, pool_size), mlp_ratio) for _ in range(depth)]
    return nn.Sequential(*embed, *blocks, Head(dim, classes))


def count_flops(module, x):
    """Floating-point operations of ``module(x)`` as ``torch.utils.flop_counter.FlopCounterMode``
    counts them: two per multiply-add of the matrix products and convolutions (and of the GPU
    fused attention kernels, not the CPU one), nothing for pooling, normalisation, activations,
    the softmax or elementwise operations."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"count_flops: module must be an nn.Module, got module={module!r}")
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(x)
    return counter.get_total_flops()


def attention_flops(tokens, dim):
    r"""FLOPs of :class:`AttentionMixer` on ``tokens`` tokens of ``dim`` channels, counting
    the matrix products only (two per multiply-add), as :func:`count_flops` does:

    .. math::  2 N C \cdot 3C + 2 N^2 C + 2 N^2 C + 2 N C \cdot C = 8 N C^2 + 4 N^2 C.
    """
    n = check_int("tokens", tokens, minimum=1, op="attention_flops")
    c = check_int("dim", dim, minimum=1, op="attention_flops")
    return 8 * n * c * c + 4 * n * n * c


def pooling_mixer_flops(height, width, dim, pool_size=3):
    r"""Scalar operations of :class:`PoolingMixer` on a ``(dim, height, width)`` map,
    counted as for a direct implementation: ``pool_size ** 2`` per output for the
    average (:func:`poolkit.lab.costs.pool2d_cost`, which counts every window as
    full), plus one subtraction per element. Linear in the number of tokens."""
    height = check_int("height", height, minimum=1, op="pooling_mixer_flops")
    width = check_int("width", width, minimum=1, op="pooling_mixer_flops")
    dim = check_int("dim", dim, minimum=1, op="pooling_mixer_flops")
    k = check_int("pool_size", pool_size, minimum=1, op="pooling_mixer_flops")
    pool = pool2d_cost((dim, height, width), k, stride=1, padding=k // 2, mode="avg")
    return pool.operations + dim * height * width


def metaformer_flops(mixer, image_size=8, dim=16, depth=2, patch_size=2, classes=10, mlp_ratio=2, pool_size=3):
    r"""FLOPs of one image through :func:`metaformer` with the same arguments.

    The matrix products are counted as :func:`count_flops` counts them (two per
    multiply-add, biases, norms, activations and the softmax left out): on
    :math:`N` tokens of :math:`C` channels, :math:`2 N p^2 C` for the patch
    embedding, :math:`4 r N C^2` for each block's MLP (``mlp_ratio`` :math:`r`),
    :math:`2 C K` for the classifier of :math:`K` classes, and
    :func:`attention_flops` for each attention mixer. Each pooling mixer adds
    :func:`pooling_mixer_flops`, which a flop counter does not see.
    """
    if mixer not in MIXERS:
        raise ValueError(f"metaformer_flops: mixer must be one of {MIXERS}, got mixer={mixer!r}")
    image_size = check_int("image_size", image_size, minimum=1, op="metaformer_flops")
    c = check_int("dim", dim, minimum=1, op="metaformer_flops")
    depth = check_int("depth", depth, minimum=1, op="metaformer_flops")
    p = check_int("patch_size", patch_size, minimum=1, op="metaformer_flops")
    classes = check_int("classes", classes, minimum=1, op="metaformer_flops")
    r = check_int("mlp_ratio", mlp_ratio, minimum=1, op="metaformer_flops")
    if image_size % p:
        raise ValueError(f"metaformer_flops: image_size must be a multiple of patch_size={p}, got image_size={image_size}")
    side = image_size // p
    n = side * side
    mix = {"pool": pooling_mixer_flops(side, side, c, pool_size), "attention": attention_flops(n, c), "identity": 0}
    return 2 * n * p * p * c + depth * (4 * r * n * c * c + mix[mixer]) + 2 * c * classes
