"""poolkit.receptive_field: the recurrence, held to the gradients of random stacks of
layers, on known networks, and its refusals of what it cannot describe."""

import doctest

import pytest
import torch
import torchvision
from hypothesis import assume, event, given
from hypothesis import strategies as st
from torch import nn

import poolkit
import poolkit._receptive
from poolkit import ReceptiveField, receptive_field
from poolkit import nn as pnn
from poolkit.lab.receptive import WindowSum, gradient_support, input_gradient, open_copy

CONV = {1: nn.Conv1d, 2: nn.Conv2d}
MAX = {1: nn.MaxPool1d, 2: nn.MaxPool2d}
AVG = {1: nn.AvgPool1d, 2: nn.AvgPool2d}


@st.composite
def stacks(draw):
    """A random stack of 1-D or 2-D convolutions, pools and ReLUs that PyTorch accepts,
    with the sizes of its geometry kept small."""
    dims = draw(st.sampled_from([1, 2]))
    layers, contiguous, channels = [], True, 1
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "max", "avg", "relu"]))
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, 3))
        if kind == "relu":
            layers.append(nn.ReLU())
            continue
        d = draw(st.integers(1, 2)) if kind != "avg" else 1
        span = d * (k - 1) + 1
        if kind == "conv":
            p = draw(st.integers(0, 3))
            out = draw(st.integers(1, 2))
            layers.append(CONV[dims](channels, out, k, s, p, d))
            channels = out
        else:
            p = draw(st.integers(0, k // 2))                 # PyTorch: padding at most half the window
            ceil = draw(st.booleans())
            layers.append(MAX[dims](k, s, p, d, ceil_mode=ceil) if kind == "max" else AVG[dims](k, s, p, ceil))
        contiguous &= d == 1 or k == 1
        contiguous &= s <= span
    return dims, layers, contiguous


@given(stacks(), st.data())
def test_the_formula_bounds_the_measured_gradient_support(stack, data):
    dims, layers, contiguous = stack
    size = data.draw(st.tuples(*[st.integers(1, 24)] * dims))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        try:
            out = model(torch.zeros(1, 1, *size)).shape[2:]
        except RuntimeError:                 # the input is too small for a window
            out = None
    assume(out is not None and all(n > 0 for n in out))
    index = tuple(data.draw(st.integers(0, n - 1)) for n in out)
    support = gradient_support(model, size, index)
    field = receptive_field(model, dims=dims)
    bounds = field.bounds(*index)
    inside = torch.ones(size, dtype=torch.bool)
    for axis, (first, last) in enumerate(bounds):
        position = torch.arange(size[axis]).reshape([-1 if a == axis else 1 for a in range(dims)])
        inside &= (position >= first) & (position <= last)
    assert not (support & ~inside).any(), "the gradient reaches beyond the formula's interval"
    whole = all(first >= 0 and last < n for (first, last), n in zip(bounds, size))
    if whole:
        # Both ends of the interval are reached on every axis (a clipped interval may
        # lose them: its paths can run through the padding of an inner layer).
        for axis, (first, last) in enumerate(bounds):
            line = support.any(dim=tuple(a for a in range(dims) if a != axis)) if dims > 1 else support
            assert line[first] and line[last]
        if contiguous:
            assert torch.equal(support, inside), "a stack without gaps depends on its whole interval"
    event(f"{dims}-D, {'no gaps' if contiguous else 'gaps possible'}, "
          f"{'interval inside the input' if whole else 'interval clipped'}")


def test_known_networks():
    resnet = torchvision.models.resnet18()
    stem = receptive_field([resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool])
    assert stem == ReceptiveField(size=(11, 11), jump=(4, 4), start=(-5, -5))
    vgg = torchvision.models.vgg16().features
    # VGG-16's five blocks end with its pools; the fields grow 6, 16, 44, 100, 212.
    pools = [i for i, m in enumerate(vgg) if isinstance(m, nn.MaxPool2d)]
    assert [receptive_field(vgg[: i + 1]).size for i in pools] == [(n, n) for n in (6, 16, 44, 100, 212)]
    assert receptive_field(vgg).jump == (32, 32)
    # poolkit's modules and torch's give the same geometry.
    torch_stack = [nn.MaxPool2d(3, 2, 1, dilation=2), nn.AvgPool2d(2), nn.LPPool2d(2, 3)]
    pk_stack = [pnn.MaxPool2d(3, 2, 1, dilation=2), pnn.AvgPool2d(2), pnn.LPPool2d(2, 3)]
    assert receptive_field(torch_stack) == receptive_field(pk_stack)


def test_dicts_tuples_same_padding_and_nesting():
    assert receptive_field([]) == ReceptiveField((1,), (1,), (0,))
    assert receptive_field([dict(kernel_size=(3, 1), stride=(1, 2))]) == ReceptiveField((3, 1), (1, 2), (0, 0))
    assert receptive_field([dict(kernel_size=2)], dims=3).size == (2, 2, 2)
    # "same" puts the smaller half of the padding on the left, as PyTorch does.
    same = receptive_field([nn.Conv1d(1, 1, 4, padding="same", dilation=2)])
    assert same == ReceptiveField((7,), (1,), (-3,))
    nested = nn.Sequential(nn.Conv1d(1, 1, 3), nn.Sequential(nn.BatchNorm1d(1), nn.MaxPool1d(2)))
    assert receptive_field(nested) == receptive_field(nn.ModuleList(list(nested))) == ReceptiveField((4,), (2,), (0,))
    assert ReceptiveField((5, 5), (2, 2), (-1, -1)).bounds(2, 0) == ((3, 7), (-1, 3))


@pytest.mark.parametrize("layers, error, names", [
    ([nn.Linear(2, 2)], TypeError, "layers[0]"),
    ([nn.Flatten()], TypeError, "layers[0]"),
    ([nn.Conv2d(1, 1, 3), nn.Sequential(nn.ReLU(), nn.Conv1d(1, 1, 3))], ValueError, "layers[1][1]"),
    ([dict(kernel_size=0)], ValueError, "layers[0].kernel_size"),
    ([dict(kernel_size=2, stride=0)], ValueError, "layers[0].stride"),
    ([dict(kernel_size=2, padding=-1)], ValueError, "layers[0].padding"),
    ([dict(kernel_size=2, dilation=(1, 0))], ValueError, "layers[0].dilation"),
    ([dict(kernel_size=2, stride=1.5)], TypeError, "layers[0].stride"),
    ([dict(kernel_size=True)], TypeError, "layers[0].kernel_size"),
    ([dict(kernel=3)], ValueError, "'kernel'"),
    ([dict(stride=3)], ValueError, "kernel_size"),
    ([dict(kernel_size=(1, 2, 3))], ValueError, "dims=2"),
    ([nn.AdaptiveAvgPool2d(1)], ValueError, "layers[0]"),
    ([pnn.AdaptiveMaxPool2d(1)], ValueError, "layers[0]"),
    ([nn.FractionalMaxPool2d(2, output_size=3)], TypeError, "layers[0]"),
    ([nn.Conv2d(1, 1, 3, padding_mode="circular")], ValueError, "padding_mode"),
    ([nn.ConvTranspose2d(1, 1, 3)], TypeError, "layers[0]"),
    ([nn.InstanceNorm2d(1)], TypeError, "layers[0]"),
    ([pnn.BlurPool2d(4)], TypeError, "layers[0]"),
    ([pnn.MaxBlurPool2d()], TypeError, "layers[0]"),
    ([nn.MaxUnpool2d(2)], TypeError, "layers[0]"),
    ([nn.Unfold(3)], TypeError, "layers[0]"),
    ([dict(kernel_size=(3, 3), stride=(1, 1, 1))], ValueError, "disagree"),
    (nn.Conv2d(1, 1, 3), TypeError, "layers="),
    (3, TypeError, "layers=3"),
    ("conv", TypeError, "layers='conv'"),
])
def test_refusals_name_the_layer_and_parameter(layers, error, names):
    kwargs = dict(dims=2) if names == "dims=2" else {}
    with pytest.raises(error) as caught:
        receptive_field(layers, **kwargs)
    assert names in str(caught.value)


@pytest.mark.parametrize("dims", [0, 4, 1.0, "2"])
def test_dims_is_checked(dims):
    with pytest.raises((TypeError, ValueError), match="dims"):
        receptive_field([dict(kernel_size=2)], dims=dims)


def test_bounds_checks_its_index():
    field = receptive_field([dict(kernel_size=3, stride=2)], dims=2)
    with pytest.raises(ValueError, match="index"):
        field.bounds(1)
    with pytest.raises(ValueError, match=r"index\[1\]"):
        field.bounds(0, -1)


def test_the_docstrings_examples_run():
    result = doctest.testmod(poolkit._receptive, extraglobs={"receptive_field": receptive_field})
    assert result.attempted >= 1 and result.failed == 0


def test_the_open_copy_leaves_the_model_alone_and_sums_windows():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True), nn.BatchNorm2d(2))
    before = [p.clone() for p in model.parameters()]
    opened = open_copy(model)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters())) and model.training
    assert isinstance(opened[2], WindowSum) and not opened.training
    x = torch.rand(1, 1, 7, 7, dtype=torch.float64)
    windows = opened[2](x)
    assert windows.shape == (1, 1, 4, 4) and windows[0, 0, 0, 0] == x[0, 0, :2, :2].sum()
    assert windows[0, 0, 3, 3] == x[0, 0, 6, 6]             # the partial window of ceil mode
    support = gradient_support(model, (9, 9), (1, 2))
    assert support.nonzero().min(0).values.tolist() == [2, 4] and support.nonzero().max(0).values.tolist() == [5, 7]


@pytest.mark.parametrize("kwargs, name", [
    (dict(input_size=(0, 4), index=(0, 0)), "input_size[0]"),
    (dict(input_size=(8, 8), index=(0,)), "index"),
    (dict(input_size=(8, 8), index=(0, 9)), "index[1]"),
    (dict(input_size=(8, 8), index=(0, 0), in_channels=0), "in_channels"),
])
def test_gradient_support_names_a_bad_argument(kwargs, name):
    with pytest.raises(ValueError) as caught:
        gradient_support(nn.Sequential(nn.Conv2d(1, 1, 3)), **kwargs)
    assert name in str(caught.value)
    with pytest.raises(ValueError) as caught:
        input_gradient(nn.Sequential(nn.Conv2d(1, 1, 3)), **kwargs)
    assert name in str(caught.value)


def test_receptive_field_is_exported():
    assert poolkit.receptive_field is receptive_field and "receptive_field" in poolkit.__all__


def test_the_gradient_of_equal_weights_counts_paths():
    # n stacked 3-wide averages: the gradient is the n-fold convolution of (1, 1, 1) / 3,
    # whose variance is n times 2/3.
    for n in (1, 2, 5):
        g = input_gradient(nn.Sequential(*[nn.Conv1d(1, 1, 3) for _ in range(n)]), (2 * n + 1,), (0,))
        position = torch.arange(2 * n + 1, dtype=torch.float64) - n
        assert abs(g.sum().item() - 1) < 1e-12 and abs((g * position ** 2).sum().item() - 2 * n / 3) < 1e-12


@pytest.mark.parametrize("pad, size, index", [((2, 0), 6, 0), ((0, 3), 5, 3), ((1, 1), 4, 2)])
def test_zero_padding_moves_the_start(pad, size, index):
    model = nn.Sequential(nn.ZeroPad1d(pad), nn.Conv1d(1, 1, 3), nn.MaxPool1d(2, 1))
    (first, last), = receptive_field(model).bounds(index)
    support = gradient_support(model, (size,), (index,))
    expected = torch.tensor([first <= i <= last for i in range(size)])
    assert torch.equal(support, expected)
    # A 2-D pad gives (left, right, top, bottom): the rows take the top, the columns the left.
    assert receptive_field([nn.ZeroPad2d((1, 2, 3, 4))]).start == (-3, -1)


@pytest.mark.parametrize("activation", [nn.ReLU6(), nn.Hardtanh(), nn.Hardsigmoid(), nn.Sigmoid()])
def test_no_activation_blocks_the_open_copy(activation):
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(3, 2, 1), activation, nn.Conv2d(1, 1, 3), activation)
    support = gradient_support(model, (12, 12), (1, 1))
    (r0, r1), (c0, c1) = receptive_field(model).bounds(1, 1)
    assert support.sum() == (r1 - r0 + 1) * (c1 - c0 + 1)
