"""Differential fuzzing of poolkit against PyTorch, one class of defect per test.

Each test draws calls at random (hypothesis) and compares poolkit with
``torch.nn.functional`` / ``torch.nn`` on one property that fuzzing has found
broken before:

* half precision: float16 and bfloat16 inputs, for every op;
* memory layouts of outputs, indices and input gradients, on every path;
* tracing: ``torch.export``, the meta device and ``FakeTensorMode`` must give
  PyTorch's results, and must not change the results of later eager calls;
* meta tensors in, meta tensors of PyTorch's shape and dtype out;
* module attributes changed after construction, and module reprs;
* integer-like arguments (NumPy integers, 0-d tensors, truthy non-bools), and
  errors for integers too large for PyTorch, float8 inputs and lists.

The valid calls come from the op table of test_conformance.py, so a new op is
fuzzed here as soon as it has a table entry there.
"""

import math
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import Phase, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.nn import functional as F

import poolkit
import poolkit.functional as P
import poolkit.nn as PN
from test_conformance import (
    SPEC, SPECS, AsInputDtype, Case, Shapes, assert_same_bits, assert_same_layout, assert_within, available,
    compare, exclude_misindexed, expand, torch_call, first, named, power_bound, reference, require, resolve, sources,
    sum_bound, unit_roundoff,
)

BUDGET = settings().max_examples
HALF = [torch.float16, torch.bfloat16]
# Tests whose failures are plain from any failing example skip shrinking, which for
# them takes minutes and teaches nothing; the others skip hypothesis' explanation of a
# failure (which parts of the example matter), which for slow examples takes minutes.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
NO_EXPLAIN = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]


def refusal(fn):
    """The exception ``fn()`` raises, or None (hypothesis' own exceptions pass through)."""
    try:
        fn()
    except UnsatisfiedAssumption:
        raise
    except Exception as error:                            # noqa: BLE001 - PyTorch raises many types
        return error
    return None


def assert_refused_naming(fn, params, value=None, what="", first_named=True):
    """``fn()`` raises ValueError or TypeError whose message names one of ``params``
    (first, unless ``first_named`` is False) and the value, when given."""
    with pytest.raises((ValueError, TypeError)) as caught:
        fn()
    message = str(caught.value)
    if first_named:
        assert named(message) in params, f"{what}: the refusal should name {set(params)} first; it says {message!r}"
    else:
        assert any(re.search(rf"\b{p}\b", message) for p in params), (
            f"{what}: the refusal should name {set(params)}; it says {message!r}")
    if value is not None:
        assert str(value) in message, f"{what}: the refusal should show the value {value}; it says {message!r}"


# ---------------------------------------------------------------------------------------------
# Half precision

def half_interval(mean, slack, dtype):
    """The values of ``dtype`` that a float32 result ``mean`` (known within ``slack``)
    may round to, widened by one ulp each side: the answer of any summation order
    that accumulates in float32 (as PyTorch does for half inputs), within one ulp."""
    slack = torch.where(mean.isfinite(), slack, 0)           # a non-finite mean is exact
    low = (mean - slack).to(dtype)
    high = (mean + slack).to(dtype)
    low = torch.nextafter(low, torch.full_like(low, -math.inf))
    high = torch.nextafter(high, torch.full_like(high, math.inf))
    return low, high


def adjacent(values):
    """The neighbours of each value in its own dtype: (next below, next above)."""
    return (torch.nextafter(values, torch.full_like(values, -math.inf)),
            torch.nextafter(values, torch.full_like(values, math.inf)))


def assert_half_average(ours, ref, low, high, what):
    """An average in half precision is right if it lies within one ulp of PyTorch's
    (``ref``; None where PyTorch has no kernel for the dtype), or within one ulp of a
    float32-accumulated result (``low``..``high``). The second allows a better sum than
    PyTorch's where PyTorch adds in the half type (adaptive_avg_pool3d)."""
    assert ours.shape == low.shape and ours.dtype == low.dtype, (
        f"{what}: {tuple(ours.shape)}/{ours.dtype}, expected {tuple(low.shape)}/{low.dtype}")
    a = ours.float()
    in_interval = (a >= low.float()) & (a <= high.float())
    interval_nan = low.isnan() | high.isnan()
    if ref is not None:
        below, above = adjacent(ref)
        in_interval |= (a >= below.float()) & (a <= above.float())
        nan_ok, nan_required = interval_nan | ref.isnan(), interval_nan & ref.isnan()
    else:
        nan_ok = nan_required = interval_nan
    wrong = torch.where(ours.isnan(), ~nan_ok, ~in_interval | nan_required)
    assert not wrong.any(), (
        f"{what}: {int(wrong.sum())} of {wrong.numel()} values neither within one ulp of torch's nor of the "
        f"float32-accumulated result; e.g. {ours[wrong][0].item()!r} where torch has "
        f"{None if ref is None else ref[wrong][0].item()!r} and float32 gives "
        f"[{low[wrong][0].item()!r}, {high[wrong][0].item()!r}]")


def assert_same_half_values(ours, ref, what):
    """Max-type results in half precision: NaN where torch has NaN (payloads aside), the
    same bits everywhere else."""
    assert (ours.shape, ours.dtype) == (ref.shape, ref.dtype), (
        f"{what}: {tuple(ours.shape)}/{ours.dtype} vs torch's {tuple(ref.shape)}/{ref.dtype}")
    nan = ref.isnan()
    assert torch.equal(ours.isnan(), nan), f"{what}: NaN at other positions than torch's"
    assert_same_bits(ours[~nan], ref[~nan], what)


def average_interval(spec, case, x, dtype):
    """Average pooling of a half input: the op on the float32 copy (exact inputs,
    float32 sums) bounds every float32-accumulating order within one ulp."""
    fn = getattr(F, spec.name)
    x32 = x.float()
    mean = first(case.call(fn, x32))
    u = unit_roundoff(torch.float32)
    slack = 2 * case.terms * u * case.call(fn, x32.abs()).abs()
    return half_interval(mean, slack, dtype)


def power_interval(case, x, dtype):
    """lp_pool of a non-negative half input, as PyTorch writes it: x^p in the half
    type, an average accumulated in float32 and rounded, then (V s)^(1/p) in the half
    type. Every step after the average is monotone, so the results for the two ends
    of the average's interval bound the result."""
    kw = case.kwargs
    p = float(kw["norm_type"])
    kernel = expand(kw["kernel_size"], case.dims)
    volume = math.prod(kernel)
    avg = getattr(F, f"avg_pool{case.dims}d")
    stride = kw["stride"] if kw["stride"] not in (None, ()) else None
    powered = x.pow(p).float()
    mean = avg(powered, kernel, stride, 0, kw["ceil_mode"])
    slack = 2 * case.terms * unit_roundoff(torch.float32) * avg(powered.abs(), kernel, stride, 0, kw["ceil_mode"])
    low, high = half_interval(mean, slack, dtype)

    def finish(s):
        return (torch.sign(s) * torch.relu(torch.abs(s))).mul(volume).pow(1.0 / p)

    return finish(low.clamp(min=0)), finish(high)


def check_half(spec, case, dtype):
    fn, ours_fn = getattr(F, spec.name), getattr(P, spec.name)
    lp = spec.values == "power"
    source = case.source
    if lp:                                   # the LP bound holds for non-negative inputs
        source = replace(source, values=source.values.abs())
    x = source.make(dtype)
    ours_error = None
    torch_error = refusal(lambda: torch_call(lambda: case.call(fn, x)))
    if torch_error is None:
        exclude_misindexed(spec.name, x, first(case.call(fn, x)))
    else:
        event(f"{spec.name}: torch refuses {dtype} ({type(torch_error).__name__})")
        ours_error = refusal(lambda: case.call(ours_fn, x))
        if ours_error is not None:
            # Refusing as PyTorch does is right, if the refusal is about the input.
            assert isinstance(ours_error, (ValueError, TypeError)) and named(str(ours_error)) == "input", (
                f"{spec.name}: a refusal of a {dtype} input should be a ValueError or TypeError about the "
                f"input; got {ours_error!r}")
    calls = [{}] + ([{"return_indices": True}] if spec.indices else [])
    for extra in calls:
        if torch_error is not None and ours_error is not None:
            continue
        ours = case.call(ours_fn, x, **extra)
        label = f"{spec.name}({dtype}{''.join(f', {k}={v}' for k, v in extra.items())})"
        if torch_error is None:
            ref = case.call(fn, x, **extra)
            if extra:
                assert torch.equal(ours[1], ref[1]), f"{label}: indices differ from torch's"
            ref = first(ref)
        ours = first(ours)
        assert ours.dtype == dtype, f"{label}: dtype {ours.dtype}"
        if spec.values == "exact" or (lp and math.isinf(case.kwargs["norm_type"])):
            if torch_error is None:
                assert_same_half_values(ours, ref, label)
            else:
                assert_same_half_values(ours, first(case.call(fn, x.float(), **extra)).to(dtype), label)
        else:
            low, high = power_interval(case, x, dtype) if lp else average_interval(spec, case, x, dtype)
            assert_half_average(ours, ref if torch_error is None else None, low, high, label)
    event("compared" if torch_error is None else "torch refuses the dtype")


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@settings(max_examples=max(25, BUDGET // 2), phases=NO_EXPLAIN)
@given(data=st.data())
def test_half_precision(spec, data):
    """float16 and bfloat16 inputs: max-type results bit for bit, averages within one ulp of
    a float32-accumulated result; where PyTorch has no kernel for the dtype, a refusal
    about the input or the float32 result rounded."""
    require(spec)
    case = data.draw(spec.valid, label="case")
    if case.padding_only:
        event("excluded: a max-pooling window wholly in the padding")
    assume(not case.padding_only)
    check_half(spec, case, data.draw(st.sampled_from(HALF), label="dtype"))


LARGE_WINDOW_OPS = ["avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                    "adaptive_avg_pool3d", "lp_pool1d", "lp_pool2d"]


@st.composite
def large_window_cases(draw, name):
    """Windows of hundreds to thousands of elements of one large value (sums beyond
    float16's range, and beyond what bfloat16 can add exactly)."""
    spec = SPEC[name]
    dims = spec.dims
    side = {1: draw(st.integers(600, 4000)), 2: draw(st.integers(30, 64)), 3: draw(st.integers(10, 16))}[dims]
    spatial = [side] * dims
    value = draw(st.sampled_from([21.0, 50.0, 100.0, 250.0, 1000.0]))
    values = torch.full([1, 2] + spatial, value, dtype=torch.float64)
    if draw(st.booleans()):
        values[:, 1] *= -1
    source = replace(draw(sources([1, 2] + spatial, True, specials=False)), values=values)
    if name.startswith("adaptive"):
        out = draw(st.integers(1, 2))
        kwargs = {"output_size": out}
        terms = math.prod(-(-n // out) + 1 for n in spatial)
    else:
        kwargs = {"kernel_size": side, "stride": draw(st.sampled_from([None, 1, side // 2])), "ceil_mode": False}
        if name.startswith("avg"):
            kwargs.update(padding=0, count_include_pad=True)
        else:
            kwargs = {"norm_type": draw(st.sampled_from([1, 2])), **kwargs}
        terms = side ** dims
    return Case(source, kwargs, torch.float32, dims, terms)


@pytest.mark.parametrize("name", LARGE_WINDOW_OPS)
@settings(max_examples=max(10, BUDGET // 10), phases=NO_EXPLAIN)
@given(data=st.data())
def test_half_precision_large_windows(name, data):
    """Sums of many large half values: PyTorch accumulates in float32, so the average
    of 3136 copies of 21.0 is 21, not inf (float16) or a value stuck where bfloat16
    stops adding."""
    require(SPEC[name])
    check_half(SPEC[name], data.draw(large_window_cases(name), label="case"),
               data.draw(st.sampled_from(HALF), label="dtype"))


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_global_average_of_56_by_56(dtype):
    """The case fuzzing found: adaptive_avg_pool2d of a (1, 1, 56, 56) tensor of 21.0."""
    x = torch.full((1, 1, 56, 56), 21.0, dtype=dtype)
    assert P.adaptive_avg_pool2d(x, 1).item() == 21.0 == F.adaptive_avg_pool2d(x, 1).item()


# ---------------------------------------------------------------------------------------------
# Layouts

UNAMBIGUOUS = Shapes(min_side=2, min_channels=2, empty_batch=False)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@settings(max_examples=max(25, BUDGET // 2), phases=NO_EXPLAIN)
@given(data=st.data())
def test_layouts(spec, data):
    """Outputs, indices and input gradients have PyTorch's strides on every path: plain,
    return_indices=True, requires_grad (with autograd on and under no_grad), for
    contiguous, channels-last, permuted and strided inputs, batched or not. Every
    input axis but the batch has at least 2 elements (a length-1 axis makes layouts
    ambiguous), and strides of length-1 output axes are not compared."""
    require(spec)
    case = data.draw(spec.cases(spec.dims, shapes=UNAMBIGUOUS), label="case")
    if case.padding_only:
        event("excluded: a max-pooling window wholly in the padding")
    assume(not case.padding_only)
    # Open: for an unbatched 3-D input with channels innermost, max_pool3d and lp_pool3d
    # have twice found PyTorch returning a contiguous output where the same call, repeated
    # alone, returns poolkit's (channels-last-3d once unsqueezed). Not yet reproduced or
    # explained, so that combination is left out here.
    unbatched_3d = spec.name in ("max_pool3d", "lp_pool3d") and "unbatched" in case.tags \
        and case.source.layout in ("channels_last", "permuted")
    if unbatched_3d:
        event("excluded: unbatched 3-D max or LP pooling, channels innermost (open layout question)")
    assume(not unbatched_3d)
    fn, ours_fn = getattr(F, spec.name), getattr(P, spec.name)
    event(f"{spec.name}: layout {case.source.layout}" + (", unbatched" if "unbatched" in case.tags else ""))
    path = data.draw(st.sampled_from(["plain", "no_grad", "grad"] + ["indices"] * spec.indices), label="path")
    extra = {"return_indices": True} if path == "indices" or (spec.indices and data.draw(st.booleans())) else {}
    label = f"{spec.name} ({path}, {case.source.layout}{', return_indices' if extra else ''})"
    if path in ("plain", "indices"):
        x = case.input()
        ref = torch_call(lambda: case.call(fn, x, **extra))
        pairs = [(case.call(ours_fn, x, **extra), ref)]
    elif path == "no_grad":
        x = case.input(torch.float64, requires_grad=True)
        with torch.no_grad():
            ref = torch_call(lambda: case.call(fn, x, **extra))
            pairs = [(case.call(ours_fn, x, **extra), ref)]
    else:
        a, b = case.input(torch.float64, True), case.input(torch.float64, True)
        ref = torch_call(lambda: case.call(fn, b, **extra))
        ours = case.call(ours_fn, a, **extra)
        g = torch.randn(first(ref).shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        if data.draw(st.booleans(), label="upstream laid out as torch's output"):
            g = torch.empty_like(first(ref)).copy_(g)
        (grad_ours,) = torch.autograd.grad(first(ours), a, g)
        (grad_ref,) = torch.autograd.grad(first(ref), b, g)
        pairs = [(ours, ref), (grad_ours, grad_ref)]
    for ours, ref in pairs:
        ours = ours if isinstance(ours, tuple) else (ours,)
        ref = ref if isinstance(ref, tuple) else (ref,)
        assert len(ours) == len(ref), f"{label}: {len(ours)} outputs, torch has {len(ref)}"
        for i, (o, r) in enumerate(zip(ours, ref)):
            assert_same_layout(o, r, f"{label} {['values', 'indices'][i] if len(ref) > 1 else 'output'}")
    event("compared")


# ---------------------------------------------------------------------------------------------
# Tracing, the meta device and fake tensors

TRACED = ["max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d"]


class Call(torch.nn.Module):
    """A module whose forward is one pooling call, for torch.export."""

    def __init__(self, fn, kwargs):
        super().__init__()
        self.fn, self.kwargs = fn, kwargs

    def forward(self, x):
        return self.fn(x, **self.kwargs)


@st.composite
def traced_calls(draw):
    """A call of one of TRACED on an input with 20 to 32 rows and columns: lengths that no
    other test pools with these kernels, so the geometry is new to every cache when it
    is first traced, and a cache it poisons harms no other test."""
    name = draw(st.sampled_from(TRACED))
    n, c = draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 3]))
    h, w = draw(st.integers(20, 32)), draw(st.integers(20, 32))
    if name.startswith("adaptive"):
        out = [draw(st.integers(1, h)), draw(st.integers(1, w))]
        kwargs = {"output_size": draw(st.sampled_from([tuple(out), (None, out[1]), out[0]]))}
        terms = math.prod(-(-size // o) + 1 for size, o in zip((h, w), out))
    else:
        kernel = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
        kwargs = {"kernel_size": tuple(kernel), "stride": draw(st.sampled_from([None, 1, 2, 3, (1, 2)])),
                  "padding": (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2))),
                  "ceil_mode": draw(st.booleans())}
        if name == "max_pool2d":
            kwargs["dilation"] = draw(st.sampled_from([1, 2, (1, 2)]))
        else:
            kwargs["count_include_pad"] = draw(st.booleans())
            kwargs["divisor_override"] = draw(st.sampled_from([None, None, 1, 3, 7]))
        terms = math.prod(kernel)
    source = draw(sources([n, c, h, w], True, specials=False))
    return name, Case(source, kwargs, torch.float32, 2, terms)


def assert_like_torch(name, case, x, ours, ref, label):
    assert ours.shape == ref.shape and ours.dtype == ref.dtype, f"{label}: {ours.shape} vs torch's {ref.shape}"
    if "max" in name:
        assert_same_bits(ours, ref, label)
    else:
        assert_within(ours, ref, sum_bound(getattr(F, name), case, x, ref), label)


@settings(max_examples=max(15, BUDGET // 6), phases=NO_SHRINK)
@given(call=traced_calls(), mode=st.sampled_from(["export", "meta", "fake"]))
def test_tracing_gives_torch_values_and_leaves_eager_calls_alone(call, mode):
    """torch.export.export of a module calling the op gives PyTorch's values; one call
    under ``torch.device("meta")`` or ``FakeTensorMode`` gives PyTorch's shape; and after
    any of them, an eager call with the same geometry still gives PyTorch's values."""
    name, case = call
    fn, ours_fn = getattr(F, name), getattr(P, name)
    event(f"{name} under {mode}")
    poolkit.clear_cache()
    x = case.input()
    ref = case.call(fn, x)

    def traced():
        if mode == "export":
            program = torch.export.export(Call(ours_fn, case.kwargs), (x,))
            assert_like_torch(name, case, x, program.module()(x), ref, f"exported {name}")
        elif mode == "meta":
            with torch.device("meta"):
                out = case.call(ours_fn, torch.empty(x.shape))
            assert out.device.type == "meta" and out.shape == ref.shape, f"{name} under meta: {out.device}, {out.shape}"
        else:
            with FakeTensorMode() as fake_mode:
                out = case.call(ours_fn, fake_mode.from_tensor(x))
            assert out.shape == ref.shape, f"{name} under FakeTensorMode: shape {out.shape}"

    # The eager call is checked even when the traced one fails: a failed trace may
    # leave a cache behind too.
    trace_failure = refusal(traced)
    assert_like_torch(name, case, x, case.call(ours_fn, x), ref, f"eager {name} after a call under {mode}")
    if trace_failure is not None:
        raise trace_failure


@pytest.mark.compile
def test_compile_fullgraph_max_pool2d():
    """torch.compile with fullgraph=True traces max_pool2d without a graph break and
    gives PyTorch's values and indices. (Slow: compiles; the only compile in the tests.)"""
    torch._dynamo.reset()
    x = torch.randn(2, 3, 9, 11)
    compiled = torch.compile(lambda t: P.max_pool2d(t, 3, stride=2, padding=1, return_indices=True),
                             fullgraph=True)
    values, indices = compiled(x)
    ref_values, ref_indices = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    assert_same_bits(values, ref_values, "compiled max_pool2d")
    assert torch.equal(indices, ref_indices)
    assert_same_bits(P.max_pool2d(x, 3, stride=2, padding=1), ref_values, "eager max_pool2d after compiling")
    torch._dynamo.reset()


# ---------------------------------------------------------------------------------------------
# Meta tensors


def to_meta(kwargs):
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, AsInputDtype):
            v = AsInputDtype(v.tensor.to("meta"))
        elif isinstance(v, torch.Tensor):
            v = v.to("meta")
        out[k] = v
    return out


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@settings(max_examples=max(20, BUDGET // 4), phases=NO_SHRINK)
@given(data=st.data())
def test_meta_tensors(spec, data):
    """On meta tensors every op returns meta tensors of PyTorch's shapes and dtypes
    (values and indices)."""
    require(spec)
    case = data.draw(spec.valid, label="case")
    x = case.input().to("meta")
    kwargs = to_meta(case.kwargs)
    for extra in [{}] + ([{"return_indices": True}] if spec.indices else []):
        ref = torch_call(lambda: getattr(F, spec.name)(x, **resolve(kwargs, x.dtype), **extra))
        ours = getattr(P, spec.name)(x, **resolve(kwargs, x.dtype), **extra)
        ref = ref if isinstance(ref, tuple) else (ref,)
        ours = ours if isinstance(ours, tuple) else (ours,)
        assert len(ours) == len(ref), f"{spec.name}{extra}: {len(ours)} outputs, torch has {len(ref)}"
        for o, r in zip(ours, ref):
            assert o.device.type == "meta", f"{spec.name}{extra}: output on {o.device}"
            assert (o.shape, o.dtype) == (r.shape, r.dtype), (
                f"{spec.name}{extra}: {tuple(o.shape)}/{o.dtype} vs torch's {tuple(r.shape)}/{r.dtype}")
    event("compared")


# ---------------------------------------------------------------------------------------------
# Modules: attributes changed after construction, and repr

# The functional table entry behind each module, and its constructor's parameters.
MODULES = {}
for _d in (1, 2, 3):
    MODULES[f"MaxPool{_d}d"] = (f"max_pool{_d}d", ["kernel_size", "stride", "padding", "dilation",
                                                     "return_indices", "ceil_mode"])
    MODULES[f"AvgPool{_d}d"] = (f"avg_pool{_d}d", ["kernel_size", "stride", "padding", "ceil_mode",
                                                     "count_include_pad"] + ["divisor_override"] * (_d > 1))
    MODULES[f"LPPool{_d}d"] = (f"lp_pool{_d}d", ["norm_type", "kernel_size", "stride", "ceil_mode"])
    MODULES[f"AdaptiveMaxPool{_d}d"] = (f"adaptive_max_pool{_d}d", ["output_size", "return_indices"])
    MODULES[f"AdaptiveAvgPool{_d}d"] = (f"adaptive_avg_pool{_d}d", ["output_size"])

# Inputs large enough (11 per axis) that every new value drawn below is valid.
ROOMY = Shapes(min_side=11, min_channels=1, empty_batch=False)


def new_value(draw, attribute, module, dims, spatial):
    """A value for ``attribute`` that keeps the module valid for inputs of ``spatial``."""
    if attribute in ("ceil_mode", "return_indices", "count_include_pad"):
        return not getattr(module, attribute)
    if attribute == "kernel_size":
        padding = max(expand(getattr(module, "padding", 0), dims))
        return draw(st.integers(max(1, 2 * padding), 4))
    if attribute == "stride":
        return draw(st.sampled_from([None, 1, 2, 3, tuple(range(1, dims + 1))]))
    if attribute == "padding":
        return draw(st.integers(0, min(expand(module.kernel_size, dims)) // 2))
    if attribute == "dilation":
        return draw(st.sampled_from([1, 2, (2,) + (1,) * (dims - 1)]))
    if attribute == "divisor_override":
        return draw(st.sampled_from([None, 1, 3, -2]))
    if attribute == "norm_type":
        return draw(st.sampled_from([1, 2, 3, 1.5, math.inf] if isinstance(module.kernel_size, int) or dims > 1
                                    else [math.inf]))
    if attribute == "output_size":
        out = [draw(st.integers(1, n + 2)) for n in spatial]
        return draw(st.sampled_from([out[0], tuple(out)] + ([tuple([None] + out[1:])] if dims > 1 else [])))
    raise AssertionError(attribute)


def forward_case(spec, module, source, dims, spatial):
    """A Case for the module's current attributes (for the error bounds)."""
    names = {"max": ["kernel_size", "stride", "padding", "dilation", "ceil_mode"],
             "avg": ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
             "lp_": ["norm_type", "kernel_size", "stride", "ceil_mode"],
             "ada": ["output_size"]}[spec.name[:3]]
    kwargs = {n: getattr(module, n) for n in names if hasattr(module, n)}
    if "output_size" in kwargs:
        out = [n if o is None else o for n, o in zip(spatial, expand(kwargs["output_size"], dims))]
        terms = math.prod(max(-(-n // o), -(-o // n)) + 1 for n, o in zip(spatial, out))
    else:
        terms = math.prod(expand(kwargs["kernel_size"], dims))
    return Case(source, kwargs, torch.float64, dims, terms)


def assert_same_forward(spec, ours_module, torch_module, source, dims, label):
    x = source.make(torch.float64)
    spatial = list(x.shape[-dims:])
    ref = torch_call(lambda: torch_module(x))
    if isinstance(ref, tuple):
        exclude_misindexed(spec.name, x, ref[0])
    ours = ours_module(x)
    assert isinstance(ours, tuple) == isinstance(ref, tuple), f"{label}: {type(ours)} vs torch's {type(ref)}"
    if isinstance(ref, tuple):
        assert torch.equal(ours[1], ref[1]), f"{label}: indices differ from torch's"
    ours, ref = first(ours), first(ref)
    assert ours.shape == ref.shape, f"{label}: shape {tuple(ours.shape)} != torch's {tuple(ref.shape)}"
    case = forward_case(spec, torch_module, source, dims, spatial)
    if spec.values == "exact" or (spec.values == "power" and math.isinf(torch_module.norm_type)):
        assert_same_bits(ours, ref, label)
    elif spec.values == "sum":
        assert_within(ours, ref, sum_bound(lambda t, **_: first(torch_module(t)), case, x, ref), label)
    else:
        assert_within(ours, ref, power_bound(case, x, ref), label)


def assert_same_repr(spec, ours_module, torch_module, source, dims, label):
    assert repr(ours_module) == repr(torch_module), f"{label}: repr {ours_module!r} != torch's {torch_module!r}"


def module_scenario(data, name, check):
    """A poolkit.nn module and its torch.nn namesake built with the same arguments (some
    left to their defaults), then one or two attributes changed on both; ``check``
    compares them after construction and after each change."""
    op, parameters = MODULES[name]
    spec = SPEC[op]
    require(spec)
    dims = spec.dims
    case = data.draw(spec.cases(dims, shapes=ROOMY), label="case")
    arguments = dict(case.kwargs)
    if "return_indices" in parameters:
        arguments["return_indices"] = data.draw(st.booleans())
    required = {"kernel_size", "norm_type", "output_size"}
    arguments = {k: v for k, v in arguments.items() if k in required or data.draw(st.booleans(), label=f"pass {k}")}
    torch_module = getattr(torch.nn, name)(**arguments)
    ours_module = getattr(PN, name)(**arguments)
    check(spec, ours_module, torch_module, case.source, dims, f"{name}({arguments})")
    spatial = list(case.source.values.shape[-dims:])
    for _ in range(data.draw(st.integers(1, 2), label="changes")):
        attribute = data.draw(st.sampled_from(parameters), label="attribute")
        value = new_value(data.draw, attribute, torch_module, dims, spatial)
        event(f"{name}.{attribute} changed")
        setattr(torch_module, attribute, value)
        setattr(ours_module, attribute, value)
        check(spec, ours_module, torch_module, case.source, dims, f"{name}({arguments}), then {attribute}={value!r}")


@pytest.mark.parametrize("name", sorted(MODULES))
@settings(max_examples=max(20, BUDGET // 4), phases=NO_EXPLAIN)
@given(data=st.data())
def test_module_attributes_change_forward_as_in_torch(name, data):
    """After an attribute of a module changes (kernel_size, stride, padding, dilation,
    ceil_mode, return_indices, count_include_pad, divisor_override, output_size,
    norm_type), poolkit's module computes what torch.nn's computes."""
    module_scenario(data, name, assert_same_forward)


@pytest.mark.parametrize("name", sorted(MODULES))
@settings(max_examples=max(10, BUDGET // 10), phases=NO_SHRINK)
@given(data=st.data())
def test_module_repr_as_in_torch(name, data):
    """A module's repr is torch.nn's, after construction and after attribute changes."""
    module_scenario(data, name, assert_same_repr)


# ---------------------------------------------------------------------------------------------
# Integer-like arguments, and arguments PyTorch cannot take

INT_PARAMETERS = ["kernel_size", "stride", "padding", "dilation", "divisor_override", "output_size"]


def integer_like(draw, value):
    return draw(st.sampled_from([np.int64(value), np.int32(value), torch.tensor(value)]))


@st.composite
def integer_like_calls(draw):
    """A valid call with one argument given as a NumPy integer, a 0-d tensor (kernel and
    window sizes, divisor_override, output_size; norm_type as a 0-d tensor or NumPy
    number) or a truthy or falsy non-bool (return_indices)."""
    spec = draw(st.sampled_from([s for s in SPECS if available(s)]))
    case = draw(spec.valid)
    kwargs = dict(case.kwargs)
    choices = [k for k in INT_PARAMETERS if kwargs.get(k) not in (None, ())]
    if spec.values == "power" and not math.isinf(kwargs["norm_type"]):
        choices.append("norm_type")
    if spec.indices:
        choices.append("return_indices")
    param = draw(st.sampled_from(choices))
    value = kwargs.get(param)
    if param == "norm_type":
        forms = [torch.tensor(float(value)), np.float64(value)]
        if isinstance(value, int):
            forms += [torch.tensor(value), np.int64(value)]
        kwargs[param] = draw(st.sampled_from(forms))
    elif param == "return_indices":
        kwargs[param] = draw(st.sampled_from([1, 0, np.True_, "yes"]))
    elif isinstance(value, (tuple, list)):
        entries = list(value)
        i = draw(st.sampled_from([j for j, v in enumerate(entries) if v is not None]))
        entries[i] = integer_like(draw, entries[i])
        kwargs[param] = type(value)(entries)
    else:
        kwargs[param] = integer_like(draw, value)
    return spec, Case(case.source, kwargs, case.dtype, case.dims, case.terms, case.grad_source,
                      case.padding_only, case.tags), param


@settings(max_examples=BUDGET, phases=NO_EXPLAIN)
@given(call=integer_like_calls())
def test_integer_like_arguments(call):
    """Where PyTorch accepts a NumPy integer, a 0-d tensor or a truthy non-bool, poolkit
    accepts it with PyTorch's results (values, indices, gradients); where PyTorch
    refuses it, poolkit refuses it naming the parameter."""
    spec, case, param = call
    assume(not case.padding_only)
    kwargs = {param: case.kwargs[param]}
    if param == "return_indices":
        event(f"{spec.name}: return_indices={case.kwargs[param]!r}")
        x = case.input()
        ours, ref = case.call(getattr(P, spec.name), x), case.call(getattr(F, spec.name), x)
        assert isinstance(ours, tuple) == isinstance(ref, tuple), f"{spec.name} with {kwargs}: {type(ours)}"
        if isinstance(ref, tuple):
            assert torch.equal(ours[1], ref[1]), f"{spec.name} with {kwargs}: indices differ from torch's"
        assert_same_bits(first(ours), first(ref), f"{spec.name} with {kwargs}")
    elif refusal(lambda: torch_call(lambda: case.call(getattr(F, spec.name), case.input()))) is None:
        event(f"{spec.name}: torch accepts {param} as {type(case.kwargs[param]).__name__}")
        compare(spec, case, *reference(spec, case))
    else:
        event(f"{spec.name}: torch refuses {param} as {type(case.kwargs[param]).__name__}")
        assert_refused_naming(lambda: case.call(getattr(P, spec.name), case.input()), {param},
                              what=f"{spec.name} with {kwargs}")


HUGE = [2**63, 2**64, 2**70, -(2**63) - 1]


@st.composite
def huge_integer_calls(draw):
    spec = draw(st.sampled_from([s for s in SPECS if available(s) and s.name.split("_pool")[0] in
                                 ("max", "avg", "lp", "adaptive_max", "adaptive_avg")]))
    case = draw(spec.valid)
    choices = [k for k in ("kernel_size", "stride", "padding", "dilation", "divisor_override", "output_size")
               if k in case.kwargs]
    param = draw(st.sampled_from(choices))
    return spec, case, param, draw(st.sampled_from(HUGE))


@settings(max_examples=max(20, BUDGET // 3), phases=NO_SHRINK)
@given(call=huge_integer_calls())
def test_integers_beyond_int64_are_refused_naming_the_parameter(call):
    """An integer argument outside int64 (stride=2**63, divisor_override=2**70, ...):
    PyTorch refuses it; poolkit raises ValueError or TypeError naming the parameter
    and the value (not an internal error from deeper down). The parameter need not be
    named first: a huge kernel or padding may be refused as a window that does not fit."""
    spec, case, param, value = call
    kwargs = dict(case.kwargs, **{param: value})
    x = case.input()
    event(f"{spec.name}: {param}={value}")
    assert refusal(lambda: getattr(F, spec.name)(x, **resolve(kwargs, x.dtype))) is not None
    assert_refused_naming(lambda: getattr(P, spec.name)(x, **resolve(kwargs, x.dtype)), {param}, value,
                          what=f"{spec.name} with {param}={value}", first_named=False)


@pytest.mark.parametrize("op", ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
                                "lp_pool1d", "lp_pool2d", "lp_pool3d"])
def test_stride_2_to_the_63(op):
    x = torch.randn((1, 2) + (5,) * int(op[-2]))
    args = (2, 2) if op.startswith("lp") else (2,)
    assert refusal(lambda: getattr(F, op)(x, *args, stride=2**63)) is not None
    assert_refused_naming(lambda: getattr(P, op)(x, *args, stride=2**63), {"stride"}, 2**63, what=op)


@pytest.mark.parametrize("op", ["avg_pool2d", "avg_pool3d"])
def test_divisor_override_2_to_the_70(op):
    x = torch.randn((1, 2) + (5,) * int(op[-2]))
    assert refusal(lambda: getattr(F, op)(x, 2, divisor_override=2**70)) is not None
    assert_refused_naming(lambda: getattr(P, op)(x, 2, divisor_override=2**70), {"divisor_override"}, 2**70, what=op)


@settings(max_examples=max(20, BUDGET // 3), phases=NO_SHRINK)
@given(data=st.data())
def test_float8_inputs_are_refused_naming_the_input(data):
    """PyTorch has no pooling kernels for float8; poolkit refuses float8 inputs with a
    ValueError or TypeError about the input (its dtype), for every op."""
    spec = data.draw(st.sampled_from([s for s in SPECS if available(s)]), label="op")
    case = data.draw(spec.valid, label="case")
    dtype = data.draw(st.sampled_from([torch.float8_e4m3fn, torch.float8_e5m2]), label="dtype")
    x = case.source.make(torch.float32).clamp(-200, 200).to(dtype)
    kwargs = resolve(case.kwargs, dtype)
    # PyTorch checks the dtype only where it has elements to pool: some ops (such as
    # fractional_max_pool2d) return an empty float8 result for an empty input. poolkit
    # refuses float8 everywhere; only the calls torch refuses too are compared here.
    accepted = refusal(lambda: getattr(F, spec.name)(x, **kwargs)) is None
    assert not accepted or x.numel() == 0, f"torch pooled a non-empty {dtype} input with {spec.name}"
    event(f"{spec.name}: {dtype}" + (" (empty input, accepted by torch: skipped)" if accepted else ""))
    assume(not accepted)
    assert_refused_naming(lambda: getattr(P, spec.name)(x, **kwargs), {"input"}, what=f"{spec.name}({dtype})")


@settings(max_examples=max(10, BUDGET // 10), phases=NO_SHRINK)
@given(dims=st.sampled_from([1, 2, 3]), norm_type=st.sampled_from([math.inf, -math.inf, 2, 1.5]),
       batched=st.booleans())
def test_list_input_to_lp_pool_is_refused_naming_the_input(dims, norm_type, batched):
    """A nested list is not a tensor: lp_pool refuses it with a TypeError about the input,
    whatever the norm_type (an infinite one once reached ``input.abs()`` first)."""
    x = torch.ones(((2,) if batched else ()) + (2,) + (4,) * dims).tolist()
    op = f"lp_pool{dims}d"
    assert refusal(lambda: getattr(F, op)(x, norm_type, 2)) is not None
    assert_refused_naming(lambda: getattr(P, op)(x, norm_type, 2), {"input"}, what=f"{op}(list, {norm_type})")
