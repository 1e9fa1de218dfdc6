"""The training path (poolkit._training): indices and gradients from the separable plan.

The conformance suite compares every op with PyTorch on random calls; these tests
aim at the training path's own machinery: the codes carried through the scan and
the doubling steps, the -inf repair, windows of padding only, the transposed sums
and their double backward, across dimensions, layouts and dtypes.
"""

import pytest
import torch
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

import poolkit.functional as P
from poolkit import _training as T
from poolkit import _windows as W
from test_conformance import assert_same_layout

FORMATS = {4: torch.channels_last, 5: torch.channels_last_3d}


@st.composite
def max_calls(draw):
    dims = draw(st.sampled_from([1, 2, 3]))
    sizes = [draw(st.integers(1, 9 if dims < 3 else 6)) for _ in range(dims)]
    kernel = [draw(st.integers(1, 5)) for _ in range(dims)]
    dilation = [draw(st.integers(1, 3)) for _ in range(dims)]
    padding = [draw(st.integers(0, ((k - 1) * d + 1) // 2)) for k, d in zip(kernel, dilation)]
    stride = [draw(st.integers(1, 3)) for _ in range(dims)]
    ceil_mode = draw(st.booleans())
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), *sizes)
    kind = draw(st.sampled_from(["ties", "nan", "-inf", "-0.0", "random"]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.bfloat16]))
    channels_last = dims > 1 and draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return dims, shape, dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                             ceil_mode=ceil_mode), kind, dtype, channels_last, seed


def make(shape, kind, dtype, seed, channels_last):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-2, 3, shape, generator=g).double() if kind != "random" else torch.randn(shape, generator=g,
                                                                                             dtype=torch.float64)
    special = {"nan": float("nan"), "-inf": float("-inf"), "-0.0": -0.0}.get(kind)
    if special is not None:
        x[torch.rand(shape, generator=g) < 0.3] = special
    x = x.to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=FORMATS[x.dim()])
    return x


def same_values(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.isnan(), b.isnan()) and torch.equal(
        a.nan_to_num(), b.nan_to_num()) and torch.equal(a.signbit(), b.signbit())


@settings(max_examples=300)
@given(call=max_calls())
def test_max_pooling_indices_and_gradients_are_torchs(call):
    dims, shape, kw, kind, dtype, channels_last, seed = call
    op = f"max_pool{dims}d"
    try:
        windows = [W.sliding(n, k, s, p, d, kw["ceil_mode"]) for n, k, s, p, d in
                   zip(shape[2:], kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"])]
    except ValueError:
        windows = None
    assume(windows is not None and all(w.out > 0 for w in windows))
    # PyTorch 2.14 reads out of bounds for windows of padding only (see poolkit.functional)
    assume(not any(w.empty for w in windows))
    assume(not (dims == 3 and dtype in (torch.float16, torch.bfloat16)))    # no torch kernel for half 3-D
    event(f"{op}, {kind}, {dtype}" + (", channels-last" if channels_last else ""))
    x = make(shape, kind, dtype, seed, channels_last)
    results = []
    for module in (P, F):
        t = x.clone().requires_grad_()
        values, indices = getattr(module, op)(t, return_indices=True, **kw)
        grad = torch.ones_like(values)
        values.backward(grad)
        results.append((values, indices, t.grad))
    (v, i, g), (rv, ri, rg) = results
    for ours, ref, what in ((v, rv, "values"), (i, ri, "indices"), (g, rg, "gradient")):
        assert_same_layout(ours, ref, what)
    assert torch.equal(v.isnan(), rv.isnan()) and torch.equal(v.nan_to_num(), rv.nan_to_num()), "values"
    if dtype in (torch.float32, torch.float64):
        assert same_values(v, rv)
    compare = torch.ones_like(ri, dtype=torch.bool)
    if dims == 3 and channels_last and (rv == float("-inf")).any():
        # PyTorch's channels-last-3d kernel leaves the depth out of the index of a window
        # whose maximum is -inf (see poolkit.functional): compare the other windows.
        event("max_pool3d channels-last with -inf windows: those windows' indices and gradients not compared")
        compare = rv != float("-inf")
        assume(compare.any())
        g = rg = None                   # their gradients go where the indices point
    assert torch.equal(i[compare], ri[compare]), "indices"
    if g is None:
        pass
    elif dtype in (torch.float32, torch.float64):
        assert torch.equal(g, rg), "gradients"
    else:       # PyTorch's half kernels may add a gradient in float32 before rounding
        assert torch.allclose(g.double(), rg.double(), rtol=1e-2, atol=1e-2)


def test_empty_windows_give_index_minus_one_and_no_gradient():
    # Length 1, kernel 2, padding 1, dilation 2: the windows read positions -1 and 1, never 0.
    x = torch.tensor([[[3.0]]], requires_grad=True)
    values, indices = P.max_pool1d(x, 2, stride=1, padding=1, dilation=2, return_indices=True)
    assert values.tolist() == [[[float("-inf")]]] and indices.tolist() == [[[-1]]]
    values.sum().backward()
    assert x.grad.tolist() == [[[0.0]]]


def test_a_window_of_minus_infinity_points_at_its_first_real_element():
    x = torch.full((1, 1, 5), float("-inf"))
    values, indices = P.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
    ref_values, ref_indices = F.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
    assert torch.equal(indices, ref_indices) and indices.tolist() == [[[0, 1, 3]]]
    assert torch.equal(values, ref_values)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("stride", [1, 2])
def test_double_backward(dims, stride):
    g = torch.Generator().manual_seed(dims * 10 + stride)
    # Numerical second derivatives cost the square of the input's size: in 3-D, one
    # sample of two channels of 4 x 4 x 4 (windows still overlap and cross the padding).
    shape = (2, 2) + (5,) * dims if dims < 3 else (1, 2, 4, 4, 4)
    x = torch.randn(shape, dtype=torch.float64, generator=g, requires_grad=True)
    for op, kw in ((f"max_pool{dims}d", {}), (f"avg_pool{dims}d", {"count_include_pad": False}),
                   (f"lp_pool{dims}d", None)):
        if kw is None:
            def fn(t):
                return getattr(P, op)(t.abs() + 0.5, 2.0, 3, stride)
        else:
            def fn(t):
                return getattr(P, op)(t, 3, stride, 1, **kw)
        assert torch.autograd.gradcheck(fn, (x,))
        assert torch.autograd.gradgradcheck(fn, (x,))


def test_the_transposed_sum_is_the_adjoint_of_the_sum():
    """<S x, y> = <x, S^T y> for the window sum S, in every stride and padding case."""
    g = torch.Generator().manual_seed(1)
    for size, k, s, p, d in [(11, 3, 1, 1, 1), (11, 3, 2, 1, 1), (12, 4, 3, 2, 1), (13, 3, 2, 1, 2), (7, 5, 1, 2, 1)]:
        windows = [W.sliding(size, k, s, p, d, True), W.sliding(size - 2, k, s, p, d, False)]
        x = torch.randn(2, 3, size, size - 2, dtype=torch.float64, generator=g)
        y = torch.randn(2, 3, windows[0].out, windows[1].out, dtype=torch.float64, generator=g)
        forward = W.window_sum(x, windows)
        backward = T.window_sum_transposed(y, windows, x.shape)
        assert torch.allclose((forward * y).sum(), (x * backward).sum(), rtol=1e-12)
