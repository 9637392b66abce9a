"""Power et al. 2022's operations (polynomials mod p, S5) and the [a, op, b, =] encoding."""
import itertools

import pytest
import torch

from grokbench.compose import compose_config
from grokbench.tasks import build_task
from grokbench.tasks.modular import OPS, all_pairs, operands
from grokbench.tasks.permutations import ELEMENTS, INDEX

FORMULAS = {  # the operations as Power et al. write them, on Python ints
    "x2_y2": lambda a, b: a**2 + b**2, "x2_xy_y2": lambda a, b: a**2 + a * b + b**2,
    "x2_xy_y2_x": lambda a, b: a**2 + a * b + b**2 + a, "x3_xy": lambda a, b: a**3 + a * b,
    "x3_xy2_y": lambda a, b: a**3 + a * b**2 + b,
}


@pytest.mark.parametrize("name", FORMULAS)
def test_polynomials_cover_every_pair(name):
    pairs, y = all_pairs(name, 13)
    assert len(y) == 13 * 13  # all pairs, none left out (Power et al.'s code)
    assert [int(v) for v in y] == [FORMULAS[name](a, b) % 13 for a, b in pairs.tolist()]


def test_division_and_nonzero_b():
    pairs, y = all_pairs("moddiv", 97)
    assert len(y) == 9312  # Power et al.'s ÷ mod 97: 97 × 96
    assert ((y * pairs[:, 1]) % 97 == pairs[:, 0]).all()  # c · b = a
    pairs, y = all_pairs("modmul", 97, nonzero_b=True)  # Lee et al.'s Grokfast x·y data
    assert len(y) == 9312 and (pairs[:, 1] != 0).all()


def test_composite_p_is_fine_for_ring_operations():
    cfg = compose_config(["task=x3_xy", "task.p=12"])
    assert build_task(cfg.task, [0], "cpu").n_classes == 12
    assert set(OPS) >= {"modadd", "x3_xy2_y"}


def test_s5_is_the_symmetric_group_with_power_composition():
    assert len(ELEMENTS) == 120 and ELEMENTS[0] == (0, 1, 2, 3, 4) and ELEMENTS[119] == (4, 3, 2, 1, 0)
    def every_pair(name):  # train and test together: all 120² pairs
        data = build_task(compose_config([f"task={name}"]).task, [0], "cpu")
        return torch.cat([data.x_train[0], data.x_test[0]]), torch.cat([data.y_train[0], data.y_test[0]]), data

    x, y, data = every_pair("s5_compose")
    assert (data.vocab_size, data.n_classes, x.shape[0]) == (120, 120, 14400)
    table = torch.empty(120, 120, dtype=torch.long)
    table[x[:, 0], x[:, 1]] = y
    a, b = ELEMENTS[7], ELEMENTS[50]
    assert ELEMENTS[table[7, 50]] == tuple(b[a[i]] for i in range(5))  # Power's code: c = b[a] (a first, then b)
    assert (table[0] == torch.arange(120)).all() and (table[:, 0] == torch.arange(120)).all()  # identity
    for x, y, z in itertools.islice(itertools.product(range(0, 120, 7), repeat=3), 300):  # associative
        assert table[table[x, y], z] == table[x, table[y, z]]
    inverse = (table == 0).nonzero()[:, 1]  # a⁻¹ for every a
    for name, expected in (("s5_conj", lambda a, b: table[table[a, b], inverse[a]]),
                           ("s5_aba", lambda a, b: table[table[a, b], a])):
        other_x, other_y, _ = every_pair(name)
        for (a, b), c in itertools.islice(zip(other_x.tolist(), other_y.tolist()), 500):
            assert c == expected(a, b)
    assert INDEX[(1, 0, 2, 3, 4)] == 24  # lexicographic: the 24 permutations starting with 0 come first


def test_op_equals_layout_and_operands():
    cfg = compose_config(["task=modsub", "task.p=7", "task.encoding=op_equals"])
    data = build_task(cfg.task, [0], "cpu")
    concat = build_task(compose_config(["task=modsub", "task.p=7"]).task, [0], "cpu")
    assert (data.seq_len, data.vocab_size, data.n_classes) == (4, 9, 7)
    assert (data.x_train[..., 1] == 8).all() and (data.x_train[..., 3] == 7).all()  # op = p + 1, "=" = p
    assert torch.equal(operands(data.x_train, "op_equals"), concat.x_train)  # same split, same operands
    assert torch.equal(data.y_train, concat.y_train)
