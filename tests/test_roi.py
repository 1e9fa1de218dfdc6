"""poolkit.ops against torchvision.ops: ROI Pool and ROI Align on seeded random configurations.

Each configuration draws a batch of feature maps (float32 or float64, sizes 1
to 12), boxes of every kind (inside the map, partly or wholly outside, smaller
than a cell, empty or reversed, on half-cell coordinates where rounding ties
fall), a spatial scale among 1, 1/2, 1/4 and 1/16, an output size, a sampling
ratio among -1, 0, 1, 2, 3 and both values of ``aligned``, in both box formats.
ROI Pool must give torchvision's values bit for bit, and its input gradient too
in float64 for an upstream gradient of small integers (every sum exact);
ROI Align must agree to rounding error, values and gradients.
"""

import doctest
import math
import random

import pytest
import torch
import torchvision.ops as tv

import poolkit
import poolkit.nn as pnn
from poolkit import ops
from poolkit.functional import adaptive_max_pool2d

CONFIGURATIONS = 300
SCALES = (1.0, 0.5, 0.25, 1 / 16)


def draw_box(rng, height, width, scale):
    """One box (x1, y1, x2, y2) in image coordinates, of a kind drawn at random."""
    kind = rng.choice(["inside", "inside", "partly", "outside", "tiny", "degenerate", "reversed", "halves"])
    size_x, size_y = width / scale, height / scale

    def coordinate(extent, low=0.0, high=1.0):
        return rng.uniform(low * extent, high * extent)

    if kind == "inside":
        x1, y1 = coordinate(size_x, 0, 0.7), coordinate(size_y, 0, 0.7)
        x2, y2 = rng.uniform(x1, size_x), rng.uniform(y1, size_y)
    elif kind == "partly":
        x1, y1 = coordinate(size_x, -0.5, 0.5), coordinate(size_y, -0.5, 0.5)
        x2, y2 = x1 + coordinate(size_x, 0.3, 1.5), y1 + coordinate(size_y, 0.3, 1.5)
    elif kind == "outside":
        x1, y1 = coordinate(size_x, 1.1, 2.0), coordinate(size_y, -2.0, 2.0)
        x2, y2 = x1 + coordinate(size_x, 0, 1), y1 + coordinate(size_y, 0, 1)
    elif kind == "tiny":
        x1, y1 = coordinate(size_x), coordinate(size_y)
        x2, y2 = x1 + rng.uniform(0, 0.9 / scale), y1 + rng.uniform(0, 0.9 / scale)
    elif kind == "degenerate":
        x1, y1 = coordinate(size_x), coordinate(size_y)
        x2, y2 = x1, (y1 if rng.random() < 0.5 else y1 + coordinate(size_y, 0, 0.5))
    elif kind == "reversed":
        x2, y2 = coordinate(size_x), coordinate(size_y)
        x1, y1 = x2 + coordinate(size_x, 0, 0.5), y2 + coordinate(size_y, 0, 0.5)
    else:                                       # half cells on the map: where round() breaks ties
        x1, y1 = (rng.randrange(-2, width) + 0.5) / scale, (rng.randrange(-2, height) + 0.5) / scale
        x2, y2 = x1 + rng.randrange(0, width + 2) / scale, y1 + rng.randrange(0, height + 2) / scale
    return [x1, y1, x2, y2]


def draw_configuration(rng):
    dtype = rng.choice([torch.float32, torch.float64])
    n, c = rng.randint(1, 3), rng.randint(1, 3)
    height, width = rng.randint(1, 12), rng.randint(1, 12)
    scale = rng.choice(SCALES)
    k = rng.choice([0, 1, 2, 3, 5, 8])
    rows = [[rng.randrange(n)] + draw_box(rng, height, width, scale) for _ in range(k)]
    rows.sort(key=lambda row: row[0]) if rng.random() < 0.5 else None
    boxes = torch.tensor(rows, dtype=dtype).reshape(k, 5)
    if rng.random() < 0.5:                      # the list format: one (L, 4) tensor per image
        boxes = [boxes[boxes[:, 0] == i, 1:] for i in range(n)]
    output_size = rng.choice([1, 2, 3, 7, (1, 4), (3, 2), (5, 1)])
    ties = rng.random() < 0.3                   # small integers: ties for ROI Pool's maximum
    return dict(dtype=dtype, shape=(n, c, height, width), boxes=boxes, output_size=output_size, scale=scale,
                sampling_ratio=rng.choice([-1, 0, 1, 2, 3]), aligned=rng.random() < 0.5, ties=ties)


def make_input(config, generator):
    shape, dtype = config["shape"], config["dtype"]
    if config["ties"]:
        return torch.randint(-2, 3, shape, generator=generator).to(dtype)
    return torch.randn(shape, generator=generator, dtype=dtype)


def upstream(like, generator):
    """An upstream gradient of small integers, so that every sum of its terms is exact."""
    return torch.randint(-3, 4, like.shape, generator=generator).to(like.dtype)


def compare_roi_pool(config, generator):
    x = make_input(config, generator).requires_grad_()
    args = (config["boxes"], config["output_size"], config["scale"])
    mine, theirs = ops.roi_pool(x, *args), tv.roi_pool(x, *args)
    assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
    assert torch.equal(mine, theirs), config
    if mine.numel():
        g = upstream(mine, generator)
        (got,), (expected,) = torch.autograd.grad(mine, x, g), torch.autograd.grad(theirs, x, g)
        if x.dtype == torch.float64:
            assert torch.equal(got, expected), config
        else:
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-5)


def compare_roi_align(config, generator):
    x = make_input(config, generator).requires_grad_()
    args = (config["boxes"], config["output_size"], config["scale"], config["sampling_ratio"], config["aligned"])
    mine, theirs = ops.roi_align(x, *args), tv.roi_align(x, *args)
    assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
    tolerance = dict(rtol=1e-5, atol=1e-5) if x.dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mine, theirs, **tolerance)
    if mine.numel():
        g = upstream(mine, generator)
        (got,), (expected,) = torch.autograd.grad(mine, x, g), torch.autograd.grad(theirs, x, g)
        torch.testing.assert_close(got, expected, **tolerance)


@pytest.fixture
def one_thread():
    """One thread for a test of many small calls (threads only add overhead there), then the old count."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_random_configurations_agree_with_torchvision(one_thread):
    rng, generator = random.Random(2015), torch.Generator().manual_seed(2017)
    compared, reached = 0, set()
    for _ in range(CONFIGURATIONS):
        config = draw_configuration(rng)
        compare_roi_pool(config, generator)
        compare_roi_align(config, generator)
        compared += 1
        reached |= {config["dtype"], config["scale"], config["sampling_ratio"], config["aligned"],
                    isinstance(config["boxes"], list)}
    assert compared == CONFIGURATIONS
    assert reached >= {torch.float32, torch.float64, *SCALES, -1, 0, 1, 2, 3, True, False}
    print(f"{compared} configurations compared with torchvision, each with roi_pool and roi_align")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("as_list", [False, True])
def test_no_boxes_give_an_empty_result(dtype, as_list):
    x = torch.randn(2, 3, 5, 6, dtype=dtype, requires_grad=True)
    boxes = [torch.zeros(0, 4, dtype=dtype)] * 2 if as_list else torch.zeros(0, 5, dtype=dtype)
    for op in (ops.roi_pool, ops.roi_align):
        out = op(x, boxes, (2, 3))
        assert out.shape == (0, 3, 2, 3) and out.dtype == dtype and out.requires_grad
        out.sum().backward()
        assert torch.equal(x.grad, torch.zeros_like(x))
        x.grad = None
    assert ops.roi_pool(x, [], 2).shape == (0, 3, 2, 2)


def test_rounding_sends_halves_away_from_zero_as_c_does():
    # On the map, x1 = 2.5 rounds to 3 (torch.round would give 2): the first column is not pooled.
    x = torch.zeros(1, 1, 1, 6)
    x[0, 0, 0, 2] = 1.0
    boxes = torch.tensor([[0.0, 5.0, 0.0, 10.0, 0.0]])
    assert ops.roi_pool(x, boxes, 1, spatial_scale=0.5).item() == 0.0
    assert torch.equal(ops.roi_pool(x, boxes, 1, 0.5), tv.roi_pool(x, boxes, 1, 0.5))


def test_values_below_float_max_and_nans_lose_as_in_torchvision():
    x = torch.tensor([[[[float("nan"), -math.inf], [-1e300, 2.0]]]], dtype=torch.float64, requires_grad=True)
    for box in ([0.0, 0, 0, 0, 0], [0.0, 0, 0, 1, 0], [0.0, 0, 0, 1, 1], [0.0, 0, 1, 0, 1]):
        b = torch.tensor([box], dtype=torch.float64)
        mine, theirs = ops.roi_pool(x, b, 1), tv.roi_pool(x, b, 1)
        assert torch.equal(mine, theirs), box
        (got,), (expected,) = torch.autograd.grad(mine, x), torch.autograd.grad(theirs, x)
        assert torch.equal(got, expected), box


def _edges_are_exact(n, pooled, dtype):
    """Whether ROI Pool's bin edges for n cells in `pooled` bins, computed as torchvision does
    in `dtype`, are adaptive pooling's integers floor(i n / p) and ceil((i + 1) n / p)."""
    i = torch.arange(pooled, dtype=dtype)
    size = torch.tensor(n, dtype=dtype) / pooled
    first, last = torch.floor(i * size).long().tolist(), torch.ceil((i + 1) * size).long().tolist()
    return first == [k * n // pooled for k in range(pooled)] and last == [-(-(k + 1) * n // pooled)
                                                                          for k in range(pooled)]


def test_roi_pool_is_adaptive_max_pooling_of_the_rounded_box_where_its_float_edges_are_exact():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 12, 12, generator=generator)
    checked = 0
    for x1, y1, x2, y2 in [(0, 0, 11, 11), (2, 3, 9, 5), (4, 4, 4, 10), (1, 0, 10, 6)]:
        box = torch.tensor([[0.0, x1, y1, x2, y2]])
        for size in [(1, 1), (2, 3), (3, 5), (7, 7)]:
            if not (_edges_are_exact(y2 - y1 + 1, size[0], torch.float32)
                    and _edges_are_exact(x2 - x1 + 1, size[1], torch.float32)):
                continue
            checked += 1
            crop = x[:, :, y1:y2 + 1, x1:x2 + 1]
            assert torch.equal(ops.roi_pool(x, box, size), adaptive_max_pool2d(crop, size)), (x1, y1, x2, y2, size)
    assert checked == 16


def test_roi_pool_differs_from_adaptive_max_pooling_where_a_float_edge_overshoots():
    # 4 cells in 28 bins: in float32, (20 + 1) * (4 / 28) is a little above 3, so bin 20 ends
    # after cell 3 where adaptive pooling's ends after cell 2; in float64 the product is exact.
    assert not _edges_are_exact(4, 28, torch.float32) and _edges_are_exact(4, 28, torch.float64)
    for dtype, expected in [(torch.float32, 3.0), (torch.float64, 2.0)]:
        x = torch.arange(4, dtype=dtype).reshape(1, 1, 1, 4)
        box = torch.tensor([[0, 0, 0, 3, 0]], dtype=dtype)
        got = ops.roi_pool(x, box, (1, 28))
        assert got[0, 0, 0, 20].item() == expected
        assert torch.equal(got, tv.roi_pool(x, box, (1, 28)))
        assert torch.equal(got, adaptive_max_pool2d(x, (1, 28))) == (dtype == torch.float64)


def test_boxes_get_no_gradient_as_in_torchvision():
    x = torch.randn(1, 1, 6, 6, requires_grad=True)
    boxes = torch.tensor([[0.0, 0.5, 1.0, 4.2, 5.0]], requires_grad=True)
    for op in (ops.roi_pool, ops.roi_align):
        op(x, boxes, 2).sum().backward()
        assert boxes.grad is None


def test_roi_align_passes_gradcheck_in_float64():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 1, 4, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    boxes = torch.tensor([[0, 0.3, 0.7, 4.1, 3.9], [1, -1.2, 2.0, 7.5, 6.0], [0, 2.2, 1.1, 2.4, 1.3]],
                         dtype=torch.float64)
    for sampling_ratio, aligned in [(-1, False), (2, True)]:
        assert torch.autograd.gradcheck(lambda t: ops.roi_align(t, boxes, (2, 3), 0.8, sampling_ratio, aligned),
                                        (x,))


def test_roi_pool_passes_gradcheck_in_float64_without_ties():
    x = torch.randperm(30, generator=torch.Generator().manual_seed(2)).to(torch.float64).reshape(1, 1, 5, 6)
    boxes = torch.tensor([[0, 0.0, 0.0, 5.0, 4.0], [0, 1.0, 1.0, 3.0, 4.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: ops.roi_pool(t, boxes, (2, 2)), (x.requires_grad_(),))


def test_modules_agree_with_the_functions_and_print_as_torchvision():
    x = torch.randn(2, 3, 8, 8)
    boxes = [torch.tensor([[1.0, 1.0, 12.0, 9.0]]), torch.tensor([[0.0, 2.0, 5.0, 15.0], [3.0, 3.0, 4.0, 4.0]])]
    pool, align = ops.RoIPool((3, 2), 0.5), ops.RoIAlign(2, 0.5, 2, aligned=True)
    assert torch.equal(pool(x, boxes), ops.roi_pool(x, boxes, (3, 2), 0.5))
    assert torch.equal(align(x, boxes), ops.roi_align(x, boxes, 2, 0.5, 2, True))
    assert repr(pool) == repr(tv.RoIPool((3, 2), 0.5))
    assert repr(align) == repr(tv.RoIAlign(2, 0.5, 2, aligned=True))
    assert pnn.RoIPool is ops.RoIPool and pnn.RoIAlign is ops.RoIAlign and poolkit.ops is ops
    assert set(ops.__all__) == {"roi_pool", "roi_align", "RoIPool", "RoIAlign"}


def test_the_example_in_the_module_text_runs():
    assert doctest.testmod(ops, extraglobs={"torch": torch}).failed == 0


X = torch.zeros(2, 1, 4, 4)
BOX = torch.tensor([[0.0, 0, 0, 2, 2]])

REFUSALS = [
    (TypeError, "input", dict(input=[[1.0]])),
    (TypeError, "input", dict(input=X.long())),
    (TypeError, "input", dict(input=X.half())),
    (ValueError, "input", dict(input=X[0])),
    (ValueError, "input", dict(input=torch.zeros(1, 0, 4, 4))),
    (TypeError, "boxes", dict(boxes=((0, 0, 0, 2, 2),))),
    (TypeError, "boxes", dict(boxes="boxes")),
    (ValueError, "boxes", dict(boxes=torch.zeros(3, 4))),
    (ValueError, "boxes", dict(boxes=torch.zeros(5))),
    (ValueError, "boxes", dict(boxes=[torch.zeros(1, 5)])),
    (TypeError, "boxes", dict(boxes=BOX.double())),
    (TypeError, "boxes", dict(boxes=[BOX[:, 1:].double()])),
    (ValueError, "batch index", dict(boxes=torch.tensor([[0.5, 0, 0, 2, 2]]))),
    (ValueError, "batch index", dict(boxes=torch.tensor([[2.0, 0, 0, 2, 2]]))),
    (ValueError, "batch index", dict(boxes=torch.tensor([[-1.0, 0, 0, 2, 2]]))),
    (ValueError, "boxes", dict(boxes=[BOX[:, 1:]] * 3)),
    (ValueError, "finite", dict(boxes=torch.tensor([[0.0, 0, math.nan, 2, 2]]))),
    (ValueError, "finite", dict(boxes=torch.tensor([[0.0, 0, 0, math.inf, 2]]))),
    (ValueError, "output_size", dict(output_size=0)),
    (ValueError, "output_size", dict(output_size=(2, 0))),
    (ValueError, "output_size", dict(output_size=(2,))),
    (TypeError, "output_size", dict(output_size=2.0)),
    (TypeError, "output_size", dict(output_size=True)),
    (ValueError, "spatial_scale", dict(spatial_scale=0.0)),
    (ValueError, "spatial_scale", dict(spatial_scale=-0.5)),
    (ValueError, "spatial_scale", dict(spatial_scale=math.inf)),
    (ValueError, "spatial_scale", dict(spatial_scale=math.nan)),
    (TypeError, "spatial_scale", dict(spatial_scale="1")),
]
ALIGN_REFUSALS = [
    (TypeError, "sampling_ratio", dict(sampling_ratio=1.5)),
    (TypeError, "sampling_ratio", dict(sampling_ratio=True)),
    (TypeError, "aligned", dict(aligned=1)),
    (TypeError, "aligned", dict(aligned=None)),
]


@pytest.mark.parametrize("op", [ops.roi_pool, ops.roi_align])
@pytest.mark.parametrize("error, name, change", REFUSALS, ids=[f"{c[1]}-{i}" for i, c in enumerate(REFUSALS)])
def test_bad_arguments_are_refused_naming_the_parameter(op, error, name, change):
    args = dict(input=X, boxes=BOX, output_size=2) | change
    with pytest.raises(error, match=name):
        op(**args)


@pytest.mark.parametrize("error, name, change", ALIGN_REFUSALS, ids=[c[1] for c in ALIGN_REFUSALS])
def test_bad_align_arguments_are_refused_naming_the_parameter(error, name, change):
    with pytest.raises(error, match=name):
        ops.roi_align(X, BOX, 2, **change)


@pytest.mark.parametrize("op", ["roi_pool", "roi_align"])
def test_boxes_taken_in_batches_give_the_same_values_and_gradients(op, monkeypatch):
    """Memory does not grow with the number of boxes: they are pooled in batches whose
    intermediate tensors stay under a budget. A budget of one element (one box per
    batch) must give the same values, bit for bit, and the same input gradient up to
    the order in which float64 sums gather the boxes' contributions."""
    from poolkit import _roi

    rng = random.Random(7)
    x = torch.randn(2, 3, 11, 9, dtype=torch.float64)
    rows = [[rng.randrange(2)] + draw_box(rng, 11, 9, 0.5) for _ in range(40)]
    boxes = torch.tensor(rows, dtype=torch.float64)
    kwargs = dict(output_size=(3, 2), spatial_scale=0.5)
    if op == "roi_align":
        kwargs.update(sampling_ratio=-1, aligned=True)
    grad = torch.randn(40, 3, 3, 2, dtype=torch.float64)

    def run():
        leaf = x.clone().requires_grad_()
        out = getattr(ops, op)(leaf, boxes, **kwargs)
        out.backward(grad)
        return out.detach(), leaf.grad

    calls = []
    whole = run()
    monkeypatch.setattr(_roi, "_BUDGET", 1)
    original = _roi._per_image
    monkeypatch.setattr(_roi, "_per_image", lambda rois, compute, per_box: original(
        rois, lambda image, chosen: calls.append(len(chosen)) or compute(image, chosen), per_box))
    batched = run()
    assert calls == [1] * 40
    assert torch.equal(whole[0], batched[0])
    torch.testing.assert_close(batched[1], whole[1], rtol=1e-13, atol=1e-13)
