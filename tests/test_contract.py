"""poolkit's contract with torch.nn.functional, case by case: each test here
failed before the change it names, and compares with PyTorch rather than with
numbers written down.

Caches that must not change a later call, meta tensors, tracing, half-precision
averages, memory, arguments, errors, memory layouts and the choice of path.
"""

import gc
import inspect
import itertools
import threading
import weakref

import numpy as np
import pytest
import torch
from hypothesis import assume, event, given
from hypothesis import strategies as st
from torch.nn import functional as F

import poolkit
import poolkit.functional as P
from poolkit import _separable as S
from poolkit import _windows as W

INF = float("inf")


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def same_values(a, b):
    """Equal shapes, dtypes and values, NaN where the other has NaN."""
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.isnan(), b.isnan()) and \
        torch.equal(a[~a.isnan()], b[~b.isnan()])


def close_average(ours, ref, x, kernel, op, **kw):
    """Within the stated bound of the separable sums (``x`` float32 or float64)."""
    bound = S.sum_error_bound(kernel, x.dtype) * op(x.double().abs(), **kw)
    return ours.shape == ref.shape and bool(((ours.double() - ref.double()).abs() <= bound + 1e-30).all())


# ---------------------------------------------------------------- caches

class _Pool(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, t):
        return self.fn(t)


def _check_later_calls():
    """Eager calls of the geometry used under the mode or tracer, against PyTorch."""
    t = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert close_average(P.avg_pool2d(t, 3, 2, 1), F.avg_pool2d(t, 3, 2, 1), t, (3, 3), F.avg_pool2d,
                         kernel_size=3, stride=2, padding=1)
    ours, ref = P.max_pool2d(t, 3, 2, 1, return_indices=True), F.max_pool2d(t, 3, 2, 1, return_indices=True)
    assert torch.equal(ours[0], ref[0]) and torch.equal(ours[1], ref[1])
    assert torch.equal(P.max_pool2d(t, 3, 2, 1), F.max_pool2d(t, 3, 2, 1))
    assert torch.equal(P.adaptive_max_pool2d(t, 3), F.adaptive_max_pool2d(t, 3))


def test_export_does_not_change_later_eager_calls():
    t = torch.randn(2, 3, 8, 8)
    torch.export.export(_Pool(lambda u: P.avg_pool2d(u, 3, 2, 1)), (t,))
    torch.export.export(_Pool(lambda u: P.max_pool2d(u, 3, 2, 1, return_indices=True)), (t,))
    _check_later_calls()


def test_meta_device_mode_does_not_change_later_calls():
    with torch.device("meta"):
        m = torch.empty(2, 3, 8, 8)
        assert m.is_meta
        P.avg_pool2d(m, 3, 2, 1)
        P.max_pool2d(m, 3, 2, 1, return_indices=True)
        P.adaptive_max_pool2d(m, 3)
        # A real input under the mode: everything the op makes goes on the input's device.
        real = torch.randn(2, 3, 8, 8, device="cpu")
        assert P.max_pool2d(real, 3, 2, 1, return_indices=True)[1].device.type == "cpu"
        assert P.avg_pool2d(real, 3, 2, 1).device.type == "cpu"
    _check_later_calls()


def test_fake_tensor_mode_does_not_change_later_calls():
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode() as mode:
        fake = mode.from_tensor(torch.randn(2, 3, 8, 8))
        P.avg_pool2d(fake, 3, 2, 1)
        P.max_pool2d(fake, 3, 2, 1, return_indices=True)
        P.adaptive_max_pool2d(fake, 3)
    _check_later_calls()


def test_window_records_hold_integers_only():
    for w in [W.sliding(100, 7, 2, 3, 2, True), W.adaptive(10, 3)]:
        fields = [getattr(w, name) for name in w.__dataclass_fields__]
        assert all(v is None or type(v) is int for v in fields)
    assert not hasattr(W.sliding, "cache_info")


def test_the_book_reads_windows_as_before():
    source = inspect.getsource(W.sliding)
    assert "o * stride - padding + j * dilation" in source and len(source.splitlines()) < 15
    w = W.sliding(4, kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
    positions = [[o * 2 - 1 + j for j in range(3)] for o in range(2)]
    assert w.positions.tolist() == positions
    assert w.valid.tolist() == [[0 <= p < 4 for p in row] for row in positions]
    assert (w.out, w.width, w.step, w.dilation, w.left, w.size) == (2, 3, 2, 1, 1, 4)
    bins = W.adaptive(10, 3)
    starts = [i * 10 // 3 for i in range(3)]
    ends = [-(-(i + 1) * 10 // 3) for i in range(3)]
    assert bins.positions[:, 0].tolist() == starts
    assert bins.valid.sum(1).tolist() == [e - s for s, e in zip(starts, ends)]
    empty = W.sliding(1, kernel_size=2, stride=1, padding=1, dilation=2, ceil_mode=False)
    assert empty.positions.tolist() == [[-1, 1]] and empty.valid.tolist() == [[False, False]]


def test_adaptive_width_is_the_widest_bin():
    for size in range(1, 41):
        for out in range(1, 41):
            widest = max(-(-(i + 1) * size // out) - i * size // out for i in range(out))
            assert W.adaptive_width(size, out) == widest, (size, out)


@given(n=st.integers(1, 12), k=st.integers(1, 9), s=st.integers(1, 6), p=st.integers(0, 4),
       d=st.integers(1, 5), ceil_mode=st.booleans())
def test_trimmed_windows_keep_every_real_slot(n, k, s, p, d, ceil_mode):
    assume(p <= k // 2 and n + 2 * p >= d * (k - 1) + 1)
    w = W.sliding(n, k, s, p, d, ceil_mode)
    t = w.trimmed()
    event(f"trimmed {w.width - t.width} slots")
    rows = [[q for q, ok in zip(pos, valid) if ok] for pos, valid in zip(w.positions.tolist(), w.valid.tolist())]
    kept = [[q for q, ok in zip(pos, valid) if ok] for pos, valid in zip(t.positions.tolist(), t.valid.tolist())]
    assert rows == kept and t.left >= 0 and t.out == w.out
    assert set(w.empty) == set(t.empty) == {o for o, row in enumerate(rows) if not row}
    x = torch.randn(1, 2, n, generator=torch.Generator().manual_seed(n * 100 + k))
    for a, b in zip(W.reduce_max(x, [w], True), W.reduce_max(x, [t], True)):
        assert torch.equal(a, b)


# ---------------------------------------------------------------- meta tensors

OPS = {
    "max": lambda M, d, x: getattr(M, f"max_pool{d}d")(x, 3, 2, 1),
    "max_indices": lambda M, d, x: getattr(M, f"max_pool{d}d")(x, 3, 2, 1, return_indices=True),
    "avg": lambda M, d, x: getattr(M, f"avg_pool{d}d")(x, 3, 2, 1),
    "lp": lambda M, d, x: getattr(M, f"lp_pool{d}d")(x, 2, 2),
    "adaptive_max": lambda M, d, x: getattr(M, f"adaptive_max_pool{d}d")(x, 3, return_indices=True),
    "adaptive_avg": lambda M, d, x: getattr(M, f"adaptive_avg_pool{d}d")(x, 3),
    "global_avg": lambda M, d, x: getattr(M, f"adaptive_avg_pool{d}d")(x, 1),
}


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("batched", [True, False])
def test_meta_tensors_give_torchs_shapes(dims, name, batched):
    shape = ([2] if batched else []) + [3] + [7, 6, 5][:dims]
    for dtype in (torch.float32, torch.float16):
        if dtype == torch.float16 and dims == 3 and name in ("avg", "lp"):
            continue                                        # PyTorch has no half avg_pool3d
        x = torch.empty(shape, dtype=dtype, device="meta")
        ours, ref = as_tuple(OPS[name](P, dims, x)), as_tuple(OPS[name](F, dims, x))
        assert [(t.shape, t.dtype, t.device, t.stride()) for t in ours] == \
            [(t.shape, t.dtype, t.device, t.stride()) for t in ref]


# ---------------------------------------------------------------- tracing

def test_export_gives_torchs_values():
    x = torch.randn(2, 3, 9, 9, generator=torch.Generator().manual_seed(1))
    x[0, 0, 2, 2], x[1, 2, 4, 4] = float("nan"), -0.0
    cases = [
        (lambda t: P.max_pool2d(t, 3, 2, 1, return_indices=True),
         lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True)),
        (lambda t: P.max_pool2d(t, 3, 1, 1), lambda t: F.max_pool2d(t, 3, 1, 1)),
        (lambda t: P.adaptive_max_pool2d(t, (4, 3), return_indices=True),
         lambda t: F.adaptive_max_pool2d(t, (4, 3), return_indices=True)),
        (lambda t: P.avg_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 3, 2, 1)),
        (lambda t: P.adaptive_avg_pool2d(t, (4, 3)), lambda t: F.adaptive_avg_pool2d(t, (4, 3))),
        (lambda t: P.adaptive_avg_pool2d(t, 1), lambda t: F.adaptive_avg_pool2d(t, 1)),
    ]
    y = torch.randn(2, 3, 9, 9, generator=torch.Generator().manual_seed(2))
    y[1, 1, 0, 0] = float("nan")
    for ours, theirs in cases:
        exported = torch.export.export(_Pool(ours), (x,)).module()
        for t in (x, y):                                    # the traced input, and another
            for a, b in zip(as_tuple(exported(t)), as_tuple(theirs(t))):
                if a.dtype == torch.int64:
                    assert torch.equal(a, b)
                else:
                    torch.testing.assert_close(a, b, equal_nan=True, rtol=1e-6, atol=1e-6)


def test_compile_fullgraph_gives_torchs_values():
    # One compilation for both ops: inductor takes about a minute on two cores.
    def both(t):
        return P.max_pool2d(t, 3, 2, 1), P.avg_pool2d(t, 3, 1, 1)

    x = torch.randn(2, 3, 9, 9, generator=torch.Generator().manual_seed(3))
    x[0, 1, 4, 4] = float("nan")
    compiled = torch.compile(both, fullgraph=True)
    maxima, means = compiled(x)
    assert same_values(maxima, F.max_pool2d(x, 3, 2, 1))
    torch.testing.assert_close(means, F.avg_pool2d(x, 3, 1, 1), equal_nan=True, rtol=1e-6, atol=1e-6)


def test_traced_calls_take_the_window_path(monkeypatch):
    seen = []
    real = P._choose_path
    monkeypatch.setattr(P, "_choose_path", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    x = torch.randn(1, 2, 6, 6)
    torch.export.export(_Pool(lambda t: P.max_pool2d(t, 3, 1, 1)), (x,))
    torch.export.export(_Pool(lambda t: P.avg_pool2d(t, 3, 1, 1)), (x,))
    assert seen == ["window", "window"]
