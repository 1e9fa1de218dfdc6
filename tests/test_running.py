"""poolkit.lab.running (four stride-1 max filters), poolkit.lab.timing, and the benchmark script."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st
from torch.nn import functional as F

from poolkit import _doubling
from poolkit.lab import relu_pool
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


@given(st.integers(1, 10**6))
def test_the_doubling_schedule(k):
    event("power of two" if k & (k - 1) == 0 else "other")
    widths = _doubling.doubling_widths(k)
    assert widths[0] == 1 and widths[-1] == k
    assert all(a < b <= 2 * a for a, b in zip(widths, widths[1:]))
    assert len(widths) - 1 == (k - 1).bit_length()                   # ceil(log2 k) steps
    steps = _doubling.doubling_steps(k)
    assert sum(steps) == k - 1 and all(0 < d <= w for d, w in zip(steps, widths))
    assert R.comparisons("doubling", k, dims=1) == len(steps)
    assert relu_pool.relu_layers((k, 1)) == len(steps)


def test_the_schedule_is_written_once():
    assert R.doubling_widths is _doubling.doubling_widths                # the name chapter 10 uses
    assert relu_pool.dilations is _doubling.doubling_steps


def test_bad_arguments_are_named():
    x = torch.randn(1, 1, 5, 5)
    with pytest.raises(ValueError, match="kernel_size must be odd, got kernel_size=4"):
        R.max_filter2d(x, 4, "direct")
    with pytest.raises(TypeError, match=r"kernel_size must be an int, got kernel_size=3\.0"):
        R.max_filter2d(x, 3.0, "direct")
    with pytest.raises(ValueError, match="kernel_size must be at least 1, got kernel_size=0"):
        R.doubling_widths(0)
    with pytest.raises(ValueError, match="kernel_size must be at least 1, got kernel_size=0"):
        R.comparisons("direct", 0)
    with pytest.raises(TypeError, match="dims must be an int, got dims=True"):
        R.comparisons("direct", 3, dims=True)
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
    with pytest.raises(ValueError, match="rounds must be at least 1, got rounds=0"):
        interleaved({"a": lambda: None}, rounds=0)
    with pytest.raises(ValueError, match="warmup must be at least 0, got warmup=-1"):
        interleaved({"a": lambda: None}, warmup=-1)
    with pytest.raises(TypeError, match="rounds must be an int, got rounds=2.5"):
        interleaved({"a": lambda: None}, rounds=2.5)
    with pytest.raises(TypeError, match=r"functions\['a'\]"):
        interleaved({"a": 3})


def test_the_benchmark_script_runs():
    result = subprocess.run([sys.executable, "benchmarks/pooling.py", "--smoke", "--rounds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "summary" in result.stdout and "performance targets" in result.stdout
    assert result.stdout.count("clone") >= 4


def test_the_training_benchmark_runs():
    result = subprocess.run([sys.executable, "benchmarks/training.py", "--smoke", "--rounds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("max ", "avg "))]
    steps, epochs = [row for row in rows if len(row) == 9], [row for row in rows if len(row) == 4]
    assert len(steps) == 4 and len(epochs) == 2, result.stdout
    if can_reset_peak_memory():
        assert all(float(row[-2]) > 0 for row in steps if row[2] == "NCHW"), "a memory probe measured nothing"
    assert "digits network" in result.stdout


def can_reset_peak_memory():
    """Whether this system lets a process reset its peak resident memory (Linux's clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def test_the_roi_benchmark_runs():
    result = subprocess.run([sys.executable, "benchmarks/roi.py", "--smoke", "--rounds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("roi_")]
    assert [row[0] for row in rows] == ["roi_pool", "roi_align"], result.stdout
    assert all(float(row[-1]) > 0 for row in rows), result.stdout
