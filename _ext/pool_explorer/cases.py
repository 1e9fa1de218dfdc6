"""The configurations the pooling explorer is checked on, with poolkit's answers.

The explorer (``pool-explorer.js``) computes pooling itself, in the reader's
browser, from the same rules as :mod:`poolkit`. The browser test drives it
through every configuration made here and compares what it shows with what
:func:`poolkit.functional.max_pool2d` and :func:`poolkit.functional.avg_pool2d`
return, or with the argument they refuse. The build writes the list to
``_static/pool-explorer/fixture.json``.

Each configuration is a dict:

* ``op``: ``"max"`` or ``"avg"``;
* ``input``: ``[H, W]``, each 1 to 12; the input is ``(1, 1, H, W)`` and cell
  ``(i, j)`` holds :func:`input_value` ``(i, j)``;
* ``kernel``, ``padding``, ``dilation``: ``[h, w]`` pairs (``dilation`` is
  ``[1, 1]`` for average pooling, which has none); ``stride``: a pair, or
  ``None`` for PyTorch's default, the kernel size;
* ``ceil_mode``; ``count_include_pad`` (average pooling only, else ``None``).

and its answer, :func:`answer`, either ``{"shape": [h, w], "values": rows}``
(``"-inf"`` standing for a window of padding alone) or ``{"refused": kind,
"poolkit": message, "torch": message}``, where ``kind`` is one of
:data:`KINDS`. The torch message is what ``torch.nn.functional`` says for
the same call, which the explorer repeats word for word.
"""

import contextlib
import math
import random

SEED = 20260
SIZES = range(1, 13)            # the explorer's input heights and widths
KINDS = {
    "stride": "a stride of zero",
    "padding": "padding larger than half the kernel",
    "output_size": "no window fits (output size too small)",
}


def input_value(i, j):
    """The value of input cell ``(i, j)``: ``(7 i + 3 j) mod 10 - 4``, a small integer
    from -4 to 5 that does not depend on the input's size."""
    return (7 * i + 3 * j) % 10 - 4


def input_tensor(height, width):
    import torch

    rows = [[float(input_value(i, j)) for j in range(width)] for i in range(height)]
    return torch.tensor(rows, dtype=torch.float64).reshape(1, 1, height, width)


def _config(op, size, kernel, stride=None, padding=(0, 0), dilation=(1, 1), ceil_mode=False,
            count_include_pad=True):
    pair = lambda v: None if v is None else [int(v[0]), int(v[1])]
    return {
        "op": op, "input": pair(size), "kernel": pair(kernel), "stride": pair(stride),
        "padding": pair(padding), "dilation": pair(dilation) if op == "max" else [1, 1],
        "ceil_mode": bool(ceil_mode), "count_include_pad": bool(count_include_pad) if op == "avg" else None,
    }


def _chosen():
    """Cases picked by hand, one or more for each rule the explorer shows."""
    m, a = "max", "avg"
    return [
        _config(m, (4, 4), (3, 3)),                                         # the default stride
        _config(m, (4, 4), (3, 3), (2, 2), (1, 1)),                         # chapter 3's example
        _config(m, (4, 4), (2, 3), (2, 3), (0, 1)),
        _config(m, (4, 4), (2, 3), (2, 3), (1, 1)),
        _config(m, (1, 1), (2, 2), (1, 1), (1, 1), (2, 2)),                 # windows of padding only
        _config(m, (1, 3), (2, 2), (1, 1), (1, 1), (2, 1)),
        _config(m, (2, 2), (2, 2), (1, 1), (1, 1), (3, 3)),
        _config(m, (6, 7), (1, 1), (2, 2), ceil_mode=True),                 # the dropped last window
        _config(m, (6, 7), (1, 1), (2, 2), ceil_mode=False),
        _config(a, (5, 5), (2, 2), (2, 2), (1, 1), ceil_mode=True, count_include_pad=True),
        _config(a, (5, 5), (2, 2), (2, 2), (1, 1), ceil_mode=True, count_include_pad=False),
        _config(a, (1, 6), (1, 3), (1, 2), (0, 1), ceil_mode=True, count_include_pad=True),
        _config(a, (1, 6), (1, 3), (1, 2), (0, 1), ceil_mode=True, count_include_pad=False),
        _config(a, (3, 3), (3, 3), (2, 2), (1, 1), count_include_pad=True),  # chapter 4's border
        _config(a, (3, 3), (3, 3), (2, 2), (1, 1), count_include_pad=False),
        _config(m, (1, 1), (5, 5), (5, 5), ceil_mode=True),                 # a ceiling of one window
        _config(m, (4, 4), (3, 3), padding=(2, 2)),                         # refused: padding
        _config(m, (4, 4), (2, 2), padding=(2, 2), dilation=(3, 3)),        # refused: half the kernel
        _config(m, (6, 6), (3, 2), padding=(2, 3)),
        _config(m, (6, 6), (1, 3), padding=(1, 0), dilation=(3, 1)),
        _config(a, (4, 4), (3, 3), padding=(0, 2)),
        _config(m, (4, 4), (5, 5)),                                         # refused: output size
        _config(m, (4, 4), (3, 3), dilation=(3, 3)),
        _config(a, (2, 2), (3, 3)),
        _config(a, (2, 7), (3, 2), ceil_mode=True),
        _config(m, (4, 4), (2, 2), (0, 0)),                                 # refused: stride
        _config(a, (4, 4), (2, 2), (1, 0)),
        _config(m, (12, 12), (1, 1)),                                       # the largest input
        _config(a, (12, 1), (4, 1), (3, 1), (2, 0), ceil_mode=True, count_include_pad=False),
    ]


def _drawn(rng):
    """One configuration drawn at random: mostly valid, some of each refusal."""
    op = rng.choice(("max", "avg"))
    size = (rng.choice(SIZES), rng.choice(SIZES))
    kernel = (rng.randint(1, 5), rng.randint(1, 5))
    if rng.random() < 0.25:
        stride = None
    else:
        stride = tuple(0 if rng.random() < 0.02 else rng.randint(1, 4) for _ in range(2))
    # Mostly within half the kernel; now and then one or two past it.
    padding = tuple(rng.randint(0, k // 2 + (rng.random() < 0.12) * rng.randint(1, 2)) for k in kernel)
    dilation = tuple(rng.choice((1, 1, 2, 3)) for _ in range(2)) if op == "max" else (1, 1)
    return _config(op, size, kernel, stride, padding, dilation, rng.random() < 0.5, rng.random() < 0.5)


def configurations(count=420, seed=SEED):
    """The hand-picked cases, then random ones from ``random.Random(seed)`` up to ``count``
    in all, without repeats."""
    cases = _chosen()
    seen = {repr(c) for c in cases}
    rng = random.Random(seed)
    while len(cases) < count:
        case = _drawn(rng)
        if repr(case) not in seen:
            seen.add(repr(case))
            cases.append(case)
    return cases


def _kind(message):
    if "stride must be positive" in message:
        return "stride"
    if "padding must be at most half" in message:
        return "padding"
    if "no window fits" in message:
        return "output_size"
    raise ValueError(f"unexpected refusal from poolkit: {message}")


def _call(functional, config, x):
    kwargs = dict(kernel_size=tuple(config["kernel"]),
                  stride=None if config["stride"] is None else tuple(config["stride"]),
                  padding=tuple(config["padding"]), ceil_mode=config["ceil_mode"])
    if config["op"] == "max":
        return functional.max_pool2d(x, dilation=tuple(config["dilation"]), **kwargs)
    return functional.avg_pool2d(x, count_include_pad=config["count_include_pad"], **kwargs)


def answer(config):
    """poolkit's result for ``config``, or its refusal with PyTorch's message beside it."""
    import torch.nn.functional as F

    import poolkit.functional as P

    x = input_tensor(*config["input"])
    try:
        out = _call(P, config, x)
    except ValueError as error:
        try:
            _call(F, config, x)
        except RuntimeError as torch_error:
            return {"refused": _kind(str(error)), "poolkit": str(error), "torch": str(torch_error)}
        raise AssertionError(f"poolkit refuses what torch accepts: {config}") from None
    rows = out[0, 0].tolist()
    values = [[v if math.isfinite(v) else ("-inf" if v < 0 else repr(v)) for v in row] for row in rows]
    return {"shape": list(out.shape[2:]), "values": values}


@contextlib.contextmanager
def one_thread():
    """Run PyTorch on one thread meanwhile: on inputs this small, a second thread only
    adds synchronisation, which costs much more on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fixture(count=420, seed=SEED):
    """Everything the browser test needs: the rule for the input values, and each case with its answer."""
    with one_thread():
        cases = [dict(config, expected=answer(config)) for config in configurations(count, seed)]
    return {
        "input_value": "(7 i + 3 j) mod 10 - 4",
        "seed": seed,
        "valid": sum("shape" in c["expected"] for c in cases),
        "refused": sum("refused" in c["expected"] for c in cases),
        "cases": cases,
    }
