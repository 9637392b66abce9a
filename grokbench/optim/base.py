from typing import Dict

import torch

from grokbench.schema import plain


def per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(R,) → (R, 1, …, 1) so a per-member value broadcasts against a parameter (R, …)."""
    return values.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def warmup(warmup_steps: torch.Tensor, t) -> torch.Tensor:
    """(R,) lr multiplier of step t ≥ 1: min(1, (t − 1)/w), w = 0 → 1. torch's LambdaLR(lambda s: min(s/w, 1)) stepped
    after every optimizer step gives step t this factor at s = t − 1, so the first step has lr 0."""
    ramp = ((t - 1) / warmup_steps).clamp(max=1.0)  # w = 0 gives nan/inf here, which the where discards
    return torch.where(warmup_steps > 0, ramp, 1.0)


class PopulationOptimizer:
    """Plain tensor ops only (no torch._foreach_*, no Python branch on a tensor value), so a step can be captured in
    a CUDA graph. Every numeric hyperparameter is per member: `hparams` maps its name to an (R,) float64 tensor."""

    state_names: tuple = ()

    def __init__(self, params, hparams: Dict[str, torch.Tensor], cfg):
        self.params, self.cfg = params, plain(cfg)
        self.hparams = hparams  # name → (R,) float64
        self.lr, self.weight_decay = hparams["lr"], hparams["weight_decay"]
        self.warms_up = bool((hparams["warmup_steps"] > 0).any())  # read once at build time, never in a step
        self.constants = self.constant_coefficients(hparams)  # (R,) float64 each, the same at every step
        self.constants_of = {}  # (rank, dtype) → self.constants as (R, 1, …) in that dtype, built once
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
        # this step's per-member scalars, (R,) float64, computed once for all parameters in double precision (as
        # torch.optim computes its Python-float scalars) and only then cast to each parameter's dtype
        t = self.step_count()
        lr = self.hparams["lr"] * active  # lr 0 freezes a diverged member
        if self.warms_up:
            lr = lr * warmup(self.hparams["warmup_steps"], t)
        varying = self.coefficients(lr, t)
        of_kind = {}  # (rank, dtype) → all coefficients as (R, 1, …) in that dtype, and the (R, 1, …) active mask
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            kind = (p.dim(), p.dtype)
            if kind not in of_kind:
                if kind not in self.constants_of:
                    self.constants_of[kind] = {k: per_member(v, p) for k, v in self.constants.items()}
                c = dict(self.constants_of[kind], **{k: per_member(v, p) for k, v in varying.items()})
                of_kind[kind] = c, active.view(-1, *([1] * (p.dim() - 1)))
            c, keep = of_kind[kind]
            grad = torch.where(keep, p.grad, 0.0)  # a diverged member's NaN must not reach its state
            self.update(i, p, grad, c)

    def step_count(self):
        """The current step t ≥ 1 for bias corrections: a device tensor when capturable, else a Python int."""
        return self.count if self.count is not None else self.steps

    def constant_coefficients(self, h: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The (R,) float64 scalars `update` needs that are the same at every step, from the hyperparameters h."""
        return {}

    def coefficients(self, lr: torch.Tensor, t) -> Dict[str, torch.Tensor]:
        """The (R,) float64 scalars `update` needs that change: lr (R,) is this step's (warmed up, 0 if frozen)."""
        raise NotImplementedError

    def update(self, i, p, grad, c) -> None:
        """Step parameter i in place; c: `coefficients` as (R, 1, …) tensors in p's dtype."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"state": self.state, "steps": self.steps, "hparams": self.hparams}

    def load_state_dict(self, sd: dict) -> None:
        for name in self.state_names:
            for mine, saved in zip(self.state[name], sd["state"][name]):
                mine.copy_(saved)
        self.steps = sd["steps"]
        if self.count is not None:
            self.count.fill_(float(self.steps))
