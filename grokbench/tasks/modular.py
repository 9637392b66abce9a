"""Modular arithmetic (Power et al. 2022): every pair (a, b) of residues mod p with label (a ∘ b) mod p, split per
seed.

The polynomial operations are Power et al.'s (their Table/Fig. 4; openai/grok, grok/data.py, VALID_OPERATORS): like
their code they range over all p² pairs with no pair left out, and only division drops b = 0. Adding an operation is
one entry in OPS plus one configs/task/<name>.yaml.
"""
import logging

import torch

from grokbench.schema import plain
from grokbench.seeding import generator
from grokbench.tasks.corruption import corrupt_labels
from grokbench.tasks.dataset import Dataset
from grokbench.tasks.split_file import split_from_file

log = logging.getLogger(__name__)

OPS = {
    "modadd": lambda a, b, p: (a + b) % p,
    "modsub": lambda a, b, p: (a - b) % p,
    "modmul": lambda a, b, p: (a * b) % p,
    # b⁻¹ = b^(p-2) mod p (Fermat), valid because config validation requires a prime p. Power et al.'s code builds
    # the same 9,312 equations (at p = 97) as (b·c) / b = c for b ≠ 0: every a with every b ≠ 0 once.
    "moddiv": lambda a, b, p: (a * torch.tensor([pow(int(v), p - 2, p) for v in b], dtype=torch.long)) % p,
    # ring operations only (+, ×): well defined mod any p ≥ 2, so these need no prime
    "x2_y2": lambda a, b, p: (a**2 + b**2) % p,
    "x2_xy_y2": lambda a, b, p: (a**2 + a * b + b**2) % p,
    "x2_xy_y2_x": lambda a, b, p: (a**2 + a * b + b**2 + a) % p,
    "x3_xy": lambda a, b, p: (a**3 + a * b) % p,
    "x3_xy2_y": lambda a, b, p: (a**3 + a * b**2 + b) % p,  # the one Power et al. never saw generalise
}


def all_pairs(name: str, p: int, nonzero_b: bool = False):
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T  # a-major: (0,0), (0,1), …, as Power's code
    if name == "moddiv" or nonzero_b:
        a, b = a[b != 0], b[b != 0]
    return torch.stack([a, b], dim=1), OPS[name](a, b, p)  # (N, 2), (N,)


OPERAND_POSITIONS = {"onehot_concat": (0, 1), "equals_token": (0, 1), "op_equals": (0, 2)}  # where a and b sit


def encode(x: torch.Tensor, encoding: str, n: int):
    """Operand pairs x (N, 2) with ids in [0, n) → (tokens (N, T), vocab size) in the layout the model reads.

    onehot_concat [a, b]; equals_token [a, b, =] with "=" = n; op_equals [a, op, b, =] with "=" = n and op = n + 1 (the
    ids of Lee et al.'s Grokfast code). Models read out at the last position, so with "=" last the answer is predicted
    at "=": the same as Power et al.'s decoder, whose loss counts only the answer token that follows "="."""
    a, b = x[:, :1], x[:, 1:]
    if encoding == "equals_token":
        return torch.cat([a, b, torch.full_like(a, n)], dim=1), n + 1
    if encoding == "op_equals":
        return torch.cat([a, torch.full_like(a, n + 1), b, torch.full_like(a, n)], dim=1), n + 2
    return x, n


def check_split_file(cfg, member_seeds) -> None:
    """Read task.split_file against the task's pairs as the build will (`member_seeds`: each member's seed, in member
    order), so a bad file is refused at validation, before any run dir is written (ConfigError, key `split_file`)."""
    split_from_file(cfg.split_file, member_seeds, all_pairs(cfg.name, cfg.p, cfg.nonzero_b)[0], cfg.p)


def split_members(x, y, cfg, seeds, n_classes: int, vocab: int, pairs=None, member_ids=None) -> Dataset:
    """One train/test split and corruption per member, each from the member's own streams (or, with
    task.split_file, the file's split of the operand `pairs`; member_ids: the members' global ids, for a file keyed
    by member)."""
    n_train = plain(cfg).data_shape().n_train  # the size validate() checked: floor, 40 % of 113² = 5107 as published
    from_file = None
    if getattr(cfg, "split_file", None) is not None:  # the file decides every member's split, not train_fraction
        from_file = split_from_file(cfg.split_file, seeds, pairs, cfg.p, member_ids)
        n = len(from_file[0][0])
        log.info("task.split_file=%s: %d of %d pairs train (fraction %.4f)", cfg.split_file, n, len(y), n / len(y))
    splits = []
    for k, seed in enumerate(seeds):
        if from_file is None:
            perm = torch.randperm(len(y), generator=generator(seed, "split"))
            train, test = perm[:n_train], perm[n_train:]
        else:
            train, test = from_file[k]
        y_train, mask = corrupt_labels(y[train], cfg.corruption, n_classes, generator(seed, "corruption"))
        splits.append((x[train], y_train, mask, x[test], y[test]))
    x_tr, y_tr, mask, x_te, y_te = (torch.stack(t) for t in zip(*splits))
    return Dataset(x_tr, y_tr, mask, x_te, y_te, vocab_size=vocab, n_classes=n_classes,
                   operand_positions=OPERAND_POSITIONS[cfg.encoding.value])


def build_modular(cfg, seeds, member_ids=None) -> Dataset:
    pairs, y = all_pairs(cfg.name, cfg.p, cfg.nonzero_b)
    x, vocab = encode(pairs, cfg.encoding.value, cfg.p)
    return split_members(x, y, cfg, seeds, n_classes=cfg.p, vocab=vocab, pairs=pairs, member_ids=member_ids)


def operands(x: torch.Tensor, encoding: str) -> torch.Tensor:
    """Tokens (…, T) back to operand pairs (…, 2): a is token 0; b is token 1 ([a, b], [a, b, =]) or 2
    ([a, op, b, =])."""
    return x[..., list(OPERAND_POSITIONS[encoding])]

