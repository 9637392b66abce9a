import math

import torch

from grokbench.optim.base import PopulationOptimizer


class AdamW(PopulationOptimizer):
    """torch.optim.AdamW's update (Loshchilov & Hutter), batched over members."""

    state_names = ("exp_avg", "exp_avg_sq")

    def update(self, i, p, grad, lr, weight_decay):
        b1, b2, eps = self.cfg.beta1, self.cfg.beta2, self.cfg.eps
        m, v = self.state["exp_avg"][i], self.state["exp_avg_sq"][i]
        t = self.step_count()
        bias1 = 1 - b1**t
        bias2_sqrt = (1 - b2**t).sqrt() if torch.is_tensor(t) else math.sqrt(1 - b2**t)
        p.mul_(1 - lr * weight_decay)  # ALGO LOGIC: decoupled weight decay
        m.lerp_(grad, 1 - b1)
        v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = (v.sqrt() / bias2_sqrt).add_(eps)
        # p -= lr/bias1 · m/denom, folded into one addcdiv (a frozen member's lr 0 makes denom inf, its step 0)
        p.addcdiv_(m, denom.div_(lr / bias1), value=-1.0)
