"""⊥Grad (Prieto et al. 2025, §5): step only orthogonally to the weights, so the optimizer cannot lower the loss by
scaling the weights up (naive loss minimisation, which drives logits into Softmax Collapse).

Per member and per parameter tensor: g⊥ = g − (w·g)/(w·w + 1e-30) w, rescaled to ‖g‖. Wraps any PopulationOptimizer:
⊥AdamW and ⊥SGD are AdamW and SGD fed g⊥.
"""
import torch

from grokbench.optim.base import per_member

TINY = 1e-30  # as in the paper's code; kept representable by doing the projection in at least float32


def perpendicular(w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """w, g: (R, …) → g⊥ (R, …), the part of g orthogonal to w, with each member's ‖g‖. Reduces every dim but dim 0."""
    dtype = torch.promote_types(w.dtype, torch.float32)
    w, g32 = w.to(dtype), g.to(dtype)

    def dot(a, b):  # (R, …), (R, …) → (R, 1, …, 1)
        return per_member((a * b).flatten(1).sum(1), a)

    g_perp = g32 - dot(w, g32) / (dot(w, w) + TINY) * w  # ALGO LOGIC: remove the radial component
    scale = dot(g32, g32).sqrt() / (dot(g_perp, g_perp).sqrt() + TINY)  # ALGO LOGIC: keep the gradient's norm
    return (g_perp * scale).to(g.dtype)


class PerpGrad:
    """Replaces every parameter's gradient by its ⊥ part, then lets `inner` step. Same interface as the optimizers."""

    def __init__(self, inner):
        self.inner = inner
        self.params = inner.params

    def zero_grad(self) -> None:
        self.inner.zero_grad()

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        for p in self.params:
            if p.grad is not None:
                p.grad = perpendicular(p, p.grad)
        self.inner.step(active)

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, sd: dict) -> None:
        self.inner.load_state_dict(sd)
