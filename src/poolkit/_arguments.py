"""Argument checks shared by every pooling op.

PyTorch accepts a window size as an int or as a tuple with one entry, or one
entry per pooled dimension, and checks the input's rank and emptiness before
anything else. These helpers do the same, once, and raise ``TypeError`` or
``ValueError`` with the op's name, the parameter and the value received.
"""

import operator

import torch


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value):
    """True for an int or a float, but not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _prefix(op):
    return f"{op}: " if op else ""


def check_int(name, value, minimum=None, maximum=None, op=None):
    """``value`` as a Python int: an int, a NumPy integer or an integer tensor of
    one element (what ``operator.index`` takes), never a bool.

    Raises:
        TypeError: ``value`` is not an integer, naming ``name`` and the value.
        ValueError: it lies below ``minimum`` or above ``maximum`` (when given).
    """
    is_bool = isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool)
    try:
        number = None if is_bool else operator.index(value)
    except TypeError:
        number = None
    if number is None:
        raise TypeError(f"{_prefix(op)}{name} must be an int, got {name}={value!r} ({type(value).__name__})")
    if minimum is not None and number < minimum:
        raise ValueError(f"{_prefix(op)}{name} must be at least {minimum}, got {name}={number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{_prefix(op)}{name} must be at most {maximum}, got {name}={number}")
    return number


def as_tuple(op, name, value, dims):
    """An int, or a tuple/list of 1 or ``dims`` ints, as a tuple of ``dims`` ints."""
    if _is_int(value):
        return (value,) * dims
    if isinstance(value, (tuple, list)):
        if not all(_is_int(v) for v in value):
            raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {name}={value!r}")
        if len(value) == 1:
            return tuple(value) * dims
        if len(value) == dims:
            return tuple(value)
        raise ValueError(
            f"{op}: {name} must be an int or a tuple of {dims} ints, got {name}={value!r} "
            f"with {len(value)} entries"
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
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a bool, got {name}={value!r}")


def check_positive(op, name, values):
    if any(v < 1 for v in values):
        raise ValueError(f"{op}: {name} must be positive, got {name}={values}")


def check_input(op, input, dims):
    """Check a ``(N, C, *spatial)`` or ``(C, *spatial)`` floating-point tensor.

    Returns:
        ``(x, batched)``: the input with a batch axis, and whether it had one.
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}: input must be a torch.Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: input must have a floating dtype, got {input.dtype}")
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
