"""Argument checks shared by every pooling op.

PyTorch accepts a window size as an int or as a tuple with one entry, or one
entry per pooled dimension, and checks the input's rank and emptiness before
anything else. These helpers do the same, once, and raise ``TypeError`` or
``ValueError`` with the op's name, the parameter and the value received.

What counts as an int is what ``operator.index`` takes (a Python int, a NumPy
integer, an integer tensor of one element), never a bool: PyTorch's argument
parser takes the same for its ``int`` and ``int[]`` parameters, and refuses
floats, float tensors and bools with a ``TypeError``. (It reads a bool
*tensor* as 0 or 1; poolkit refuses that like a bool.)
"""

import numbers
import operator

import torch

INT32_MAX = 2**31 - 1
"""PyTorch's pooling kernels hold window sizes, strides, padding and dilation
in C ``int`` (``safe_downcast<int, int64_t>`` in ``aten/src/ATen/native/Pool.h``)
and raise above this. Only CPU ``max_pool1d`` without indices or autograd
(``max_pool1d_impl``) keeps them in 64 bits."""
INT64_MAX = 2**63 - 1
"""The largest value PyTorch's argument parser takes for an ``int`` parameter."""

FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
"""The dtypes PyTorch's CPU pooling kernels are written for. Its float8 types
have no pooling kernels (``NotImplementedError``)."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value):
    """True for an int or a float, but not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _prefix(op):
    return f"{op}: " if op else ""


def _index(value, scalar=False):
    """``value`` as a Python int, or None if it is not an integer (or is a bool)."""
    if isinstance(value, bool) or (isinstance(value, torch.Tensor)
                                   and (value.dtype == torch.bool or (scalar and value.dim() != 0))):
        return None
    try:
        return operator.index(value)
    except (TypeError, RuntimeError, ValueError):
        return None


def check_int(name, value, minimum=None, maximum=None, op=None, scalar=False):
    """``value`` as a Python int: an int, a NumPy integer or an integer tensor of
    one element (what ``operator.index`` takes), never a bool. With ``scalar``,
    a tensor must have no dimensions (PyTorch's rule for a single ``int``
    parameter such as ``divisor_override``).

    Raises:
        TypeError: ``value`` is not an integer, naming ``name`` and the value.
        ValueError: it lies below ``minimum`` or above ``maximum`` (when given).
    """
    number = _index(value, scalar)
    if number is None:
        raise TypeError(f"{_prefix(op)}{name} must be an int, got {name}={value!r} ({type(value).__name__})")
    if minimum is not None and number < minimum:
        raise ValueError(f"{_prefix(op)}{name} must be at least {minimum}, got {name}={number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{_prefix(op)}{name} must be at most {maximum}, got {name}={number}")
    return number


def as_tuple(op, name, value, dims, exact=False):
    """An int, or a tuple/list of 1 or ``dims`` ints (only ``dims`` with ``exact``), as a tuple
    of ``dims`` Python ints. Entries are checked with :func:`check_int`."""
    if type(value) is int:                                  # the common case, first
        return (value,) * dims
    number = _index(value)
    if number is not None:
        return (number,) * dims
    if isinstance(value, (tuple, list)):
        entries = [_index(v) for v in value]
        if any(e is None for e in entries):
            raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {name}={value!r}")
        if len(entries) == 1 and not exact:
            return tuple(entries) * dims
        if len(entries) == dims:
            return tuple(entries)
        raise ValueError(
            f"{op}: {name} must be an int or a tuple of {dims} ints, got {name}={value!r} "
            f"with {len(entries)} entries"
        )
    raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {name}={value!r}")


def exact_tuple(op, name, value, dims, minimum=None):
    """An int, or a tuple/list of exactly ``dims`` ints, as a tuple of ``dims`` ints.

    Unlike :func:`as_tuple`, a tuple with one entry is not spread over the
    dimensions (for ``dims > 1``): the ops that use this refuse it, as PyTorch does.
    Entries may be anything ``check_int`` takes.

    Raises:
        TypeError: ``value`` or an entry is not an int.
        ValueError: the tuple has another length, or an entry is below ``minimum``.
    """
    what = f"an int or a tuple of {dims} int{'s' if dims > 1 else ''}"
    if isinstance(value, (tuple, list, torch.Size)):
        if len(value) != dims:
            raise ValueError(f"{op}: {name} must be {what}, got {name}={value!r} with {len(value)} entries")
        try:
            values = tuple(check_int(name, v) for v in value)
        except TypeError:
            raise TypeError(f"{op}: {name} must be {what}, got {name}={value!r}") from None
    else:
        try:
            values = (check_int(name, value),) * dims
        except TypeError:
            raise TypeError(f"{op}: {name} must be {what}, got {name}={value!r} ({type(value).__name__})") from None
    if minimum is not None and min(values) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum} in every entry, got {name}={value!r}")
    return values


def int_pair(name, value, minimum=None):
    """An int, or a tuple/list of two ints, as a pair; ``TypeError`` otherwise, and
    ``ValueError`` if an entry is below ``minimum`` (when given)."""
    pair = (value, value) if _is_int(value) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(_is_int(v) for v in pair)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {name}={value!r}")
    if minimum is not None and min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {name}={value!r}")
    return tuple(pair)


def as_stride(op, stride, kernel_size, dims):
    """``None`` or an empty tuple means the kernel size, as in PyTorch."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel_size
    return as_tuple(op, "stride", stride, dims)


def check_bool(op, name, value):
    """A strict bool, as PyTorch's parser wants for ``ceil_mode`` and ``count_include_pad``."""
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a bool, got {name}={value!r}")


def as_flag(op, name, value):
    """``value``'s truth, as Python's ``if`` sees it: PyTorch picks the variant of
    ``max_pool*`` and ``adaptive_max_pool*`` with ``if return_indices``, so any
    truthy value asks for the indices."""
    try:
        return bool(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{op}: {name} must have a truth value, got {name}={value!r:.60} ({error})") from None


def check_positive(op, name, values):
    if any(v < 1 for v in values):
        raise ValueError(f"{op}: {name} must be positive, got {name}={values}")


def window_arguments(op, dims, kernel_size, stride, padding, dilation=1, *, limit=INT32_MAX):
    """Kernel, stride, padding and dilation as tuples of ``dims`` Python ints,
    checked as PyTorch checks them: each an int or a tuple of 1 or ``dims``
    ints (a stride of ``None`` or ``()`` meaning the kernel), kernel, stride and
    dilation positive, padding non-negative, all at most ``limit``.

    The rule that padding be at most half the kernel, and that a window fit,
    belong to the output size (:func:`poolkit.output_size`).
    """
    kernel = as_tuple(op, "kernel_size", kernel_size, dims)
    stride = as_stride(op, stride, kernel, dims)
    padding = as_tuple(op, "padding", padding, dims)
    dilation = as_tuple(op, "dilation", dilation, dims)
    for name, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation), ("padding", padding)):
        lowest, highest = min(values), max(values)
        if name == "padding" and lowest < 0:
            raise ValueError(f"{op}: padding must be non-negative, got padding={padding}")
        if name != "padding" and lowest < 1:
            raise ValueError(f"{op}: {name} must be positive, got {name}={values}")
        if highest > limit:
            raise ValueError(f"{op}: {name} must be at most {limit}, got {name}={values}")
    return kernel, stride, padding, dilation


def check_divisor(op, divisor_override):
    """``None`` or a non-zero int that fits in 64 bits (PyTorch's ``int?``)."""
    if divisor_override is None:
        return None
    number = _index(divisor_override, scalar=True)
    if number is None:
        raise TypeError(f"{op}: divisor_override must be an int or None, got {divisor_override!r}")
    if number == 0:
        raise ValueError(f"{op}: divisor_override must not be zero, got divisor_override=0")
    if not -INT64_MAX - 1 <= number <= INT64_MAX:
        raise ValueError(f"{op}: divisor_override must fit in 64 bits, got divisor_override={number}")
    return number


def check_norm_type(op, norm_type):
    """A real number (Python or NumPy, bools included, as PyTorch takes them) or a
    tensor of one element, returned unchanged: PyTorch's power-average pooling
    passes it as is to ``Tensor.pow``, and so does poolkit's, to give the same
    bits. Zero is refused, as PyTorch refuses it for Python numbers."""
    if isinstance(norm_type, torch.Tensor):
        if norm_type.numel() != 1 or norm_type.dtype.is_complex:
            raise TypeError(f"{op}: norm_type must be a real number or a tensor of one real element, "
                            f"got a tensor of shape {tuple(norm_type.shape)} and dtype {norm_type.dtype}")
        return norm_type
    if not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{op}: norm_type must be a real number, got norm_type={norm_type!r}")
    if norm_type == 0:
        raise ValueError(f"{op}: norm_type must be non-zero, got norm_type={norm_type}")
    return norm_type


def check_input(op, input, dims):
    """Check a ``(N, C, *spatial)`` or ``(C, *spatial)`` floating-point tensor.

    Returns:
        ``(x, batched)``: the input with a batch axis, and whether it had one.
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}: input must be a torch.Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: input must have a floating dtype, got {input.dtype}")
    if input.dtype not in FLOATING:
        raise TypeError(f"{op}: input must be float16, bfloat16, float32 or float64, got {input.dtype}, "
                        f"for which PyTorch has no pooling kernel")
    shape = tuple(input.shape)
    if input.dim() not in (dims + 1, dims + 2):
        raise ValueError(
            f"{op}: input must be {dims + 1}-D (C, {_spatial_names(dims)}) or "
            f"{dims + 2}-D (N, C, {_spatial_names(dims)}), got {input.dim()}-D input of shape {shape}"
        )
    batched = input.dim() == dims + 2
    if 0 in shape[1 if batched else 0:]:
        raise ValueError(
            f"{op}: only the batch size may be zero, got input of shape {shape}"
        )
    return (input if batched else input.unsqueeze(0)), batched


def _spatial_names(dims):
    return ", ".join(("D", "H", "W")[3 - dims:]) if dims > 1 else "L"


def check_real(name, value, op=None, positive=False):
    """``value`` as a finite Python float: an int or a float (NumPy's too, anything
    ``numbers.Real``), never a bool.

    Raises:
        TypeError: ``value`` is not a real number, naming ``name`` and the value.
        ValueError: it is NaN or infinite (an int too large for a float counts as
            infinite), or, with ``positive``, not above 0.
    """
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_prefix(op)}{name} must be a real number, got {name}={value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or (positive and not number > 0):
        rule = "positive and finite" if positive else "finite"
        raise ValueError(f"{_prefix(op)}{name} must be {rule}, got {name}={value!r}")
    return number
