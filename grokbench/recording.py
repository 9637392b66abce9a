"""What a part records as it trains: which steps it evaluates (`eval_steps`) and its eval results, kept on the device
until a checkpoint turns them into one tidy table (`Recorder`)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

EVALS_AUTO = 100  # train.eval_every=null: about this many evenly spaced evals per run (plus the log-spaced ones)


def eval_steps(max_steps: int, every, log_points: int) -> set:
    """Step 0, log-spaced steps (sharp early curves) and every `every` steps up to max_steps, which is always in.
    every=None: max_steps / EVALS_AUTO, so a 10^5-step run stays as small on disk as a 10^3-step one."""
    every = every if every is not None else max(1, -(-max_steps // EVALS_AUTO))
    log_spaced = np.unique(np.round(np.logspace(0, np.log10(max_steps), log_points)).astype(int)) if log_points else []
    return {0, max_steps, *range(every, max_steps + 1, every), *map(int, log_spaced)}


class Recorder:
    """Eval results stay on the device as (R,) tensors until a flush turns them into one tidy table."""

    def __init__(self, table: pd.DataFrame):
        self.table, self.frames, self.pending = table, [], []

    def restore(self, frame: pd.DataFrame) -> None:
        """Resume: the rows recorded before, the ones not yet flushed dropped."""
        self.frames, self.pending = [frame], []

    def add(self, step: int, values: dict) -> None:
        self.pending.append((step, values))

    def frame(self) -> pd.DataFrame:
        if self.pending:
            names = list(self.pending[0][1])
            stacked = {n: torch.stack([v[n] for _, v in self.pending]).cpu().numpy() for n in names}  # (E, R)
            steps = np.array([s for s, _ in self.pending])
            R = len(self.table)
            ids = self.table["member"].to_numpy()  # global member indices (a chunk's members are a slice)
            chunk = pd.DataFrame({"step": np.repeat(steps, R), "member": np.tile(ids, len(steps))})
            for n in names:
                chunk[n] = stacked[n].reshape(-1)
            self.frames.append(chunk.merge(self.table, on="member", how="left"))
            self.pending = []
        front = ["step", *self.table.columns]
        df = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame(columns=front)
        return df[front + [c for c in df.columns if c not in front]]
