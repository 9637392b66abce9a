"""A population of quadratic-activation networks (Doshi et al. 2024, eq. 1): member r computes

    h = U[r] e_a + V[r] e_b            (R, B, N)   — rows a of U and b of V: the MLP's concatenated one-hot input
    h = dropout(h)                     optional, train only, before the square (the paper's dropout experiments)
    z = h ** 2                         element-wise
    z = batch_norm(z)                  optional, statistics per member over the batch (never over members)
    logits = z W[r]                    (R, B, p)

No biases. Every weight is N(0, σ²) with σ = (16 N)^(-1/3) unless model.init_std says otherwise.
"""
import torch
import torch.nn as nn

from grokbench.models.init import gaussian_init
from grokbench.models.member_dropout import MemberDropout, adopt_legacy_state

BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # nn.BatchNorm1d defaults


class Quadratic(nn.Module):
    def __init__(self, cfg, data, seeds):
        super().__init__()
        self.cfg, self.seeds = cfg, list(seeds)
        p, N, dtype = data.vocab_size, cfg.width, cfg.dtype.torch
        std = cfg.init_std if cfg.init_std is not None else (16 * N) ** (-1 / 3)  # paper: (16N)^(-1/3) ≈ .05
        self.U = nn.Parameter(gaussian_init(seeds, "U", (p, N), std, dtype))  # (R, p, N)
        self.V = nn.Parameter(gaussian_init(seeds, "V", (p, N), std, dtype))  # (R, p, N)
        self.W = nn.Parameter(gaussian_init(seeds, "W", (N, data.n_classes), std, dtype))  # (R, N, C)
        R = len(seeds)
        if cfg.batch_norm:
            self.bn_weight = nn.Parameter(torch.ones(R, 1, N, dtype=dtype))  # (R, 1, N), as nn.BatchNorm1d(affine)
            self.bn_bias = nn.Parameter(torch.zeros(R, 1, N, dtype=dtype))
            self.register_buffer("running_mean", torch.zeros(R, 1, N, dtype=dtype))
            self.register_buffer("running_var", torch.ones(R, 1, N, dtype=dtype))
        self.dropout = MemberDropout(seeds, cfg.dropout)  # before the square, train only
        adopt_legacy_state(self, "dropout")

    # ----------------------------------------------------------------------------------------- forward
    def batch_norm(self, z: torch.Tensor) -> torch.Tensor:
        """nn.BatchNorm1d per member: z (R, B, N), statistics over B only."""
        if self.training:
            mean, var = z.mean(1, keepdim=True), z.var(1, unbiased=False, keepdim=True)  # (R, 1, N)
            with torch.no_grad():
                n = z.shape[1]
                unbiased = var * n / max(n - 1, 1)
                self.running_mean.lerp_(mean, BN_MOMENTUM)
                self.running_var.lerp_(unbiased, BN_MOMENTUM)
        else:
            mean, var = self.running_mean, self.running_var
        return (z - mean) / torch.sqrt(var + BN_EPS) * self.bn_weight + self.bn_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, B, 2) token ids (a, b) → logits (R, B, C)."""
        rows = torch.arange(x.shape[0], device=x.device)[:, None]  # (R, 1)
        h = self.U[rows, x[..., 0]] + self.V[rows, x[..., 1]]  # (R, B, N) = U e_a + V e_b
        h = self.dropout(h)
        z = h * h  # ALGO LOGIC: the quadratic activation of Doshi et al. 2024
        if self.cfg.batch_norm:
            z = self.batch_norm(z)
        return torch.bmm(z, self.W)

    # ----------------------------------------------------------------------------------------- neurons
    def neuron_weights(self):
        """(U, V, W) with the Z_p axis of each neuron's rows: U, V (R, p, N), W (R, N, p) — for metrics/ipr.py."""
        return self.U.detach(), self.V.detach(), self.W.detach()

    def operand_embeddings(self):
        """[U, V]: the embedding of a and of b over Z_p, each (R, p, N) (metrics/fourier.py)."""
        return [self.U, self.V]

    @torch.no_grad()
    def prune_neurons(self, keep: torch.Tensor) -> None:
        """Zero every weight of the neurons where keep (R, N) is False: U[:, n], V[:, n], W[n, :] (in place)."""
        keep = keep.to(self.U.dtype)
        self.U.mul_(keep[:, None, :])
        self.V.mul_(keep[:, None, :])
        self.W.mul_(keep[:, :, None])
        if self.cfg.batch_norm:  # a pruned neuron must not add its batch-norm shift either
            self.bn_bias.mul_(keep[:, None, :])
