"""poolkit.functional against torch.nn.functional, op by op, on random configurations.

Every op is one entry of ``SPECS``: its name, its number of pooled dimensions,
a strategy that draws VALID calls (arguments PyTorch accepts), a strategy that
draws INVALID calls (exactly one parameter broken, in a known way), and what to
compare. Adding an op family is adding entries to that table.

Valid calls must run in both libraries and give the same

* output shapes and memory layouts (strides of every axis longer than 1: the
  stride of an axis of length 1 is never used to address an element);
* values: max-type ops bit for bit (NaN positions and -0.0 included); average
  and power-average ops within a rounding-error bound derived per element
  (see ``sum_bound`` and ``power_bound``);
* indices (``return_indices=True``), exactly;
* float64 input gradients for a random upstream gradient
  (``torch.autograd.grad``), within the bound of summing the same terms in
  another order.

Each valid example records an ``event``; ``test_valid_draws_reach_a_comparison``
checks that at least 80% of valid draws get through to every comparison.

Invalid calls must be refused by both libraries, and both refusals must be
about the broken parameter: PyTorch's message is mapped to parameter names by
``TORCH_MESSAGES``, and poolkit's message must name that parameter first. A
draw that PyTorch accepts is a bug in the strategy and fails the test.

PyTorch 2.14.1 misbehaves in two valid configurations, which are excluded
(``assume``, with an event):

* with dilation, a max-pooling window can lie wholly in the padding; PyTorch
  then returns an index past the end of the input and its backward writes out
  of bounds. Such draws are excluded before PyTorch runs at all, and poolkit's
  documented answer there (-inf, index -1, no gradient) is tested on a fixed
  case without PyTorch's backward;
* its channels-last max_pool3d kernel gives a window whose maximum is -inf an
  index without the depth term (an element of another window), and its backward
  sends that window's gradient there (``torch_misindexes``).
"""

import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable

import pytest
import torch
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption
from torch.nn import functional as F

import poolkit.functional as P

SPECIAL = [float("nan"), float("inf"), float("-inf"), -0.0]
LAYOUTS = ["contiguous", "channels_last", "strided", "permuted"]

# Example budgets follow the active profile (conftest.py): valid draws matter most.
BUDGET = settings().max_examples
VALID_EXAMPLES = 2 * BUDGET
INVALID_EXAMPLES = BUDGET
REACH_EXAMPLES = max(100, BUDGET * 2)


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Source:
    """An input's values (float64, contiguous) and the memory layout to build it in."""

    values: torch.Tensor
    layout: str
    order: tuple          # memory order of the axes, outermost first ("permuted", "channels_last")
    strided_axis: int     # the axis that gets a gap of one element ("strided")
    seed: int
    batched: bool

    def make(self, dtype, requires_grad=False):
        x = self.values.to(dtype, copy=True)      # never the stored tensor itself
        if self.layout == "channels_last" and self.batched and x.dim() in (4, 5):
            x = x.contiguous(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)
        elif self.layout in ("channels_last", "permuted"):
            inverse = sorted(range(x.dim()), key=lambda d: self.order[d])
            x = x.permute(self.order).contiguous().permute(inverse)
        elif self.layout == "strided":
            j = self.strided_axis
            shape = list(x.shape)
            shape[j] = 2 * shape[j] + 1
            big = torch.zeros(shape, dtype=dtype)
            index = [slice(None)] * x.dim()
            index[j] = slice(1, None, 2)          # storage offset 1 and a doubled stride
            big[tuple(index)] = x
            x = big[tuple(index)]
        return x.requires_grad_(requires_grad)

    def positive(self):
        """Finite values of at least 1: inputs on which LP pooling's gradient is well conditioned."""
        return replace(self, values=self.values.nan_to_num(0.0, 0.0, 0.0).abs() + 1)


@st.composite
def sources(draw, shape, batched, specials=True):
    """Small integers (many ties) or continuous values; sometimes NaN, +-inf and -0.0;
    in one of four memory layouts."""
    seed = draw(st.integers(0, 2**32 - 1))
    generator = torch.Generator().manual_seed(seed)
    if draw(st.booleans()):
        values = torch.randint(-3, 4, shape, generator=generator).double()
    else:
        values = 2 * torch.randn(shape, generator=generator, dtype=torch.float64)
    if specials and values.numel() and draw(st.integers(0, 3)) == 0:
        flat = values.view(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, values.numel() - 1))] = draw(st.sampled_from(SPECIAL))
    layout = draw(st.sampled_from(LAYOUTS))
    ndim = len(shape)
    channel = 1 if batched else 0
    if layout == "channels_last":
        order = tuple(d for d in range(ndim) if d != channel) + (channel,)
    elif layout == "permuted":
        order = tuple(draw(st.permutations(range(ndim))))
    else:
        order = tuple(range(ndim))
    return Source(values, layout, order, draw(st.integers(0, ndim - 1)), seed, batched)


@dataclass(frozen=True)
class Shapes:
    """Limits on drawn input shapes: the smallest spatial size and channel count, and
    whether an empty batch may be drawn."""

    min_side: int = 1
    min_channels: int = 1
    empty_batch: bool = True


ANY_SHAPE = Shapes()


@st.composite
def batch_and_channels(draw, shapes):
    """(N, C), or (None, C) for an unbatched input; rarely an empty batch."""
    empty = shapes.empty_batch and draw(st.integers(0, 9)) == 0
    n = draw(st.sampled_from([None, None, 1, 1, 2, 3] + [0] * empty))
    return n, draw(st.integers(shapes.min_channels, max(3, shapes.min_channels)))


def full_shape(n, c, spatial):
    return ([] if n is None else [n]) + [c] + list(spatial)


# ---------------------------------------------------------------------------------------------
# Argument forms


def render(values, *, one=True, full=True, lists=True):
    """A per-dimension list as PyTorch takes it: an int (when all entries are equal),
    a 1-tuple, or one entry per dimension, as a tuple or a list."""
    forms = []
    if len({(type(v), v) for v in values}) == 1:
        forms.append(values[0])
        if one:
            forms.append((values[0],))
    if full:
        forms.append(tuple(values))
        if lists:
            forms.append(list(values))
    return st.sampled_from(forms)


def expand(value, dims):
    """The per-dimension list behind a rendered argument."""
    if isinstance(value, (tuple, list)):
        return list(value) * dims if len(value) == 1 else list(value)
    return [value] * dims


class AsInputDtype:
    """A tensor argument that must have the input's dtype (fractional pooling's samples)."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __repr__(self):
        return f"AsInputDtype({self.tensor!r})"


def resolve(kwargs, dtype):
    return {k: (v.tensor.to(dtype) if isinstance(v, AsInputDtype) else v) for k, v in kwargs.items()}


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    """One valid call: the input, the keyword arguments, the dtype, and for the error
    bounds the largest number of terms summed into one output or one gradient entry."""

    source: Source
    kwargs: dict
    dtype: torch.dtype
    dims: int
    terms: int
    grad_source: Source = None
    padding_only: bool = False      # a max-pooling window lies wholly in the padding
    tags: tuple = ()

    def input(self, dtype=None, requires_grad=False):
        return self.source.make(dtype or self.dtype, requires_grad)

    def call(self, fn, x, **extra):
        return fn(x, **resolve(self.kwargs, x.dtype), **extra)


@dataclass
class Broken:
    """One invalid call, and the parameters that a refusal may name."""

    input: object
    kwargs: dict
    params: frozenset
    what: str

    def call(self, fn):
        dtype = self.input.dtype if isinstance(self.input, torch.Tensor) else torch.float32
        return fn(self.input, **resolve(self.kwargs, dtype))


dtypes = st.sampled_from([torch.float32, torch.float64])


def output_length(size, k, s, p, d, ceil_mode):
    """PyTorch's pooled length (aten/src/ATen/native/Pool.h, pooling_output_shape)."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def padding_only_window(size, k, s, p, d, ceil_mode):
    """True if some window reads no input element: every slot in the padding."""
    for o in range(output_length(size, k, s, p, d, ceil_mode)):
        if all(not 0 <= o * s - p + j * d < size for j in range(k)):
            return True
    return False


@st.composite
def sliding_cases(draw, dims, family, shapes=ANY_SHAPE):
    """Valid max_pool / avg_pool / lp_pool calls: padding <= kernel // 2, every window
    count >= 1, strides and dilations from 1 to 3, ceil_mode either way."""
    kmax = {1: 5, 2: 4, 3: 3}[dims]
    n, c = draw(batch_and_channels(shapes))
    kernel, stride, padding, dilation, spatial = [], [], [], [], []
    stride_form = draw(st.sampled_from(["explicit", "explicit", "explicit", None, ()]))
    ceil_mode = draw(st.booleans())
    for _ in range(dims):
        k = draw(st.integers(1, kmax))
        s = draw(st.integers(1, 3)) if stride_form == "explicit" else k
        p = draw(st.integers(0, k // 2)) if family in ("max", "avg") else 0
        d = draw(st.sampled_from([1, 1, 1, 2, 3] if dims < 3 else [1, 1, 2])) if family == "max" else 1
        low = max(shapes.min_side, d * (k - 1) + 1 - 2 * p)
        if family in ("avg", "lp") and dims == 3:
            low = max(low, k)            # PyTorch's avg_pool3d wants the input at least as large as the kernel
        spatial.append(draw(st.integers(low, low + (6 if dims == 1 else 3))))
        kernel.append(k), stride.append(s), padding.append(p), dilation.append(d)
    dtype = draw(dtypes)
    source = draw(sources(full_shape(n, c, spatial), n is not None))
    kwargs = {"kernel_size": draw(render(kernel))}
    if family == "lp":
        norm_type = draw(st.sampled_from([1, 2, 3, 1.5, 0.5, 4.0, float("inf"), float("-inf")]))
        kwargs = {"norm_type": norm_type,
                  "kernel_size": draw(render(kernel, one=dims == 1 and math.isinf(norm_type),
                                             full=dims > 1 or math.isinf(norm_type)))}
    kwargs["stride"] = draw(render(stride)) if stride_form == "explicit" else stride_form
    if family in ("max", "avg"):
        kwargs["padding"] = draw(render(padding))
    if family == "max":
        kwargs["dilation"] = draw(render(dilation))
    kwargs["ceil_mode"] = ceil_mode
    if family == "avg":
        kwargs["count_include_pad"] = draw(st.booleans())
        if dims > 1:
            kwargs["divisor_override"] = draw(st.sampled_from([None, None, 1, 2, 3, 5, -1, -3]))
    padding_only = family == "max" and any(
        padding_only_window(*g, ceil_mode) for g in zip(spatial, kernel, stride, padding, dilation))
    terms = math.prod(kernel)
    grad_source = source.positive() if family == "lp" else None
    tags = tuple(t for t, on in [("dilation", max(dilation) > 1), ("ceil_mode", ceil_mode),
                                 ("padding", max(padding) > 0), ("unbatched", n is None)] if on)
    return Case(source, kwargs, dtype, dims, terms, grad_source, padding_only, tags)


@st.composite
def adaptive_cases(draw, dims, shapes=ANY_SHAPE):
    """Valid adaptive calls: output sizes from 1 to input + 2 (bins overlap or repeat),
    as an int, a tuple or a list, with None (keep the input's size) for 2-D and 3-D."""
    n, c = draw(batch_and_channels(shapes))
    top = max(shapes.min_side + 3, 8 if dims == 1 else 5)
    spatial = [draw(st.integers(shapes.min_side, top)) for _ in range(dims)]
    out = [draw(st.integers(1, size + 2)) for size in spatial]
    if dims > 1 and draw(st.booleans()):
        keep = draw(st.integers(0, dims - 1))
        form = [None if i == keep else o for i, o in enumerate(out)]
        out[keep] = spatial[keep]
        output_size = draw(st.sampled_from([tuple(form), list(form)]))
    else:
        output_size = draw(render(out, one=dims == 1))
    terms = math.prod(max(-(-size // o), -(-o // size)) + 1 for size, o in zip(spatial, out))
    source = draw(sources(full_shape(n, c, spatial), n is not None))
    return Case(source, {"output_size": output_size}, draw(dtypes), dims, terms,
                tags=("unbatched",) if n is None else ())


@st.composite
def fractional_cases(draw, dims, shapes=ANY_SHAPE):
    """Valid fractional max pooling: output + kernel - 1 <= input in every dimension
    (< for 3-D, as PyTorch checks), by output_size or by output_ratio, with fixed
    samples so both libraries place the same windows."""
    n, c = draw(batch_and_channels(shapes))
    strict = 1 if dims == 3 else 0
    kernel = [draw(st.integers(1, 3)) for _ in range(dims)]
    spatial = [draw(st.integers(max(k + strict, shapes.min_side), max(k + strict, shapes.min_side) + 4))
               for k in kernel]
    out = [draw(st.integers(1, size - k + 1 - strict)) for size, k in zip(spatial, kernel)]
    kwargs = {"kernel_size": draw(render(kernel, one=False))}
    if draw(st.booleans()) and all(o < size for o, size in zip(out, spatial)):
        ratio = [(o + 0.5) / size for o, size in zip(out, spatial)]     # int(size * ratio) == o
        kwargs["output_ratio"] = tuple(ratio)
    else:
        kwargs["output_size"] = draw(render(out, one=False))
    samples_shape = (1 if n is None else n, c, dims)
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    kwargs["_random_samples"] = AsInputDtype(torch.rand(samples_shape, generator=generator, dtype=torch.float64))
    source = draw(sources(full_shape(n, c, spatial), n is not None))
    return Case(source, kwargs, draw(dtypes), dims, math.prod(kernel), tags=("unbatched",) if n is None else ())


@st.composite
def unpool_cases(draw, dims, shapes=ANY_SHAPE):
    """Valid max_unpool calls: values and indices of a max pooling without dilation,
    output_size the pooled input's size (given, or PyTorch's default when equal)."""
    n, c = draw(batch_and_channels(shapes))
    kernel = [draw(st.integers(1, 3)) for _ in range(dims)]
    stride = [draw(st.integers(1, 3)) for _ in range(dims)]
    padding = [draw(st.integers(0, k // 2)) for k in kernel]
    # the pooled values (this op's input) have at least shapes.min_side entries per axis
    low = [max(1, k - 2 * p, (shapes.min_side - 1) * s + k - 2 * p) for k, s, p in zip(kernel, stride, padding)]
    spatial = [draw(st.integers(lo, lo + 4)) for lo in low]
    shape = full_shape(n, c, spatial)
    pooled_from = draw(sources(shape, n is not None, specials=True))
    values, indices = getattr(F, f"max_pool{dims}d")(pooled_from.values, kernel, stride, padding, return_indices=True)
    default = [(o - 1) * s + k - 2 * p for o, s, k, p in zip(values.shape[-dims:], stride, kernel, padding)]
    # F.max_unpool*d index their arguments per dimension: no 1-tuples
    kwargs = {"indices": indices, "kernel_size": draw(render(kernel, one=False))}
    kwargs["stride"] = draw(render(stride, one=False))
    kwargs["padding"] = draw(render(padding, one=False))
    forms = [tuple(spatial), list(spatial)] + ([tuple(shape)] if n is not None else [])
    kwargs["output_size"] = draw(st.sampled_from(forms + ([None] if default == spatial else [])))
    source = draw(sources(list(values.shape), n is not None, specials=False))
    source = replace(source, values=values)
    return Case(source, kwargs, draw(dtypes), dims, 1, tags=("unbatched",) if n is None else ())


# ---------------------------------------------------------------------------------------------
# Invalid calls: a valid call with exactly one parameter broken


def _base_input(case):
    return case.source.make(torch.float32)


def break_entries(param, bad, *, fix=None, one=True):
    """Replace one entry of a per-dimension parameter with a bad value."""

    def apply(draw, case, dims):
        kwargs = dict(case.kwargs)
        if fix:
            fix(kwargs, dims)
        values = expand(kwargs[param] if kwargs.get(param) not in (None, ()) else kwargs["kernel_size"], dims)
        i = draw(st.integers(0, dims - 1))
        values[i] = draw(st.sampled_from(bad))
        kwargs[param] = draw(render(values, one=one))
        if fix:
            fix(kwargs, dims)
        return Broken(_base_input(case), kwargs, frozenset({param}), f"{param} entry {values[i]!r}")

    return apply


def isolate_kernel(kwargs, dims):
    """Breaking the kernel must break nothing else: a default stride follows the
    kernel, and PyTorch checks padding against the dilated kernel first."""
    if "stride" in kwargs and kwargs["stride"] in (None, ()):
        kwargs["stride"] = 1
    if "padding" in kwargs:
        kwargs["padding"] = 0
    if "dilation" in kwargs:
        kwargs["dilation"] = 1


def break_length(param, lengths):
    """A tuple or list of a length the op does not take (``lengths(dims, kwargs)``)."""

    def apply(draw, case, dims):
        kwargs = dict(case.kwargs)
        isolate_kernel(kwargs, dims)
        length = draw(st.sampled_from(lengths(dims, kwargs)))
        value = expand(kwargs.get(param) if kwargs.get(param) not in (None, ()) else 1, dims)[:1] or [1]
        kwargs[param] = draw(st.sampled_from([tuple(value * length), list(value * length)]))
        return Broken(_base_input(case), kwargs, frozenset({param}), f"{param} of length {length}")

    return apply


def break_value(param, bad, params=None):
    """Replace a whole argument with a bad value."""

    def apply(draw, case, dims):
        kwargs = dict(case.kwargs)
        if param == "kernel_size":
            isolate_kernel(kwargs, dims)
        kwargs[param] = draw(st.sampled_from(bad))
        return Broken(_base_input(case), kwargs, frozenset(params or {param}), f"{param}={kwargs[param]!r}")

    return apply


def break_padding_size(draw, case, dims):
    kwargs = dict(case.kwargs)
    kernel = expand(kwargs["kernel_size"], dims)
    padding = expand(kwargs["padding"], dims)
    i = draw(st.integers(0, dims - 1))
    padding[i] = kernel[i] // 2 + draw(st.integers(1, 2))
    kwargs["padding"] = draw(render(padding))
    return Broken(_base_input(case), kwargs, frozenset({"padding"}), "padding > kernel_size // 2")


def break_output_too_small(draw, case, dims):
    """Shrink one input dimension below the window (no padding there, no ceil_mode)."""
    kwargs = dict(case.kwargs)
    kernel = expand(kwargs["kernel_size"], dims)
    dilation = expand(kwargs.get("dilation", 1), dims)
    i = draw(st.integers(0, dims - 1))
    kernel[i] = max(kernel[i], 2)
    if "padding" in kwargs:
        padding = expand(kwargs["padding"], dims)
        padding[i] = 0
        kwargs["padding"] = tuple(padding)
    if kwargs.get("stride") in (None, ()):
        kwargs["stride"] = 1                          # the default stride would follow the new kernel
    kwargs["kernel_size"] = kernel[0] if dims == 1 else tuple(kernel)
    kwargs["ceil_mode"] = False                       # a ceiling could still count one window
    x = _base_input(case)
    window = dilation[i] * (kernel[i] - 1) + 1
    axis = x.dim() - dims + i
    x = x.narrow(axis, 0, 1).expand(*x.shape[:axis], draw(st.integers(1, window - 1)), *x.shape[axis + 1:])
    return Broken(x.contiguous(), kwargs, frozenset({"input", "kernel_size", "dilation"}), "output size < 1")


def break_rank(draw, case, dims):
    x = _base_input(case)
    batched = x.dim() == dims + 2
    low = x.reshape(-1, *x.shape[-dims:])[:1].reshape(x.shape[-dims:]) if x.numel() else x.new_zeros(x.shape[-dims:])
    high = x[None] if batched else x[None, None]
    y = draw(st.sampled_from([low, high]))
    return Broken(y, dict(case.kwargs), frozenset({"input"}), f"input of rank {y.dim()}")


def break_empty(axes):
    def apply(draw, case, dims):
        x = _base_input(case)
        axis = draw(st.sampled_from(axes(dims)))                   # counted from the end
        if axis == -dims - 1 and x.dim() == dims + 1:
            x = x[None]            # fractional pooling accepts an unbatched input without channels
        y = x.narrow(x.dim() + axis, 0, 0)
        kwargs = dict(case.kwargs)
        if "_random_samples" in kwargs and axis == -dims - 1:
            kwargs["_random_samples"] = AsInputDtype(kwargs["_random_samples"].tensor[:, :0])
        return Broken(y, kwargs, frozenset({"input"}), f"input with an empty axis {axis}")

    return apply


def channel_or_spatial(dims):
    return [-dims - 1] + list(range(-dims, 0))


def spatial_only(dims):
    return list(range(-dims, 0))


def break_dtype(bad):
    def apply(draw, case, dims):
        dtype = draw(st.sampled_from(bad))
        x = _base_input(case).clamp(-400, 400).to(dtype)        # within float8_e4m3fn's range
        kwargs = dict(case.kwargs)
        kwargs.pop("_random_samples", None)          # fractional pooling: PyTorch draws samples of the input's dtype
        if math.isinf(kwargs.get("norm_type", 0)):
            kwargs["norm_type"] = 2                  # lp_pool with an infinite norm pools |input|, a real tensor
            kwargs["kernel_size"] = kwargs["kernel_size"] if dims > 1 else expand(kwargs["kernel_size"], 1)[0]
        return Broken(x, kwargs, frozenset({"input"}), f"input of dtype {dtype}")

    return apply


def break_not_tensor(draw, case, dims):
    x = _base_input(case).nan_to_num(0.0, 0.0, 0.0)
    return Broken(x.tolist(), dict(case.kwargs), frozenset({"input"}), "input a nested list")


def break_ceil_mode(draw, case, dims):
    kwargs = dict(case.kwargs, ceil_mode=draw(st.sampled_from([1, 0, None, "yes"])))
    return Broken(_base_input(case), kwargs, frozenset({"ceil_mode"}), f"ceil_mode={kwargs['ceil_mode']!r}")


def break_indices(draw, case, dims):
    kwargs = dict(case.kwargs)
    indices = kwargs["indices"]
    how = draw(st.sampled_from(["dtype", "shape", "list"] + (["range"] if indices.numel() else [])))
    if how == "dtype":
        kwargs["indices"] = indices.to(draw(st.sampled_from([torch.float32, torch.int32])))
    elif how == "shape":
        kwargs["indices"] = torch.cat([indices, indices], dim=-1)
    elif how == "range":
        plane = math.prod(expand_output(case, dims))
        flat = indices.clone().view(-1)
        flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([plane, plane + 3, -1]))
        kwargs["indices"] = flat.view(indices.shape)
    else:
        kwargs["indices"] = indices.tolist()
    return Broken(_base_input(case), kwargs, frozenset({"indices"}), f"indices: {how}")


def expand_output(case, dims):
    """The spatial output size of a valid max_unpool case."""
    kw = case.kwargs
    if kw["output_size"] is not None:
        return list(kw["output_size"])[-dims:]
    size = case.source.values.shape[-dims:]
    k, s, p = expand(kw["kernel_size"], dims), expand(kw["stride"], dims), expand(kw["padding"], dims)
    return [(o - 1) * s_ + k_ - 2 * p_ for o, s_, k_, p_ in zip(size, s, k, p)]


def break_unpool_output_size(draw, case, dims):
    kwargs = dict(case.kwargs)
    out = expand_output(case, dims)
    how = draw(st.sampled_from(["length", "range"]))
    if how == "length":
        length = draw(st.sampled_from([dims + 1, dims + 3]))    # dims and dims + 2 are valid
        kwargs["output_size"] = tuple((out * length)[:length])
    else:
        s = expand(kwargs["stride"], dims)
        i = draw(st.integers(0, dims - 1))
        out[i] = out[i] + s[i] + draw(st.integers(0, 3))
        kwargs["output_size"] = tuple(out)
    return Broken(_base_input(case), kwargs, frozenset({"output_size"}), f"output_size: {how}")


def unpool_input(transform, what):
    """Break the input of max_unpool and the indices with it, so that only the input is wrong."""

    def apply(draw, case, dims):
        x = _base_input(case)
        kwargs = dict(case.kwargs)
        if transform == "rank":                       # the spatial axes alone (values do not matter)
            lead = tuple(range(x.dim() - dims))
            kwargs["indices"], x = kwargs["indices"].sum(lead), x.sum(lead)
        elif transform == "empty":
            if x.dim() == dims + 1:                   # PyTorch accepts an unbatched input without channels
                x, kwargs["indices"] = x[None], kwargs["indices"][None]
            kwargs["indices"] = kwargs["indices"].narrow(-dims - 1, 0, 0)
            x = x.narrow(-dims - 1, 0, 0)
        elif transform == "dtype":
            x = x.to(torch.int64)
        else:
            x = x.nan_to_num(0.0, 0.0, 0.0).tolist()
        return Broken(x, kwargs, frozenset({"input"}), what)

    return apply


def break_fractional_output(draw, case, dims):
    kwargs = dict(case.kwargs)
    kernel = expand(kwargs["kernel_size"], dims)
    size = case.source.values.shape[-dims:]
    kwargs.pop("output_ratio", None)
    how = draw(st.sampled_from(["large", "negative", "length", "neither"]))
    out = [1] * dims
    if how == "large":
        i = draw(st.integers(0, dims - 1))
        out[i] = size[i] - kernel[i] + 2 - (dims == 3) + draw(st.integers(0, 2))
        kwargs["output_size"] = tuple(out)
        params = {"output_size", "kernel_size", "input"}
    elif how == "negative":
        out[draw(st.integers(0, dims - 1))] = draw(st.integers(-3, -1))
        kwargs["output_size"] = tuple(out)
        params = {"output_size"}
    elif how == "length":
        kwargs["output_size"] = draw(st.sampled_from([(1,), (1,) * (dims + 1)]))
        params = {"output_size"}
    else:
        kwargs.pop("output_size", None)
        params = {"output_size", "output_ratio"}
    return Broken(_base_input(case), kwargs, frozenset(params), f"output_size: {how}")


def break_samples(draw, case, dims):
    kwargs = dict(case.kwargs)
    samples = kwargs["_random_samples"].tensor
    how = draw(st.sampled_from(["channels", "dtype", "rank", "list"]))
    if how == "channels":
        kwargs["_random_samples"] = AsInputDtype(torch.cat([samples, samples], dim=1))
    elif how == "dtype":
        kwargs["_random_samples"] = samples.to(torch.float64)     # the input is float32
    elif how == "rank":
        kwargs["_random_samples"] = AsInputDtype(samples.flatten(0, 1))     # rank 2, also for an empty batch
    else:
        kwargs["_random_samples"] = samples.tolist()
    return Broken(_base_input(case), kwargs, frozenset({"_random_samples"}), f"_random_samples: {how}")


def with_fix(breaker, fix):
    """``breaker``, then ``fix`` applied to the keyword arguments it returns."""

    def apply(draw, case, dims):
        broken = breaker(draw, case, dims)
        kwargs = dict(broken.kwargs)
        fix(kwargs, dims)
        return replace(broken, kwargs=kwargs)

    return apply


def no_mean_shortcut(kwargs, dims):
    """PyTorch's adaptive_avg_pool takes a plain mean when every output size is 1, and
    then accepts inputs of any rank, empty inputs and complex inputs; an output size
    of 2 (valid for any input) keeps its checks."""
    kwargs["output_size"] = 2


def isolate_dilation(kwargs, dims):
    """PyTorch checks padding against the dilated kernel first: no padding."""
    kwargs["padding"] = 0


def invalid_cases(valid, breakers):
    """A valid call from ``valid`` with one of ``breakers`` applied."""

    @st.composite
    def draw_broken(draw, dims):
        case = draw(valid)
        name, breaker = draw(st.sampled_from(breakers))
        broken = breaker(draw, case, dims)
        return replace(broken, what=f"{name}: {broken.what}")

    return draw_broken


# A kernel of -2 or less trips PyTorch's padding check first (pad <= kernel / 2), so -1 is
# the most negative kernel that breaks the kernel alone.
NONPOSITIVE = [0, -1]
COMMON_INPUT = [
    ("rank", break_rank),
    ("not a tensor", break_not_tensor),
]


def sliding_breakers(family, dims, bad_dtypes):
    kernel_forms = dict(one=not (family == "lp" and dims > 1))
    out = [
        ("kernel_size <= 0", break_entries("kernel_size", NONPOSITIVE, fix=isolate_kernel, **kernel_forms)),
        ("kernel_size type", break_value("kernel_size", [True, 2.0])),
        ("stride <= 0", break_entries("stride", NONPOSITIVE)),
        ("stride length", break_length("stride", lambda d, kw: [d + 1])),
        ("stride type", break_entries("stride", [1.5])),
        ("stride bool", break_value("stride", [True, False])),
        ("ceil_mode", break_ceil_mode),
        ("output too small", break_output_too_small),
        ("empty", break_empty(channel_or_spatial)),
        ("dtype", break_dtype(bad_dtypes)),
    ] + COMMON_INPUT
    if family == "lp":
        out += [("norm_type", break_value("norm_type", [0, 0.0, "2"]))]
        # lp_pool1d takes a 1-tuple kernel only with an infinite norm_type
        out += [("kernel_size length", break_length(
            "kernel_size", lambda d, kw: ([2] + [1] * (not math.isinf(kw["norm_type"]))) if d == 1 else [1, d + 1]))]
    else:
        out += [("kernel_size length", break_length("kernel_size", lambda d, kw: [0, d + 1]))]
        out += [("padding > kernel // 2", break_padding_size),
                ("padding < 0", break_entries("padding", [-1, -2])),
                ("padding length", break_length("padding", lambda d, kw: [0, d + 1])),
                ("padding type", break_entries("padding", [1.0])),
                ("padding bool", break_value("padding", [True, False]))]
    if family == "max":
        # a dilation of -1 can make the dilated kernel negative, which trips the padding check first
        out += [("dilation <= 0", break_entries("dilation", [0], fix=isolate_dilation)),
                ("dilation length", break_length("dilation", lambda d, kw: [0, d + 1])),
                ("dilation type", break_entries("dilation", [1.0])),
                ("dilation bool", break_value("dilation", [True, False]))]
    if family == "avg":
        out += [("count_include_pad", break_value("count_include_pad", [1, None, "yes"]))]
        if dims > 1:
            out += [("divisor_override", break_value("divisor_override", [0, True, 2.0]))]
    return out


def adaptive_breakers(dims, family):
    input_breakers = [
        ("empty", break_empty(spatial_only)),
        # not complex: PyTorch's adaptive_avg_pool takes the mean of a complex input when output_size is 1
        ("dtype", break_dtype([torch.int64, torch.bool, torch.float8_e4m3fn])),
    ] + COMMON_INPUT
    if family == "avg":
        input_breakers = [(name, with_fix(b, no_mean_shortcut)) for name, b in input_breakers]
    out = [
        ("output_size < 0", break_entries("output_size", [-1, -2, -3], one=dims == 1)),
        # PyTorch reads a tuple of dims + 1 sizes against an unbatched input as a rank error
        ("output_size length", break_length("output_size", lambda d, kw: [2] if d == 1 else [1])),
        ("output_size type", break_value("output_size", [True, 2.0])),
    ] + input_breakers
    if dims == 1:
        out += [("output_size None", break_value("output_size", [None, (None,)]))]
    return out


def fractional_breakers(dims):
    return [
        ("kernel_size <= 0", break_entries("kernel_size", NONPOSITIVE, one=False)),
        ("kernel_size length", break_length("kernel_size", lambda d, kw: [1, d + 1])),
        ("kernel_size type", break_value("kernel_size", [True, 2.0])),
        ("output", break_fractional_output),
        ("samples", break_samples),
        ("empty", break_empty(channel_or_spatial)),
        ("dtype", break_dtype([torch.int64, torch.bool, torch.float8_e4m3fn])),
    ] + COMMON_INPUT


def unpool_breakers(dims):
    return [
        ("indices", break_indices),
        ("output_size", break_unpool_output_size),
        ("rank", unpool_input("rank", "input (and indices) of lower rank")),
        ("empty", unpool_input("empty", "input (and indices) with no channels")),
        ("dtype", unpool_input("dtype", "input of dtype int64")),
        ("not a tensor", unpool_input("list", "input a nested list")),
    ]


# ---------------------------------------------------------------------------------------------
# Which parameter an error is about

PARAMETERS = ["_random_samples", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
              "count_include_pad", "divisor_override", "norm_type", "output_size", "output_ratio", "indices",
              "input_size", "input", "dtype"]
SYNONYMS = {"input_size": "input", "dtype": "input", "random_samples": "_random_samples"}
NAMES = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(PARAMETERS + ["random_samples"]) + r")(?![A-Za-z0-9_])",
                   re.IGNORECASE)

# PyTorch's messages that do not name the parameter they are about (found by running
# torch 2.14.1 on each kind of invalid call drawn here); any other message is read
# for the first parameter name it contains.
TORCH_MESSAGES = [
    (r"kernel size should be greater than zero", {"kernel_size"}),
    (r"strides should be greater than zero", {"stride"}),
    (r"\bpad should be (at most|smaller than or equal to) half|\bpad must be non-negative", {"padding"}),
    (r"Output size is too small|Invalid computed output size|smaller than kernel size",
     {"input", "kernel_size", "dilation"}),
    (r"too large relative to input", {"input", "kernel_size", "output_size", "output_ratio"}),
    (r"divisor must be not zero", {"divisor_override"}),
    (r"pow\(\) received an invalid combination", {"norm_type"}),          # lp_pool: input.pow(norm_type)
    (r"mul\(\): argument 'other'", {"kernel_size"}),                      # lp_pool1d: .mul(kernel_size)
    (r"values to unpack", {"kernel_size"}),                               # lp_pool2d/3d: kw, kh = kernel_size
    (r"Trying to create tensor with negative dimension", {"output_size"}),
    (r"object of type 'float' has no len", {"output_size", "output_ratio"}),
    (r"not implemented for '|Input dtype must be", {"input"}),             # the input's dtype
    (r"'list' object has no attribute '(abs|pow|size|dim)'", {"input"}),
    (r"'list' object has no attribute 'unsqueeze'", {"input", "indices"}),   # max_unpool1d unsqueezes both
    (r"Unsupported memory format", {"input"}),       # max_pool3d's answer to some inputs of the wrong rank
    (r"Dimension out of range|Expected \d+ to \d+ dimensions|Expected \d+D or \d+D tensor", {"input"}),
    (r"Found an invalid max index", {"indices"}),
]


def named(message):
    """The first parameter a message names, or None."""
    match = NAMES.search(message)
    if match is None:
        return None
    name = match.group(1).lower()
    return SYNONYMS.get(name, name)


def torch_params(message):
    for pattern, params in TORCH_MESSAGES:
        if re.search(pattern, message):
            return set(params)
    argument = re.search(r"argument '(\w+)'", message)
    if argument:
        return {SYNONYMS.get(argument.group(1), argument.group(1))}
    first = named(message)
    return {first} if first else set()


# ---------------------------------------------------------------------------------------------
# Comparisons


def unit_roundoff(dtype):
    return torch.finfo(dtype).eps / 2


def assert_same_layout(ours, ref, what):
    assert ours.shape == ref.shape, f"{what}: shape {tuple(ours.shape)} != torch's {tuple(ref.shape)}"
    assert ours.dtype == ref.dtype, f"{what}: dtype {ours.dtype} != torch's {ref.dtype}"
    mine = [s for s, n in zip(ours.stride(), ours.shape) if n > 1]
    theirs = [s for s, n in zip(ref.stride(), ref.shape) if n > 1]
    assert mine == theirs, (f"{what}: strides {ours.stride()} != torch's {ref.stride()} "
                            f"(shape {tuple(ref.shape)})")


def assert_same_bits(ours, ref, what):
    """Equal bit patterns: NaN where torch has NaN (with its payload), -0.0 apart from 0.0."""
    ints = {2: torch.int16, 4: torch.int32, 8: torch.int64}[ref.element_size()]
    differ = ours.contiguous().view(ints) != ref.contiguous().view(ints)
    assert not differ.any(), (f"{what}: {int(differ.sum())} of {ref.numel()} values differ in their bits; "
                              f"first at {differ.nonzero()[0].tolist()}: {ours[differ][0].item()!r} "
                              f"vs torch's {ref[differ][0].item()!r}")


def assert_within(ours, ref, bound, what):
    """|ours - ref| <= bound elementwise; NaN exactly where torch has NaN; equality where
    torch's value or the bound is not finite."""
    a, e, b = ours.double(), ref.double(), bound.double()
    nan = e.isnan()
    assert torch.equal(a.isnan(), nan), f"{what}: NaN at other positions than torch's"
    exact = ~nan & (~e.isfinite() | ~b.isfinite())
    assert torch.equal(a[exact], e[exact]), f"{what}: non-finite values differ from torch's"
    close = ~nan & ~exact
    excess = (a - e).abs()[close] - b[close]
    assert not (excess > 0).any(), (f"{what}: {int((excess > 0).sum())} values beyond the rounding bound; "
                                     f"worst by {excess.max().item():.3g}")


def sum_bound(fn, case, x, ref):
    """Averages are sums of at most ``terms`` elements, divided once. Any order of
    summation is within (terms - 1) u sum|x_i| of the exact sum, so two orders
    differ by at most twice that, divided by |divisor|; the final divisions add
    one rounding (u |result|) on each side. sum|x_i| / |divisor| is the same op
    applied to |x| (PyTorch's, whose own rounding is covered by the factor 2)."""
    u = unit_roundoff(x.dtype)
    magnitude = case.call(fn, x.abs()).abs().double()
    return 2 * case.terms * u * magnitude + 2 * u * ref.double().abs()


def power_bound(case, x, ref):
    """lp_pool is (V * avg_pool(x^p))^(1/p) with V the kernel volume. The two averages
    differ by at most delta = 2 n u V avg(|x|^p) (sum_bound, times V); t -> t^q with
    q = 1/p then moves the result by at most q (a + delta)^(q-1) delta for q >= 1,
    and by at most min(delta^q, q (a - delta)^(q-1) delta) for q < 1 (a = ref^p);
    the final multiplication and power add two roundings on each side."""
    kw = case.kwargs
    p = float(kw["norm_type"])
    kernel = expand(kw["kernel_size"], case.dims)
    avg = getattr(F, f"avg_pool{case.dims}d")
    u = unit_roundoff(x.dtype)
    volume = math.prod(kernel)
    stride = None if isinstance(kw["stride"], tuple) and kw["stride"] == () else kw["stride"]
    mean = avg(x.abs().pow(p), kernel, stride, 0, kw["ceil_mode"]).double()
    delta = 2 * (case.terms + 1) * u * volume * mean
    r = ref.double().abs()
    a = r.pow(p)
    q = 1 / p
    if q >= 1:
        spread = q * (a + delta).pow(q - 1) * delta
    else:
        lower = (a - delta).clamp(min=0)
        spread = torch.minimum(delta.pow(q), q * lower.pow(q - 1) * delta)
    return spread + 4 * u * r


def upstream(case, out):
    generator = torch.Generator().manual_seed(case.source.seed)
    return torch.randn(out.shape, generator=generator, dtype=out.dtype)


def first(result):
    return result[0] if isinstance(result, tuple) else result


def refuse(message):
    pytest.fail(message, pytrace=False)


def torch_misindexes(name, x, values):
    """True where torch 2.14.1 is known to return a wrong index: its channels-last
    max_pool3d kernel gives a window whose maximum is -inf the index of its first
    element without the depth term (so, in another window), and its backward then
    sends that window's gradient to that element. poolkit gives the window's own
    first element."""
    if name != "max_pool3d" or not isinstance(x, torch.Tensor):
        return False
    batched = x if x.dim() == 5 else x.unsqueeze(0)
    return batched.is_contiguous(memory_format=torch.channels_last_3d) and bool(values.isneginf().any())


# Valid calls that torch 2.14.1 refuses for no reason of their arguments: excluded.
TORCH_LIMITS = [
    (r"Unsupported memory format", "torch 2.14.1 max_pool3d refuses an unbatched input laid out "
                                   "channels-last as a 4-D tensor"),
]


def torch_call(thunk):
    """``thunk()``, a call of PyTorch; a refusal listed in TORCH_LIMITS excludes the example."""
    try:
        return thunk()
    except RuntimeError as error:
        for pattern, why in TORCH_LIMITS:
            if re.search(pattern, str(error)):
                event(f"excluded: {why}")
                assume(False)
        raise


def exclude_misindexed(name, x, values):
    if torch_misindexes(name, x, values):
        event("excluded: a -inf window in channels-last max_pool3d (torch 2.14.1 gives it a wrong index)")
        assume(False)


def reference(spec, case):
    """PyTorch's results for a valid call: outputs for each way of calling, and the
    float64 input gradient for a random upstream gradient (with the gradient for
    its absolute value, which bounds the rounding of any order of summation)."""
    ref_fn = getattr(F, spec.name)
    x = case.input()
    calls = [{}] + ([{"return_indices": True}] if spec.indices else [])
    try:
        outputs = [(extra, torch_call(lambda: case.call(ref_fn, x, **extra))) for extra in calls]
    except UnsatisfiedAssumption:
        raise
    except Exception as error:                       # noqa: BLE001 - any refusal is a strategy bug
        event("strategy bug: torch refused a valid draw")
        refuse(f"torch refused a draw the strategy thought valid: {error!r}\n{case}")
    exclude_misindexed(spec.name, x, first(outputs[0][1]))
    try:
        source = case.grad_source or case.source
        b = source.make(torch.float64, True)
        out = first(torch_call(lambda: case.call(ref_fn, b)))
        g = upstream(case, out)
        (grad,) = torch.autograd.grad(out, b, g)
        c = source.make(torch.float64, True)
        (grad_abs,) = torch.autograd.grad(first(case.call(ref_fn, c)), c, g.abs())
    except UnsatisfiedAssumption:
        raise
    except Exception as error:                       # noqa: BLE001 - any refusal is a strategy bug
        event("strategy bug: torch refused a valid draw")
        refuse(f"torch refused a draw the strategy thought valid: {error!r}\n{case}")
    return x, outputs, g, grad, grad_abs.abs()


def compare(spec, case, x, outputs, g, grad, grad_abs):
    """poolkit's results for the same call against PyTorch's."""
    ours_fn, ref_fn = getattr(P, spec.name), getattr(F, spec.name)
    for extra, ref in outputs:
        ours = case.call(ours_fn, x, **extra)
        label = f"{spec.name}({', '.join(f'{k}={v}' for k, v in extra.items())})"
        if extra.get("return_indices"):
            assert isinstance(ours, tuple) and len(ours) == 2, f"{label}: expected (values, indices)"
            assert_same_layout(ours[1], ref[1], f"{label} indices")
            assert torch.equal(ours[1], ref[1]), f"{label}: indices differ from torch's"
        value, ref_value = first(ours), first(ref)
        assert_same_layout(value, ref_value, f"{label} values")
        if spec.values == "exact" or (spec.values == "power" and math.isinf(case.kwargs["norm_type"])):
            assert_same_bits(value, ref_value, f"{label} values")
        elif spec.values == "sum":
            assert_within(value, ref_value, sum_bound(ref_fn, case, x, ref_value), f"{label} values")
        else:
            assert_within(value, ref_value, power_bound(case, x, ref_value), f"{label} values")
    a = (case.grad_source or case.source).make(torch.float64, True)
    (grad_ours,) = torch.autograd.grad(first(case.call(ours_fn, a)), a, g)
    assert grad_ours.shape == grad.shape and grad_ours.dtype == grad.dtype
    # Each gradient entry sums at most `terms` products; an LP gradient carries the
    # forward sum's error too, raised to the power 1/p - 1.
    if spec.values == "power" and not math.isinf(case.kwargs["norm_type"]):
        scale = 4 * (case.terms + 2) * (1 + abs(1 / case.kwargs["norm_type"] - 1))
    else:
        scale = 2 * case.terms
    assert_within(grad_ours, grad, scale * unit_roundoff(torch.float64) * grad_abs, f"{spec.name} input gradient")


def check_valid(spec, case, mismatches=None):
    """Run one valid call in both libraries and compare values, indices and gradients;
    returns the outcome. With a list ``mismatches``, a failed comparison is appended
    to it instead of raised (it still reached the comparison)."""
    event(f"{spec.name}: {case.dtype}, layout {case.source.layout}" + "".join(f", {t}" for t in case.tags))
    if case.padding_only:
        event("excluded: a max-pooling window wholly in the padding (torch 2.14 misbehaves)")
    assume(not case.padding_only)
    x, outputs, g, grad, grad_abs = reference(spec, case)
    try:
        compare(spec, case, x, outputs, g, grad, grad_abs)
    except Exception as mismatch:                    # noqa: BLE001 - poolkit may fail in any way
        if mismatches is None:
            raise
        mismatches.append(f"{spec.name}: {mismatch!r}"[:300])
    outcome = "compared" if first(outputs[0][1]).numel() else "compared: empty output"
    event(outcome)
    return outcome


def check_invalid(spec, broken):
    """Both libraries must refuse, each naming the broken parameter."""
    ours_fn, ref_fn = getattr(P, spec.name), getattr(F, spec.name)
    # On an empty input PyTorch may skip the dtype check (unpooling, adaptive pooling,
    # fractional pooling): only non-empty inputs test the refusal of a dtype.
    empty_dtype = isinstance(broken.input, torch.Tensor) and broken.input.numel() == 0 \
        and "dtype" in broken.what
    if empty_dtype:
        event("excluded: a wrong dtype on an empty input, which PyTorch may not check")
    assume(not empty_dtype)
    event(f"{spec.name}: {broken.what}")
    try:
        broken.call(ref_fn)
    except Exception as error:                           # noqa: BLE001 - torch raises many types
        ref_error = error
    else:
        event("strategy bug: torch accepted an invalid draw")
        refuse(f"torch accepted a draw the strategy thought invalid ({broken.what}): {broken}")
    for pattern, why in TORCH_LIMITS:                   # torch refused for a reason of its own first
        if re.search(pattern, str(ref_error)):
            event(f"excluded: {why}")
            assume(False)
    about = torch_params(str(ref_error))
    if not about & broken.params:
        refuse(f"torch's refusal ({ref_error!r}) maps to {about or 'no parameter'}, "
               f"not to the broken {set(broken.params)} ({broken.what}); fix TORCH_MESSAGES or the strategy")
    with pytest.raises((ValueError, TypeError)) as caught:
        broken.call(ours_fn)
    message = str(caught.value)
    assert named(message) in broken.params, (
        f"poolkit's refusal should name {set(broken.params)} first ({broken.what}); it says: {message!r}")
    event("both refused, about the broken parameter")


# ---------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Spec:
    """One op: its torch/poolkit name, pooled dimensions, valid draws (``cases(shapes)``),
    the ways to break a valid draw, how to compare its values ('exact' bits, 'sum' or
    'power' within a bound) and whether it returns indices."""

    name: str
    dims: int
    cases: Callable
    breakers: list
    values: str
    indices: bool = False
    pending: bool = False     # an op being added to poolkit.functional: skipped while it is missing

    @property
    def valid(self):
        return self.cases(self.dims)

    @property
    def invalid(self):
        return invalid_cases(self.valid, self.breakers)(self.dims)

    def __repr__(self):
        return self.name


FLOATING_ONLY = [torch.bool, torch.complex64, torch.float8_e4m3fn]
SPECS = []
for _d in (1, 2, 3):
    SPECS += [
        Spec(f"max_pool{_d}d", _d, partial(sliding_cases, family="max"),
             sliding_breakers("max", _d, FLOATING_ONLY + [torch.int64] * (_d == 1)), "exact", indices=True),
        Spec(f"avg_pool{_d}d", _d, partial(sliding_cases, family="avg"),
             sliding_breakers("avg", _d, FLOATING_ONLY), "sum"),
        Spec(f"lp_pool{_d}d", _d, partial(sliding_cases, family="lp"),
             sliding_breakers("lp", _d, [torch.complex64, torch.float8_e4m3fn]), "power"),
        Spec(f"adaptive_max_pool{_d}d", _d, adaptive_cases, adaptive_breakers(_d, "max"), "exact", indices=True),
        Spec(f"adaptive_avg_pool{_d}d", _d, adaptive_cases, adaptive_breakers(_d, "avg"), "sum"),
        Spec(f"max_unpool{_d}d", _d, unpool_cases, unpool_breakers(_d), "exact", pending=True),
    ]
    if _d > 1:
        SPECS.append(Spec(f"fractional_max_pool{_d}d", _d, fractional_cases, fractional_breakers(_d), "exact",
                          indices=True, pending=True))
SPEC = {spec.name: spec for spec in SPECS}


def available(spec):
    return hasattr(P, spec.name)


def require(spec):
    if not available(spec):
        pytest.skip(f"poolkit.functional has no {spec.name} yet")


# ---------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@settings(max_examples=VALID_EXAMPLES)
@given(data=st.data())
def test_valid(spec, data):
    require(spec)
    check_valid(spec, data.draw(spec.valid, label="case"))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@settings(max_examples=INVALID_EXAMPLES)
@given(data=st.data())
def test_invalid(spec, data):
    require(spec)
    check_invalid(spec, data.draw(spec.invalid, label="broken"))


def test_valid_draws_reach_a_comparison():
    """At least 80% of valid draws (over every op poolkit has) reach the comparison of
    values, indices and gradients; the rest are excluded by ``assume`` or have an empty
    output. Whether the comparisons pass is test_valid's business: here a mismatch
    counts as reached."""
    specs = [s for s in SPECS if available(s)]
    counts, per_op, mismatches = Counter(), Counter(), []

    @settings(max_examples=REACH_EXAMPLES, phases=[Phase.generate], database=None,
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(data=st.data())
    def run(data):
        spec = data.draw(st.sampled_from(specs))
        counts["drawn"] += 1
        per_op[spec.name] += 1
        outcome = check_valid(spec, data.draw(spec.valid), mismatches)
        counts[outcome] += 1

    run()
    reach = counts["compared"] / counts["drawn"]
    print(f"valid draws: {counts['drawn']}, reached every comparison: {counts['compared']} ({reach:.1%}); "
          f"outcomes {dict(counts)}; per op {dict(per_op)}; mismatches (see test_valid): {len(mismatches)}")
    assert reach >= 0.8, f"only {reach:.1%} of valid draws reached a comparison: {dict(counts)}"


def test_padding_only_window_is_minus_inf_with_index_minus_one():
    """With dilation a window can read only padding: length 1, kernel 2, padding 1,
    dilation 2 reads positions -1 and 1. poolkit returns -inf with index -1 there and
    passes no gradient to the input. (torch 2.14.1 returns -inf with index 1, past
    the end, and its backward writes out of bounds: it is run forward only.)"""
    for shape, dims in [((1, 1, 1), 1), ((2, 1), 1), ((1, 1, 1, 3), 2)]:
        kw = dict(kernel_size=2, stride=1, padding=1, dilation=(2,) + (1,) * (dims - 1))
        ours, ref = getattr(P, f"max_pool{dims}d"), getattr(F, f"max_pool{dims}d")
        x = torch.arange(1.0, 1.0 + math.prod(shape), dtype=torch.float64).reshape(shape).requires_grad_()
        values, indices = ours(x, return_indices=True, **kw)
        ref_values, ref_indices = ref(x.detach(), return_indices=True, **kw)
        assert torch.equal(values, ref_values) and values.isneginf().all()
        assert (indices == -1).all()
        plane = math.prod(shape[-dims:])
        assert (ref_indices >= plane).all(), "torch returned in-range indices here: revisit this documented difference"
        (grad,) = torch.autograd.grad(ours(x, **kw).sum(), x)
        assert torch.equal(grad, torch.zeros_like(x))
