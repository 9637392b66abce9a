"""A population = seeds × the per-member hyperparameter grid, trained as one batched model."""
import itertools

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
