"""XOR cluster data (Xu et al. 2024, sec. 2): μ1 ⊥ μ2 in R^p with ‖μ1‖ = ‖μ2‖ = ‖μ‖;

    clean label +1 (class 1): x ~ ½ N(+μ1, I) + ½ N(-μ1, I);   clean label -1 (class 0): x ~ ½ N(±μ2, I).

Train labels are flipped independently with probability η (the mask marks flipped samples); the test set is clean.
Not linearly separable by construction (XOR), yet for p ≫ n a ReLU network first overfits the noisy train set and
only later generalises (grokking) when trained from a tiny init.
"""
import math

import torch

from grokbench.seeding import generator
from grokbench.tasks.dataset import Dataset


def orthogonal_means(p: int, norm: float, gen: torch.Generator) -> torch.Tensor:
    """Two random orthogonal directions of length `norm` → (2, p): Gram-Schmidt on two Gaussian vectors."""
    g = torch.randn(2, p, generator=gen, dtype=torch.float64)
    mu1 = g[0] / g[0].norm()
    mu2 = g[1] - (g[1] @ mu1) * mu1
    return torch.stack([mu1, mu2 / mu2.norm()]) * norm


def sample(means: torch.Tensor, n: int, gen: torch.Generator):
    """n points from the four clusters ±μ1 (class 1), ±μ2 (class 0), each with probability ¼ → x (n, p), y (n,)."""
    cluster = torch.randint(4, (n,), generator=gen)  # 0: +μ1, 1: -μ1, 2: +μ2, 3: -μ2
    sign = 1.0 - 2.0 * (cluster % 2).double()
    centre = means[cluster // 2] * sign[:, None]  # (n, p)
    x = centre + torch.randn(n, means.shape[1], generator=gen, dtype=torch.float64)
    return x, (cluster < 2).long()  # label +1 ↔ class 1 for the μ1 clusters


def build_xor_clusters(cfg, seeds, member_ids=None) -> Dataset:
    norm = cfg.mu_norm if cfg.mu_norm is not None else cfg.mu_ratio * math.sqrt(cfg.p / cfg.n_train)
    dtype = cfg.dtype.torch
    splits = []
    for seed in seeds:  # every draw from the member's own streams: member i == a standalone run of seed i
        means = orthogonal_means(cfg.p, norm, generator(seed, "xor/means"))
        x_tr, y_clean = sample(means, cfg.n_train, generator(seed, "xor/train"))
        x_te, y_te = sample(means, cfg.n_test, generator(seed, "xor/test"))
        # ALGO LOGIC: each train label flipped independently with probability η; test labels stay clean
        flip = torch.rand(cfg.n_train, generator=generator(seed, "corruption"), dtype=torch.float64) < cfg.label_flip
        splits.append((x_tr.to(dtype), torch.where(flip, 1 - y_clean, y_clean), flip, x_te.to(dtype), y_te))
    x_tr, y_tr, mask, x_te, y_te = (torch.stack(t) for t in zip(*splits))
    return Dataset(x_tr, y_tr, mask, x_te, y_te, vocab_size=0, n_classes=2)
