from grokbench.optim.base import PopulationOptimizer


class AdamW(PopulationOptimizer):
    """torch.optim.AdamW's update (Loshchilov & Hutter), batched over members, every hyperparameter per member."""

    state_names = ("exp_avg", "exp_avg_sq")
    decoupled = True  # p ← p(1 − lr·wd) before the step; False: Adam's L2, g ← g + wd·p before the moments

    def constant_coefficients(self, h):
        b1, b2 = h["beta1"], h["beta2"]
        c = {"one_minus_beta1": 1 - b1, "beta2": b2, "one_minus_beta2": 1 - b2, "eps": h["eps"]}
        return c if self.decoupled else dict(c, l2=h["weight_decay"])

    def coefficients(self, lr, t):
        b1, b2, wd = self.hparams["beta1"], self.hparams["beta2"], self.hparams["weight_decay"]
        c = {"neg_step_size": -lr / (1 - b1**t), "bias2_sqrt": (1 - b2**t).sqrt()}
        return dict(c, decay=1 - lr * wd) if self.decoupled else c

    def update(self, i, p, grad, c):
        m, v = self.state["exp_avg"][i], self.state["exp_avg_sq"][i]
        if self.decoupled:
            p.mul_(c["decay"])  # ALGO LOGIC: decoupled weight decay
        else:
            grad = grad + c["l2"] * p  # ALGO LOGIC: L2 weight decay, part of the gradient the moments see
        m.lerp_(grad, c["one_minus_beta1"])
        v.mul_(c["beta2"]).addcmul_(grad * c["one_minus_beta2"], grad)
        denom = (v.sqrt() / c["bias2_sqrt"]).add_(c["eps"])
        # p += (−lr/bias1 · m) / denom, the order torch's addcdiv uses; a frozen member's lr 0 makes its step 0
        p.addcdiv_(m * c["neg_step_size"], denom)


class Adam(AdamW):
    """torch.optim.Adam's update (Kingma & Ba) with its coupled L2 weight decay, batched over members."""

    decoupled = False
