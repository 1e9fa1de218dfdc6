"""poolkit's training path against PyTorch's: a forward and backward pass, its time and its memory.

For each case an input that requires grad is pooled and the pooled result is
differentiated (``backward`` with a gradient of ones), by PyTorch and by poolkit,
each on an NCHW input and on a channels-last one. The implementations run in
turn, once per round, and the table gives the median over the rounds.

Memory is measured apart, one implementation per fresh Python process (Linux):
the rise of the process' peak resident memory over one step, after the input
and its gradient of ones exist and after a small warm-up call, so that thread
pools and code are already in place. It counts what the step allocates at its
worst moment: the output, the indices, the input's gradient and any scratch.

The last table trains the book's digits network (poolkit.lab.training) for
one epoch on one thread, with PyTorch's pooling modules and with poolkit's.

Run with: make bench   (or python benchmarks/training.py --help)
"""

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

import poolkit.functional as P
from poolkit.lab.timing import interleaved


ROOT = Path(__file__).resolve().parent.parent       # the memory probes import this file from there


@dataclass(frozen=True)
class Case:
    name: str
    shape: tuple
    kernel: int
    stride: int
    padding: int


CASES = [
    Case("ResNet stem", (32, 64, 56, 56), 3, 2, 1),
    Case("SPP k5", (4, 256, 40, 40), 5, 1, 2),
    Case("SPP k9", (4, 256, 40, 40), 9, 1, 4),
]
SMOKE = [Case("smoke", (4, 16, 64, 64), 3, 2, 1)]
LIBRARIES = {"torch": F, "poolkit": P}
LAYOUTS = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}
TIME_TARGET, MEMORY_TARGET, EPOCH_TARGET = 1.5, 1.5, 1.2


def step(library, op, case, x, grad):
    """One forward and backward pass; returns the input's gradient."""
    x = x.detach().requires_grad_()
    y = getattr(library, f"{op}_pool2d")(x, case.kernel, case.stride, case.padding)
    y.backward(grad)
    return x.grad


def inputs(case, layout):
    x = torch.randn(case.shape, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=LAYOUTS[layout])
    out = F.max_pool2d(x, case.kernel, case.stride, case.padding)
    return x, torch.ones_like(out)


def check(op, case):
    """poolkit's values and gradients are PyTorch's (bit for bit for max pooling), in both layouts."""
    for layout in LAYOUTS:
        x, grad = inputs(case, layout)
        ours, theirs = step(P, op, case, x, grad), step(F, op, case, x, grad)
        assert ours.stride() == theirs.stride(), f"{case.name} {layout}: gradient strides differ"
        if op == "max":
            assert torch.equal(ours, theirs), f"{case.name} {layout}: max pooling gradients differ"
        else:
            torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def time_case(op, case, rounds):
    functions = {}
    for layout in LAYOUTS:
        x, grad = inputs(case, layout)
        for name, library in LIBRARIES.items():
            functions[name, layout] = (lambda lib, x, g: lambda: step(lib, op, case, x, g))(library, x, grad)
    return interleaved(functions, rounds)


def peak_memory(op, case, library, layout):
    """MiB by which one step raises the peak resident memory of a fresh process."""
    code = f"""
import json, re, torch
import torch.nn.functional as F, poolkit.functional as P
from benchmarks.training import Case, inputs, step

def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))

torch.set_num_threads({torch.get_num_threads()})
case = Case(*{json.dumps([case.name, case.shape, case.kernel, case.stride, case.padding])})
library = {{"torch": F, "poolkit": P}}[{library!r}]
small = Case("warm-up", (1, 2, 9, 9), case.kernel, case.stride, case.padding)
step(library, {op!r}, small, *inputs(small, {layout!r}))
x, grad = inputs(case, {layout!r})
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                               # the peak starts again from the present
except OSError:                                    # not allowed here: the peak since start-up
    pass
before = peak()
kept = step(library, {op!r}, case, x, grad)
print(json.dumps((peak() - before) / 1024))
"""
    # A fixed mmap threshold: every block of 64 KiB or more is mapped when allocated and
    # unmapped when freed, so resident memory follows what the step holds, not what the
    # allocator kept from before.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=ROOT, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def epoch_times(rounds, images=None):
    """Seconds per epoch of the digits network, with PyTorch's and with poolkit's pooling modules
    (on the first ``images`` training images only, if given: the smoke run's short epoch)."""
    from torch import nn

    import poolkit.nn as pnn
    from poolkit.lab.training import deterministic, lenet, load_digits_split

    x, y, _, _ = load_digits_split()
    x, y = x[:images], y[:images]

    def epoch(module):
        torch.manual_seed(0)
        model = lenet(lambda c: module(2))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        order = torch.Generator().manual_seed(0)

        def run():
            for batch in torch.randperm(len(x), generator=order).split(64):
                loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return run

    results = {}
    with deterministic(1):
        for op in ("max", "avg"):
            module = {"max": "MaxPool2d", "avg": "AvgPool2d"}[op]
            t = interleaved({"torch": epoch(getattr(nn, module)), "poolkit": epoch(getattr(pnn, module))}, rounds)
            results[op] = t
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per case (default 9)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads (default: torch's choice)")
    parser.add_argument("--smoke", action="store_true", help="one tiny case, to check that the script runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, float32, forward and backward, "
          f"median of {args.rounds} interleaved rounds")
    goals = []
    print(f"\n  {'op':5}{'case':16}{'layout':15}{'torch ms':>10}{'poolkit ms':>12}{'poolkit / best torch':>22}"
          f"{'torch MiB':>11}{'poolkit MiB':>13}{'memory ratio':>14}")
    for op in ("max", "avg"):
        for case in SMOKE if args.smoke else CASES:
            check(op, case)
            t = time_case(op, case, args.rounds)
            best = min(t["torch", layout] for layout in LAYOUTS)
            fastest = min(t["poolkit", layout] for layout in LAYOUTS)
            for layout in LAYOUTS:
                if args.smoke and layout != "NCHW":      # each probe is a fresh process: keep the smoke run short
                    mem = {name: float("nan") for name in LIBRARIES}
                else:
                    mem = {name: peak_memory(op, case, name, layout) for name in LIBRARIES}
                ratio = mem["poolkit"] / max(mem["torch"], 1e-9)
                print(f"  {op:5}{case.name:16}{layout:15}{t['torch', layout] * 1e3:10.2f}"
                      f"{t['poolkit', layout] * 1e3:12.2f}{t['poolkit', layout] / best:22.2f}"
                      f"{mem['torch']:11.1f}{mem['poolkit']:13.1f}{ratio:14.2f}")
                if not args.smoke:
                    goals.append((f"{op} {case.name} {layout}: peak memory at most {MEMORY_TARGET}x PyTorch's",
                                  ratio <= MEMORY_TARGET, f"{ratio:.2f}x"))
            if not args.smoke:
                goals.append((f"{op} {case.name}: forward + backward at most {TIME_TARGET}x the best "
                              f"PyTorch layout", fastest / best <= TIME_TARGET, f"{fastest / best:.2f}x"))
    epochs = epoch_times(1, images=256) if args.smoke else epoch_times(args.rounds)
    print(f"\ndigits network, one epoch on one thread (poolkit.lab.training.lenet, batch 64"
          f"{', 256 images' if args.smoke else ''})")
    print(f"  {'pooling':10}{'torch ms':>10}{'poolkit ms':>12}{'poolkit / torch':>17}")
    for op, t in epochs.items():
        ratio = t["poolkit"] / t["torch"]
        print(f"  {op:10}{t['torch'] * 1e3:10.1f}{t['poolkit'] * 1e3:12.1f}{ratio:17.2f}")
        if not args.smoke:
            goals.append((f"{op} pooling: an epoch of the digits network within {EPOCH_TARGET}x PyTorch's",
                          ratio <= EPOCH_TARGET, f"{ratio:.2f}x"))
    if goals:
        print("\ntraining targets (see the README)")
        for text, met, value in goals:
            print(f"  {'met   ' if met else 'missed'} {text}: {value}")


if __name__ == "__main__":
    main()
