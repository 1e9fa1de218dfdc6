"""The digits split, the LeNet-sized network, and reproducible training."""

import sys

import pytest
import torch
from torch import nn

from poolkit import nn as pnn
from poolkit.lab.training import deterministic, evaluate, lenet, load_digits_split, train


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def test_split_is_fixed_padded_and_complete(digits):
    x_train, y_train, x_test, y_test = digits
    assert x_train.shape == (1347, 1, 12, 12) and x_test.shape == (450, 1, 12, 12)
    assert x_train.dtype == torch.float32 and 0 <= x_train.min() and x_train.max() == 1
    assert (x_test[..., :2, :] == 0).all() and (x_test[..., :, -2:] == 0).all()     # the padding
    assert sorted(torch.bincount(torch.cat([y_train, y_test])).tolist()) == sorted([178, 182, 177, 183, 181,
                                                                                     182, 181, 179, 174, 180])
    again = load_digits_split()
    assert all(torch.equal(a, b) for a, b in zip(digits, again))


def test_poolkit_core_does_not_import_sklearn():
    code = "import poolkit, poolkit.lab.training, sys; print('sklearn' in sys.modules, 'matplotlib' in sys.modules)"
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize("downsample", [lambda c: pnn.MaxPool2d(2), lambda c: pnn.AvgPool2d(2),
                                        lambda c: nn.Conv2d(c, c, 3, stride=2, padding=1),
                                        lambda c: pnn.MaxBlurPool2d(), lambda c: pnn.LPPool2d(2, 2)])
def test_lenet_variants_end_in_three_by_three(downsample):
    model = lenet(downsample)
    assert model(torch.zeros(5, 1, 12, 12)).shape == (5, 10)
    assert model[-1].in_features == 16 * 3 * 3


def test_training_is_reproducible_and_learns(digits):
    x_train, y_train, x_test, y_test = digits
    make = lambda: lenet(lambda c: pnn.MaxPool2d(2))      # noqa: E731
    a = train(make, x_train[:400], y_train[:400], seed=3, epochs=3)
    outer = torch.get_num_threads()
    torch.set_num_threads(2 if outer == 1 else 1)       # the caller's setting must not matter
    try:
        b = train(make, x_train[:400], y_train[:400], seed=3, epochs=3)
    finally:
        torch.set_num_threads(outer)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    result = evaluate(a, x_test, y_test)
    assert set(result) == {"accuracy", "shifted", "consistency"}
    assert result["accuracy"] > 0.5
    assert all(0 <= v <= 1 for v in result.values())


def test_deterministic_restores_the_settings():
    threads = torch.get_num_threads()
    with deterministic(1):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("call, message", [
    (lambda: load_digits_split(test_size=0), r"test_size must be at least 1, got test_size=0"),
    (lambda: load_digits_split(test_size=1797), r"test_size must be at most 1796, got test_size=1797"),
    (lambda: load_digits_split(pad=-1), r"pad must be at least 0, got pad=-1"),
    (lambda: train(lambda: nn.Linear(1, 1), torch.zeros(2, 1), torch.zeros(2), 0, epochs=0),
     r"epochs must be at least 1, got epochs=0"),
    (lambda: train(lambda: nn.Linear(1, 1), torch.zeros(2, 1), torch.zeros(2), 0, batch_size=0),
     r"batch_size must be at least 1, got batch_size=0"),
    (lambda: train(lambda: nn.Linear(1, 1), torch.zeros(2, 1), torch.zeros(3), 0), r"same, non-zero number"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_lenet_needs_a_callable():
    with pytest.raises(TypeError, match=r"downsample must be a callable"):
        lenet(2)


def test_deterministic_turns_onednn_off_inside_and_restores_the_settings():
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.backends.mkldnn.enabled)
    with deterministic(num_threads=1):
        assert torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.backends.mkldnn.enabled
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.backends.mkldnn.enabled) == before
