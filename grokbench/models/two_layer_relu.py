"""A population of two-layer ReLU networks with a fixed output layer (Xu et al. 2024, sec. 2):

    f_r(x) = Σ_j a_j ReLU(<w_j, x>),  a_j = +1/√m for j < m/2, -1/√m otherwise (fixed), no bias,
    w_j ~ N(0, ω² I); only W trains (full-batch GD on the logistic loss in the paper).

Binary labels y ∈ {-1, +1} are classes {0, 1}. The model returns two logits (-f/2, +f/2): softmax cross-entropy over
them is log(1 + exp(-y f)) exactly (the logistic loss), and their argmax is sign(f) — so the generic losses, metrics
and accuracy need no binary special case.
"""
import math

import torch
import torch.nn as nn

from grokbench.models.init import gaussian_init


class TwoLayerReluFixedOutput(nn.Module):
    def __init__(self, cfg, data, seeds):
        super().__init__()
        self.cfg = cfg
        p, m, dtype = data.x_train.shape[-1], cfg.width, cfg.dtype.torch
        self.W = nn.Parameter(gaussian_init(seeds, "W", (p, m), cfg.init_std, dtype))  # (R, p, m), w_j = W[:, :, j]
        a = torch.cat([torch.ones(m // 2), -torch.ones(m - m // 2)]) / math.sqrt(m)  # (m,) ±1/√m, half each
        self.register_buffer("a", a.to(dtype).expand(len(seeds), m).clone())  # (R, m), not trained

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, B, p) → f(x): (R, B)."""
        h = torch.relu(torch.bmm(x.to(self.W.dtype), self.W))  # (R, B, m)
        return torch.einsum("rbm,rm->rb", h, self.a)  # ALGO LOGIC: f = Σ_j a_j ReLU(<w_j, x>)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, B, p) → logits (R, B, 2) = (-f/2, +f/2): CE over them = log(1 + exp(-y f))."""
        f = self.score(x)
        return torch.stack([-f / 2, f / 2], dim=-1)
