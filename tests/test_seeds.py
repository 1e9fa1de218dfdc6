"""The book's from-scratch pool2d is the program of its two source notes.

The notes define ``pool2d`` in a notebook cell. The book keeps it in poolkit
instead, with a docstring and an argument check added; these tests pin down
that nothing else changed.
"""

import ast
import inspect

import torch

from poolkit.lab import pool2d

# The definition as the first note writes it, character for character.
SEED_000 = """\
def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode == 'avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y
"""

# The second note's version: other spacing, and a comment ("the shape of the output").
SEED_002 = """\
def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h+1, X.shape[1] - p_w+1)) #输出的形状
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i,j] = X[i:i+p_h,j:j+p_w].max()
            elif mode == 'avg':
                Y[i,j] = X[i:i+p_h,j:j+p_w].mean()
    return Y
"""


def without_docstring_and_check(source):
    tree = ast.parse(source)
    body = tree.body[0].body
    assert isinstance(body[0].value, ast.Constant)                      # the docstring
    assert ast.unparse(body[1]) == "check_pool2d_args(X, pool_size, mode)"
    lines = source.splitlines(keepends=True)
    first, last = body[0].lineno - 1, body[1].end_lineno              # 0-based, end exclusive
    return "".join(lines[:first] + lines[last:])


def test_poolkit_source_is_the_first_note_verbatim_plus_docstring_and_check():
    assert without_docstring_and_check(inspect.getsource(pool2d)) == SEED_000


def test_the_two_notes_define_the_same_program():
    assert ast.dump(ast.parse(SEED_000)) == ast.dump(ast.parse(SEED_002))


def test_the_notes_code_and_poolkit_agree_on_valid_input():
    namespace = {"torch": torch}
    exec(SEED_002, namespace)
    torch.manual_seed(0)
    for shape, window in [((3, 3), (2, 2)), ((5, 7), (3, 2)), ((4, 4), (4, 1))]:
        X = torch.randn(shape)
        for mode in ("max", "avg"):
            assert torch.equal(namespace["pool2d"](X, window, mode), pool2d(X, window, mode))

