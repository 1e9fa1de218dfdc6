"""The package's two halves: the library, which carries the PyTorch contract,
and the book's lab code, which the library never imports."""

import ast
import subprocess
import sys
from pathlib import Path

import torch.nn.functional as F

import poolkit
import poolkit.functional as P
from poolkit import nn as pnn

SRC = Path(poolkit.__file__).resolve().parent
POOLING_OPS = sorted(name for name in dir(F) if "pool" in name and not name.startswith("_")
                     and callable(getattr(F, name)))


def test_importing_the_library_imports_no_lab_code():
    code = ("import sys, poolkit, poolkit.functional, poolkit.nn, poolkit.layers, poolkit.ops; "
            "print(sorted(m for m in sys.modules if m.startswith('poolkit.lab')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_no_library_module_imports_from_the_lab():
    for path in SRC.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                assert not target.lstrip(".").startswith("lab") and ".lab" not in target, (path.name, target)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("poolkit.lab") for a in node.names), path.name


def test_the_top_level_names_the_library_and_no_experiment():
    assert set(poolkit.__all__) == {"ReceptiveField", "clear_cache", "conv_output_size", "functional", "layers", "nn",
                                    "ops", "output_size", "receptive_field"}
    for name in ("pool2d", "LayerCost", "pool2d_cost", "kept_fraction", "relu_max_pool2d"):
        assert not hasattr(poolkit, name), name


def test_every_pooling_op_of_torch_functional_is_in_poolkit_functional():
    assert len(POOLING_OPS) >= 20, POOLING_OPS
    missing = [name for name in POOLING_OPS if not hasattr(P, name)]
    assert missing == [], missing


def test_every_pooling_module_of_torch_nn_is_in_poolkit_nn():
    import torch.nn as tnn
    names = sorted(n for n in dir(tnn) if "pool" in n.lower() and isinstance(getattr(tnn, n), type)
                   and issubclass(getattr(tnn, n), tnn.Module) and not n.startswith("_"))
    assert len(names) >= 20, names
    assert [n for n in names if not hasattr(pnn, n)] == []


def test_the_with_indices_names_always_return_indices():
    import torch
    x = torch.randn(2, 3, 8, 8)
    for name in [n for n in POOLING_OPS if n.endswith("_with_indices")]:
        mine, theirs = getattr(P, name), getattr(F, name)
        if name.startswith("fractional"):
            dims = int(name[len("fractional_max_pool")])
            y = x if dims == 2 else x[:, :, None].expand(2, 3, 6, 8, 8).contiguous()
            samples = torch.rand(2, 3, dims, dtype=y.dtype)
            args = dict(kernel_size=2, output_size=3, _random_samples=samples)
        else:
            dims = int(name.split("pool")[1][0])
            y = x.flatten(2)[..., :4 ** dims].reshape(2, 3, *([4] * dims))
            args = dict(output_size=2) if name.startswith("adaptive") else dict(kernel_size=2)
        got, expected = mine(y, **args), theirs(y, **args)
        assert isinstance(got, tuple) and len(got) == 2, name
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1]), name
