r"""Fractional max pooling (Graham, *Fractional Max-Pooling*, 2014, arXiv:1412.6071).

Each output takes the maximum of a ``kernel_size`` window, as in max pooling,
but the windows do not start at a fixed stride: along an axis of length
:math:`n`, output :math:`i` of :math:`m` reads from

.. math::

    a_i = \operatorname{trunc}\big((i + u)\,\alpha\big) - \operatorname{trunc}(u\,\alpha),
    \qquad \alpha = \frac{n - k}{m - 1},

for :math:`i < m - 1`, and the last window starts at :math:`a_{m-1} = n - k`.
The sample :math:`u` is drawn once per ``(n, c)`` plane and per axis, so every
channel of every image is pooled on its own grid. This is PyTorch's rule
(``generate_intervals`` in ``aten/src/ATen/native/FractionalMaxPooling.h``,
used by ``FractionalMaxPool2d.cpp`` and ``FractionalMaxPool3d.cpp``), computed
as it computes it: in the input's dtype, rounding after every operation, and
truncating to a C ``int``.

Within a window the first maximum in row-major order wins, and a NaN beats
everything, the last NaN winning (PyTorch's test is ``val > maxVal ||
isnan(val)``). The checks and the defaults follow ``torch.nn.functional``'s
Python wrapper (``torch/nn/functional.py``) and the kernels' shape checks.
"""

import math

import torch

from ._arguments import as_flag, check_input, exact_tuple, is_real

# Which column of _random_samples drives which spatial axis: PyTorch's 2-D kernel
# reads column 0 for the width and column 1 for the height; the 3-D kernel reads
# columns 0, 1, 2 for depth, height and width.
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}
_AXES = {2: "HW", 3: "DHW"}
_INT_LIMIT = 2 ** 31          # PyTorch truncates to a C int; beyond this the cast is undefined


def fractional_max_pool(op, dims, input, kernel_size, output_size, output_ratio, return_indices,
                        random_samples):
    """The shared body of ``fractional_max_pool2d`` and ``fractional_max_pool3d``."""
    x, batched = check_input(op, input, dims)
    return_indices = as_flag(op, "return_indices", return_indices)
    kernel = exact_tuple(op, "kernel_size", kernel_size, dims, minimum=1)
    sizes, given = _output_sizes(op, dims, x, output_size, output_ratio)
    _check_fit(op, dims, input, kernel, sizes, given)
    n, c = x.shape[:2]
    if random_samples is None:
        # As torch.nn.functional does, so that the same seed draws the same grid.
        samples = torch.rand(n, c, dims, dtype=input.dtype, device=input.device)
    else:
        samples = _check_samples(op, dims, x, random_samples, tuple(input.shape))
    samples = samples.detach()[:n].to(x.device)
    empty = n * c * math.prod(sizes) == 0
    starts = [_starts(op, samples[..., col], size, out, k, empty)
              for col, size, out, k in zip(_SAMPLE_COLUMN[dims], x.shape[2:], sizes, kernel)]
    with torch.no_grad():
        index = _argmax_index(x.detach(), starts, kernel)
    # index_select copies the chosen elements bit for bit (gather rewrites the NaNs of
    # float16 and bfloat16); its backward adds each output's gradient into the element it
    # chose, in output order, as PyTorch's backward does.
    planes = torch.arange(n * c, device=x.device).reshape(n, c, *[1] * dims) * math.prod(x.shape[2:])
    out = x.reshape(-1).index_select(0, (index + planes).reshape(-1)).reshape(n, c, *sizes)
    result = (out, index) if return_indices else out
    if batched:
        return result
    return tuple(r.squeeze(0) for r in result) if return_indices else result.squeeze(0)


def _output_sizes(op, dims, x, output_size, output_ratio):
    """The output sizes, and how the caller gave them (for error messages)."""
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op}: give output_size or output_ratio, got neither")
    if output_size is not None and output_ratio is not None:
        # torch.nn.functional ignores output_ratio here; torch.nn's module refuses both.
        raise ValueError(f"{op}: give output_size or output_ratio, not both, got output_size={output_size!r} "
                         f"and output_ratio={output_ratio!r}")
    if output_size is not None:
        sizes = exact_tuple(op, "output_size", output_size, dims, minimum=0)
        return sizes, f"output_size={sizes}"
    what = f"a number or a tuple of {dims} numbers in (0, 1)"
    if isinstance(output_ratio, (tuple, list)):
        if len(output_ratio) != dims:
            raise ValueError(f"{op}: output_ratio must be {what}, got output_ratio={output_ratio!r} "
                             f"with {len(output_ratio)} entries")
        ratios = tuple(output_ratio)
    else:
        ratios = (output_ratio,) * dims
    if not all(is_real(r) for r in ratios):
        raise TypeError(f"{op}: output_ratio must be {what}, got output_ratio={output_ratio!r}")
    if not all(0 < r < 1 for r in ratios):
        raise ValueError(f"{op}: output_ratio must lie strictly between 0 and 1, got output_ratio={output_ratio!r}")
    # As PyTorch: int(size * ratio), a truncation of the float product.
    sizes = tuple(int(n * r) for n, r in zip(x.shape[2:], ratios))
    return sizes, f"output_ratio={output_ratio!r} (output size {sizes})"


def _check_fit(op, dims, input, kernel, sizes, given):
    """PyTorch's limits: out + k - 1 <= n in 2-D; k <= n and out + k - 1 < n in 3-D."""
    for axis, n, k, m in zip(_AXES[dims], input.shape[-dims:], kernel, sizes):
        fits = m + k - 1 <= n if dims == 2 else (k <= n and m + k - 1 < n)
        if not fits:
            need = m + k - 1 if dims == 2 else max(k, m + k)
            raise ValueError(
                f"{op}: kernel_size={kernel} and {given} need an input of at least {need} along {axis}, "
                f"got input of shape {tuple(input.shape)}"
            )


def _check_samples(op, dims, x, samples, input_shape):
    if not isinstance(samples, torch.Tensor):
        raise TypeError(f"{op}: _random_samples must be a torch.Tensor or None, got {type(samples).__name__}")
    if samples.dtype != x.dtype:
        raise TypeError(f"{op}: _random_samples must have the input's dtype {x.dtype}, got {samples.dtype}")
    n, c = x.shape[:2]
    shape = tuple(samples.shape)
    if samples.dim() != 3 or shape[0] < n or shape[1] != c or shape[2] != dims:
        raise ValueError(
            f"{op}: _random_samples must have shape (N', {c}, {dims}) with N' >= {n} for input of shape "
            f"{input_shape}, got _random_samples of shape {shape}"
        )
    return samples


def _starts(op, samples, size, out, kernel, empty):
    """``(N, C, out)`` int64: the first input position of each window along one axis."""
    n, c = samples.shape
    starts = torch.full((n, c, out), size - kernel, dtype=torch.int64, device=samples.device)
    if out < 2 or empty:
        return starts                                   # no sample is read, as in PyTorch
    dtype, device = samples.dtype, samples.device
    alpha = torch.tensor(size - kernel, dtype=dtype, device=device) / torch.tensor(out - 1, dtype=dtype, device=device)
    u = samples.unsqueeze(-1)
    scaled = (torch.arange(out - 1, device=device).to(dtype) + u) * alpha
    offset = u * alpha
    checked = device.type != "meta"                     # a meta tensor has no values to check
    for product in (scaled, offset) if checked else ():
        if not (product.isfinite().all() and product.abs().max() < _INT_LIMIT):
            raise ValueError(
                f"{op}: _random_samples must be finite and small enough that (i + u) * alpha fits a C int; "
                f"got samples from {samples.min().item()} to {samples.max().item()}"
            )
    starts[..., :-1] = scaled.to(torch.int64) - offset.to(torch.int64)       # truncation toward zero
    if checked and (starts.min() < 0 or starts.max() > size - kernel):
        raise ValueError(
            f"{op}: _random_samples from {samples.min().item()} to {samples.max().item()} place windows outside "
            f"the input (starts from {starts.min().item()} to {starts.max().item()}, allowed 0 to "
            f"{size - kernel}); draw them from [0, 1)"
        )
    return starts


def _argmax_index(x, starts, kernel):
    """``(N, C, *out)`` int64: the flat position, in its ``(n, c)`` plane, of the element each window chooses."""
    n, c = x.shape[:2]
    dims = len(kernel)
    outs = [s.shape[-1] for s in starts]
    values = x
    for d, (s, k) in enumerate(zip(starts, kernel)):
        rows = (s.unsqueeze(-1) + torch.arange(k, device=x.device)).reshape(n, c, s.shape[-1] * k)
        view = [n, c] + [1] * dims
        view[2 + d] = rows.shape[-1]
        shape = list(values.shape)
        shape[2 + d] = rows.shape[-1]
        values = values.gather(2 + d, rows.reshape(view).expand(shape))
    values = values.reshape(n, c, *[v for o, k in zip(outs, kernel) for v in (o, k)])
    order = [0, 1] + [2 + 2 * d for d in range(dims)] + [3 + 2 * d for d in range(dims)]
    size = math.prod(kernel)
    values = values.permute(order).reshape(n, c, *outs, size)                     # (N, C, *out, K)
    nan = values.isnan()
    first_max = (values == values.amax(-1, keepdim=True)).to(torch.uint8).argmax(-1)
    last_nan = (nan * torch.arange(1, size + 1, device=x.device)).argmax(-1)
    choice = torch.where(nan.any(-1), last_nan, first_max)                        # slot, row-major in the window
    index = torch.zeros_like(choice)
    plane_stride = 1
    for d in reversed(range(dims)):
        offset = choice % kernel[d]
        choice = choice // kernel[d]
        view = [n, c] + [1] * dims
        view[2 + d] = outs[d]
        index += (starts[d].reshape(view) + offset) * plane_stride
        plane_stride *= x.shape[2 + d]
    return index
