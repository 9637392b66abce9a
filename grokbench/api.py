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
from typing import Dict, NamedTuple, Optional

import pandas as pd
import torch

from grokbench import runs, store


class MemberData(NamedTuple):
    """One member's samples as it trained and tested on them (no padding): inputs (N, T) tokens or (N, D) features,
    labels (N,) as trained on (a corrupted train label is the replaced one), corrupted (N_train,) bool."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    corrupted: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


class Run:
    """A run dir: tables, config, members, and each member's data and model."""

    def __init__(self, run_dir):
        self._run = runs.open_run(run_dir)
        self.dir = self._run.dir

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}, {len(self.members)} members)"

    @property
    def config(self):
        return self._run.cfg

    @property
    def members(self) -> pd.DataFrame:
        return self._run.table

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.read_parquet(self.dir / store.METRICS_FILE)

    @property
    def summary(self) -> pd.DataFrame:
        return pd.read_parquet(self.dir / store.SUMMARY_FILE)

    def _member(self, member: int):
        """(the member's part rows, its row in the part, the part's dir); ValueError for an unknown member."""
        rows, part_dir = self._run.part_of(int(member))
        return rows, list(rows["member"]).index(int(member)), part_dir

    def data(self, member: int) -> MemberData:
        rows, r, _ = self._member(member)
        data = runs.member_data(self.config, rows)
        nt, ne = int(data.train_size[r]), int(data.test_size[r])  # a padded set's real samples come first
        return MemberData(data.x_train[r, :nt], data.y_train[r, :nt], data.corrupted[r, :nt], data.x_test[r, :ne],
                          data.y_test[r, :ne])

    def weights(self, member: int, step: Optional[int] = None):
        """(the weights of the member's part at `step` — None: the final ones —, the member's row in them, the step)."""
        rows, r, part_dir = self._member(member)
        if step is not None:
            return runs.snapshot_state(self.dir, rows, step, part_dir), r, step
        ckpt = store.load_checkpoint(part_dir / store.CHECKPOINT_FILE)
        if ckpt is None:
            raise FileNotFoundError(f"{part_dir} has no {store.CHECKPOINT_FILE} yet (member {member}'s part has not "
                                    f"trained)")
        return ckpt["model"], r, int(ckpt["step"])

    def batched_model(self, member: int, step: Optional[int] = None):
        """(the batched model of the member's part with the weights at `step` (None: final), the member's row)."""
        rows, _, _ = self._member(member)
        state, r, _ = self.weights(member, step)
        return runs.member_model(self.config, rows, runs.member_data(self.config, rows), state), r

    def model(self, member: int, step: Optional[int] = None):
        """Member `member` as a plain torch.nn.Module (no member dim) at `step` (None: final), in eval mode."""
        from grokbench.models.plain import member_module

        model, r = self.batched_model(member, step)
        return member_module(model, r)  # models/plain.py: tested equal to the population's member


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
