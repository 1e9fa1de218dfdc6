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

Run with: make bench   (or python benchmarks/pooling.py --help)
"""

import argparse
from dataclasses import dataclass

import torch
import torch.nn.functional as F

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


def run_case(case, op, rounds):
    x = torch.randn(case.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        impls = implementations(case, op, x)
        check(case, op, impls, x)
        t = interleaved({name: fn for name, (_, fn, _) in impls.items()}, rounds)
        t = {name: seconds * impls[name][2] for name, seconds in t.items()}
    best_native = min(t["native"], t["native CL"])
    print(f"\n{op}_pool2d {case.name}: input {case.shape}, kernel {case.kernel}, "
          f"stride {case.stride}, padding {case.padding}")
    print(f"  {'implementation':30}{'layout':15}{'ms':>10}{'best native / this':>20}{'this / clone':>14}")
    for name, (layout, _, planes) in impls.items():
        label = name.removesuffix(" CL") + (" (x planes)" if planes > 1 else "")
        print(f"  {label:30}{layout:15}{t[name] * 1e3:10.2f}{best_native / t[name]:20.2f}"
              f"{t[name] / t['clone']:14.1f}")
    return t


def summary(results):
    print("\nsummary (best layout of each; speed-up = best native time / poolkit time)")
    print(f"  {'op':5}{'case':14}{'native ms':>11}{'fast ms':>10}{'speed-up':>10}{'x clone':>9}"
          f"{'general ms':>12}{'general/native':>16}")
    goals = []
    for (op, case), t in results.items():
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case (default 15)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads (default: torch's choice)")
    parser.add_argument("--ops", default="max,avg", help="comma-separated: max, avg (default both)")
    parser.add_argument("--smoke", action="store_true", help="two tiny cases, to check that the script runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, float32, median of {args.rounds} interleaved rounds")
    results = {}
    for op in args.ops.split(","):
        if op not in ("max", "avg"):
            parser.error(f"--ops: unknown op {op!r}")
        for case in SMOKE if args.smoke else CASES:
            results[op, case] = run_case(case, op, args.rounds)
    summary(results)


if __name__ == "__main__":
    main()
