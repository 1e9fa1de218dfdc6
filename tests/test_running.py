"""poolkit.lab.running (four stride-1 max filters), poolkit.lab.timing, and the benchmark script."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from poolkit.lab import running as R
from poolkit.lab.timing import interleaved

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("method", R.METHODS)
@pytest.mark.parametrize("k", [1, 3, 5, 7, 9, 13, 17])
def test_every_method_is_max_pool_bit_for_bit(method, k):
    g = torch.Generator().manual_seed(k)
    for shape in [(2, 3, 17, 23), (1, 1, 1, 9), (1, 2, 30, 4)]:
        x = torch.randint(-3, 4, shape, generator=g).float() + torch.randn(shape, generator=g)
        x.view(-1)[0] = float("inf")
        x.view(-1)[-1] = float("-inf")
        assert torch.equal(R.max_filter2d(x, k, method), F.max_pool2d(x, k, 1, k // 2))


def test_comparison_counts():
    assert [R.comparisons(m, 9) for m in R.METHODS[:3]] == [80, 16, 8]
    assert R.comparisons("van_herk", 9) == pytest.approx(2 * (3 - 2 / 9))
    assert R.comparisons("direct", 5, dims=3) == 124
    assert R.comparisons("doubling", 13, dims=1) == 4
    assert R.doubling_widths(13) == [1, 2, 4, 8, 13] and R.doubling_widths(1) == [1]


def test_bad_arguments_are_named():
    x = torch.randn(1, 1, 5, 5)
    with pytest.raises(ValueError, match="kernel_size=4"):
        R.max_filter2d(x, 4, "direct")
    with pytest.raises(ValueError, match="method='fast'"):
        R.max_filter2d(x, 3, "fast")
    with pytest.raises(ValueError, match="method='fast'"):
        R.comparisons("fast", 3)
    with pytest.raises(TypeError, match=r"\(5, 5\)"):
        R.max_filter2d(x[0, 0], 3, "direct")


def test_interleaved_times_every_function():
    calls = []
    t = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b"] * 4 and set(t) == {"a", "b"} and all(v >= 0 for v in t.values())
    with pytest.raises(ValueError, match="rounds=0"):
        interleaved({"a": lambda: None}, rounds=0)
    with pytest.raises(TypeError, match=r"functions\['a'\]"):
        interleaved({"a": 3})


def test_the_benchmark_script_runs():
    result = subprocess.run([sys.executable, "benchmarks/pooling.py", "--smoke", "--rounds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "summary" in result.stdout and "performance targets" in result.stdout
    assert result.stdout.count("clone") >= 4
