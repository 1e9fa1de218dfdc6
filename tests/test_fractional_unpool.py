"""Fractional max pooling and max unpooling against torch.nn.functional.

Valid configurations come from one strategy per op family and must give the
same values (bit for bit), indices, output strides and float64 input gradients
as PyTorch. Invalid configurations come from a separate strategy, break exactly
one thing, and must be refused by both libraries, poolkit with a ValueError or
TypeError that names the parameter at fault.
"""

import contextlib
import math
import re

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st
from torch import nn as tnn
from torch.nn import functional as F

import poolkit.functional as P
from poolkit.lab import gradients

SPECIAL = [float("nan"), float("inf"), float("-inf"), -0.0]
INTS = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
        torch.float64: torch.int64}
FRACTIONAL = {2: (P.fractional_max_pool2d, F.fractional_max_pool2d, tnn.FractionalMaxPool2d),
              3: (P.fractional_max_pool3d, F.fractional_max_pool3d, tnn.FractionalMaxPool3d)}
POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
UNPOOL = {1: (P.max_unpool1d, F.max_unpool1d), 2: (P.max_unpool2d, F.max_unpool2d),
          3: (P.max_unpool3d, F.max_unpool3d)}


def same_bits(a, b):
    """Equal shapes, dtypes and bit patterns (NaN payloads included, -0.0 distinct from 0.0)."""
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.view(INTS[a.dtype]), b.view(INTS[b.dtype]))


@contextlib.contextmanager
def one_thread():
    """PyTorch's unpooling kernel writes in order only on one thread (with duplicate indices)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@st.composite
def values(draw, shape, dtype):
    """A leaf tensor of small integers (many ties), sometimes with NaN, infinities and -0.0."""
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    x = torch.randint(-1, 3, shape, generator=generator).to(dtype)
    specials = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    if specials and x.numel():
        mask = torch.rand(shape, generator=generator) < specials
        kinds = torch.randint(0, len(SPECIAL), shape, generator=generator)
        for i, special in enumerate(SPECIAL):
            x[mask & (kinds == i)] = special
    if x.isnan().any():
        event("input holds NaN")
    return x


class Layout:
    """How an input is laid out in memory: ``view`` maps a contiguous leaf tensor
    (differentiably) to the tensor the ops see, ``leaf_shape`` gives the leaf's
    shape for a given input shape, and ``embed`` builds a leaf that views as a given tensor."""

    def __init__(self, name, dims):
        self.name = name
        self.fmt = torch.channels_last if dims == 2 else torch.channels_last_3d

    def view(self, leaf):
        if self.name == "channels_last":
            return leaf.contiguous(memory_format=self.fmt)
        if self.name == "strided":                 # every other element of a twice-as-long last axis
            return leaf[..., ::2]
        if self.name == "transposed":              # the last two axes swapped in memory
            return leaf.transpose(-1, -2)
        return leaf

    def leaf_shape(self, shape):
        if self.name == "strided":
            return (*shape[:-1], 2 * shape[-1])
        if self.name == "transposed":
            return (*shape[:-2], shape[-1], shape[-2])
        return tuple(shape)

    def embed(self, tensor):
        if self.name == "strided":
            leaf = torch.zeros(self.leaf_shape(tensor.shape), dtype=tensor.dtype)
            leaf[..., ::2] = tensor
            return leaf
        if self.name == "transposed":
            return tensor.transpose(-1, -2).contiguous()
        return tensor.clone()


@st.composite
def layouts(draw, batched, dims):
    choices = ["contiguous", "strided"] + (["transposed"] if dims >= 2 else []) + \
        (["channels_last"] if batched and dims in (2, 3) else [])
    layout = Layout(draw(st.sampled_from(choices)), dims)
    event(f"layout: {layout.name}")
    return layout


def run_both(ours, theirs):
    """Both calls' results or errors."""
    results = []
    for call in (ours, theirs):
        try:
            results.append((call(), None))
        except Exception as error:            # noqa: BLE001  (PyTorch raises many types)
            results.append((None, error))
    return results


# --- fractional max pooling: valid configurations -------------------------------------------

@st.composite
def fractional_cases(draw):
    dims = draw(st.sampled_from([2, 3]))
    batched = draw(st.booleans())
    n = (0 if draw(st.integers(0, 9)) == 0 else draw(st.integers(1, 2))) if batched else 1   # rarely empty
    c = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(dims)]
    # 2-D needs out + k - 1 <= size; 3-D needs out + k - 1 < size.
    slack = 1 if dims == 2 else 0
    sizes = [draw(st.integers(k + 1 - slack, k + (4 if dims == 3 else 6))) for k in kernel]
    largest = [s - k + slack for s, k in zip(sizes, kernel)]
    smallest = 0 if draw(st.integers(0, 7)) == 0 else 1      # empty outputs now and then
    if draw(st.booleans()):
        out = [draw(st.integers(smallest, m)) for m in largest]
        if len(set(out)) == 1 and draw(st.booleans()):
            output_size, ratio = out[0], None
        else:
            output_size, ratio = tuple(out), None
        event("fractional: output_size")
    else:
        # floor(size * ratio) <= largest needs size * ratio < largest + 1; below 1 / size the
        # output is empty.
        highest = [min((m + 0.999) / s, 0.99) for s, m in zip(sizes, largest)]
        lowest = [0.01 if smallest == 0 else min(1.001 / s, h) for s, h in zip(sizes, highest)]
        if draw(st.booleans()) and max(lowest) <= min(highest):
            ratio = draw(st.floats(max(lowest), min(highest)))
        else:
            ratio = tuple(draw(st.floats(low, high)) for low, high in zip(lowest, highest))
        output_size = None
        event("fractional: output_ratio " + ("number" if isinstance(ratio, float) else "tuple"))
    kernel = kernel[0] if len(set(kernel)) == 1 and draw(st.booleans()) else tuple(kernel)
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    layout = draw(layouts(batched, dims))
    shape = ((n,) if batched else ()) + (c, *sizes)
    leaf = draw(values(layout.leaf_shape(shape), dtype))
    sampled = draw(st.sampled_from(["explicit", "explicit", "edges", "seeded"]))
    if sampled == "seeded":
        samples, seed = None, draw(st.integers(0, 2**31))
    else:
        seed = None
        rows = n + draw(st.integers(0, 1))                     # PyTorch reads only the first N rows
        generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
        samples = torch.rand(rows, c, dims, generator=generator, dtype=dtype)
        if sampled == "edges":                                 # the ends of [0, 1)
            zero, one = torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype)
            edge = torch.stack([zero, torch.nextafter(one, zero)])
            pick = torch.randint(0, 3, samples.shape, generator=generator)
            samples = torch.where(pick < 2, edge[pick.clamp(max=1)], samples)
    event(f"fractional: samples {sampled}")
    return dict(dims=dims, batched=batched, leaf=leaf, view=layout.view, kernel=kernel, output_size=output_size,
                ratio=ratio, samples=samples, seed=seed, return_indices=draw(st.booleans()))


def call_fractional(op, x, case, torch_form):
    ratio = case["ratio"]
    if torch_form and ratio is not None and not isinstance(ratio, tuple):
        ratio = (ratio,) * case["dims"]      # torch's functional 2-D form calls len() on it
    if case["seed"] is not None:
        torch.manual_seed(case["seed"])
    return op(x, case["kernel"], case["output_size"], ratio, case["return_indices"], case["samples"])


@given(fractional_cases())
def test_fractional_max_pool_matches_torch(case):
    ours, theirs, _ = FRACTIONAL[case["dims"]]
    x = case["view"](case["leaf"])
    mine = call_fractional(ours, x, case, False)
    ref = call_fractional(theirs, x, case, True)
    mine = mine if case["return_indices"] else (mine,)
    ref = ref if case["return_indices"] else (ref,)
    assert same_bits(mine[0], ref[0])
    assert mine[0].stride() == ref[0].stride()
    if case["return_indices"]:
        assert torch.equal(mine[1], ref[1]) and mine[1].stride() == ref[1].stride()
    if ref[0].numel() == 0:
        event("fractional: empty output")
    event("fractional: compared")
    if case["leaf"].dtype == torch.float64 and ref[0].numel():
        a = case["leaf"].clone().requires_grad_()
        b = case["leaf"].clone().requires_grad_()
        out_a = call_fractional(ours, case["view"](a), case, False)
        out_b = call_fractional(theirs, case["view"](b), case, True)
        out_a = out_a[0] if case["return_indices"] else out_a
        out_b = out_b[0] if case["return_indices"] else out_b
        upstream = torch.randn(out_b.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        out_a.backward(upstream)
        out_b.backward(upstream)
        assert torch.equal(a.grad, b.grad)       # the same sums, added in the same order
        event("fractional: gradients compared")


# --- fractional max pooling: invalid configurations -----------------------------------------

FRACTIONAL_FAULTS = ["output_size too large", "kernel too large", "kernel zero", "kernel length",
                     "output_size length", "output_size negative", "ratio out of (0, 1)", "both sizes",
                     "neither size", "samples rows", "samples channels", "samples columns", "samples rank",
                     "samples dtype", "input rank", "input integer", "empty channel"]


@st.composite
def fractional_faults(draw):
    dims = draw(st.sampled_from([2, 3]))
    fault = draw(st.sampled_from(FRACTIONAL_FAULTS))
    batched = draw(st.booleans())
    n = draw(st.integers(1, 2)) if batched else 1
    c = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(dims)]
    slack = 1 if dims == 2 else 0
    sizes = [draw(st.integers(k + 1, k + 4)) for k in kernel]
    out = [draw(st.integers(1, s - k + slack)) for s, k in zip(sizes, kernel)]
    axis = draw(st.integers(0, dims - 1))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    shape = ((n,) if batched else ()) + (c, *sizes)
    kw = dict(kernel_size=tuple(kernel), output_size=tuple(out), output_ratio=None,
              _random_samples=torch.rand(n, c, dims, dtype=dtype))
    module = None                  # the module constructor's arguments, where torch.nn is the one that refuses
    if fault == "output_size too large":
        out[axis] = sizes[axis] - kernel[axis] + slack + draw(st.integers(1, 2))
        kw["output_size"], name = tuple(out), "output_size"
    elif fault == "kernel too large":
        kernel[axis] = sizes[axis] + draw(st.integers(0, 2)) + slack
        out[axis] = 1
        kw.update(kernel_size=tuple(kernel), output_size=tuple(out))
        name = "kernel_size"
    elif fault == "kernel zero":
        kernel[axis] = 0
        kw["kernel_size"], name = tuple(kernel), "kernel_size"
    elif fault == "kernel length":
        kw["kernel_size"], name = tuple(kernel) + (1,) if draw(st.booleans()) else tuple(kernel[:1]), "kernel_size"
    elif fault == "output_size length":
        kw["output_size"], name = tuple(out) + (1,) if draw(st.booleans()) else tuple(out[:1]), "output_size"
    elif fault == "output_size negative":
        out[axis] = -draw(st.integers(1, 3))
        kw["output_size"], name = tuple(out), "output_size"
    elif fault == "ratio out of (0, 1)":
        bad = draw(st.sampled_from([0.0, 1.0, -0.5, 1.5, float("nan")]))
        ratio = [0.5] * dims
        ratio[axis] = bad
        kw.update(output_size=None, output_ratio=tuple(ratio))
        module, name = dict(kernel_size=tuple(kernel), output_ratio=tuple(ratio)), "output_ratio"
    elif fault == "both sizes":
        kw["output_ratio"] = (0.5,) * dims
        module, name = dict(kernel_size=tuple(kernel), output_size=tuple(out), output_ratio=(0.5,) * dims), \
            "output_size or output_ratio"
    elif fault == "neither size":
        kw["output_size"], name = None, "output_size or output_ratio"
    elif fault == "samples rows":
        kw["_random_samples"], name = torch.rand(n - 1, c, dims, dtype=dtype), "_random_samples"
    elif fault == "samples channels":
        kw["_random_samples"], name = torch.rand(n, c + 1, dims, dtype=dtype), "_random_samples"
    elif fault == "samples columns":
        kw["_random_samples"], name = torch.rand(n, c, draw(st.sampled_from([dims - 1, dims + 1])), dtype=dtype), \
            "_random_samples"
    elif fault == "samples rank":
        kw["_random_samples"], name = torch.rand(c, dims, dtype=dtype), "_random_samples"
    elif fault == "samples dtype":
        other = torch.float64 if dtype == torch.float32 else torch.float32
        kw["_random_samples"], name = torch.rand(n, c, dims, dtype=other), "_random_samples"
    elif fault == "input rank":                 # the spatial axes only, or an extra leading axis
        shape = shape[-dims:] if draw(st.booleans()) else (1,) * (dims + 3 - len(shape)) + shape
        name = "input"
    elif fault == "input integer":
        dtype, name = torch.int64, "input"
        kw["_random_samples"] = None
    elif fault == "empty channel":             # batched: torch accepts an unbatched input without channels
        shape = (n, 0, *sizes)
        kw["_random_samples"] = torch.rand(n, 0, dims, dtype=dtype)
        name = "input"
    x = torch.randint(-1, 3, shape).to(dtype)
    return dict(dims=dims, fault=fault, x=x, kw=kw, name=name, module=module)


@given(fractional_faults())
def test_fractional_max_pool_refuses_what_torch_refuses(case):
    ours, theirs, module = FRACTIONAL[case["dims"]]
    (_, my_error), (_, ref_error) = run_both(lambda: ours(case["x"], **case["kw"]),
                                             lambda: theirs(case["x"], **case["kw"]))
    if case["module"] is not None:
        # torch.nn.functional does not check these; torch.nn's module refuses them.
        with pytest.raises(ValueError):
            module(**case["module"])
        event(f"fractional refused: {case['fault']} (torch.nn refuses; functional: "
              f"{'refuses' if ref_error else 'accepts'})")
    else:
        assert ref_error is not None, case["fault"]
        event(f"fractional refused: {case['fault']}")
    assert isinstance(my_error, (ValueError, TypeError)), repr(my_error)
    assert case["name"].split(" or ")[0] in str(my_error), (case["name"], str(my_error))
    assert str(my_error).startswith(f"fractional_max_pool{case['dims']}d: ")


# --- fractional max pooling: named cases -----------------------------------------------------

def test_fractional_windows_follow_the_interval_rule():
    # n = 10, k = 2, m = 4: alpha = 8 / 3 and u = 0.5, so u * alpha truncates to 1 and the
    # starts are trunc(4/3) - 1 = 0, trunc(4) - 1 = 3, trunc(20/3) - 1 = 5 and, always, n - k = 8.
    # The input increases, so each window chooses its second element.
    x = torch.arange(10.0).reshape(1, 1, 10, 1)
    samples = torch.tensor([[[0.0, 0.5]]])                    # column 1 drives the height
    out, index = P.fractional_max_pool2d(x, (2, 1), (4, 1), return_indices=True, _random_samples=samples)
    assert index.flatten().tolist() == [1, 4, 6, 9]
    assert torch.equal(out, F.fractional_max_pool2d(x, (2, 1), (4, 1), _random_samples=samples))


def test_fractional_ties_take_the_first_maximum_and_nan_the_last():
    nan = float("nan")
    x = torch.tensor([[[[1.0, 3.0], [3.0, 0.0]], [[nan, 1.0], [nan, 2.0]]]])        # (1, 2, 2, 2)
    samples = torch.zeros(1, 2, 2)
    out, index = P.fractional_max_pool2d(x, 2, 1, return_indices=True, _random_samples=samples)
    ref_out, ref_index = F.fractional_max_pool2d(x, 2, 1, return_indices=True, _random_samples=samples)
    assert index.flatten().tolist() == ref_index.flatten().tolist() == [1, 2]
    assert same_bits(out, ref_out)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_fractional_half_precision_matches_torch(dtype):
    generator = torch.Generator().manual_seed(7)
    x = torch.randint(0, 4, (2, 3, 9, 8), generator=generator).to(dtype)
    x.view(INTS[dtype])[0, 0, 0, :3] = torch.tensor([0x7C01, 0x7E55, 0xFE00] if dtype == torch.float16
                                                     else [0x7F81, 0x7FD5, 0xFFC0]).to(torch.int16)
    samples = torch.rand(2, 3, 2, generator=generator).to(dtype)
    for size in [(4, 3), (8, 7), 1]:
        mine = P.fractional_max_pool2d(x, (2, 2), size, return_indices=True, _random_samples=samples)
        ref = F.fractional_max_pool2d(x, (2, 2), size, return_indices=True, _random_samples=samples)
        assert same_bits(mine[0], ref[0]) and torch.equal(mine[1], ref[1])
    x3 = torch.randint(0, 4, (2, 5, 6, 7), generator=generator).to(dtype)
    samples3 = torch.rand(1, 2, 3, generator=generator).to(dtype)
    assert same_bits(P.fractional_max_pool3d(x3, 2, (3, 4, 4), _random_samples=samples3),
                     F.fractional_max_pool3d(x3, 2, (3, 4, 4), _random_samples=samples3))


def test_the_same_seed_draws_the_same_windows():
    x = torch.randn(3, 4, 11, 9)
    torch.manual_seed(11)
    mine = P.fractional_max_pool2d(x, 3, output_ratio=0.5, return_indices=True)
    after_mine = torch.rand(1)
    torch.manual_seed(11)
    ref = F.fractional_max_pool2d(x, 3, output_ratio=(0.5, 0.5), return_indices=True)
    after_ref = torch.rand(1)
    assert torch.equal(mine[1], ref[1]) and torch.equal(after_mine, after_ref)    # one draw each, the same one


def test_a_single_ratio_is_spread_over_the_axes_as_torch_nn_does():
    # torch.nn.functional.fractional_max_pool2d documents a single number but refuses it
    # (it calls len() on it); torch.nn.FractionalMaxPool2d accepts it, as poolkit does.
    x = torch.randn(2, 3, 10, 7)
    samples = torch.rand(2, 3, 2)
    with pytest.raises(TypeError):
        F.fractional_max_pool2d(x, 2, output_ratio=0.6, _random_samples=samples)
    ref = tnn.FractionalMaxPool2d(2, output_ratio=0.6, _random_samples=samples)(x)
    assert torch.equal(P.fractional_max_pool2d(x, 2, output_ratio=0.6, _random_samples=samples), ref)


def test_samples_beyond_the_rule_are_refused():
    x = torch.randn(1, 1, 30, 30)
    # PyTorch truncates (i + u) * alpha to a C int; past 2**31 that cast is undefined.
    with pytest.raises(ValueError, match=r"_random_samples must be finite and small enough"):
        P.fractional_max_pool2d(x, 2, 10, _random_samples=torch.tensor([[[1e30, 0.5]]]))
    with pytest.raises(ValueError, match=r"_random_samples must be finite"):
        P.fractional_max_pool2d(x, 2, 10, _random_samples=torch.tensor([[[0.5, float("nan")]]]))
    # Rounding in bfloat16 can place a window past the end; PyTorch's kernel asserts, poolkit names the samples.
    long = torch.zeros(1, 1, 496, 1, dtype=torch.bfloat16)
    samples = torch.tensor([[[0.0, 0.5]]], dtype=torch.bfloat16)
    with pytest.raises(RuntimeError):
        F.fractional_max_pool2d(long, (2, 1), (493, 1), _random_samples=samples)
    with pytest.raises(ValueError, match=r"_random_samples from .* place windows outside the input"):
        P.fractional_max_pool2d(long, (2, 1), (493, 1), _random_samples=samples)


@pytest.mark.parametrize("call, error, message", [
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2), ValueError,
     r"fractional_max_pool2d: give output_size or output_ratio, got neither"),
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2, 2, 0.5), ValueError, r"not both"),
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2, output_ratio=1.0), ValueError,
     r"output_ratio must lie strictly between 0 and 1, got output_ratio=1\.0"),
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2, output_ratio="half"), TypeError,
     r"output_ratio must be a number or a tuple of 2 numbers"),
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2, 4), ValueError,
     r"kernel_size=\(2, 2\) and output_size=\(4, 4\) need an input of at least 5 along H, "
     r"got input of shape \(1, 4, 4\)"),
    (lambda: P.fractional_max_pool3d(torch.zeros(1, 4, 4, 4), 2, 3), ValueError,
     r"kernel_size=\(2, 2, 2\) and output_size=\(3, 3, 3\) need an input of at least 5 along D"),
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2.0, 2), TypeError,
     r"kernel_size must be an int or a tuple of 2 ints, got kernel_size=2\.0"),
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2, 2, return_indices=torch.ones(2)), TypeError,
     r"return_indices must have a truth value"),
    (lambda: P.fractional_max_pool2d(torch.zeros(1, 4, 4), 2, 2, _random_samples=[[[0.5, 0.5]]]), TypeError,
     r"_random_samples must be a torch\.Tensor or None, got list"),
    (lambda: P.fractional_max_pool2d(torch.zeros(2, 1, 4, 4), 2, 2, _random_samples=torch.rand(1, 1, 2)),
     ValueError, r"_random_samples must have shape \(N', 1, 2\) with N' >= 2"),
])
def test_fractional_errors_name_the_parameter(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- max unpooling: round trips ----------------------------------------------------------------

@st.composite
def unpool_cases(draw):
    dims = draw(st.sampled_from([1, 2, 3]))
    batched = draw(st.booleans())
    n = (0 if draw(st.integers(0, 9)) == 0 else draw(st.integers(1, 2))) if batched else 1   # rarely empty
    c = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)   # no window lies wholly in padding
    ceil_mode = draw(st.booleans())
    sizes = tuple(draw(st.integers(k, k + (4 if dims == 3 else 6))) for k in kernel)
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    x = draw(values(((n,) if batched else ()) + (c, *sizes), dtype))
    pooled, indices = POOL[dims](x, kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True)
    if stride != kernel:
        event("unpool: overlapping or gapped windows")
    layout = draw(layouts(batched, dims))
    pooled = layout.embed(pooled)                     # a leaf that layout.view turns into the pooled values
    if layout.name != "contiguous" and draw(st.booleans()):
        indices = layout.view(layout.embed(indices))  # the indices laid out the same way
        event("unpool: indices laid out as the values")
    form = draw(st.sampled_from(["none", "spatial", "with N and C"]))
    output_size = None if form == "none" else sizes if form == "spatial" else ((n, c) + sizes)
    event(f"unpool: output_size {form}")
    return dict(dims=dims, pooled=pooled, view=layout.view, indices=indices, kernel=kernel,
                stride=stride if draw(st.booleans()) else (None if stride == kernel else stride),
                padding=padding, output_size=output_size, sizes=sizes)


def _unpool_args(case):
    return case["kernel"], case["stride"], case["padding"], case["output_size"]


@given(unpool_cases())
def test_max_unpool_round_trip_matches_torch(case):
    ours, theirs = UNPOOL[case["dims"]]
    y = case["view"](case["pooled"])
    with one_thread():
        (mine, my_error), (ref, ref_error) = run_both(lambda: ours(y, case["indices"], *_unpool_args(case)),
                                                      lambda: theirs(y, case["indices"], *_unpool_args(case)))
    if ref_error is not None:
        # Without output_size the default size can be smaller than the pooled input (several
        # sizes pool alike), so that an index points past the end: both libraries refuse.
        assert case["output_size"] is None, repr(ref_error)
        assert isinstance(my_error, ValueError) and "indices must lie in" in str(my_error), repr(my_error)
        event(f"unpool{case['dims']}d: both refused an index past the default size")
    else:
        assert my_error is None, repr(my_error)
        assert same_bits(mine, ref) and mine.stride() == ref.stride()
        event(f"unpool{case['dims']}d: compared")
    if ref_error is None and case["pooled"].dtype == torch.float64 and ref.numel():
        upstream = torch.randn(ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
        grads = []
        for op, indices in [(ours, case["indices"]), (theirs, case["indices"]), (theirs, case["indices"].contiguous())]:
            leaf = case["pooled"].clone().requires_grad_()
            with one_thread():
                out = op(case["view"](leaf), indices, *_unpool_args(case))
            try:
                out.backward(upstream)
            except RuntimeError:
                # torch's max_unpool2d backward views the indices and fails when that is impossible
                # (test_torch_unpool_backward_needs_viewable_indices); take its gradient for the same
                # indices laid out contiguously.
                assert op is theirs and not indices.is_contiguous()
                event("unpool: torch's backward refused the layout of the indices")
                continue
            grads.append(leaf.grad)
            if op is theirs:
                break
        assert torch.equal(grads[0], grads[1])
        event("unpool: gradients compared")


# --- max unpooling: invalid configurations -------------------------------------------------------

UNPOOL_FAULTS = ["output_size out of range", "output_size length", "output_size not ints", "output_size an int",
                 "index too large", "index negative", "indices dtype", "indices shape", "input rank",
                 "input integer", "negative size"]


@st.composite
def unpool_faults(draw):
    dims = draw(st.sampled_from([1, 2, 3]))
    fault = draw(st.sampled_from(UNPOOL_FAULTS))
    batched = draw(st.booleans())
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sizes = tuple(draw(st.integers(k, k + 4)) for k in kernel)
    x = torch.randn(((n,) if batched else ()) + (c, *sizes))
    pooled, indices = POOL[dims](x, kernel, stride, padding, return_indices=True)
    pooled_sizes = pooled.shape[-dims:]
    default = tuple((m - 1) * s + k - 2 * p for m, s, k, p in zip(pooled_sizes, stride, kernel, padding))
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, output_size=tuple(sizes))
    axis = draw(st.integers(0, dims - 1))
    if fault == "output_size out of range":
        size = list(sizes)
        size[axis] = default[axis] + draw(st.sampled_from([-1, 1])) * (stride[axis] + draw(st.integers(0, 2)))
        kw["output_size"], name = tuple(size), "output_size"
    elif fault == "output_size length":           # dims + 1 entries: neither dims nor dims + 2
        kw["output_size"], name = tuple(sizes) + (1,), "output_size"
    elif fault == "output_size not ints":
        kw["output_size"], name = tuple(float(s) for s in sizes), "output_size"
    elif fault == "output_size an int":
        kw["output_size"], name = sizes[0], "output_size"
    elif fault == "index too large":
        indices = indices.clone()
        indices.view(-1)[draw(st.integers(0, indices.numel() - 1))] = math.prod(sizes) + draw(st.integers(0, 5))
        name = "indices must lie in"
    elif fault == "index negative":
        indices = indices.clone()
        indices.view(-1)[draw(st.integers(0, indices.numel() - 1))] = -draw(st.integers(1, 5))
        name = "indices must lie in"
    elif fault == "indices dtype":
        indices, name = indices.to(draw(st.sampled_from([torch.int32, torch.float32]))), "indices"
    elif fault == "indices shape":
        indices, name = indices[..., :1].contiguous() if indices.shape[-1] > 1 else torch.cat([indices] * 2, -1), \
            "indices"
    elif fault == "input rank":
        pooled, indices = pooled.reshape(-1), indices.reshape(-1)
        name = "input"
    elif fault == "input integer":
        pooled, name = pooled.to(torch.int64), "input"
    elif fault == "negative size":     # (1 - 1) * s + 1 - 2 * 1 < 0
        pooled = pooled.flatten(-dims)[..., :1].reshape(*pooled.shape[:-dims], *[1] * dims)
        indices = torch.zeros_like(pooled, dtype=torch.int64)
        kw = dict(kernel_size=1, stride=1, padding=1, output_size=None)
        name = "output size must be non-negative"
    return dict(dims=dims, fault=fault, pooled=pooled, indices=indices, kw=kw, name=name)


@given(unpool_faults())
def test_max_unpool_refuses_what_torch_refuses(case):
    ours, theirs = UNPOOL[case["dims"]]
    (_, my_error), (_, ref_error) = run_both(lambda: ours(case["pooled"], case["indices"], **case["kw"]),
                                             lambda: theirs(case["pooled"], case["indices"], **case["kw"]))
    assert ref_error is not None, case["fault"]
    assert isinstance(my_error, (ValueError, TypeError)), repr(my_error)
    assert case["name"] in str(my_error), (case["name"], str(my_error))
    if case["name"] == "indices must lie in":
        assert isinstance(my_error, ValueError) and re.search(r"\[0, \d+\]", str(my_error))
    event(f"unpool{case['dims']}d refused: {case['fault']}")


# --- max unpooling: named cases ------------------------------------------------------------------

def test_duplicate_indices_keep_the_last_value_and_pass_every_gradient():
    values = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]], dtype=torch.float64)
    indices = torch.tensor([[[1, 1, 0, 1]]])
    a, b = values.clone().requires_grad_(), values.clone().requires_grad_()
    with one_thread():
        mine = P.max_unpool1d(a, indices, 2, stride=1)          # length (4 - 1) * 1 + 2 = 5
        ref = F.max_unpool1d(b, indices, 2, stride=1)
    assert mine.tolist() == ref.tolist() == [[[3.0, 4.0, 0.0, 0.0, 0.0]]]
    upstream = torch.tensor([[[10.0, 20.0, 30.0, 40.0, 50.0]]], dtype=torch.float64)
    mine.backward(upstream)
    ref.backward(upstream)
    assert a.grad.tolist() == b.grad.tolist() == [[[20.0, 20.0, 10.0, 20.0]]]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_unpool_half_precision_keeps_every_bit(dtype):
    y = torch.zeros(1, 2, 2, 2, dtype=dtype)
    y.view(torch.int16)[0, 0, 0] = torch.tensor([0x7C01, 0xFE55] if dtype == torch.float16 else [0x7F81, 0xFFD5])
    indices = torch.tensor([[0, 3], [9, 15]]).expand(1, 2, 2, 2).contiguous()
    assert same_bits(P.max_unpool2d(y, indices, 2), F.max_unpool2d(y, indices, 2))


def test_unpool_layouts_follow_torch():
    y, i = F.max_pool2d(torch.randn(2, 1, 6, 8), 2, return_indices=True)
    for pooled, index in [(y.contiguous(memory_format=torch.channels_last), i), (y[:1], i[:1]),
                          (y.expand(2, 3, 3, 4), i.expand(2, 3, 3, 4))]:
        mine, ref = P.max_unpool2d(pooled, index, 2), F.max_unpool2d(pooled, index, 2)
        assert torch.equal(mine, ref) and mine.stride() == ref.stride()
    # A 1-D input whose strides look channels-last once the kernel adds its trailing axis.
    y1, i1 = F.max_pool1d(torch.randn(2, 5, 8).transpose(1, 2).contiguous().transpose(1, 2), 2, return_indices=True)
    odd = torch.randn(2, 4, 3).transpose(1, 2)[:, :1]
    for pooled, index in [(y1, i1), (odd, torch.zeros(odd.shape, dtype=torch.int64))]:
        assert P.max_unpool1d(pooled, index, 2).stride() == F.max_unpool1d(pooled, index, 2).stride()


def test_unpool_of_an_empty_output_checks_no_index():
    y = torch.ones(2, 1, 1)
    far = torch.full((2, 1, 1), 7)
    # default size (1 - 1) * 2 + 2 - 2 * 1 = 0: nothing to place, so nothing to check, as in torch
    assert P.max_unpool1d(y, far, 2, padding=1).shape == F.max_unpool1d(y, far, 2, padding=1).shape == (2, 1, 0)


def test_gradcheck_and_second_derivatives():
    # Unpooling is linear; its Jacobian is the true one when no two indices coincide
    # (with duplicates, PyTorch's rule, which poolkit follows, differs from it).
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(2, 2, 7, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    samples = torch.rand(2, 2, 2, dtype=torch.float64, generator=generator)
    pool = lambda t: P.fractional_max_pool2d(t, 2, (4, 3), _random_samples=samples)   # noqa: E731
    assert torch.autograd.gradcheck(pool, (x,)) and torch.autograd.gradgradcheck(pool, (x,))
    for dims in (1, 2, 3):
        y, i = POOL[dims](torch.randn(2, 2, *[4] * dims, dtype=torch.float64, generator=generator), 2,
                          return_indices=True)
        unpool = lambda t: UNPOOL[dims][0](t, i, 2)                                     # noqa: E731
        y.requires_grad_()
        assert torch.autograd.gradcheck(unpool, (y,)) and torch.autograd.gradgradcheck(unpool, (y,))


def test_torch_unpool_backward_needs_viewable_indices():
    # torch 2.14's max_unpool2d backward calls .view on the indices; poolkit's takes any layout.
    indices = torch.tensor([[[0, 2], [3, 1]]]).transpose(-1, -2)                 # [[0, 3], [2, 1]]
    a = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]], dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_()
    upstream = torch.tensor([[[10.0, 20.0], [30.0, 40.0]]], dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"view size is not compatible"):
        F.max_unpool2d(b, indices, 1).backward(upstream)
    P.max_unpool2d(a, indices, 1).backward(upstream)
    assert a.grad.tolist() == [[[10.0, 40.0], [30.0, 20.0]]]     # the upstream gradient at each index


def test_an_unbatched_input_without_channels_is_refused():
    # torch's fractional and unpooling kernels check the sizes after the first axis, so an
    # unbatched (0, H, W) input passes there (its max_pool2d refuses it); poolkit refuses it
    # in every op, naming the input.
    x = torch.zeros(0, 4, 4)
    assert F.fractional_max_pool2d(x, 2, 1, _random_samples=torch.rand(1, 0, 2)).shape == (0, 1, 1)
    assert F.max_unpool2d(x, torch.zeros(x.shape, dtype=torch.long), 2).shape == (0, 8, 8)
    with pytest.raises(ValueError, match=r"fractional_max_pool2d: only the batch size may be zero"):
        P.fractional_max_pool2d(x, 2, 1, _random_samples=torch.rand(1, 0, 2))
    with pytest.raises(ValueError, match=r"max_unpool2d: only the batch size may be zero"):
        P.max_unpool2d(x, torch.zeros(x.shape, dtype=torch.long), 2)


def test_the_book_names_still_work():
    assert gradients.max_unpool2d is P.max_unpool2d
    assert gradients.unpool_output_size((2, 2), 2, output_size=(5, 5)) == (5, 5)
    assert gradients.unpool_output_size((4, 4), 3, 2, 1) == (7, 7)


@pytest.mark.parametrize("call, error, message", [
    (lambda: P.max_unpool2d(torch.ones(1, 1, 2, 2), torch.full((1, 1, 2, 2), 20), 2), ValueError,
     r"max_unpool2d: indices must lie in \[0, 15\] for an output of size \(4, 4\), got values from 20 to 20"),
    (lambda: P.max_unpool3d(torch.ones(1, 1, 1, 1), torch.full((1, 1, 1, 1), -1), 2), ValueError,
     r"max_unpool3d: indices must lie in \[0, 7\] for an output of size \(2, 2, 2\), got values from -1 to -1"),
    (lambda: P.max_unpool1d(torch.ones(1, 2), torch.zeros(1, 2, dtype=torch.int32), 2), TypeError,
     r"max_unpool1d: indices must be an int64 tensor, got indices of dtype torch\.int32"),
    (lambda: P.max_unpool1d(torch.ones(1, 2), torch.zeros(1, 3, dtype=torch.long), 2), ValueError,
     r"indices must have the shape of input \(1, 2\), got indices of shape \(1, 3\)"),
    (lambda: P.max_unpool2d(torch.ones(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), 2, output_size=(6, 4)),
     ValueError, r"output_size entries must be ints strictly between default - stride and default \+ stride"),
    (lambda: P.max_unpool2d(torch.ones(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), 2, output_size=4),
     TypeError, r"output_size must be a tuple \(H, W\) or \(N, C, H, W\) or None, got output_size=4"),
    (lambda: P.max_unpool3d(torch.ones(1, 2, 2, 2), torch.zeros(1, 2, 2, 2, dtype=torch.long), 2, output_size=(4, 4)),
     ValueError, r"output_size must be \(D, H, W\) or \(N, C, D, H, W\), got output_size=\(4, 4\)"),
    (lambda: P.max_unpool2d(torch.ones(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), (2,)), ValueError,
     r"kernel_size must be an int or a tuple of 2 ints, got kernel_size=\(2,\) with 1 entries"),
    (lambda: P.max_unpool2d(torch.ones(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), 2, stride=0), ValueError,
     r"stride must be at least 1"),
])
def test_unpool_errors_name_the_parameter(call, error, message):
    with pytest.raises(error, match=message):
        call()
