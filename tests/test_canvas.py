"""Digits on a larger canvas: placed where asked, whole, and split the same way every time."""

import pytest
import torch

from poolkit.lab.canvas import digits_on_canvas, place


def test_place_pastes_each_digit_at_its_position():
    digits = torch.arange(2 * 9, dtype=torch.float32).reshape(2, 1, 3, 3) + 1
    rows, cols = torch.tensor([0, 4]), torch.tensor([2, 0])
    canvas = place(digits, rows, cols, 7)
    assert canvas.shape == (2, 1, 7, 7)
    assert torch.equal(canvas[0, 0, 0:3, 2:5], digits[0, 0]) and torch.equal(canvas[1, 0, 4:7, 0:3], digits[1, 0])
    assert canvas.sum() == digits.sum()                       # nothing else is written


@pytest.mark.parametrize("rows, cols, error", [
    (torch.tensor([5]), torch.tensor([0]), ValueError),       # off the canvas
    (torch.tensor([-1]), torch.tensor([0]), ValueError),
    (torch.tensor([0.0]), torch.tensor([0]), TypeError),      # not int64
    (torch.tensor([0, 1]), torch.tensor([0]), TypeError),     # not one per digit
])
def test_place_refuses_positions_that_do_not_fit(rows, cols, error):
    with pytest.raises(error, match="rows|cols"):
        place(torch.ones(1, 1, 3, 3), rows, cols, 7)


def test_place_refuses_a_canvas_smaller_than_the_digit():
    with pytest.raises(ValueError, match="size"):
        place(torch.ones(1, 1, 3, 3), torch.tensor([0]), torch.tensor([0]), 2)


def test_digits_on_canvas_is_whole_fixed_and_covers_the_positions():
    x_train, y_train, p_train, x_test, y_test, p_test = digits_on_canvas(size=20)
    assert x_train.shape == (1347, 1, 20, 20) and x_test.shape == (450, 1, 20, 20)
    positions = torch.cat([p_train, p_test])
    assert positions.min() == 0 and positions.max() == 12           # every position can occur
    # Each canvas holds exactly its digit's ink, at its position.
    for x, p in ((x_test, p_test),):
        for i in range(0, len(x), 97):
            r, c = p[i].tolist()
            window = x[i, 0, r:r + 8, c:c + 8]
            assert window.sum() == x[i].sum() > 0
    again = digits_on_canvas(size=20)
    assert all(torch.equal(a, b) for a, b in zip((x_train, y_train, p_train, x_test, y_test, p_test), again))
    centred = digits_on_canvas(size=20, centred=True)
    assert (centred[2] == 6).all() and torch.equal(centred[1], y_train)   # same split, centred


@pytest.mark.parametrize("kwargs", [dict(size=7), dict(test_size=0), dict(size=1.5)])
def test_digits_on_canvas_names_a_bad_argument(kwargs):
    with pytest.raises((ValueError, TypeError), match=next(iter(kwargs))):
        digits_on_canvas(**kwargs)


@pytest.mark.parametrize("kwargs, error", [
    (dict(seed=1.5), TypeError), (dict(seed="0"), TypeError), (dict(seed=True), TypeError), (dict(seed=2**70), ValueError),
    (dict(centred=1), TypeError), (dict(centred="yes"), TypeError), (dict(centred=None), TypeError),
])
def test_digits_on_canvas_wants_an_int_seed_and_a_bool_centred(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        digits_on_canvas(size=12, **kwargs)
