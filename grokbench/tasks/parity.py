"""Sparse parity (Barak et al. 2022): n random bits, label = XOR of the k relevant ones (positions 0..k-1).

Bits are tokens (vocab 2, T = n_bits), so the MLP's concatenated one-hot input and the transformer's embedding both
apply unchanged. Each member draws its own samples, split and corruption from its own streams.
"""
import torch

from grokbench.schema import plain
from grokbench.seeding import generator
from grokbench.tasks.corruption import corrupt_labels
from grokbench.tasks.dataset import Dataset


def build_sparse_parity(cfg, seeds, member_ids=None) -> Dataset:
    n_train = plain(cfg).data_shape().n_train  # the size validate() checked
    splits = []
    for seed in seeds:
        x = torch.randint(2, (cfg.samples, cfg.n_bits), generator=generator(seed, "parity"))  # (N, n_bits)
        y = x[:, : cfg.k].sum(1) % 2  # ALGO LOGIC: parity of the relevant bits only
        y_train, mask = corrupt_labels(y[:n_train], cfg.corruption, 2, generator(seed, "corruption"))
        splits.append((x[:n_train], y_train, mask, x[n_train:], y[n_train:]))  # samples are i.i.d.: no shuffle needed
    x_tr, y_tr, mask, x_te, y_te = (torch.stack(t) for t in zip(*splits))
    return Dataset(x_tr, y_tr, mask, x_te, y_te, vocab_size=2, n_classes=2)
