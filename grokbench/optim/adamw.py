import math

from grokbench.optim.base import PopulationOptimizer


class AdamW(PopulationOptimizer):
    """torch.optim.AdamW's update (Loshchilov & Hutter), batched over members."""

    state_names = ("exp_avg", "exp_avg_sq")

    def update(self, i, p, grad, lr, weight_decay):
        b1, b2, eps = self.cfg.beta1, self.cfg.beta2, self.cfg.eps
        m, v = self.state["exp_avg"][i], self.state["exp_avg_sq"][i]
        p.mul_(1 - lr * weight_decay)  # decoupled weight decay
        m.lerp_(grad, 1 - b1)
        v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        bias1, bias2 = 1 - b1**self.steps, 1 - b2**self.steps
        denom = (v.sqrt() / math.sqrt(bias2)).add_(eps)
        p.sub_(lr / bias1 * m / denom)
