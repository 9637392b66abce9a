"""Optimizer registry: key == configs/optimizer/<key>.yaml. All optimizers step a whole population at once, with
per-member learning rate and weight decay given as (R,) tensors."""
from grokbench.optim.adamw import AdamW
from grokbench.optim.sgd import SGD

OPTIMIZERS = {"adamw": AdamW, "sgd": SGD}


def build_optimizer(cfg, params, lr, weight_decay):
    return OPTIMIZERS[cfg.name](list(params), lr, weight_decay, cfg)
