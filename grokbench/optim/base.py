import torch


def per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(R,) → (R, 1, …, 1) so a per-member value broadcasts against a parameter (R, …)."""
    return values.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


class PopulationOptimizer:
    """Plain tensor ops only (no torch._foreach_*), so a step can be captured in a CUDA graph."""

    state_names: tuple = ()

    def __init__(self, params, lr: torch.Tensor, weight_decay: torch.Tensor, cfg):
        self.params, self.cfg = params, cfg
        self.lr, self.weight_decay = lr, weight_decay  # (R,) each
        self.state = {name: [torch.zeros_like(p) for p in params] for name in self.state_names}
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """active: (R,) bool; members that are not active (diverged) keep their parameters and state."""
        self.steps += 1
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            keep = per_member(active, p).bool()
            grad = torch.where(keep, p.grad, 0.0)  # a diverged member's NaN must not reach its state
            lr = per_member(self.lr, p) * keep  # lr 0 freezes a diverged member
            self.update(i, p, grad, lr, per_member(self.weight_decay, p))

    def update(self, i, p, grad, lr, weight_decay) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"state": self.state, "steps": self.steps, "lr": self.lr, "weight_decay": self.weight_decay}

    def load_state_dict(self, sd: dict) -> None:
        for name in self.state_names:
            for mine, saved in zip(self.state[name], sd["state"][name]):
                mine.copy_(saved)
        self.steps = sd["steps"]
