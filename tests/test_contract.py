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


# ---------------------------------------------------------------- half precision

HALF = [torch.float16, torch.bfloat16]


@pytest.mark.parametrize("dtype", HALF)
def test_half_averages_do_not_overflow(dtype):
    x = torch.full((1, 1, 56, 56), 21.0, dtype=dtype)          # the window sum, 65856, is past float16's range
    for ours, ref in [
        (P.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)),
        (P.adaptive_avg_pool2d(x, (2, 3)), F.adaptive_avg_pool2d(x, (2, 3))),
        (P.adaptive_avg_pool1d(x[0], 1), F.adaptive_avg_pool1d(x[0], 1)),
        (P.avg_pool2d(x, 56), F.avg_pool2d(x, 56)),
        (P.avg_pool2d(x, 28, 28, 14, count_include_pad=False), F.avg_pool2d(x, 28, 28, 14, count_include_pad=False)),
        (P.avg_pool1d(x[0], 56), F.avg_pool1d(x[0], 56)),
        (P.lp_pool2d(x, 1, 2), F.lp_pool2d(x, 1, 2)),
    ]:
        assert torch.equal(ours, ref) and ours.isfinite().all()


def _ulps(a, b):
    return (a.view(torch.int16).int() - b.view(torch.int16).int()).abs()


@pytest.mark.parametrize("dtype", HALF)
def test_half_averages_are_torchs(dtype):
    # Sums in float32, divided in float32, rounded once, as PyTorch's kernels do; PyTorch
    # adds a window's elements one after another, poolkit as a reduction, so a result
    # may differ by one unit in the last place. Measured: no difference at all here.
    g = torch.Generator().manual_seed(4)
    differing = total = 0
    for _ in range(3):
        x = (torch.randn(3, 5, 23, 19, generator=g) * 40).to(dtype)
        for t in (x, x.contiguous(memory_format=torch.channels_last)):
            pos = t.abs() + 1
            for ours, ref in [
                (P.avg_pool2d(t, 3, 1, 1), F.avg_pool2d(t, 3, 1, 1)),
                (P.avg_pool2d(t, 7, 2, 3, ceil_mode=True, count_include_pad=False),
                 F.avg_pool2d(t, 7, 2, 3, ceil_mode=True, count_include_pad=False)),
                (P.avg_pool2d(t, 4, divisor_override=3), F.avg_pool2d(t, 4, divisor_override=3)),
                (P.avg_pool1d(t[0], 5, 1, 2), F.avg_pool1d(t[0], 5, 1, 2)),
                (P.adaptive_avg_pool2d(t, (5, 4)), F.adaptive_avg_pool2d(t, (5, 4))),
                (P.adaptive_avg_pool1d(t[0], 6), F.adaptive_avg_pool1d(t[0], 6)),
                (P.adaptive_avg_pool2d(t, 1), F.adaptive_avg_pool2d(t, 1)),
                (P.lp_pool2d(pos, 2, 3), F.lp_pool2d(pos, 2, 3)),
                (P.lp_pool1d(pos[0], 3, 4), F.lp_pool1d(pos[0], 3, 4)),
            ]:
                assert ours.dtype == dtype and ours.stride() == ref.stride()
                assert int(_ulps(ours, ref).max()) <= 1
                differing += int((ours != ref).sum())
                total += ref.numel()
    assert differing == 0, f"{differing} of {total} differ by one unit"


@pytest.mark.parametrize("dtype", HALF)
def test_half_adaptive_avg_pool3d_adds_in_float32(dtype):
    # PyTorch 2.14's CPU adaptive_avg_pool3d adds float16 and bfloat16 in their own
    # precision (21.0 over 4x56x56 bins gives inf in float16); poolkit adds in float32,
    # as the 2-D kernels do, and rounds once.
    x = torch.full((1, 1, 4, 56, 56), 21.0, dtype=dtype)
    exact = F.adaptive_avg_pool3d(x.double(), (1, 1, 2))
    assert torch.equal(P.adaptive_avg_pool3d(x, (1, 1, 2)), exact.to(dtype))
    y = (torch.randn(2, 3, 5, 9, 7, generator=torch.Generator().manual_seed(5)) * 40).to(dtype)
    ours, exact = P.adaptive_avg_pool3d(y, (2, 4, 3)), F.adaptive_avg_pool3d(y.double(), (2, 4, 3))
    assert int(_ulps(ours, exact.to(dtype)).max()) <= 1


@pytest.mark.parametrize("dtype", HALF)
def test_half_avg_pool3d_is_refused_as_torch_refuses_it(dtype):
    x = torch.randn(1, 2, 4, 4, 4).to(dtype)
    for ours, theirs in [(P.avg_pool3d, F.avg_pool3d),
                         (lambda t, k: P.lp_pool3d(t, 2, k), lambda t, k: F.lp_pool3d(t, 2, k))]:
        with pytest.raises(NotImplementedError):
            theirs(x, 2)
        with pytest.raises(TypeError, match=str(dtype)):
            ours(x, 2)


# ---------------------------------------------------------------- memory

def test_the_fast_path_builds_no_tables(monkeypatch):
    def refuse(self, device):
        raise AssertionError("an (out x window) table was built")
    monkeypatch.setattr(W.Windows, "table", refuse)
    x = torch.randn(1, 2, 1000)
    assert torch.equal(P.max_pool1d(x, 257, 1, 128), F.max_pool1d(x, 257, 1, 128))
    assert close_average(P.avg_pool1d(x, 257, 1, 128), F.avg_pool1d(x, 257, 1, 128), x, (257,), F.avg_pool1d,
                         kernel_size=257, stride=1, padding=128)
    assert close_average(P.avg_pool1d(x, 257, 1, 128, count_include_pad=False),
                         F.avg_pool1d(x, 257, 1, 128, count_include_pad=False), x, (257,), F.avg_pool1d,
                         kernel_size=257, stride=1, padding=128, count_include_pad=False)


@pytest.mark.parametrize("stride", [1, 3])
def test_the_training_path_builds_no_tables(monkeypatch, stride):
    """Indices, and the gradients of max and average pooling, come without an (out x window) table."""
    def refuse(self, device):
        raise AssertionError("an (out x window) table was built")
    x = torch.randn(2, 3, 1000, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    x[0, 1, 500:520] = float("nan")
    grad = torch.randn(2, 3, (1000 + 256 - 257) // stride + 1, dtype=torch.float64)
    results = []
    for module in (F, P):
        if module is P:
            monkeypatch.setattr(W.Windows, "table", refuse)
        t = x.clone().requires_grad_()
        values, indices = module.max_pool1d(t, 257, stride, 128, return_indices=True)
        values.backward(grad)
        u = x.nan_to_num().requires_grad_()
        module.avg_pool1d(u, 257, stride, 128, count_include_pad=False).backward(grad)
        results.append((values, indices, t.grad, u.grad))
    (v, i, g, a), (rv, ri, rg, ra) = results
    assert same_values(v, rv) and torch.equal(i, ri) and torch.equal(g, rg)
    torch.testing.assert_close(a, ra, rtol=1e-12, atol=1e-12)


def test_a_huge_kernel_on_a_short_input_is_trimmed():
    # Unless the slots that read padding only are dropped, these need 8 GB or more.
    x = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(6))
    k, p = 10**9, 5 * 10**8
    assert torch.equal(P.max_pool1d(x, k, 1, p), F.max_pool1d(x, k, 1, p))
    for a, b in zip(P.max_pool1d(x, k, 1, p, return_indices=True), F.max_pool1d(x, k, 1, p, return_indices=True)):
        assert torch.equal(a, b)
    for cip in (True, False):
        torch.testing.assert_close(P.avg_pool1d(x, k, 1, p, count_include_pad=cip),
                                   F.avg_pool1d(x, k, 1, p, count_include_pad=cip))
    x2 = torch.randn(1, 2, 4, 5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(P.max_pool2d(x2, k, 1, p), F.max_pool2d(x2, k, 1, p))
    torch.testing.assert_close(P.avg_pool2d(x2, (3, k), 1, (1, p)), F.avg_pool2d(x2, (3, k), 1, (1, p)))
    g = x.clone().requires_grad_()
    P.max_pool1d(g, k, 1, p).sum().backward()
    ref = x.clone().requires_grad_()
    F.max_pool1d(ref, k, 1, p).sum().backward()
    assert torch.equal(g.grad, ref.grad)


def test_clear_cache_clears_every_threads_buffers():
    S.clear_cache()
    filled, cleared, checked = threading.Event(), threading.Event(), {}

    def work():
        P.max_pool2d(torch.randn(1, 2, 12, 12), 5, 1, 2)
        checked["before"] = len(S._thread_cache().entries)
        filled.set()
        cleared.wait(30)
        checked["after"] = len(S._thread_cache().entries)

    thread = threading.Thread(target=work)
    thread.start()
    filled.wait(30)
    poolkit.clear_cache()
    cleared.set()
    thread.join()
    assert checked == {"before": 1, "after": 0}


def test_a_threads_buffers_go_with_the_thread():
    kept = {}

    def work():
        P.max_pool2d(torch.randn(1, 2, 12, 12), 5, 1, 2)
        cache = S._thread_cache()
        [space] = cache.entries.values()
        kept["cache"], kept["source"] = weakref.ref(cache), weakref.ref(space.source)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    gc.collect()
    assert kept["cache"]() is None and kept["source"]() is None
    assert all(c is not kept["cache"]() for c in list(S._caches))


# ---------------------------------------------------------------- arguments

def _outcome(fn):
    try:
        return as_tuple(fn()), None
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as error:
        return None, error


INT_LIKE = [np.int64(2), np.int32(2), torch.tensor(2), torch.tensor([2]), (2, np.int64(2)), [np.int64(2), 2],
            (torch.tensor(2), 2)]
NOT_INT = [2.0, np.float64(2.0), True, torch.tensor(2.0), (2.0, 2), "2", np.array([2, 2]),
           torch.tensor([2, 2]), None]      # a bool tensor, which PyTorch reads as 0 or 1, is refused like a bool


@pytest.mark.parametrize("value", INT_LIKE + NOT_INT, ids=repr)
@pytest.mark.parametrize("op, param", [("max_pool2d", p) for p in ("kernel_size", "stride", "padding", "dilation")]
                         + [("avg_pool2d", p) for p in ("kernel_size", "stride", "padding", "divisor_override")])
def test_ints_are_what_torch_takes(op, param, value):
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(8))
    kw = {"kernel_size": 4 if param == "padding" else 2, param: value}
    mine, my_error = _outcome(lambda: getattr(P, op)(x, **kw))
    ref, ref_error = _outcome(lambda: getattr(F, op)(x, **kw))
    assert (my_error is None) == (ref_error is None), (my_error, ref_error)
    if my_error is not None:
        assert isinstance(my_error, (TypeError, ValueError)) and param in str(my_error)
        assert type(my_error) is type(ref_error) or not isinstance(ref_error, TypeError)
    else:
        for a, b in zip(mine, ref):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("value", [1, 2, "yes", 2.0, np.bool_(True), torch.tensor(1), [0], 0, None, False, []],
                         ids=repr)
def test_return_indices_is_read_as_torch_reads_it(value):
    x = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(9))
    for ours, theirs in [(lambda: P.max_pool2d(x, 2, return_indices=value),
                          lambda: F.max_pool2d(x, 2, return_indices=value)),
                         (lambda: P.adaptive_max_pool1d(x[0], 3, value),
                          lambda: F.adaptive_max_pool1d(x[0], 3, value))]:
        mine, ref = as_tuple(ours()), as_tuple(theirs())
        assert len(mine) == len(ref) and all(torch.equal(a, b) for a, b in zip(mine, ref))


@pytest.mark.parametrize("norm_type", [2, 2.0, np.float64(3.0), np.int64(2), torch.tensor(2), torch.tensor(3.0),
                                       torch.tensor([2.0]), True, 1.5], ids=repr)
def test_norm_type_is_read_as_torch_reads_it(norm_type):
    x = torch.rand(1, 2, 6, 6, generator=torch.Generator().manual_seed(10)) + 0.1
    for ours, theirs in [(P.lp_pool2d, F.lp_pool2d), (P.lp_pool1d, F.lp_pool1d)]:
        a, b = ours(x[0], norm_type, 2), theirs(x[0], norm_type, 2)
        assert a.shape == b.shape and a.dtype == b.dtype
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("value", [np.int64(2), torch.tensor(2), torch.tensor([2]), 2.0, True, "2", (2,), [2, 2]],
                         ids=repr)
def test_lp_kernel_size_is_read_as_torch_reads_it(value):
    x = torch.rand(1, 2, 6, 6, generator=torch.Generator().manual_seed(11)) + 0.1
    for dims in (1, 2):
        t = x[0] if dims == 2 else x[0, 0:1, :]
        (mine, my_error), (ref, ref_error) = (_outcome(lambda: getattr(P, f"lp_pool{dims}d")(t, 2, value)),
                                              _outcome(lambda: getattr(F, f"lp_pool{dims}d")(t, 2, value)))
        assert (my_error is None) == (ref_error is None), (dims, my_error, ref_error)
        if my_error is None:
            torch.testing.assert_close(mine[0], ref[0])
        else:
            assert isinstance(my_error, TypeError) and "kernel_size" in str(my_error)


def test_every_sliding_op_parses_its_windows_in_one_place(monkeypatch):
    seen = []
    real = P.window_arguments
    monkeypatch.setattr(P, "window_arguments", lambda op, *a, **k: seen.append(op) or real(op, *a, **k))
    x = {d: torch.rand(1, 2, *[6] * d) + 0.1 for d in (1, 2, 3)}
    for d in (1, 2, 3):
        getattr(P, f"max_pool{d}d")(x[d], 2)
        getattr(P, f"avg_pool{d}d")(x[d], 2)
        getattr(P, f"lp_pool{d}d")(x[d], 2, 2)
    assert sorted(set(seen)) == sorted(f"{k}_pool{d}d" for k in ("max", "avg", "lp") for d in (1, 2, 3))


# ---------------------------------------------------------------- errors

def test_a_stride_too_large_for_torch_is_named():
    x = torch.randn(1, 2, 8, 8)
    for stride in (2**63, 2**62, 2**31):
        with pytest.raises(RuntimeError if stride < 2**63 else ValueError):
            F.max_pool2d(x, 2, stride)
        for op in (P.max_pool2d, P.avg_pool2d):
            with pytest.raises(ValueError, match=rf"stride must be at most .*got stride=\({stride}, {stride}\)"):
                op(x, 2, stride)


def test_max_pool1d_takes_the_strides_torch_takes():
    # PyTorch's own max_pool1d kernel (no indices, no autograd) keeps sizes in 64 bits.
    x = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(12))
    for stride in (2**31, 2**62, 2**63 - 1):
        assert torch.equal(P.max_pool1d(x, 2, stride), F.max_pool1d(x, 2, stride))
        with pytest.raises(RuntimeError):
            F.max_pool1d(x, 2, stride, return_indices=True)
        with pytest.raises(ValueError, match="stride must be at most"):
            P.max_pool1d(x, 2, stride, return_indices=True)
        with pytest.raises(ValueError, match="stride must be at most"):
            P.max_pool1d(x.clone().requires_grad_(), 2, stride)
    assert torch.equal(P.max_pool1d(x, 1, 1, 0, 2**40), F.max_pool1d(x, 1, 1, 0, 2**40))
    with pytest.raises(ValueError, match="stride must be at most 9223372036854775807"):
        P.max_pool1d(x, 2, 2**63)


def test_a_huge_divisor_is_named():
    x = torch.randn(1, 2, 4, 4)
    with pytest.raises(ValueError):
        F.avg_pool2d(x, 2, divisor_override=2**70)
    with pytest.raises(ValueError, match=r"divisor_override must fit in 64 bits, got divisor_override=\d+"):
        P.avg_pool2d(x, 2, divisor_override=2**70)
    for divisor in (2**63 - 1, -2**63, 2**40):
        torch.testing.assert_close(P.avg_pool2d(x, 2, divisor_override=divisor),
                                   F.avg_pool2d(x, 2, divisor_override=divisor))


@pytest.mark.parametrize("norm_type", [INF, -INF, 2])
def test_a_list_input_to_lp_pool_is_named(norm_type):
    for op in (P.lp_pool1d, P.lp_pool2d, P.lp_pool3d):
        with pytest.raises(TypeError, match="input must be a torch.Tensor, got list"):
            op([[1.0, 2.0]], norm_type, 2)


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2])
def test_float8_inputs_are_named(dtype):
    x = torch.zeros(1, 2, 4, 4).to(dtype)
    for ours, theirs in [(P.max_pool2d, F.max_pool2d), (P.avg_pool2d, F.avg_pool2d),
                         (P.adaptive_avg_pool2d, F.adaptive_avg_pool2d)]:
        with pytest.raises(NotImplementedError):
            theirs(x, 2)
        with pytest.raises(TypeError, match=f"got {dtype}"):
            ours(x, 2)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool])
def test_integer_inputs_are_refused_by_name(dtype):
    # A documented difference: PyTorch pools some integer inputs (see poolkit.functional).
    x = torch.zeros(1, 2, 4, 4, dtype=dtype)
    for op in (P.max_pool2d, P.avg_pool2d, P.adaptive_max_pool2d):
        with pytest.raises(TypeError, match=f"floating dtype, got {dtype}"):
            op(x, 2)


# ---------------------------------------------------------------- layouts

def _layouts(dims):
    """Dense layouts in every order of the axes, a non-dense slice, and unbatched ones."""
    sizes = [5, 6, 7][:dims]
    base = torch.rand(2, 3, *sizes, generator=torch.Generator().manual_seed(13)) + 0.5
    out = {"contiguous": base}
    for perm in itertools.permutations(range(dims + 2)):
        if list(perm) != sorted(perm):
            out["order" + "".join(map(str, perm))] = base.permute(perm).contiguous().permute(
                [perm.index(i) for i in range(dims + 2)])
    wide = torch.rand(2, 3, *[2 * n for n in sizes], generator=torch.Generator().manual_seed(14)) + 0.5
    out["sliced"] = wide[(...,) + (slice(None, None, 2),) * dims]
    for perm in itertools.permutations(range(dims + 1)):
        out["unbatched" + "".join(map(str, perm))] = base[0].permute(perm).contiguous().permute(
            [perm.index(i) for i in range(dims + 1)])
    return out


LAYOUT_OPS = {
    "max": lambda M, d, x, ri: getattr(M, f"max_pool{d}d")(x, 3, 2, 1, return_indices=ri),
    "avg": lambda M, d, x, ri: getattr(M, f"avg_pool{d}d")(x, 3, 2, 1),
    "lp": lambda M, d, x, ri: getattr(M, f"lp_pool{d}d")(x, 2, 2),
    "adaptive_max": lambda M, d, x, ri: getattr(M, f"adaptive_max_pool{d}d")(x, 3, return_indices=ri),
    "adaptive_avg": lambda M, d, x, ri: getattr(M, f"adaptive_avg_pool{d}d")(x, 3),
    "global_avg": lambda M, d, x, ri: getattr(M, f"adaptive_avg_pool{d}d")(x, 1),
}


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("name", list(LAYOUT_OPS))
def test_strides_of_values_indices_and_gradients_are_torchs(dims, name):
    op = LAYOUT_OPS[name]
    compared, layouts = 0, _layouts(dims)
    for layout, x in layouts.items():
        try:
            with torch.no_grad():
                op(F, dims, x, False)
        except RuntimeError:
            # PyTorch's max_pool3d refuses an unbatched input channels-last in 4-D (documented).
            assert name == "max" and dims == 3 and layout.startswith("unbatched")
            continue
        modes = [(False, False), (False, True)] + ([(True, False)] if "max" in name else [])
        for return_indices, grad in modes:
            a, b = x.detach().requires_grad_(grad), x.detach().requires_grad_(grad)     # same strides
            ours, ref = as_tuple(op(P, dims, a, return_indices)), as_tuple(op(F, dims, b, return_indices))
            assert [t.stride() for t in ours] == [t.stride() for t in ref], (layout, return_indices, grad)
            if grad:
                mine, = torch.autograd.grad(ours[0], a, torch.ones_like(ours[0]))
                theirs, = torch.autograd.grad(ref[0], b, torch.ones_like(ref[0]))
                assert mine.stride() == theirs.stride(), layout
                torch.testing.assert_close(mine, theirs)
            compared += 1
    assert compared >= len(layouts)


def test_channels_last_gradients_pass_gradcheck_and_gradgradcheck():
    x = (torch.rand(1, 2, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(15)) + 0.5)
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    for fn in [lambda t: P.max_pool2d(t, 3, 2, 1), lambda t: P.avg_pool2d(t, 3, 2, 1),
               lambda t: P.adaptive_max_pool2d(t, 2), lambda t: P.adaptive_avg_pool2d(t, (3, 2)),
               lambda t: P.max_pool1d(t[0], 2, 1)]:
        assert torch.autograd.gradcheck(fn, (x,))
        assert torch.autograd.gradgradcheck(fn, (x,))


# ---------------------------------------------------------------- the choice of path

def test_one_function_chooses_every_ops_path(monkeypatch):
    kinds = []
    real = P._choose_path
    monkeypatch.setattr(P, "_choose_path", lambda x, kind, *a: kinds.append(kind) or real(x, kind, *a))
    x = {d: torch.rand(1, 2, *[6] * d) + 0.1 for d in (1, 2, 3)}
    for d in (1, 2, 3):
        for name, op in OPS.items():
            kinds.clear()
            op(P, d, x[d])
            if name != "global_avg":                     # PyTorch's own mean, no path to choose
                assert kinds, (name, d)


class _Subclass(torch.Tensor):
    pass


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")    # from torch.func itself
@pytest.mark.parametrize("case, expected", [
    ("plain", "separable"), ("requires_grad", "training"), ("no_grad", "separable"), ("inference", "separable"),
    ("meta", "window"), ("half_sum", "window"), ("half_max", "separable"), ("indices", "training"),
    ("forward_ad", "window"), ("vmap", "window"), ("adaptive", "window"), ("subclass", "window"),
])
def test_the_path_for_each_kind_of_input(case, expected):
    x = torch.randn(1, 2, 6, 6)
    kind = {"half_sum": "sum", "adaptive": "adaptive_max"}.get(case, "max")
    return_indices = case == "indices"
    if case == "requires_grad":
        x.requires_grad_()
    if case == "meta":
        x = x.to("meta")
    if case in ("half_sum", "half_max"):
        x = x.half()
    if case == "subclass":
        x = x.as_subclass(_Subclass)
    if case == "no_grad":
        with torch.no_grad():
            assert P._choose_path(x.requires_grad_(), kind) == expected
        return
    if case == "inference":
        with torch.inference_mode():
            assert P._choose_path(torch.randn(1, 2, 6, 6), kind) == expected
        return
    if case == "forward_ad":
        import torch.autograd.forward_ad as fwAD
        with fwAD.dual_level():
            assert P._choose_path(fwAD.make_dual(x, torch.randn_like(x)), kind) == expected
        return
    if case == "vmap":
        found = []
        torch.vmap(lambda t: found.append(P._choose_path(t, kind)) or t)(x)
        assert found == [expected]
        return
    assert P._choose_path(x, kind, return_indices) == expected
