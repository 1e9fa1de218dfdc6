"""poolkit.ops against torchvision.ops: ROI Pool and ROI Align, forward and backward.

A feature map of stride 16 (spatial_scale 1/16) and boxes of random position
and size on the image, as a detector's second stage sees them, pooled to
7 x 7 bins. Each op runs forward, then backward with a gradient of ones, by
torchvision and by poolkit in turn, once per round; the table gives the median
over the rounds and poolkit's time over torchvision's.

poolkit's ops are written in tensor operations that follow torchvision's CPU
kernels rule for rule (tests/test_roi.py); torchvision's are C++ loops over
the bins. Run with: make bench   (or python benchmarks/roi.py --help)
"""

import argparse

import torch
import torchvision.ops as tv

from poolkit import ops
from poolkit.lab.timing import interleaved

CASES = [("2 x 256 x 50 x 50, 256 boxes", (2, 256, 50, 50), 256),
         ("1 x 64 x 38 x 38, 64 boxes", (1, 64, 38, 38), 64)]
SMOKE = [("smoke", (1, 4, 12, 12), 8)]
OPS = {"roi_pool": ({}, tv.roi_pool, ops.roi_pool),
       "roi_align": ({"sampling_ratio": 2, "aligned": True}, tv.roi_align, ops.roi_align)}


def boxes_for(shape, count, generator):
    """``count`` boxes in image coordinates (16 pixels per cell), at least one cell wide."""
    n, _, height, width = shape
    size = torch.tensor([width, height], dtype=torch.float32) * 16
    corner = torch.rand(count, 2, generator=generator) * size
    extent = torch.rand(count, 2, generator=generator) * size / 2 + 16
    image = torch.randint(0, n, (count, 1), generator=generator).float()
    return torch.cat([image, corner, corner + extent], 1)


def step(function, x, boxes, kwargs):
    def run():
        leaf = x.detach().requires_grad_()
        out = function(leaf, boxes, 7, 1 / 16, **kwargs)
        out.backward(torch.ones_like(out))
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per case (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--smoke", action="store_true", help="one tiny case, to check that the script runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), float32, 7 x 7 bins, forward and backward, "
          f"median of {args.rounds} interleaved rounds")
    print(f"\n  {'op':11}{'case':32}{'torchvision ms':>16}{'poolkit ms':>12}{'poolkit / torchvision':>23}")
    generator = torch.Generator().manual_seed(0)
    for name, shape, count in SMOKE if args.smoke else CASES:
        x = torch.randn(shape, generator=generator)
        boxes = boxes_for(shape, count, generator)
        for op, (kwargs, theirs, mine) in OPS.items():
            t = interleaved({"torchvision": step(theirs, x, boxes, kwargs), "poolkit": step(mine, x, boxes, kwargs)},
                            args.rounds)
            print(f"  {op:11}{name:32}{t['torchvision'] * 1e3:16.2f}{t['poolkit'] * 1e3:12.2f}"
                  f"{t['poolkit'] / t['torchvision']:23.2f}")


if __name__ == "__main__":
    main()
