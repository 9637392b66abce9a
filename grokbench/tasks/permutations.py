"""Binary operations on S5, the 120 permutations of (0, 1, 2, 3, 4) (Power et al. 2022, Fig. 4; openai/grok,
grok/data.py, operators "s5", "s5conj", "s5aba"), over all 120² pairs.

Element i is the i-th permutation in itertools.permutations(range(5)) order (lexicographic: 0 = identity (0,1,2,3,4),
119 = (4,3,2,1,0)); a permutation is its array form, a[i] = where a sends i. The product a·b applies a first, then b:
(a·b)[i] = b[a[i]]. That is Power et al.'s code for "s5" (c = b[a] on numpy arrays) and sympy's Permutation product
a*b, which their code uses for s5conj (a·b·a⁻¹) and s5aba (a·b·a) — so all three use one convention.
"""
import itertools

import torch

from grokbench.tasks.dataset import Dataset
from grokbench.tasks.modular import encode, split_members

ELEMENTS = list(itertools.permutations(range(5)))  # index → array form
INDEX = {perm: i for i, perm in enumerate(ELEMENTS)}


def compose(a: tuple, b: tuple) -> tuple:
    """a·b: apply a, then b."""
    return tuple(b[a[i]] for i in range(5))


def inverse(a: tuple) -> tuple:
    inv = [0] * 5
    for i, ai in enumerate(a):
        inv[ai] = i
    return tuple(inv)


OPS = {
    "s5_compose": lambda a, b: compose(a, b),
    "s5_conj": lambda a, b: compose(compose(a, b), inverse(a)),  # a·b·a⁻¹
    "s5_aba": lambda a, b: compose(compose(a, b), a),  # a·b·a
}


def all_pairs(name: str):
    pairs = torch.cartesian_prod(torch.arange(120), torch.arange(120))  # (14400, 2), a-major
    labels = [INDEX[OPS[name](ELEMENTS[a], ELEMENTS[b])] for a, b in pairs.tolist()]
    return pairs, torch.tensor(labels)


def build_s5(cfg, seeds, member_ids=None) -> Dataset:
    pairs, y = all_pairs(cfg.name)
    x, vocab = encode(pairs, cfg.encoding.value, len(ELEMENTS))
    return split_members(x, y, cfg, seeds, n_classes=len(ELEMENTS), vocab=vocab)
