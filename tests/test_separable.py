"""poolkit._separable, the fast path: the same values as PyTorch, on random inputs.

Max pooling must match bit for bit (NaN payloads and -0.0 included); average
pooling within the stated bound, 2 K u times the window's mean magnitude.
"""

import threading

import pytest
import torch
from hypothesis import assume, event, given
from hypothesis import strategies as st
from torch.nn import functional as F

import poolkit.functional as P
from poolkit import _separable as S
from poolkit import _training as T
from poolkit import _windows as W

# 0x7FC00001 and 0xFFC00000 (negative, what x86 makes of inf - inf) are NaNs with other bits.
NANS = torch.tensor([0x7FC00000, 0x7FC00001, -0x00400000, 0x7F800001], dtype=torch.int32).view(torch.float32)
SPECIAL = [float("inf"), float("-inf"), -0.0, 0.0]
INTS = {torch.float32: torch.int32, torch.float64: torch.int64, torch.float16: torch.int16,
        torch.bfloat16: torch.int16}


def bits(t):
    return t.view(INTS[t.dtype])


def same_layout(a, b):
    """The same memory order. With an axis of size 1 the order is ambiguous, and PyTorch's
    choice there follows how each kernel allocates; those are not compared."""
    if 1 in a.shape:
        return True
    formats = [torch.contiguous_format] + {4: [torch.channels_last], 5: [torch.channels_last_3d]}.get(a.dim(), [])
    return all(a.is_contiguous(memory_format=f) == b.is_contiguous(memory_format=f) for f in formats)


@st.composite
def inputs(draw, dims, dtypes=(torch.float32, torch.float64), special=True, max_side=11):
    shape = [draw(st.integers(1, 3)), draw(st.integers(1, 4))]
    shape += [draw(st.integers(1, max_side)) for _ in range(dims)]
    dtype = draw(st.sampled_from(dtypes))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    x = torch.randint(-3, 4, shape, generator=generator).to(dtype)      # small integers: many ties
    if draw(st.booleans()):
        x = x + torch.randn(shape, generator=generator).to(dtype)
    if special and draw(st.booleans()):
        flat = x.view(-1)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, x.numel() - 1))
            if draw(st.booleans()):
                flat[i] = draw(st.sampled_from(SPECIAL))
            else:       # a NaN with its payload, converted exactly (float64 keeps float32's payload bits)
                flat[i] = NANS[draw(st.integers(0, len(NANS) - 1))].to(dtype)
    layout = draw(st.sampled_from(["contiguous", "channels_last", "channels_last_slice", "strided", "unbatched"]))
    cl = {2: torch.channels_last, 3: torch.channels_last_3d}.get(dims)
    if layout == "channels_last" and cl:
        x = x.contiguous(memory_format=cl)
    elif layout == "channels_last_slice" and cl:                          # channels-last, not contiguous
        x = torch.cat([x, x], 1).contiguous(memory_format=cl)[:, : x.shape[1]]
    elif layout == "strided":
        x = x.transpose(0, 1).contiguous().transpose(0, 1)              # same values, other strides
    elif layout == "unbatched":                                          # (C, *spatial), channels innermost
        x = x[0].movedim(0, -1).contiguous().movedim(-1, 0)
    return x


@st.composite
def windows(draw, x, dims, dilation=True):
    """Arguments PyTorch accepts, mostly stride 1 (the fast path), some larger kernels."""
    kernel = [draw(st.integers(1, 7)) for _ in range(dims)]
    stride = [draw(st.sampled_from([1, 1, 1, 2, 3])) for _ in range(dims)]
    padding = [draw(st.integers(0, k // 2)) for k in kernel]
    dil = [draw(st.integers(1, 3)) if dilation else 1 for _ in range(dims)]
    ceil_mode = draw(st.booleans())
    for n, k, s, p, d in zip(x.shape[-dims:], kernel, stride, padding, dil):
        if n + 2 * p < d * (k - 1) + 1:
            return None                                                   # no window fits
    return kernel, stride, padding, dil, ceil_mode


# Bytes per block: one plane each; a few small planes, so that the last block is often
# partial and has its own program; or the default, all planes of these inputs at once.
BLOCKS = [1, 700, 3000, S.BLOCK_BYTES]


def with_block(bytes_, fn):
    old = S.BLOCK_BYTES
    S.BLOCK_BYTES = bytes_
    try:
        return fn()
    finally:
        S.BLOCK_BYTES = old


@pytest.mark.parametrize("dims", [1, 2, 3])
@given(data=st.data())
def test_max_values_are_pytorchs_bits(dims, data):
    x = data.draw(inputs(dims))
    args = data.draw(windows(x, dims))
    assume(args is not None)
    kernel, stride, padding, dilation, ceil_mode = args
    event(f"nan: {bool(x.isnan().any())}, stride 1: {all(s == 1 for s in stride)}")
    ref = getattr(F, f"max_pool{dims}d")(x, kernel, stride, padding, dilation, ceil_mode)
    records = [W.sliding(n, *a, ceil_mode) for n, *a in zip(x.shape[-dims:], kernel, stride, padding, dilation)]
    batched = x if x.dim() == dims + 2 else x.unsqueeze(0)
    block = data.draw(st.sampled_from(BLOCKS))
    for method in ("scan", "doubling", "auto"):
        ours = with_block(block, lambda: S.max_pool(batched, records, method))
        assert torch.equal(bits(ours), bits(ref.reshape(ours.shape))), method
    ours = with_block(block, lambda: getattr(P, f"max_pool{dims}d")(x, kernel, stride, padding, dilation, ceil_mode))
    assert torch.equal(bits(ours), bits(ref)) and same_layout(ours, ref)


@pytest.mark.parametrize("dims", [1, 2, 3])
@given(data=st.data())
def test_average_is_within_the_stated_bound(dims, data):
    x = data.draw(inputs(dims, special=False))
    x = x * data.draw(st.sampled_from([1.0, 1e3])) + data.draw(st.sampled_from([0.0, 1e4]))
    args = data.draw(windows(x, dims, dilation=False))
    assume(args is not None)
    kernel, stride, padding, _, ceil_mode = args
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
              count_include_pad=data.draw(st.booleans()))
    if dims > 1:
        kw["divisor_override"] = data.draw(st.none() | st.integers(1, 5))
    op, ref_op = getattr(P, f"avg_pool{dims}d"), getattr(F, f"avg_pool{dims}d")
    # avg_pool3d's rule that the input be at least the kernel, even with padding
    assume(dims < 3 or all(n >= k for n, k in zip(x.shape[-3:], kernel)))
    ref = ref_op(x, **kw)
    event(f"divisor_override: {kw.get('divisor_override') is not None}, count_include_pad: {kw['count_include_pad']}")
    ours = with_block(data.draw(st.sampled_from(BLOCKS)), lambda: op(x, **kw))
    magnitude = ref_op(x.double().abs(), **kw)
    bound = S.sum_error_bound(tuple(kernel), x.dtype) * magnitude
    assert ours.dtype == ref.dtype and same_layout(ours, ref)
    assert ((ours.double() - ref.double()).abs() <= bound).all()


def test_average_of_a_long_offset_row_stays_within_the_bound():
    # A running (cumulative) sum would carry about 1e4 * 4096 here, and lose the window's digits.
    x = 1e4 + torch.randn(2, 3, 4096, generator=torch.Generator().manual_seed(0))
    ours, ref = P.avg_pool1d(x, 9, 1, 4), F.avg_pool1d(x, 9, 1, 4)
    bound = S.sum_error_bound((9,), torch.float32) * F.avg_pool1d(x.double().abs(), 9, 1, 4)
    assert ((ours.double() - ref.double()).abs() <= bound).all()
    exact = F.avg_pool1d(x.double(), 9, 1, 4)
    csum = F.pad(x, (5, 4)).cumsum(-1)
    running = (csum[..., 9:] - csum[..., :-9]) / 9
    assert (running.double() - exact).abs().max() > 10 * bound.max()       # why the sums are not running


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_max_matches_up_to_nan_payloads(dtype):
    x = torch.randint(-2**15, 2**15, (2, 3, 9, 9), dtype=torch.int16,
                      generator=torch.Generator().manual_seed(1)).view(dtype)    # random bits: NaNs too
    for args in [(5, 1, 2), (3, 2, 1), ((2, 4), 1, (1, 0))]:
        ours, ref = P.max_pool2d(x, *args), F.max_pool2d(x, *args)
        nan = ref.isnan()
        assert torch.equal(ours.isnan(), nan) and torch.equal(bits(ours)[~nan], bits(ref)[~nan])


def test_sppf_chains_equal_the_large_windows():
    x = torch.randn(2, 4, 17, 17, generator=torch.Generator().manual_seed(2))
    x[0, 0, 3, 4] = float("nan")
    x[1, 2, 5, 5] = -0.0
    p5 = P.max_pool2d(x, 5, 1, 2)
    p9 = P.max_pool2d(p5, 5, 1, 2)
    assert torch.equal(bits(p9), bits(F.max_pool2d(x, 9, 1, 4)))
    assert torch.equal(bits(P.max_pool2d(p9, 5, 1, 2)), bits(F.max_pool2d(x, 13, 1, 6)))


def test_indices_and_gradients_take_the_training_path(monkeypatch):
    calls = []
    real_pool, real_indexed = S._pool, T.max_pool_with_indices
    monkeypatch.setattr(S, "_pool", lambda *a, **k: calls.append(a[3]) or real_pool(*a, **k))
    monkeypatch.setattr(T, "max_pool_with_indices", lambda *a: calls.append("indexed") or real_indexed(*a))
    monkeypatch.setattr(W, "reduce_max", lambda *a: calls.append("window"))
    x = torch.randn(1, 2, 8, 8)
    P.max_pool2d(x, 3, 1, 1)
    P.avg_pool2d(x, 3, 1, 1)
    assert calls == ["max", "sum"]
    calls.clear()
    P.max_pool2d(x, 3, 1, 1, return_indices=True)
    P.max_pool2d(x.requires_grad_(), 3, 1, 1).sum().backward()
    assert calls == ["indexed", "indexed"]
    calls.clear()
    P.avg_pool2d(x, 3, 1, 1).sum().backward()           # the sum, then its transpose: sums again
    assert calls == ["sum", "sum"]
    calls.clear()
    P.avg_pool2d(x.detach().half(), 3, 1, 1)             # no separable sums in half precision
    assert calls == []
    with torch.no_grad():
        P.max_pool2d(x, 3, 1, 1)                # no graph to build: the fast path again
    assert calls == ["max"]


def test_is_clean():
    assert S.is_clean(torch.tensor([1.0, 0.0, -2.0, float("inf"), float("-inf")]))
    assert not S.is_clean(torch.tensor([1.0, -0.0]))
    assert not S.is_clean(torch.tensor([1.0, float("nan")]))
    assert not S.is_clean(NANS[2:3])
    assert not S.is_clean(torch.tensor([-0.0], dtype=torch.float64))
    assert not S.is_clean(torch.tensor([-0.0], dtype=torch.bfloat16))
    assert S.is_clean(torch.empty(0))


def test_bad_arguments_are_named():
    x = torch.randn(1, 1, 5)
    records = [W.sliding(5, 3, 1, 1, 1, False)]
    with pytest.raises(ValueError, match="method=.fast."):
        S.max_pool(x, records, "fast")
    with pytest.raises(ValueError, match="return_indices=True needs method='window'"):
        S.max_pool(x, records, "scan", return_indices=True)
    with pytest.raises(TypeError, match="float16"):
        S.sum_pool(x.half(), records, "doubling")
    with pytest.raises(TypeError, match="floating-point"):
        S.max_pool(torch.ones(1, 1, 5, dtype=torch.int64), records)
    with pytest.raises(ValueError, match=r"shape \(1, 5\)"):
        S.max_pool(x[0], records)
    assert S.max_pool(x, records, "window", return_indices=True)[1].shape == (1, 1, 5)


def test_sum_error_bound_value():
    assert S.sum_error_bound((3, 3), torch.float32) == pytest.approx(1.01 * 2 * 9 * 2.0**-24)
    assert S.sum_error_bound((5,), torch.float64) == pytest.approx(1.01 * 2 * 5 * 2.0**-53)


def test_buffers_are_reused_and_bounded():
    S.clear_cache()
    x = torch.randn(1, 2, 8, 8)
    P.max_pool2d(x, 3, 1, 1)
    [space] = S._thread_cache().entries.values()
    P.max_pool2d(x, 3, 1, 1)
    assert list(S._thread_cache().entries.values()) == [space]                # reused, not rebuilt
    for side in range(9, 16):
        P.max_pool2d(torch.randn(1, 2, side, side), 3, 1, 1)
    assert len(S._thread_cache().entries) == S.CACHE_ENTRIES and space not in S._thread_cache().entries.values()
    kept = set(S._thread_cache().entries)
    old = S.CACHE_BYTES
    S.CACHE_BYTES = 4 * space.bytes
    try:
        big = torch.randn(1, 1, 40, 40)
        assert torch.equal(P.max_pool2d(big, 3, 1, 1), F.max_pool2d(big, 3, 1, 1))
        assert set(S._thread_cache().entries) < kept                            # not kept, and the rest trimmed
        assert sum(s.bytes for s in S._thread_cache().entries.values()) <= S.CACHE_BYTES
    finally:
        S.CACHE_BYTES = old
    S.clear_cache()
    assert S._thread_cache().entries == {}


def test_a_partial_last_block_with_its_own_nan():
    x = torch.randn(7, 1, 10, 10)
    x[6, 0, 4, 4] = float("nan")                  # the last block only
    x[4, 0, 2, 2], x[4, 0, 2, 3] = -0.0, 0.0      # the second block only
    plane = 14 * 14 * 4                            # padded for k = 5, float32
    S.clear_cache()
    ours = with_block(3 * plane, lambda: P.max_pool2d(x, 5, 1, 2))    # blocks of 3, 3 and 1 planes
    [space] = S._thread_cache().entries.values()
    assert sorted(space.programs) == [1, 3]
    assert torch.equal(bits(ours), bits(F.max_pool2d(x, 5, 1, 2)))
    S.clear_cache()


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")    # from torch.func itself
def test_forward_mode_and_vmap_take_the_window_path():
    x, v = torch.randn(2, 3, 9, 9), torch.randn(2, 3, 9, 9)
    for ours, theirs in [(P.max_pool2d, F.max_pool2d), (P.avg_pool2d, F.avg_pool2d)]:
        out, tangent = torch.func.jvp(lambda t: ours(t, 3, 1, 1), (x,), (v,))
        ref, ref_tangent = torch.func.jvp(lambda t: theirs(t, 3, 1, 1), (x,), (v,))
        torch.testing.assert_close((out, tangent), (ref, ref_tangent))
        torch.testing.assert_close(torch.vmap(lambda t: ours(t, 5, 1, 2))(x), theirs(x, 5, 1, 2))

def test_inference_mode_then_normal_mode():
    S.clear_cache()
    x = torch.randn(1, 3, 12, 12)
    with torch.inference_mode():
        first = P.max_pool2d(x, 5, 1, 2)
    assert torch.equal(P.max_pool2d(x, 5, 1, 2), first)       # the buffers made in inference mode work
    with torch.inference_mode():
        P.max_pool2d(x, 3, 1, 1, return_indices=True)           # caches the window records
    y = x.clone().requires_grad_()
    P.max_pool2d(y, 3, 1, 1).sum().backward()                  # autograd can save them
    assert y.grad.sum() == 12 * 12 * 3


def test_threads_get_their_own_buffers():
    inputs_ = [torch.randn(4, 8, 30, 30, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    results = [None] * 4

    def work(i):
        for _ in range(20):
            results[i] = P.max_pool2d(inputs_[i], 9, 1, 4)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, out in zip(inputs_, results):
        assert torch.equal(out, F.max_pool2d(x, 9, 1, 4))


def test_empty_batch_and_unbatched_inputs():
    assert P.max_pool2d(torch.empty(0, 3, 5, 5), 3, 1, 1).shape == (0, 3, 5, 5)
    image = torch.randn(7, 7, 3).permute(2, 0, 1)            # (C, H, W) with channels innermost
    for x in (torch.randn(3, 7, 7), image):
        ours, ref = P.max_pool2d(x, 5, 1, 2), F.max_pool2d(x, 5, 1, 2)
        assert torch.equal(ours, ref) and ours.stride() == ref.stride()
        ours, ref = P.avg_pool2d(x, 5, 1, 2), F.avg_pool2d(x, 5, 1, 2)
        assert torch.allclose(ours, ref, atol=1e-6) and ours.stride() == ref.stride()
