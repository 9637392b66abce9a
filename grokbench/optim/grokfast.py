"""Grokfast (Lee et al. 2024): amplify the slow component of the gradient, g ← g + λ·h, with h either

    EMA (Algorithm 2):  h ← α h + (1 − α) g, starting at the first gradient, as in their code;
    MA (Algorithm 1):   h = mean of the last w gradients (this one included), and no change at all until w
                        gradients have been seen — their `gradfilter_ma` defaults (filter_type="mean", warmup=True).
Wraps any optimizer (also ⊥Grad, which then projects the filtered gradient). State, α and λ are per member like
everything else: the filters are elementwise ops on (R, …) tensors, and a diverged (inactive) member's state stays
frozen. Neither filter branches on a tensor value, so a step can be captured in a CUDA graph.
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


class GrokfastMA:
    """Moving average over a ring buffer (w, R, …) per parameter; the number of gradients seen is a device counter,
    so the slot written and whether the window is full are tensor ops a CUDA graph replays."""

    def __init__(self, inner, hparams, window: int):
        self.inner, self.params, self.window = inner, inner.params, window
        self.lamb = [per_member(hparams["grokfast_lambda"], p) for p in self.params]  # (R, 1, …) each
        self.history = [p.new_zeros(window, *p.shape) for p in self.params]  # (w, R, …): the last w gradients
        self.seen = torch.zeros((), dtype=torch.long, device=self.params[0].device)  # gradients appended so far

    def zero_grad(self) -> None:
        self.inner.zero_grad()

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        slot = (self.seen % self.window).view(1)  # the oldest gradient's slot, overwritten: a deque of maxlen w
        full = self.seen + 1 >= self.window  # 0-d bool: w gradients in the window, this one included
        for p, past, lamb in zip(self.params, self.history, self.lamb):
            if p.grad is None:
                continue
            keep = per_member(active, p).bool()
            g = torch.where(keep, p.grad, 0.0)
            past.index_copy_(0, slot, torch.where(keep, g, past.index_select(0, slot)[0])[None])
            mean = past.sum(0) / self.window  # (R, …)  ALGO LOGIC: slow gradient
            p.grad = g + (lamb * full) * mean  # ALGO LOGIC: amplify it, once the window is full
        self.seen += 1
        self.inner.step(active)

    def state_dict(self) -> dict:
        return {"inner": self.inner.state_dict(), "history": self.history, "seen": self.seen}

    def load_state_dict(self, sd: dict) -> None:
        self.inner.load_state_dict(sd["inner"])
        for mine, saved in zip(self.history, sd["history"]):
            mine.copy_(saved)
        self.seen.copy_(sd["seen"])
