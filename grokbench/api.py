"""A run or a sweep in a notebook:

    from grokbench import load_run, load_sweep
    run = load_run("outputs/runs/2026-12-04/14-03-11-1234-ab12")
    run.metrics, run.summary          # the run's tables (pandas)
    run.config, run.members           # the config it trained (OmegaConf), one row per member
    net = run.model(member=3)         # member 3 as a plain torch.nn.Module, final weights
    net = run.model(member=3, step=500)   # at a snapshot step (train.snapshots=N)
    d = run.data(member=3)            # d.x_train, d.y_train, d.corrupted, d.x_test, d.y_test as it trained on them
    sweep = load_sweep("outputs/multirun/...")
    sweep.table, sweep.runs           # sweep.parquet's rows; {job dir name: Run}

Everything is read through grokbench/runs.py, the path `analyze` and `grokbench data` take: a member's data and
weights are the ones it trained with, whether its run trained all at once or in chunks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pandas as pd

from grokbench.runs import MemberData, Run  # noqa: F401 (the API's names)


class Sweep:
    """A sweep dir: sweep.parquet's table (rebuilt by `grokbench collect` when missing) and each job's Run."""

    def __init__(self, sweep_dir):
        from grokbench.analysis.collect import SWEEP_FILE, collect, job_dirs

        self.dir = Path(sweep_dir)
        path = self.dir / SWEEP_FILE
        self.table = pd.read_parquet(path) if path.exists() else collect(self.dir, write=False)
        self.runs: Dict[str, Run] = {str(d.relative_to(self.dir)): Run(d) for d in job_dirs(self.dir)}

    def __repr__(self) -> str:
        return f"Sweep({str(self.dir)!r}, {len(self.runs)} runs, {len(self.table)} members)"


def load_run(run_dir) -> Run:
    return Run(run_dir)


def load_sweep(sweep_dir) -> Sweep:
    return Sweep(sweep_dir)
