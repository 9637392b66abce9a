"""Inverse participation ratio of each neuron's weights in Fourier space (Doshi et al. 2024, sec. 3).

A neuron that implements a modular-arithmetic feature has weight rows that are (close to) one cosine over Z_p: all
power sits in one Fourier coefficient, IPR ≈ 1. A memorising neuron spreads its power over all frequencies, IPR ≈ 1/K
for K coefficients. IPR_r(v) = Σ_k |F_k|^(2r) / (Σ_k |F_k|²)^r with r = 2.

The DC coefficient is kept: a cosine of a nonzero frequency has zero mean over Z_p, so it scores 1 either way, and a
row's mean is part of its "spread" just like any other frequency (tests/test_ipr.py checks both ends of the scale).
"""
import torch


def ipr(rows: torch.Tensor, dim: int, r: int = 2) -> torch.Tensor:
    """IPR_r of the one-sided DFT along `dim` (the Z_p axis): rows (..., p, ...) → that shape without `dim`."""
    power = torch.fft.rfft(rows.double(), dim=dim).abs().pow(2)  # |F_k|², one-sided (k = 0 … p//2)
    # ALGO LOGIC: IPR_r = Σ|F|^(2r) / (Σ|F|²)^r (Doshi et al. 2024, eq. 4), r = 2
    total = power.sum(dim)
    # a zero row (a pruned or fully decayed neuron) has no spectrum at all: IPR 0 (not Fourier-sparse), not 0/0
    return torch.where(total > 0, power.pow(r).sum(dim) / total.clamp_min(1e-300).pow(r), 0.0)


def neuron_ipr(model) -> torch.Tensor:
    """Per-neuron IPR averaged over the neuron's input rows U[:, n], V[:, n] and output row W[n, :] → (R, N).

    Only models with per-neuron weight rows over Z_p define it (they have `neuron_weights()` → (U, V, W) with
    U, V: (R, p, N) and W: (R, N, p)).
    """
    U, V, W = model.neuron_weights()
    return (ipr(U, dim=1) + ipr(V, dim=1) + ipr(W, dim=2)) / 3  # (R, N)


def ipr_metrics(model) -> dict:
    """The per-eval summary of neuron IPRs, {} for models without neurons over Z_p."""
    if not hasattr(model, "neuron_weights"):
        return {}
    values = neuron_ipr(model)  # (R, N)
    return {"ipr_mean": values.mean(-1).float(), "ipr_frac_above_0.5": (values > 0.5).float().mean(-1)}


def neuron_ipr_table(model, members):
    """One row per (member, neuron): member, seed, neuron, ipr — None for models without neurons over Z_p."""
    if not hasattr(model, "neuron_weights"):
        return None
    import numpy as np
    import pandas as pd

    values = neuron_ipr(model).cpu().numpy()  # (R, N)
    R, N = values.shape
    # the members' own ids and seeds (global ones: a chunk's members are a slice of the run's), row r = model member r
    return pd.DataFrame({"member": members["member"].to_numpy().repeat(N), "seed": members["seed"].to_numpy().repeat(N),
                         "neuron": np.tile(np.arange(N), R), "ipr": values.reshape(-1)})
