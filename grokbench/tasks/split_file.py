"""Train/test splits read from a Parquet file (`task.split_file`), e.g. to train on exactly a paper's split.

The file has one row per (a, b) pair with columns `a`, `b`, `split` ("train" or "test"), and optionally `seed` (the
split of the member with that seed) or, without `seed`, `member` (the split of the member at that position). This is
the layout `scripts/export_prieto_split.py` writes and the per-member rows of a data export. Without either column
every member uses the same split. Labels still come from the task, label corruption from each member's seed stream.
"""
from typing import List, Tuple

import pandas as pd
import torch

from grokbench.schema import ConfigError

KEY = "split_file"


def _refuse(path, allowed: str):
    return ConfigError(KEY, str(path), allowed)


def read_split_file(path) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except Exception as err:  # missing, unreadable, not Parquet: all one line for the user
        raise _refuse(path, f"a readable Parquet file ({type(err).__name__})") from None
    missing = {"a", "b", "split"} - set(table.columns)
    if missing:
        raise _refuse(path, f"a Parquet file with columns a, b, split (missing {', '.join(sorted(missing))})")
    bad = set(table["split"].unique()) - {"train", "test"}
    if bad:
        raise _refuse(path, f"split values 'train'/'test' only (found {sorted(map(str, bad))[:3]})")
    return table


def _one_split(rows: pd.DataFrame, index_of: torch.Tensor, p: int, path, who: str):
    """rows of one member → (train, test) positions into the task's pair list, each (n,) long."""
    a = torch.tensor(rows["a"].to_numpy(), dtype=torch.long)
    b = torch.tensor(rows["b"].to_numpy(), dtype=torch.long)
    inside = (a >= 0) & (a < p) & (b >= 0) & (b < p)
    pos = torch.full_like(a, -1)
    pos[inside] = index_of[a[inside] * p + b[inside]]
    if (pos < 0).any():  # outside 0..p-1, or a pair the task does not have (b = 0 for moddiv)
        k = int((pos < 0).nonzero()[0])
        raise _refuse(path, f"operands of the task's pairs only ({who}: ({int(a[k])}, {int(b[k])}) is not one)")
    counts = torch.bincount(pos, minlength=int(index_of.max()) + 1)  # one count per pair of the task
    if (counts != 1).any():
        raise _refuse(path, f"every pair of the task exactly once ({who}: {int((counts == 0).sum())} missing, "
                            f"{int((counts > 1).sum())} repeated)")
    is_train = torch.tensor((rows["split"] == "train").to_numpy())
    train, test = pos[is_train], pos[~is_train]
    if len(train) == 0 or len(test) == 0:
        raise _refuse(path, f"at least one train row and one test row ({who})")
    return train, test


def split_from_file(path, seeds: List[int], pairs: torch.Tensor, p: int,
                    member_ids=None) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """Per member (in the order of `seeds`): (train, test) index tensors into `pairs` (N, 2) of operands in 0..p-1.
    A file keyed by `member` gives member_ids[k] (the member's global id; default 0..R-1) its rows of that member.

    Raises ConfigError (key `split_file`) for a file that cannot be read, names a seed or member not in the file,
    does not cover every pair exactly once per member, or leaves a member without train or test rows."""
    table = read_split_file(path)
    index_of = torch.full((p * p,), -1, dtype=torch.long)  # (a·p + b) → position in pairs, -1 where no such pair
    index_of[pairs[:, 0] * p + pairs[:, 1]] = torch.arange(len(pairs))
    column = "seed" if "seed" in table.columns else "member" if "member" in table.columns else None
    if column is None:
        return [_one_split(table, index_of, p, path, "all members")] * len(seeds)
    groups = dict(tuple(table.groupby(column)))
    keys = seeds if column == "seed" else (range(len(seeds)) if member_ids is None else member_ids)
    missing = [k for k in keys if k not in groups]
    if missing:
        raise _refuse(path, f"a file with rows for every {column} of the population ({column} {missing[0]} has none)")
    splits = [_one_split(groups[k], index_of, p, path, f"{column} {k}") for k in keys]
    if len({len(train) for train, _ in splits}) > 1:  # members are stacked: one train size for the population
        raise _refuse(path, f"the same number of train rows for every {column}")
    return splits
