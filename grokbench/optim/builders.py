"""The optimizer builders: key == configs/optimizer/<key>.yaml. All optimizers step a whole population at once, with
every numeric hyperparameter given per member as an (R,) tensor. ⊥Grad and Grokfast wrap the base update."""
from typing import Dict

import torch

from grokbench.optim.adamw import Adam, AdamW
from grokbench.optim.base_schema import GrokfastFilter, member_hparam_names
from grokbench.optim.grokfast import GrokfastEMA, GrokfastMA
from grokbench.optim.perp import PerpGrad
from grokbench.optim.sgd import SGD
from grokbench.schema import plain

OPTIMIZERS = {
    "adamw": AdamW,
    "adam": Adam,
    "sgd": SGD,
    "perp_adamw": lambda *args: PerpGrad(AdamW(*args)),  # ⊥AdamW (Prieto et al. 2025)
    "perp_sgd": lambda *args: PerpGrad(SGD(*args)),  # ⊥SGD
}


def build_optimizer(cfg, params, hparams: Dict[str, torch.Tensor]):
    """cfg: the optimizer config; hparams: each of its per-member fields (`member_hparams`) → (R,) float64."""
    cfg = plain(cfg)
    missing = sorted(set(member_hparam_names(cfg)) - set(hparams))
    if missing:
        raise KeyError(f"build_optimizer: no per-member values for optimizer.{', optimizer.'.join(missing)}")
    opt = OPTIMIZERS[cfg.name](list(params), hparams, cfg)
    if bool((hparams["grokfast_lambda"] > 0).any()):  # outermost: ⊥Grad and AdamW/SGD see the filtered gradient
        ma = cfg.grokfast_filter == GrokfastFilter.ma
        opt = GrokfastMA(opt, hparams, cfg.grokfast_window) if ma else GrokfastEMA(opt, hparams)
    return opt


def member_hparams(cfg, R: int, device=None, **given: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Every per-member hyperparameter of the optimizer config cfg as an (R,) float64 tensor: `given` ones as
    they are, the others the config's value for every member."""
    cfg = plain(cfg)
    return {k: given[k].to(torch.float64) if k in given
            else torch.full((R,), float(getattr(cfg, k)), dtype=torch.float64, device=device)
            for k in member_hparam_names(cfg)}
