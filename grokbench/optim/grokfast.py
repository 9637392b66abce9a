"""Grokfast-EMA (Lee et al. 2024, Algorithm 2): amplify the slow component of the gradient.

    h ← α h + (1 − α) g        (h starts at the first gradient, as in their code)
    g ← g + λ h
Wraps any optimizer (also ⊥Grad, which then projects the filtered gradient). State, α and λ are per member like
everything else: the EMA is an elementwise op on (R, …) tensors, and a diverged (inactive) member's EMA stays frozen.
"""
import torch

from grokbench.optim.base import per_member


class GrokfastEMA:
    def __init__(self, inner, hparams):
        self.inner, self.params = inner, inner.params
        self.alpha = [per_member(hparams["grokfast_alpha"], p) for p in self.params]  # (R, 1, …) each
        self.lamb = [per_member(hparams["grokfast_lambda"], p) for p in self.params]
        self.ema = [torch.zeros_like(p) for p in self.params]
        self.started = False  # a host flag set by the first (eager) step, before any CUDA graph capture

    def zero_grad(self) -> None:
        self.inner.zero_grad()

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        for p, h, alpha, lamb in zip(self.params, self.ema, self.alpha, self.lamb):
            if p.grad is None:
                continue
            keep = per_member(active, p).bool()
            g = torch.where(keep, p.grad, 0.0)
            new = g if not self.started else h * alpha + g * (1 - alpha)  # ALGO LOGIC: slow gradient
            h.copy_(torch.where(keep, new, h))
            p.grad = g + lamb * h  # ALGO LOGIC: amplify it
        self.started = True
        self.inner.step(active)

    def state_dict(self) -> dict:
        return {"inner": self.inner.state_dict(), "ema": self.ema, "started": self.started}

    def load_state_dict(self, sd: dict) -> None:
        self.inner.load_state_dict(sd["inner"])
        for mine, saved in zip(self.ema, sd["ema"]):
            mine.copy_(saved)
        self.started = sd["started"]
