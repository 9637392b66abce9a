"""Files of a run: metrics.parquet, summary.parquet, checkpoint.pt (tensors and plain types only) — every write atomic
(temp file, then rename), so a job killed at any instant leaves either the old file or the new one, never half of one."""
import json
import os
import pickle
import secrets
import socket
from pathlib import Path

import pandas as pd

METRICS_FILE, SUMMARY_FILE, CHECKPOINT_FILE = "metrics.parquet", "summary.parquet", "checkpoint.pt"
SNAPSHOTS_FILE = "snapshots.pt"  # train.snapshots: weights of every member at chosen eval steps (snapshots.py)
IPR_FILE = "ipr.parquet"  # one row per member × neuron (models with neurons over Z_p)


def _atomic(path: Path, write) -> None:
    # a temp name no other writer can have, on any host sharing the file system: host + pid + a random token
    tmp = path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic(Path(path), lambda tmp: df.to_parquet(tmp, index=False))


def write_json(obj, path: Path) -> None:
    _atomic(Path(path), lambda tmp: tmp.write_text(json.dumps(obj, indent=1) + "\n"))


def save_figure(fig, path: Path, dpi: int = 110) -> None:
    """A matplotlib figure as an image at `path` (its parent made), atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".")))
    plt.close(fig)


def save_checkpoint(state: dict, path: Path) -> None:
    import torch  # here, not at the top: `grokbench watch` and `collect` read tables on login nodes without torch

    _atomic(Path(path), lambda tmp: torch.save(state, tmp))


class RunDirError(Exception):
    """A run dir this run cannot continue in; the message is one line for the user (exit code 2)."""


def load_checkpoint(path: Path):
    """The checkpoint's tensors and plain Python values, or None if there is none. Loading never runs code: a file
    holding any other pickled object (one written by grokbench before checkpoints held only tensors, or by anything
    else) is refused, not unpickled."""
    import torch  # here, not at the top: `grokbench watch` and `collect` read tables without torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise RunDirError(f"{path} holds pickled Python objects, not only tensors (an earlier grokbench's checkpoint?); "
                          f"it is not loaded, since unpickling can run code: start a new output dir") from None
