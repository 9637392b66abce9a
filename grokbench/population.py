"""A population = seeds × the per-member hyperparameter grid, trained as one batched model.

Member order: the product of every population.grid list, groups in the order task, model, optimizer and keys in the
order of population.grid's schema (config.grid_schema), seed fastest. For lr and weight decay alone that is
product(lr, weight_decay, seed), so member = (i_lr · n_wd + i_wd) · n_seeds + i_seed.
"""
import itertools
from dataclasses import fields, replace
from typing import Dict, NamedTuple

import pandas as pd
import torch

from grokbench.config import GRID_SCHEMAS, grid_values, plain, seed_list

ALWAYS = ("optimizer.lr", "optimizer.weight_decay")  # member columns of every run, gridded or not
GRID_KEYS = [f"{group}.{f.name}" for group, schema in GRID_SCHEMAS.items() for f in fields(schema)]  # product order


def members(cfg) -> pd.DataFrame:
    """One row per member: member, seed, then one column per grid key (and optimizer.lr, optimizer.weight_decay
    always), each holding the member's value (the config's own value for keys that are not gridded)."""
    axes = {**{name: [config_value(cfg, name)] for name in ALWAYS}, **grid_values(cfg)}
    axes = {name: axes[name] for name in sorted(axes, key=GRID_KEYS.index)}  # lr, wd at their place in that order
    rows = []
    for *values, seed in itertools.product(*axes.values(), seed_list(cfg.seeds)):
        rows.append({"seed": seed, **{n: cast(cfg, n, v) for n, v in zip(axes, values)}})
    return pd.DataFrame(rows).rename_axis("member").reset_index()


def config_value(cfg, name: str):
    group, key = name.split(".")
    return cfg[group][key]


def cast(cfg, name: str, value):
    """An integer key (e.g. a step count) stays an integer column; every other value is a float column."""
    own = config_value(cfg, name)
    return int(value) if isinstance(own, int) and not isinstance(own, bool) else float(value)


def member_tensor(table: pd.DataFrame, column: str, device) -> torch.Tensor:
    return torch.tensor(table[column].to_numpy(), dtype=torch.float64, device=device)  # (R,)


def member_values(cfg, table: pd.DataFrame, name: str, device) -> torch.Tensor:
    """(R,) float64: the members table column `name` ('<group>.<key>') if gridded, else the config value for all."""
    if name in table.columns:
        return member_tensor(table, name, device)
    return torch.full((len(table),), float(config_value(cfg, name)), dtype=torch.float64, device=device)


def build_data(cfg, table: pd.DataFrame, device):
    """The datasets of the members in `table` (all of a run's or any part of them: one chunk, one worker's share).
    This is THE way a member's data is made — training, every analysis, `grokbench data` and the Python API call it —
    so a member's samples, labels and settings are the same wherever they are read.

    Members whose task values differ (train_fraction, corruption, ...) are built per group of equal values from their
    own seeds' streams (so member k is what a standalone run of its seed and values draws) and stacked; sets of
    different sizes are padded and masked (tasks.dataset.stack_padded). A split file keyed by member gives each member
    the file's rows of its global member id."""
    from grokbench.tasks import build_task
    from grokbench.tasks.dataset import stack_padded

    table = table.reset_index(drop=True)
    parts, positions = [], []
    for task, rows in task_groups(cfg, table):
        parts.append(build_task(task, rows["seed"].tolist(), "cpu", rows["member"].tolist()))
        positions += rows.index.tolist()
    data = stack_padded(parts)
    return data.select(torch.tensor(positions).argsort()).to(device)  # back to member order


def task_groups(cfg, table: pd.DataFrame):
    """[(task schema, rows)]: the members of `table` grouped by their task values, each group with its own task
    settings (the config's task with the group's population.grid values)."""
    keys = [c for c in table.columns if c.startswith("task.")]
    base = plain(cfg.task)
    if not keys:
        return [(base, table)]
    return [(task_with(base, keys, values if isinstance(values, tuple) else (values,)), rows)
            for values, rows in table.groupby(keys, sort=False)]


def member_tasks(cfg, table: pd.DataFrame) -> list:
    """Each member's own task settings (its train_fraction, corruption ξ, ...), in the order of `table`."""
    table = table.reset_index(drop=True)
    tasks = [None] * len(table)
    for task, rows in task_groups(cfg, table):
        for i in rows.index:
            tasks[i] = task
    return tasks


def task_with(base, keys, values):
    """The task schema `base` with a group's member values: keys 'task.<field>' of the members table."""
    return replace(base, **{k.partition(".")[2]: getattr(v, "item", lambda: v)() for k, v in zip(keys, values)})


@torch.no_grad()
def scale_init(model, scale: torch.Tensor) -> None:
    """Every parameter of member k × scale[k] (Omnigrok's α: "all weights × α at initialisation", Liu et al. 2023).
    scale (R,); skipped where every member's α is 1, so those runs' numbers are untouched."""
    if bool((scale == 1).all()):
        return
    for p in model.parameters():
        p.mul_(scale.view(-1, *([1] * (p.dim() - 1))).to(p.dtype))


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

    seeds, R = table["seed"].tolist(), len(table)
    data = build_data(cfg, table, device)
    model = build_model(cfg.model, data, seeds, device)
    scale_init(model, member_values(cfg, table, "model.init_scale", device))
    hparams = optimizer_hparams(cfg.optimizer, table, device)
    opt = build_optimizer(cfg.optimizer, model.parameters(), hparams)
    active = torch.ones(R, dtype=torch.bool, device=device)
    diverged_step = torch.full((R,), -1, dtype=torch.long, device=device)
    return Population(data, model, opt, hparams["lr"], hparams["weight_decay"], active, diverged_step)
