"""Fourier sparsity of the token embedding (Nanda et al. 2023, §5.1 "Gini coefficient"), a pure (R,) metric.

Nanda et al.'s basis over Z_p (their code's `fourier_basis`): the constant 1/√p, then cos(w_k x) and sin(w_k x)
normalised to unit norm, w_k = 2πk/p, k = 1..(p-1)/2 — orthonormal for odd p. An embedding that implements the
Fourier algorithm puts its norm on a few frequencies (Gini → 1); a memorising one spreads it (Gini low).
"""
import math

import torch


def fourier_basis(p: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """(p, p) orthonormal rows: row 0 constant, rows 2k-1, 2k = cos, sin of frequency k (odd p)."""
    x = torch.arange(p, dtype=dtype, device=device)
    rows = [torch.full((p,), 1 / math.sqrt(p), dtype=dtype, device=device)]
    for k in range(1, (p - 1) // 2 + 1):
        for wave in (torch.cos, torch.sin):
            row = wave(2 * math.pi * k * x / p)
            rows.append(row / row.norm())
    return torch.stack(rows)


def frequency_norms(rows: torch.Tensor) -> torch.Tensor:
    """rows (R, p, d) over Z_p → (R, K) L2 norm of each frequency k = 1..K = (p-1)/2 (its cos and sin rows together,
    over every other dim; the constant is not a frequency and is left out)."""
    R, p = rows.shape[:2]
    coeffs = torch.einsum("fx,rxd->rfd", fourier_basis(p, device=rows.device), rows.double())  # (R, p, d)
    power = coeffs[:, 1:].pow(2).sum(-1)  # (R, 2K): cos_1, sin_1, cos_2, ...
    return power.view(R, -1, 2).sum(-1).sqrt()  # (R, K)


def gini(values: torch.Tensor) -> torch.Tensor:
    """Gini coefficient of non-negative values (R, K) → (R,) (Hurley & Rickard 2009, as Nanda et al. use it):
    1 - 2 Σ_i (c_(i) / ‖c‖₁) (K - i + 1/2) / K over the values sorted ascending. Flat: 0; one-hot: 1 - 1/K."""
    K = values.shape[-1]
    c = values.sort(-1).values
    weight = (K - torch.arange(1, K + 1, dtype=c.dtype, device=c.device) + 0.5) / K  # (K,)
    return 1 - 2 * (c / c.sum(-1, keepdim=True) * weight).sum(-1)


def gini_embed(model) -> torch.Tensor:
    """(R,) Gini of the Fourier norms of the token embedding: W_E (transformer), or the input layer's rows of each
    operand (MLP: the a- and b-blocks of W_in; quadratic: U and V), averaged over the operand blocks."""
    blocks = model.operand_embeddings()  # [(R, p, d), ...]
    return torch.stack([gini(frequency_norms(b.detach())) for b in blocks]).mean(0).float()


FOURIER_METRICS = {
    "gini_embed": "Gini of the token embedding's Fourier norms per frequency (train.fourier_metrics; 1: one "
                  "frequency, 0: flat); MLP/quadratic: mean over the two operand blocks",
}
