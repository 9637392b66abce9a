"""Optimizer registry: key == configs/optimizer/<key>.yaml. All optimizers step a whole population at once, with
per-member learning rate and weight decay given as (R,) tensors. ⊥Grad and Grokfast wrap the base update."""
from grokbench.optim.adamw import AdamW
from grokbench.optim.grokfast import GrokfastEMA
from grokbench.optim.perp import PerpGrad
from grokbench.optim.sgd import SGD

OPTIMIZERS = {
    "adamw": AdamW,
    "sgd": SGD,
    "perp_adamw": lambda *args: PerpGrad(AdamW(*args)),  # ⊥AdamW (Prieto et al. 2025)
    "perp_sgd": lambda *args: PerpGrad(SGD(*args)),  # ⊥SGD
}


def build_optimizer(cfg, params, lr, weight_decay):
    opt = OPTIMIZERS[cfg.name](list(params), lr, weight_decay, cfg)
    if cfg.grokfast_lambda > 0:  # outermost: the filtered gradient is what ⊥Grad projects and AdamW/SGD see
        opt = GrokfastEMA(opt, cfg.grokfast_alpha, cfg.grokfast_lambda)
    return opt
