from grokbench.optim.base import PopulationOptimizer


class SGD(PopulationOptimizer):
    """torch.optim.SGD's update (L2 weight decay on the gradient, heavy-ball momentum, no dampening), batched."""

    state_names = ("momentum_buffer",)

    def __init__(self, params, hparams, cfg):
        super().__init__(params, hparams, cfg)
        self.use_momentum = bool((hparams["momentum"] > 0).any())  # read once at build time, never in a step

    def constant_coefficients(self, h):
        return {"weight_decay": h["weight_decay"], "momentum": h["momentum"]}

    def coefficients(self, lr, t):
        return {"lr": lr}

    def update(self, i, p, grad, c):
        grad = grad + c["weight_decay"] * p
        if self.use_momentum:  # a member with momentum 0 gets buf = 0·buf + grad = grad, torch's plain SGD
            buf = self.state["momentum_buffer"][i]
            buf.mul_(c["momentum"]).add_(grad)  # buf starts at 0, so step 1 gives buf = grad as in PyTorch
            grad = buf
        p.sub_(c["lr"] * grad)
