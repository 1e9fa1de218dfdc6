"""Timing several functions fairly on a shared, noisy machine.

Each round calls every function once, in turn, so that a burst of load from
elsewhere slows all of them alike; the result is each function's median over
the rounds. Use ratios between the results, not the absolute times.
"""

import statistics
import time

from .._arguments import check_int


def interleaved(functions, rounds=5, warmup=1):
    """Median wall time, in seconds, of each of ``functions`` (a dict name -> callable of no arguments).

    Args:
        functions: the callables to time, called as ``f()``.
        rounds: timed calls of each function, at least 1.
        warmup: untimed calls of each first (buffers, caches, lazy set-up).

    Returns:
        dict with the same keys: median seconds per call.
    """
    rounds = check_int("rounds", rounds, minimum=1, op="interleaved")
    warmup = check_int("warmup", warmup, minimum=0, op="interleaved")
    for name, fn in functions.items():
        if not callable(fn):
            raise TypeError(f"interleaved: functions[{name!r}] must be callable, got {type(fn).__name__}")
    for _ in range(warmup):
        for fn in functions.values():
            fn()
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
