"""poolkit.nn against torch.nn: the same attributes, repr and outputs, and attribute
changes after construction take effect, as they do in PyTorch."""

import copy
import pickle

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st
from torch import nn as tnn

import poolkit.functional as P
from poolkit import layers
from poolkit import nn as pnn


# For each torch.nn pooling class: the number of pooled dimensions, constructor arguments
# (args, kwargs) to compare, and attribute changes made after constructing from the first of them.
SPECS = {
    "MaxPool1d": (1, [((2,), {}), ((3, 2, 1), {}), ((3,), dict(stride=1, padding=1, dilation=2, ceil_mode=True,
                                                               return_indices=True))],
                  dict(kernel_size=4, stride=3, padding=2, dilation=1, ceil_mode=True)),
    "MaxPool2d": (2, [((2,), {}), (((3, 2), (2, 1), (1, 0)), {}), ((3, 2, 1, 2, True, True), {})],
                  dict(kernel_size=(3, 4), stride=(1, 3), padding=(1, 2), dilation=(2, 1), ceil_mode=True)),
    "MaxPool3d": (3, [((2,), {}), ((3, 2, 1), dict(ceil_mode=True)), ((2,), dict(return_indices=True))],
                  dict(kernel_size=3, stride=1, padding=1)),
    "AvgPool1d": (1, [((2,), {}), ((3, 2, 1, True, False), {}), ((4,), dict(stride=3))],
                  dict(kernel_size=(3,), stride=(1,), padding=(1,), ceil_mode=True, count_include_pad=False)),
    "AvgPool2d": (2, [((2,), {}), ((3, 2, 1, False, True, 4), {}), (((3, 2),), dict(padding=(1, 1), ceil_mode=True))],
                  dict(kernel_size=3, stride=1, padding=1, count_include_pad=False, divisor_override=5)),
    "AvgPool3d": (3, [((2,), {}), ((3, 2, 1), dict(count_include_pad=False)), ((2,), dict(divisor_override=3))],
                  dict(kernel_size=(3, 2, 2), stride=2, padding=(1, 0, 1), ceil_mode=True)),
    "LPPool1d": (1, [((2, 3), {}), ((1.5, 2, 1, True), {}), ((3, 2), dict(stride=2))],
                 dict(norm_type=3, kernel_size=4, stride=1, ceil_mode=True)),
    "LPPool2d": (2, [((2, 2), {}), ((1, (3, 2)), dict(stride=(1, 2))), ((2.5, 3, 2, True), {})],
                 dict(norm_type=1, kernel_size=(2, 3), stride=1)),
    "LPPool3d": (3, [((3, 2), {}), ((2, 3), dict(stride=2, ceil_mode=True))],
                 dict(norm_type=1.5, kernel_size=3, stride=(1, 2, 3))),
    "AdaptiveMaxPool1d": (1, [((3,), {}), ((4, True), {})], dict(output_size=5, return_indices=True)),
    "AdaptiveMaxPool2d": (2, [(((2, None),), {}), ((4,), dict(return_indices=True))], dict(output_size=(5, 3))),
    "AdaptiveMaxPool3d": (3, [((2,), {}), (((None, 2, 3), True), {})], dict(output_size=(1, None, 4))),
    "AdaptiveAvgPool1d": (1, [((3,), {}), ((1,), {})], dict(output_size=7)),
    "AdaptiveAvgPool2d": (2, [((1,), {}), (((None, 3),), {})], dict(output_size=(4, 2))),
    "AdaptiveAvgPool3d": (3, [(((None, 2, 3),), {}), ((2,), {})], dict(output_size=(3, 1, None))),
}
MODULES = sorted(SPECS)
CONSTRUCTIONS = [(name, args, kwargs) for name in MODULES for args, kwargs in SPECS[name][1]]


def make(name, args, kwargs):
    return getattr(pnn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)


def sample(dims, seed=0, size=9):
    """A positive input (no NaN from fractional powers), without ties."""
    return torch.rand(2, 3, *[size] * dims, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.1


def attributes(module):
    """Everything a module stores in its own ``__dict__`` but torch's bookkeeping."""
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}


def assert_same_output(mine, ref):
    if isinstance(ref, tuple):
        assert isinstance(mine, tuple) and len(mine) == len(ref) == 2
        torch.testing.assert_close(mine[0], ref[0], rtol=0, atol=0)
        assert mine[1].dtype == torch.int64 and torch.equal(mine[1], ref[1])
    else:
        assert isinstance(mine, torch.Tensor)
        torch.testing.assert_close(mine, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, args, kwargs", CONSTRUCTIONS)
def test_same_attributes_and_repr_as_torch(name, args, kwargs):
    mine, ref = make(name, args, kwargs)
    assert attributes(mine) == attributes(ref)
    assert repr(mine) == repr(ref)
    assert mine.extra_repr() == ref.extra_repr()


@pytest.mark.parametrize("name, args, kwargs", CONSTRUCTIONS)
def test_same_outputs_as_torch(name, args, kwargs):
    mine, ref = make(name, args, kwargs)
    x = sample(SPECS[name][0])
    assert_same_output(mine(x), ref(x))
    assert_same_output(mine(x[0]), ref(x[0]))                      # unbatched
    assert list(mine.parameters()) == [] and mine.state_dict() == {} == ref.state_dict()


@pytest.mark.parametrize("name", MODULES)
def test_attribute_changes_take_effect_as_in_torch(name):
    dims, [(args, kwargs), *_], change = SPECS[name]
    mine, ref = make(name, args, kwargs)
    x = sample(dims)
    before = mine(x)
    for attribute, value in change.items():
        setattr(mine, attribute, value)
        setattr(ref, attribute, value)
    after = mine(x)
    assert_same_output(after, ref(x))
    assert repr(mine) == repr(ref)
    assert attributes(mine) == attributes(ref)
    first = lambda out: out[0] if isinstance(out, tuple) else out      # noqa: E731
    assert first(before).shape != first(after).shape or not torch.equal(first(before), first(after))


@pytest.mark.parametrize("name", [n for n in MODULES if "Max" in n])
def test_return_indices_switched_on_and_off_after_construction(name):
    dims, [(args, kwargs), *_], _ = SPECS[name]
    mine, ref = make(name, args, kwargs)
    x = sample(dims, seed=1)
    for flag in (True, False, True):
        mine.return_indices = ref.return_indices = flag
        out, expected = mine(x), ref(x)
        assert isinstance(out, tuple) is flag
        assert_same_output(out, expected)


@pytest.mark.parametrize("name, args, kwargs", CONSTRUCTIONS)
def test_pickle_and_deepcopy_keep_the_attributes(name, args, kwargs):
    mine, _ = make(name, args, kwargs)
    x = sample(SPECS[name][0], seed=2)
    for clone in (pickle.loads(pickle.dumps(mine)), copy.deepcopy(mine)):
        assert type(clone) is type(mine) and repr(clone) == repr(mine)
        assert attributes(clone) == attributes(mine)
        assert_same_output(clone(x), mine(x))
    clone = copy.deepcopy(mine)
    if hasattr(clone, "ceil_mode"):
        clone.ceil_mode = not mine.ceil_mode
        assert clone.ceil_mode != mine.ceil_mode                    # the copy shares no state


def test_lp_pool_rejects_norm_type_zero_like_torch():
    for name in ("LPPool1d", "LPPool2d", "LPPool3d"):
        with pytest.raises(ValueError):
            getattr(tnn, name)(0, 2)
        with pytest.raises(ValueError, match=r"norm_type must not be zero, got norm_type=0"):
            getattr(pnn, name)(0, 2)


@st.composite
def pool2d_configurations(draw):
    """Two valid max or average pooling configurations of one square input."""
    def one():
        k = draw(st.integers(1, 4))
        return dict(kernel_size=k, stride=draw(st.integers(1, 3)), padding=draw(st.integers(0, k // 2)),
                    ceil_mode=draw(st.booleans()))
    return draw(st.sampled_from(["MaxPool2d", "AvgPool2d"])), one(), one(), draw(st.integers(5, 9))


@given(pool2d_configurations())
def test_a_module_changed_into_another_configuration_computes_that_configuration(case):
    name, start, target, size = case
    event(f"{name}, ceil_mode {start['ceil_mode']} -> {target['ceil_mode']}")
    mine = getattr(pnn, name)(**start)
    for attribute, value in target.items():
        setattr(mine, attribute, value)
    x = sample(2, seed=size, size=size)
    assert_same_output(mine(x), getattr(tnn, name)(**target)(x))


# --- fractional max pooling and max unpooling --------------------------------------------------------------

@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("target", ["size", "sizes", "ratio"])
def test_fractional_max_pool_matches_torch(dims, target):
    name = f"FractionalMaxPool{dims}d"
    kwargs = dict(size=dict(output_size=4), sizes=dict(output_size=(3, 5, 4)[:dims]),
                  ratio=dict(output_ratio=0.5))[target]
    samples = torch.rand(2, 3, dims, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    mine, ref = make(name, (2,), dict(kwargs, return_indices=True, _random_samples=samples))
    assert repr(mine) == repr(ref) == f"{name}()"
    assert attributes(mine) == attributes(ref)
    assert mine.state_dict().keys() == ref.state_dict().keys() == {"_random_samples"}
    assert torch.equal(mine._random_samples, ref._random_samples)
    x = sample(dims, seed=4)
    assert_same_output(mine(x), ref(x))
    unseeded, _ = make(name, (2,), kwargs)
    assert unseeded.state_dict() == {} and unseeded._random_samples is None


@pytest.mark.parametrize("dims", [2, 3])
def test_fractional_max_pool_attribute_changes_take_effect(dims):
    name = f"FractionalMaxPool{dims}d"
    generator = torch.Generator().manual_seed(5)
    samples = torch.rand(2, 3, dims, generator=generator, dtype=torch.float64)
    mine, ref = make(name, (2,), dict(output_size=4, _random_samples=samples))
    x = sample(dims, seed=6)
    before = mine(x)
    changes = dict(kernel_size=(3,) * dims, output_size=(5,) * dims, return_indices=True,
                   _random_samples=torch.rand(2, 3, dims, generator=generator, dtype=torch.float64))
    for attribute, value in changes.items():
        setattr(mine, attribute, value)
        setattr(ref, attribute, value)
    assert_same_output(mine(x), ref(x))
    assert mine(x)[0].shape != before.shape
    mine.output_size, mine.output_ratio = None, (0.5,) * dims
    ref.output_size, ref.output_ratio = None, (0.5,) * dims
    assert_same_output(mine(x), ref(x))


@pytest.mark.parametrize("dims", [2, 3])
def test_fractional_max_pool_draws_new_regions_without_random_samples(dims):
    mine = getattr(pnn, f"FractionalMaxPool{dims}d")(2, output_size=3, return_indices=True)
    x = sample(dims, seed=7)
    out, index = mine(x)
    assert out.shape == index.shape == (2, 3) + (3,) * dims
    flat = x.flatten(2)
    assert torch.equal(out, flat.gather(2, index.flatten(2)).reshape(out.shape))   # each value is the input at its index


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("args, kwargs", [
    ((2,), {}),                                          # neither output_size nor output_ratio
    ((2,), dict(output_size=3, output_ratio=0.5)),       # both
    ((2,), dict(output_ratio=1.0)),
    ((2,), dict(output_ratio=(0.5, 0.0, 0.5))),
])
def test_fractional_max_pool_rejects_what_torch_rejects(dims, args, kwargs):
    name = f"FractionalMaxPool{dims}d"
    with pytest.raises(ValueError):
        getattr(tnn, name)(*args, **kwargs)
    with pytest.raises(ValueError, match=r"output_size|output_ratio"):
        getattr(pnn, name)(*args, **kwargs)


@pytest.mark.parametrize("dims", [2, 3])
def test_fractional_max_pool_rejects_a_zero_kernel_size(dims):
    with pytest.raises(ValueError, match=r"kernel_size must be greater than 0, got kernel_size=\(2, 0"):
        getattr(pnn, f"FractionalMaxPool{dims}d")((2, 0, 2)[:dims], output_size=3)
    with pytest.raises(ValueError):
        tnn.FractionalMaxPool3d((2, 0, 2), output_size=3)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("args", [(2,), (3, 2, 1), ((2,), None, (1,))])
def test_max_unpool_attributes_and_repr(dims, args):
    mine, ref = make(f"MaxUnpool{dims}d", args, {})
    assert attributes(mine) == attributes(ref) and repr(mine) == repr(ref)
    assert mine.state_dict() == {} and list(mine.parameters()) == []


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("pool_args, size, default_fits", [
    ((2,), 8, True), ((3, 2, 1), 7, True), ((2,), 9, False), ((3, 2, 1), 8, False)])
def test_max_unpool_matches_torch(dims, pool_args, size, default_fits):
    x = sample(dims, seed=8, size=size)
    pooled, index = getattr(tnn, f"MaxPool{dims}d")(*pool_args, return_indices=True)(x)
    mine, ref = make(f"MaxUnpool{dims}d", pool_args, {})
    spatial = x.shape[2:]
    assert_same_output(mine(pooled, index, output_size=spatial), ref(pooled, index, output_size=spatial))
    assert_same_output(mine(pooled[0], index[0], spatial), ref(pooled[0], index[0], spatial))   # unbatched
    assert mine(pooled, index, spatial).shape == x.shape
    if default_fits:                                      # without output_size: the largest input pooling to it
        assert_same_output(mine(pooled, index), ref(pooled, index))
        assert mine(pooled, index).shape == x.shape


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_max_unpool_attribute_changes_take_effect(dims):
    x = sample(dims, seed=9, size=7)
    pooled, index = getattr(tnn, f"MaxPool{dims}d")(3, 2, 1, return_indices=True)(x)
    mine, ref = make(f"MaxUnpool{dims}d", (2,), {})
    before = mine(pooled, index)
    for attribute, value in dict(kernel_size=3, stride=(2,) * dims, padding=1).items():
        setattr(mine, attribute, value)
        setattr(ref, attribute, value)
    after = mine(pooled, index)
    assert_same_output(after, ref(pooled, index))
    assert after.shape != before.shape and repr(mine) == repr(ref)


# --- the layers torch.nn lacks -----------------------------------------------------------------------------

LAYER_MODULES = [
    (pnn.BlurPool2d, layers.blur_pool2d, {}, dict(filter_size=(1, 4), stride=3, pad_mode="zeros")),
    (pnn.MaxBlurPool2d, layers.max_blur_pool2d, {}, dict(kernel_size=3, filter_size=2, stride=1, pad_mode="replicate")),
    (pnn.LogSumExpPool2d, layers.logsumexp_pool2d, dict(kernel_size=2),
     dict(kernel_size=(2, 3), beta=4.0, stride=1, ceil_mode=True)),
    (pnn.SoftmaxPool2d, layers.softmax_pool2d, dict(kernel_size=3, beta=0.5),
     dict(kernel_size=2, beta=2.0, stride=(1, 2), ceil_mode=True)),
]


@pytest.mark.parametrize("module, function, kwargs, change", LAYER_MODULES)
def test_layer_modules_read_their_attributes_in_forward(module, function, kwargs, change):
    m = module(**kwargs)
    x = sample(2, seed=10, size=10)
    assert torch.equal(m(x), function(x, **kwargs))
    assert list(m.parameters()) == [] and m.state_dict() == {}
    for attribute, value in change.items():
        setattr(m, attribute, value)
    assert torch.equal(m(x), function(x, **dict(kwargs, **change)))
    assert m(x).shape != function(x, **kwargs).shape or not torch.equal(m(x), function(x, **kwargs))
    expected = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in change.items())
    assert expected in repr(m)
    clone = pickle.loads(pickle.dumps(m))
    assert repr(clone) == repr(m) and torch.equal(clone(x), m(x))


def test_layer_module_reprs():
    assert repr(pnn.BlurPool2d()) == "BlurPool2d(filter_size=3, stride=2, pad_mode='reflect')"
    assert repr(pnn.MaxBlurPool2d()) == "MaxBlurPool2d(kernel_size=2, filter_size=3, stride=2, pad_mode='reflect')"
    assert repr(pnn.LogSumExpPool2d(3)) == "LogSumExpPool2d(kernel_size=3, beta=1.0, stride=3, ceil_mode=False)"
    assert repr(pnn.SoftmaxPool2d(2, 5.0, 1)) == "SoftmaxPool2d(kernel_size=2, beta=5.0, stride=1, ceil_mode=False)"


# --- moved from tests/test_functional.py --------------------------------------------------------------------

@pytest.mark.parametrize("ours, theirs, args", [
    (pnn.MaxPool2d, tnn.MaxPool2d, (3, 2, 1)),
    (pnn.MaxPool1d, tnn.MaxPool1d, (2,)),
    (pnn.MaxPool3d, tnn.MaxPool3d, (2, 1)),
    (pnn.AvgPool1d, tnn.AvgPool1d, (3, 2, 1, True, False)),
    (pnn.AvgPool2d, tnn.AvgPool2d, (3, 2, 1, False, True, 4)),
    (pnn.AvgPool3d, tnn.AvgPool3d, (2,)),
    (pnn.LPPool1d, tnn.LPPool1d, (2, 3)),
    (pnn.LPPool2d, tnn.LPPool2d, (2, 2)),
    (pnn.LPPool3d, tnn.LPPool3d, (3, 2)),
    (pnn.AdaptiveMaxPool1d, tnn.AdaptiveMaxPool1d, (3,)),
    (pnn.AdaptiveMaxPool2d, tnn.AdaptiveMaxPool2d, ((2, None),)),
    (pnn.AdaptiveMaxPool3d, tnn.AdaptiveMaxPool3d, (2,)),
    (pnn.AdaptiveAvgPool1d, tnn.AdaptiveAvgPool1d, (3,)),
    (pnn.AdaptiveAvgPool2d, tnn.AdaptiveAvgPool2d, (1,)),
    (pnn.AdaptiveAvgPool3d, tnn.AdaptiveAvgPool3d, ((None, 2, 3),)),
])
def test_modules_match_torch_modules_in_float32(ours, theirs, args):
    dims = int(ours.__name__[-2])
    x = torch.rand(2, 3, *[6] * dims, generator=torch.Generator().manual_seed(5)) + 0.1
    mine, ref = ours(*args), theirs(*args)
    assert list(mine.parameters()) == []
    torch.testing.assert_close(mine(x), ref(x), rtol=1e-5, atol=1e-6)
    assert repr(mine) == repr(ref)


def test_max_pool_module_returns_indices():
    x = torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(6))
    out, index = pnn.MaxPool2d(2, return_indices=True)(x)
    ref_out, ref_index = tnn.MaxPool2d(2, return_indices=True)(x)
    assert torch.equal(out, ref_out) and torch.equal(index, ref_index)
