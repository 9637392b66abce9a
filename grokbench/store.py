"""Files of a run: metrics.parquet, summary.parquet, checkpoint.pt — every write atomic (temp file, then rename), so
a job killed at any instant leaves either the old file or the new one, never half of one."""
import os
from pathlib import Path

import pandas as pd

METRICS_FILE, SUMMARY_FILE, CHECKPOINT_FILE = "metrics.parquet", "summary.parquet", "checkpoint.pt"
IPR_FILE = "ipr.parquet"  # one row per member × neuron (models with neurons over Z_p)


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic(Path(path), lambda tmp: df.to_parquet(tmp, index=False))


def save_checkpoint(state: dict, path: Path) -> None:
    import torch  # here, not at the top: `grokbench watch` and `collect` read tables on login nodes without torch

    _atomic(Path(path), lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path):
    import torch

    path = Path(path)
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None
