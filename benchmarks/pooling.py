"""poolkit's pooling paths against PyTorch's native CPU kernels and the memory floor.

For each case, every implementation runs on the same input, once per round,
in turn (so that noise from other work on the machine hits them alike), and
the table gives the median over the rounds. Ratios, not absolute times, are
the point: the machines are shared and their speed varies.

Implementations:
  from-scratch loop   poolkit.lab.pool2d, the two Python loops of chapter 1, on one
                      padded plane; its time is multiplied by the number of
                      planes (stride 1 only: the loop has no stride)
  window path         gather every window, then reduce (what gives indices and gradients)
  general path        poolkit._separable, slot by slot along each axis ("scan")
  fast path           poolkit.functional as a user calls it ("auto": doubling
                      along stride-1 axes)
  native              torch.nn.functional on the same layout
  clone               x.clone(): reading and writing the input once, the memory floor

Peers, what a user who wants a fast stride-1 max or box filter would try (rows of the same run):
  torch.compile       F.max_pool2d / F.avg_pool2d compiled by inductor, once per case and op (dynamic=False)
  scipy ...           scipy.ndimage.maximum_filter / uniform_filter on the NCHW ndarray, size (1, 1, k, k)
  OpenCV ...          cv2.dilate / cv2.blur per image, channels last, in groups of at most 128 (OpenCV 5)
Each peer is checked against PyTorch first and left out, saying why, if it disagrees.
scipy and OpenCV filter at stride 1: for stride > 1 they compute every position
and the row keeps every stride-th (marked *). scipy.ndimage runs on one thread.
torch.compile's first call, the compile, is timed apart and printed under the table
(inductor keeps compiled kernels on disk, so a second run of the script may compile faster).

Run with: make bench   (or python benchmarks/pooling.py --help)
"""

import argparse
import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy
import scipy.ndimage as ndimage
import torch
import torch.nn.functional as F

try:
    import cv2
    CV2_MISSING = None
except ImportError as error:      # in requirements.txt, but an environment made before may lack it
    cv2 = None
    CV2_MISSING = f"import cv2 failed ({error}); it is opencv-python-headless, in requirements.txt"

from poolkit.lab import pool2d
import poolkit.functional as P
from poolkit import _separable as separable
from poolkit import _windows as windows
from poolkit.lab.timing import interleaved


@dataclass(frozen=True)
class Case:
    name: str
    shape: tuple
    kernel: int
    stride: int
    padding: int


CASES = [
    Case("SPP k13", (1, 512, 20, 20), 13, 1, 6),
    Case("SPP k5", (8, 256, 40, 40), 5, 1, 2),
    Case("SPP k9", (8, 256, 40, 40), 9, 1, 4),
    Case("ResNet stem", (32, 64, 56, 56), 3, 2, 1),
]
SMOKE = [Case("smoke stride 1", (2, 3, 12, 12), 5, 1, 2), Case("smoke stride 2", (2, 3, 12, 12), 3, 2, 1)]

# The peers' rows, per op: torch.compile, scipy.ndimage, OpenCV.
PEERS = {"max": ("torch.compile", "scipy maximum_filter", "OpenCV dilate"),
         "avg": ("torch.compile", "scipy uniform_filter", "OpenCV blur")}


def implementations(case, op, x):
    """name -> (layout, function of no arguments)."""
    k, s, p = case.kernel, case.stride, case.padding
    cl = x.contiguous(memory_format=torch.channels_last)
    records = [windows.sliding(n, k, s, p, 1, False) for n in x.shape[2:]]
    if op == "max":
        native, ours = F.max_pool2d, P.max_pool2d

        def path(t, method):
            return separable.max_pool(t, records, method)
    else:
        native, ours = F.avg_pool2d, P.avg_pool2d

        def path(t, method):
            return separable.sum_pool(t, records, method, divisor=k * k)
    impls = {}
    if s == 1:
        fill = float("-inf") if op == "max" else 0.0
        plane = F.pad(x[0, 0], (p, p, p, p), value=fill)
        planes = x.shape[0] * x.shape[1]
        impls["from-scratch loop"] = ("NCHW", lambda: pool2d(plane, (k, k), op), planes)
    impls["window path"] = ("NCHW", lambda: path(x, "window"), 1)
    impls["general path"] = ("NCHW", lambda: path(x, "scan"), 1)
    impls["general path CL"] = ("channels_last", lambda: path(cl, "scan"), 1)
    impls["fast path"] = ("NCHW", lambda: ours(x, k, s, p), 1)
    impls["fast path CL"] = ("channels_last", lambda: ours(cl, k, s, p), 1)
    impls["native"] = ("NCHW", lambda: native(x, k, s, p), 1)
    impls["native CL"] = ("channels_last", lambda: native(cl, k, s, p), 1)
    impls["clone"] = ("NCHW", lambda: x.clone(), 1)
    return impls


def check(case, op, impls, x):
    """Every implementation gives the native answer before anything is timed."""
    ref = impls["native"][1]()
    for name, (_, fn, planes) in impls.items():
        if name == "clone":
            continue
        out = fn()
        if planes > 1:                                # one plane of the from-scratch loop
            assert torch.allclose(out, ref[0, 0], rtol=1e-5, atol=1e-5), name
        elif op == "max":
            assert torch.equal(out, ref), f"{case.name} {name}: not PyTorch's values"
        else:
            bound = separable.sum_error_bound((case.kernel,) * 2, x.dtype) * F.avg_pool2d(
                x.double().abs(), case.kernel, case.stride, case.padding)
            assert ((out.double() - ref.double()).abs() <= bound).all(), f"{case.name} {name}"


@dataclass(frozen=True)
class Peer:
    layout: str
    fn: object          # the timed call, of no arguments
    as_torch: object    # fn's result -> an NCHW tensor of the pooled positions (for the check, not timed)
    filters: bool       # a stride-1 filter: for stride > 1 it computes every position and keeps some


def kept(n, case):
    """The positions of a stride-1 filter along an axis of length n that hold the pooled outputs.

    With its default origin (scipy) or anchor (OpenCV), a filter of width k puts
    the window of position c at c - k // 2 ... c - k // 2 + k - 1. Pooled output
    o's window starts at o * stride - padding, so it is position
    o * stride + k // 2 - padding. Both pad with the same constant, and the
    windows kept never reach further out than the pooling's padding. (For an
    even k with padding k / 2, the last pooled window would be centred one past
    the end: the slice comes out one short, and the check leaves the peer out.)
    """
    k, s, p = case.kernel, case.stride, case.padding
    outputs = (n + 2 * p - k) // s + 1
    first = k // 2 - p
    return slice(first, first + (outputs - 1) * s + 1, s)


def compile_peer(case, op, x):
    """torch.compile of the native op, for this case and op alone. Returns the
    Peer and the seconds its first call took (the compile, with one run)."""
    native = F.max_pool2d if op == "max" else F.avg_pool2d
    k, s, p = case.kernel, case.stride, case.padding

    def pool(t):
        return native(t, k, s, p)
    # A clean start for each case and op: nothing compiled for an earlier case is
    # reused in memory, and dynamo's limit on recompiling one function is never
    # reached. Inductor's cache on disk is left as a user has it.
    torch.compiler.reset()
    compiled = torch.compile(pool, backend="inductor", dynamic=False)
    start = time.perf_counter()
    compiled(x)
    seconds = time.perf_counter() - start
    return Peer("NCHW", lambda: compiled(x), lambda out: out, False), seconds


def scipy_peer(case, op, x):
    """scipy.ndimage's filter over the two spatial axes of the same float32 NCHW data."""
    a = x.numpy()                                     # shares x's memory: no copy
    size = (1, 1, case.kernel, case.kernel)           # size 1: N and C are not filtered
    rows, cols = kept(a.shape[2], case), kept(a.shape[3], case)
    if op == "max":
        def fn():                                     # -inf outside, as max_pool2d's padding
            return ndimage.maximum_filter(a, size=size, mode="constant", cval=-math.inf)[:, :, rows, cols]
    else:
        def fn():                                     # 0 outside, divided by k * k: count_include_pad=True
            return ndimage.uniform_filter(a, size=size, mode="constant", cval=0.0)[:, :, rows, cols]
    return Peer("NCHW ndarray", fn, lambda out: torch.from_numpy(np.ascontiguousarray(out)), True)


@functools.cache
def opencv_channel_limit():
    """The most channels cv2.dilate and cv2.blur take in one (H, W, C) float32 array.

    The bindings make an (H, W, C) array an image of C channels only while C is
    at most OpenCV's CV_CN_MAX, which cv2 does not export: 128 in OpenCV 5.0,
    512 in OpenCV 4. Past it the array becomes a 3-D Mat, which the filters
    refuse. Found by bisection on tiny arrays.
    """
    def takes(c):
        a = np.zeros((3, 3, c), np.float32)
        try:                                          # (a one-channel result comes back as (H, W))
            return all(out.size == a.size for out in (cv2.dilate(a, np.ones((3, 3), np.uint8)),
                                                      cv2.blur(a, (3, 3))))
        except cv2.error:
            return False
    if not takes(1):
        return 0
    low, high = 1, 4096                               # takes(low) holds
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if takes(middle) else (low, middle - 1)
    return low


def opencv_peer(case, op, x):
    """OpenCV's filter on each image, channels last, in groups of channels OpenCV takes."""
    limit = opencv_channel_limit()
    if limit == 0:
        raise RuntimeError("cv2.dilate or cv2.blur refuses even a one-channel float32 image")
    n, c, h, w = x.shape
    groups = math.ceil(c / limit)
    width = math.ceil(c / groups)                     # groups as even as c allows
    bounds = [(g * width, min(c, (g + 1) * width)) for g in range(groups)]
    hwc = x.permute(0, 2, 3, 1)
    pieces = [np.ascontiguousarray(hwc[i, :, :, lo:hi].numpy()) for i in range(n) for lo, hi in bounds]
    rows, cols = kept(h, case), kept(w, case)
    k = case.kernel
    if op == "max":
        kernel = np.ones((k, k), np.uint8)
        # borderValue is a Scalar of four values, which OpenCV repeats across the
        # channels: a lone -inf becomes (-inf, 0, 0, 0) and pads channels 1 to 3
        # with 0, so all four are given.
        fill = (-math.inf,) * 4

        def fn():
            return [cv2.dilate(a, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=fill)[rows, cols]
                    for a in pieces]
    else:
        def fn():                                     # blur: boxFilter with normalize=True, 0 outside
            return [cv2.blur(a, (k, k), borderType=cv2.BORDER_CONSTANT)[rows, cols] for a in pieces]

    def as_torch(out):                                # (a one-channel result comes back as (H, W))
        out = [o.reshape(o.shape[0], o.shape[1], -1) for o in out]
        images = [np.concatenate(out[i * groups:(i + 1) * groups], axis=2) for i in range(n)]
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    layout = "HWC ndarrays" if groups == 1 else f"HWC, {width} ch"
    return Peer(layout, fn, as_torch, True)


def peers(case, op, x, compile_it):
    """name -> Peer for the peers that can run here, a line for each that cannot,
    and torch.compile's first-call seconds (None when it did not run)."""
    compiled, filtered, opencv = PEERS[op]
    found, notes, seconds = {}, [], None
    if compile_it:
        try:
            found[compiled], seconds = compile_peer(case, op, x)
        except Exception as error:                    # inductor needs a C++ compiler, for one
            notes.append(f"{compiled} left out: compiling failed ({type(error).__name__}: "
                         f"{str(error).strip().splitlines()[0][:200]})")
    found[filtered] = scipy_peer(case, op, x)
    if cv2 is None:
        notes.append(f"{opencv} left out: {CV2_MISSING}")
    else:
        try:
            found[opencv] = opencv_peer(case, op, x)
        except (RuntimeError, cv2.error) as error:
            notes.append(f"{opencv} left out: {str(error).strip().splitlines()[-1][:200]}")
    return found, notes, seconds


def check_peer(case, op, peer, x, ref):
    """(agrees, what was found): the peer's result against PyTorch's, ``ref``.

    Max must be bit-exact. The average must be within separable.sum_error_bound
    of PyTorch's, in units of the window's mean magnitude A. That bound is proven
    for any order of adding a window's K values, then one division; the peers do
    not all work that way. scipy's uniform_filter keeps a running sum along each
    line, rounds the first axis's means to float32 and averages those along the
    second axis; OpenCV's blur also keeps running sums; inductor's order is its
    own. A running sum's rounding depends on the values it has passed, not on
    the window alone, so the bound is not guaranteed for them: it is checked
    here, and the largest error found is printed either way.
    """
    try:
        out = peer.as_torch(peer.fn())
    except Exception as error:                        # cv2.error, say
        return False, f"failed: {type(error).__name__}: {str(error).strip().splitlines()[-1][:200]}"
    if out.shape != ref.shape:
        return False, f"gave shape {tuple(out.shape)}, not PyTorch's {tuple(ref.shape)}"
    if torch.equal(out, ref):
        return True, "bit-exact"
    if op == "max":
        return False, f"{int((out != ref).sum())} of {ref.numel()} values differ from PyTorch's"
    k, s, p = case.kernel, case.stride, case.padding
    mean_abs = F.avg_pool2d(x.double().abs(), k, s, p)
    bound = separable.sum_error_bound((k, k), x.dtype)
    error = (out.double() - ref.double()).abs()
    agrees = bool((error <= bound * mean_abs).all())
    worst = (error / mean_abs.clamp_min(torch.finfo(torch.float64).tiny)).max().item()
    found = f"max error {worst:.1e} A, bound {bound:.1e} A (A: the window's mean |x|)"
    return agrees, ("within the bound: " if agrees else "over the bound: ") + found


def run_case(case, op, rounds, compile_it):
    x = torch.randn(case.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        impls = implementations(case, op, x)
        check(case, op, impls, x)
        found, notes, compile_seconds = peers(case, op, x, compile_it)
        ref = impls["native"][1]()
        checked = {}                                  # the peers that agree: name -> how closely
        for name, peer in found.items():
            agrees, text = check_peer(case, op, peer, x, ref)
            if agrees:
                checked[name] = text
            else:
                notes.append(f"{name} left out: {text}")
        rows = {name: row for name, row in impls.items() if name != "clone"}
        rows.update({name: (found[name].layout, found[name].fn, 1) for name in checked})
        rows["clone"] = impls["clone"]
        t = interleaved({name: fn for name, (_, fn, _) in rows.items()}, rounds)
        t = {name: seconds * rows[name][2] for name, seconds in t.items()}
    best_native = min(t["native"], t["native CL"])
    print(f"\n{op}_pool2d {case.name}: input {case.shape}, kernel {case.kernel}, "
          f"stride {case.stride}, padding {case.padding}")
    print(f"  {'implementation':30}{'layout':15}{'ms':>10}{'best native / this':>20}{'this / clone':>14}")
    for name, (layout, _, planes) in rows.items():
        label = name.removesuffix(" CL") + (" (x planes)" if planes > 1 else "")
        if name in found and found[name].filters and case.stride > 1:
            label += " *"
        print(f"  {label:30}{layout:15}{t[name] * 1e3:10.2f}{best_native / t[name]:20.2f}"
              f"{t[name] / t['clone']:14.1f}")
    if case.stride > 1:
        print(f"  * a stride-1 filter: computes {case.stride ** 2} times as many positions as it keeps "
              f"(one in {case.stride} along each axis)")
    if compile_seconds is not None:
        print(f"  torch.compile: first call took {compile_seconds:.1f} s (compile), not in the timings")
    for name, text in checked.items():
        print(f"  check {name}: {text}")
    for note in notes:
        print(f"  {note}")
    return t, checked


def summary(results):
    print("\nsummary (best layout of each; speed-up = best native time / poolkit time)")
    print(f"  {'op':5}{'case':14}{'native ms':>11}{'fast ms':>10}{'speed-up':>10}{'x clone':>9}"
          f"{'general ms':>12}{'general/native':>16}")
    goals = []
    for (op, case), (t, _) in results.items():
        native = min(t["native"], t["native CL"])
        fast = min(t["fast path"], t["fast path CL"])
        general = min(t["general path"], t["general path CL"])
        print(f"  {op:5}{case.name:14}{native * 1e3:11.2f}{fast * 1e3:10.2f}{native / fast:10.2f}"
              f"{fast / t['clone']:9.1f}{general * 1e3:12.2f}{general / native:16.2f}")
        if op != "max":
            continue
        if case.stride == 1:
            goals.append((f"{case.name}: fast path at least 2x faster than the best native layout",
                          native / fast >= 2, f"{native / fast:.2f}x"))
            goals.append((f"{case.name}: fast path within 4x of the clone floor",
                          fast / t["clone"] <= 4, f"{fast / t['clone']:.1f}x the clone"))
        else:
            best = min(general, fast)
            goals.append((f"{case.name}: poolkit within 2x of the best native layout",
                          best / native <= 2, f"{best / native:.2f}x the native time"))
    print("\nperformance targets (see the README)")
    for text, met, value in goals:
        print(f"  {'met   ' if met else 'missed'} {text}: {value}")
    peer_summary(results)


def peer_summary(results):
    """The fastest peer that agrees with PyTorch, per case, against poolkit's fast path."""
    print("\npeers (the fastest that agrees with PyTorch; peer / fast > 1: poolkit's fast path is faster)")
    print(f"  {'op':5}{'case':16}{'fast ms':>9}  {'best peer':22}{'peer ms':>9}{'peer / fast':>13}  result")
    for (op, case), (t, checked) in results.items():
        fast = min(t["fast path"], t["fast path CL"])
        if not checked:
            print(f"  {op:5}{case.name:16}{fast * 1e3:9.2f}  no peer ran")
            continue
        best = min(checked, key=t.get)
        mark = " *" if case.stride > 1 and best != PEERS[op][0] else ""
        print(f"  {op:5}{case.name:16}{fast * 1e3:9.2f}  {best + mark:22}{t[best] * 1e3:9.2f}"
              f"{t[best] / fast:13.2f}  {checked[best].split(':')[0]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case (default 15)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch's and OpenCV's threads (default: torch's choice)")
    parser.add_argument("--ops", default="max,avg", help="comma-separated: max, avg (default both)")
    parser.add_argument("--smoke", action="store_true",
                        help="two tiny cases, to check that the script runs (torch.compile on the first only)")
    parser.add_argument("--no-compile", action="store_true",
                        help="leave out torch.compile, whose compiling takes seconds per case and op")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if cv2 is not None:
        cv2.setNumThreads(args.threads)
    print(f"torch {torch.__version__}, scipy {scipy.__version__}, "
          f"OpenCV {cv2.__version__ if cv2 is not None else 'not installed'}; "
          f"{args.threads} threads (scipy.ndimage: one), float32, median of {args.rounds} interleaved rounds")
    if args.no_compile:
        print("torch.compile left out (--no-compile)")
    elif args.smoke:
        print("torch.compile on the first smoke case only (--smoke)")
    results = {}
    compiles = 0 if args.no_compile else 1 if args.smoke else math.inf
    for op in args.ops.split(","):
        if op not in ("max", "avg"):
            parser.error(f"--ops: unknown op {op!r}")
        for case in SMOKE if args.smoke else CASES:
            results[op, case] = run_case(case, op, args.rounds, compile_it=compiles > 0)
            compiles -= 1
    summary(results)


if __name__ == "__main__":
    main()
