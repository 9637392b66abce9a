"""The same math as grokbench's MLP training, written the way a paper repo or a hand-tuned script would write it.

These are the yardsticks `grokbench bench` and scripts/bench_overhead.py time grokbench against:
- `BareSingle`: one member as plain nn.Linear layers + torch.optim.AdamW, one-hot inputs built once (paper-repo way);
- `BarePopulation`: every member at once, hand-written bmm + a batched AdamW, one-hot inputs built once.
Both start from grokbench's own initial weights, so their losses can be checked against grokbench's (same math).
Only the MLP with AdamW or SGD has bare versions; other models are timed by grokbench alone.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from grokbench.losses import per_sample_loss


def supported(cfg) -> bool:
    o = cfg.optimizer
    plain_optimizer = o.name in ("adamw", "sgd") and o.get("grokfast_lambda", 0) == 0 and o.get("warmup_steps", 0) == 0
    return cfg.model.name == "mlp" and plain_optimizer and cfg.train.batch_size is None


def onehot_inputs(x: torch.Tensor, vocab_size: int, dtype) -> torch.Tensor:
    """(..., N, T) token ids → (..., N, T·V) concatenated one-hots."""
    return F.one_hot(x, vocab_size).flatten(-2).to(dtype)


def torch_optimizer(cfg, params, lr: float, weight_decay: float):
    o = cfg.optimizer
    if o.name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=o.momentum, weight_decay=weight_decay)


class BareSingle:
    """Member `r` of a grokbench MLP as an nn.Sequential, trained by torch.optim on full-batch one-hot inputs."""

    def __init__(self, cfg, data, model, r: int = 0, lr: float = None, weight_decay: float = None):
        """lr, weight_decay: member r's (a grid sets them per member); None = the config's."""
        act = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}[cfg.model.activation.value]
        weights = [model.w_in, *model.hidden, model.w_out]
        biases = [model.b_in, *model.hidden_bias, model.b_out] if cfg.model.bias else [None] * len(weights)
        layers = []
        for i, (w, b) in enumerate(zip(weights, biases)):
            lin = nn.Linear(w.shape[1], w.shape[2], bias=b is not None, device=w.device, dtype=w.dtype)
            with torch.no_grad():
                lin.weight.copy_(w[r].T)
                if b is not None:
                    lin.bias.copy_(b[r, 0])
            layers += [lin] if i == len(weights) - 1 else [lin, act()]
        self.net = nn.Sequential(*layers)
        dtype = model.w_in.dtype
        self.x_train = onehot_inputs(data.x_train[r], data.vocab_size, dtype)  # (N, T·V), built once
        self.x_test = onehot_inputs(data.x_test[r], data.vocab_size, dtype)
        self.y_train, self.y_test = data.y_train[r], data.y_test[r]
        self.loss_cfg = cfg.loss
        lr = cfg.optimizer.lr if lr is None else lr
        weight_decay = cfg.optimizer.weight_decay if weight_decay is None else weight_decay
        self.opt = torch_optimizer(cfg, self.net.parameters(), lr, weight_decay)

    def loss(self, x, y):
        return per_sample_loss(self.loss_cfg, self.net(x), y).mean()

    def step(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        self.loss(self.x_train, self.y_train).backward()
        self.opt.step()

    @torch.no_grad()
    def evaluate(self) -> dict:
        """Train/test loss and accuracy as Python floats, the way paper repos log them."""
        out = {}
        for split, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            logits = self.net(x)
            out[f"{split}_loss"] = per_sample_loss(self.loss_cfg, logits, y).mean().item()
            out[f"{split}_acc"] = (logits.argmax(-1) == y).float().mean().item()
        return out


class BarePopulation:
    """All members of a grokbench MLP as hand-written batched matmuls and a batched AdamW/SGD (no masking, no
    per-layer loops beyond the parameter list): the fastest plain-PyTorch population a researcher would write."""

    def __init__(self, cfg, data, model, lr: torch.Tensor, weight_decay: torch.Tensor):
        self.cfg, self.loss_cfg = cfg, cfg.loss
        self.act = {"relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}[cfg.model.activation.value]
        self.weights = [p.detach().clone().requires_grad_() for p in (model.w_in, *model.hidden, model.w_out)]
        self.biases = None
        if cfg.model.bias:
            self.biases = [p.detach().clone().requires_grad_() for p in (model.b_in, *model.hidden_bias, model.b_out)]
        self.params = self.weights + (self.biases or [])
        dtype = model.w_in.dtype
        self.x_train = onehot_inputs(data.x_train, data.vocab_size, dtype)  # (R, N, T·V), built once
        self.y_train = data.y_train
        self.lr, self.wd = lr.view(-1, 1, 1).to(dtype), weight_decay.view(-1, 1, 1).to(dtype)  # (R, 1, 1)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def forward(self, x):
        h = x
        for i, w in enumerate(self.weights):
            h = torch.bmm(h, w)  # (R, N, fan_out)
            if self.biases is not None:
                h = h + self.biases[i]
            if i < len(self.weights) - 1:
                h = self.act(h)
        return h

    def step(self) -> None:
        for p in self.params:
            p.grad = None
        per_sample_loss(self.loss_cfg, self.forward(self.x_train), self.y_train).mean(-1).sum().backward()
        self.t += 1
        o = self.cfg.optimizer
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                g = p.grad
                if o.name == "sgd":
                    g = g + self.wd * p
                    if o.momentum > 0:
                        g = m.mul_(o.momentum).add_(g)
                    p.sub_(self.lr * g)
                    continue
                p.mul_(1 - self.lr * self.wd)
                m.lerp_(g, 1 - o.beta1)
                v.mul_(o.beta2).addcmul_(g, g, value=1 - o.beta2)
                denom = (v.sqrt() / math.sqrt(1 - o.beta2**self.t)).add_(o.eps)
                p.sub_(self.lr / (1 - o.beta1**self.t) * m / denom)
