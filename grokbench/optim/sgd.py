from grokbench.optim.base import PopulationOptimizer


class SGD(PopulationOptimizer):
    """torch.optim.SGD's update (L2 weight decay on the gradient, heavy-ball momentum, no dampening), batched."""

    state_names = ("momentum_buffer",)

    def update(self, i, p, grad, lr, weight_decay):
        grad = grad + weight_decay * p
        if self.cfg.momentum > 0:
            buf = self.state["momentum_buffer"][i]
            buf.mul_(self.cfg.momentum).add_(grad)  # buf starts at 0, so step 1 gives buf = grad as in PyTorch
            grad = buf
        p.sub_(lr * grad)
