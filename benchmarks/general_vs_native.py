"""poolkit's general pooling path against PyTorch's native CPU kernels.

Prints, for each case, the median time of each implementation over interleaved
rounds and the ratio poolkit / native. Run with: make bench
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import poolkit.functional as P


def median_times(fns, rounds, x):
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn(x)                                   # warm up
    for _ in range(rounds):
        for name, fn in fns.items():            # interleaved, so machine noise hits all alike
            start = time.perf_counter()
            fn(x)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    nchw = torch.randn(32, 64, 56, 56)
    layouts = {"NCHW": nchw, "channels_last": nchw.contiguous(memory_format=torch.channels_last)}
    ops = {
        "max_pool2d k3 s2 p1": (lambda x: P.max_pool2d(x, 3, 2, 1), lambda x: F.max_pool2d(x, 3, 2, 1)),
        "avg_pool2d k3 s2 p1": (lambda x: P.avg_pool2d(x, 3, 2, 1), lambda x: F.avg_pool2d(x, 3, 2, 1)),
    }
    print(f"input (32, 64, 56, 56) float32, {args.threads} threads, median of {args.rounds} interleaved rounds")
    print(f"{'op':22}{'layout':15}{'poolkit ms':>12}{'native ms':>11}{'poolkit/native':>16}")
    with torch.no_grad():
        for op, (ours, native) in ops.items():
            for layout, x in layouts.items():
                assert torch.allclose(ours(x), native(x), atol=1e-6)
                t = median_times({"poolkit": ours, "native": native}, args.rounds, x)
                print(f"{op:22}{layout:15}{t['poolkit'] * 1e3:12.1f}{t['native'] * 1e3:11.1f}"
                      f"{t['poolkit'] / t['native']:16.2f}")


if __name__ == "__main__":
    main()
