"""A population = seeds × the per-member hyperparameter grid, trained as one batched model."""
import itertools
from typing import Dict, NamedTuple

import pandas as pd
import torch

from grokbench.config import seed_list


def members(cfg) -> pd.DataFrame:
    """One row per member: member, seed, optimizer.lr, optimizer.weight_decay (grid values or the config's)."""
    grid = cfg.population.grid.optimizer
    lrs = list(grid.lr) if grid.lr is not None else [cfg.optimizer.lr]
    wds = list(grid.weight_decay) if grid.weight_decay is not None else [cfg.optimizer.weight_decay]
    rows = [
        {"seed": seed, "optimizer.lr": float(lr), "optimizer.weight_decay": float(wd)}
        for lr, wd, seed in itertools.product(lrs, wds, seed_list(cfg.seeds))
    ]
    return pd.DataFrame(rows).rename_axis("member").reset_index()


def member_tensor(table: pd.DataFrame, column: str, device) -> torch.Tensor:
    return torch.tensor(table[column].to_numpy(), dtype=torch.float64, device=device)  # (R,)


def optimizer_hparams(cfg, table: pd.DataFrame, device) -> Dict[str, torch.Tensor]:
    """Each per-member hyperparameter of the optimizer config cfg as an (R,) float64 tensor: the members table's
    column `optimizer.<key>` where it has one (a grid over that key), else the config's value for every member."""
    from grokbench.optim import member_hparams

    columns = {k.split(".", 1)[1]: member_tensor(table, k, device) for k in table.columns if k.startswith("optimizer.")}
    return member_hparams(cfg, len(table), device, **columns)


class Population(NamedTuple):
    data: object  # tasks.Dataset, one split per member
    model: torch.nn.Module
    opt: object  # a PopulationOptimizer (possibly wrapped by ⊥Grad / Grokfast)
    lr: torch.Tensor  # (R,)
    weight_decay: torch.Tensor  # (R,)
    active: torch.Tensor  # (R,) bool, False once a member diverged (frozen from then on)
    diverged_step: torch.Tensor  # (R,) long, -1 while the member is healthy


def build_population(cfg, table: pd.DataFrame, device) -> Population:
    """Data, model, optimizer and divergence state of the members in `table`, all on `device`."""
    from grokbench.models import build_model
    from grokbench.optim import build_optimizer
    from grokbench.tasks import build_task

    seeds, R = table["seed"].tolist(), len(table)
    data = build_task(cfg.task, seeds, device)
    model = build_model(cfg.model, data, seeds, device)
    hparams = optimizer_hparams(cfg.optimizer, table, device)
    opt = build_optimizer(cfg.optimizer, model.parameters(), hparams)
    active = torch.ones(R, dtype=torch.bool, device=device)
    diverged_step = torch.full((R,), -1, dtype=torch.long, device=device)
    return Population(data, model, opt, hparams["lr"], hparams["weight_decay"], active, diverged_step)
