"""poolkit.lab.pool2d, the from-scratch version, against PyTorch and on bad input."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional as F

from poolkit.lab import pool2d


@st.composite
def plane_and_window(draw, dtype=torch.float32, allow_nan=False):
    h = draw(st.integers(1, 7))
    w = draw(st.integers(1, 7))
    window = (draw(st.integers(1, h)), draw(st.integers(1, w)))
    element = st.floats(-1e6, 1e6, width=32)
    if allow_nan:
        element = element | st.just(float("nan"))
    values = draw(st.lists(element, min_size=h * w, max_size=h * w))
    return torch.tensor(values, dtype=dtype).reshape(h, w), window


def torch_pool(X, window, mode):
    op = F.max_pool2d if mode == "max" else F.avg_pool2d
    return op(X[None, None], window, stride=1)[0, 0]


@given(plane_and_window())
def test_max_equals_torch_bit_for_bit(case):
    X, window = case
    assert torch.equal(pool2d(X, window), torch_pool(X, window, "max"))


@given(plane_and_window())
def test_avg_equals_torch(case):
    X, window = case
    # The two sum the window in different orders: allow float32 rounding of the largest input.
    tolerance = 1e-6 * window[0] * window[1] * X.abs().max().item()
    torch.testing.assert_close(pool2d(X, window, "avg"), torch_pool(X, window, "avg"),
                               rtol=1e-6, atol=tolerance)


@given(plane_and_window(allow_nan=True))
def test_nan_propagates_like_torch(case):
    X, window = case
    torch.testing.assert_close(pool2d(X, window), torch_pool(X, window, "max"), equal_nan=True)


def test_float64_under_float64_default(float64_default):
    X = torch.randn(5, 6, dtype=torch.float64)
    Y = pool2d(X, (2, 3), "avg")
    assert Y.dtype == torch.float64
    torch.testing.assert_close(Y, torch_pool(X, (2, 3), "avg"))


def test_output_shape_and_values_of_the_book_example():
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    assert pool2d(X, (2, 2)).tolist() == [[4.0, 5.0], [7.0, 8.0]]
    assert pool2d(X, (2, 2), "avg").tolist() == [[2.0, 3.0], [5.0, 6.0]]
    assert pool2d(X, (1, 3)).shape == (3, 1)
    assert pool2d(X, (3, 3)).tolist() == [[8.0]]


def test_gradient_flows_to_the_maximum():
    X = torch.tensor([[0.0, 1.0], [3.0, 2.0]], requires_grad=True)
    pool2d(X, (2, 2)).sum().backward()
    assert X.grad.tolist() == [[0.0, 0.0], [1.0, 0.0]]


X3 = torch.zeros(3, 3)


@pytest.mark.parametrize("args, error, message", [
    (([[1.0, 2.0]], (1, 1)), TypeError, r"X must be a torch\.Tensor, got list"),
    ((torch.zeros(3), (1, 1)), ValueError, r"X must be 2-D .* got 1-D input of shape \(3,\)"),
    ((torch.zeros(1, 3, 3), (2, 2)), ValueError, r"got 3-D input of shape \(1, 3, 3\)"),
    ((torch.zeros(3, 3, dtype=torch.int64), (2, 2)), TypeError, r"floating dtype, got torch\.int64"),
    ((torch.zeros(3, 3, dtype=torch.bool), (2, 2)), TypeError, r"floating dtype, got torch\.bool"),
    ((torch.zeros(3, 3, dtype=torch.float64), (2, 2)), TypeError,
     r"X\.dtype is torch\.float64 but .* default dtype torch\.float32"),
    ((X3, 2), TypeError, r"pool_size must be a pair \(p_h, p_w\) of ints, got 2"),
    ((X3, (2, 2, 2)), TypeError, r"pool_size must be a pair .* got \(2, 2, 2\)"),
    ((X3, (2.0, 2)), TypeError, r"pool2d: p_h must be an int, got p_h=2\.0 \(float\)"),
    ((X3, (2, True)), TypeError, r"p_w must be an int, got p_w=True \(bool\)"),
    ((X3, (0, 2)), ValueError, r"pool2d: p_h must be at least 1, got p_h=0"),
    ((X3, (2, -1)), ValueError, r"p_w must be at least 1, got p_w=-1"),
    ((X3, (4, 2)), ValueError, r"pool_size=\(4, 2\) is larger than the input X of shape \(3, 3\)"),
    ((X3, (2, 4)), ValueError, r"pool_size=\(2, 4\) is larger"),
    ((torch.zeros(0, 3), (1, 1)), ValueError, r"larger than the input X of shape \(0, 3\)"),
    ((X3, (2, 2), "min"), ValueError, r"mode must be 'max' or 'avg', got 'min'"),
    ((X3, (2, 2), "MAX"), ValueError, r"got 'MAX'"),
])
def test_bad_input_is_rejected_with_a_clear_message(args, error, message):
    with pytest.raises(error, match=message):
        pool2d(*args)


def test_numpy_and_tensor_integers_are_window_sizes_too():
    import numpy as np

    X = torch.arange(12.0).reshape(3, 4)
    expected = pool2d(X, (2, 3), "avg")
    assert torch.equal(pool2d(X, (np.int64(2), np.int32(3)), "avg"), expected)
    assert torch.equal(pool2d(X, (torch.tensor(2), 3), "avg"), expected)
    with pytest.raises(TypeError, match=r"p_h must be an int, got p_h=tensor\(True\)"):
        pool2d(X, (torch.tensor(True), 3))
