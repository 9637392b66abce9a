"""Modular arithmetic (Power et al. 2022): all pairs (a, b) with label (a ∘ b) mod p, split per seed."""
import torch

from grokbench.config import plain
from grokbench.seeding import generator
from grokbench.tasks.corruption import corrupt_labels
from grokbench.tasks.dataset import Dataset

OPS = {
    "modadd": lambda a, b, p: (a + b) % p,
    "modsub": lambda a, b, p: (a - b) % p,
    "modmul": lambda a, b, p: (a * b) % p,
    # b⁻¹ = b^(p-2) mod p (Fermat), valid because config validation requires a prime p
    "moddiv": lambda a, b, p: (a * torch.tensor([pow(int(v), p - 2, p) for v in b])) % p,
}


def all_pairs(name: str, p: int):
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    if name == "moddiv":
        a, b = a[b != 0], b[b != 0]
    return torch.stack([a, b], dim=1), OPS[name](a, b, p)  # (N, 2), (N,)


def build_modular(cfg, seeds) -> Dataset:
    x, y = all_pairs(cfg.name, cfg.p)
    vocab = cfg.p
    if cfg.encoding.value == "equals_token":  # [a, b, =]: a read-out position that is neither operand
        x, vocab = torch.cat([x, torch.full_like(x[:, :1], cfg.p)], dim=1), cfg.p + 1
    n_train = plain(cfg).data_shape().n_train  # the size validate() checked: floor, 40 % of 113² = 5107 as published
    splits = []
    for seed in seeds:
        perm = torch.randperm(len(y), generator=generator(seed, "split"))
        train, test = perm[:n_train], perm[n_train:]
        y_train, mask = corrupt_labels(y[train], cfg.corruption, cfg.p, generator(seed, "corruption"))
        splits.append((x[train], y_train, mask, x[test], y[test]))
    x_tr, y_tr, mask, x_te, y_te = (torch.stack(t) for t in zip(*splits))
    return Dataset(x_tr, y_tr, mask, x_te, y_te, vocab_size=vocab, n_classes=cfg.p)
