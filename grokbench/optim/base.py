import torch

from grokbench.config import plain


def per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(R,) → (R, 1, …, 1) so a per-member value broadcasts against a parameter (R, …)."""
    return values.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


class PopulationOptimizer:
    """Plain tensor ops only (no torch._foreach_*), so a step can be captured in a CUDA graph."""

    state_names: tuple = ()

    def __init__(self, params, lr: torch.Tensor, weight_decay: torch.Tensor, cfg):
        self.params, self.cfg = params, plain(cfg)
        self.lr, self.weight_decay = lr, weight_decay  # (R,) each
        # (R, 1, …) per parameter in its dtype, built once rather than every step
        self.lr_of = [per_member(lr, p) for p in params]
        self.weight_decay_of = [per_member(weight_decay, p) for p in params]
        self.state = {name: [torch.zeros_like(p) for p in params] for name in self.state_names}
        self.steps = 0  # host counter: checkpoints, eager bias corrections
        self.count = None  # device counter (0-d float64), set by `make_capturable`: a CUDA graph replays it

    def make_capturable(self) -> None:
        """Keep the step count on the device so bias corrections are tensor ops a CUDA graph can replay."""
        self.count = torch.tensor(float(self.steps), dtype=torch.float64, device=self.params[0].device)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """active: (R,) bool; members that are not active (diverged) keep their parameters (their optimizer state
        still decays, harmless since a frozen member never trains again)."""
        self.steps += 1
        if self.count is not None:
            self.count += 1
        keep_of = {}  # one (R, 1, …) mask per parameter rank
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            keep = keep_of.setdefault(p.dim(), active.view(-1, *([1] * (p.dim() - 1))))
            grad = torch.where(keep, p.grad, 0.0)  # a diverged member's NaN must not reach its state
            lr = self.lr_of[i] * keep  # lr 0 freezes a diverged member
            self.update(i, p, grad, lr, self.weight_decay_of[i])

    def step_count(self):
        """The current step t ≥ 1 for bias corrections: a device tensor when capturable, else a Python int."""
        return self.count if self.count is not None else self.steps

    def update(self, i, p, grad, lr, weight_decay) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"state": self.state, "steps": self.steps, "lr": self.lr, "weight_decay": self.weight_decay}

    def load_state_dict(self, sd: dict) -> None:
        for name in self.state_names:
            for mine, saved in zip(self.state[name], sd["state"][name]):
                mine.copy_(saved)
        self.steps = sd["steps"]
        if self.count is not None:
            self.count.fill_(float(self.steps))
