"""What a run shows the outside world while it trains: status.json (for `grokbench watch`) and the experiment
trackers (`logger=[...]`). train.py calls this at setup, at every checkpoint, at the end and on an exception."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from grokbench import store
from grokbench.status import Status


class Live:
    bar = True  # a progress bar on a terminal (a worker process logs lines instead)
    signals_at_evals = False  # True where parts stop together: a signal is taken at the next eval (workers.py)

    def __init__(self, cfg, run_dir: Path, table: pd.DataFrame, chunks: int):
        self.cfg, self.run_dir, self.table = cfg, Path(run_dir), table
        self.status = Status(run_dir, cfg.train.max_steps, len(table), chunks)
        self.trackers = None  # opened by the first begin(): a rerun of a finished job opens none
        self.started = False  # set once the run dir is known to be this config's and training sets up (train.py)

    def begin(self, chunk: int, step: int) -> None:
        """A chunk (or the whole population) starts training at `step` (0, or where its checkpoint left off)."""
        self.status.chunk, self.status.start_step = chunk, None  # steps/s counts from here
        self.status.write("running", step)
        if self.trackers is None:
            from grokbench.trackers import Trackers

            self.trackers = Trackers(self.cfg, self.run_dir, list(self.table.columns))

    def checkpoint(self, metrics: pd.DataFrame, step: int, signalled: list) -> None:
        """Called right after a checkpoint is on disk, so what trackers get is what a resume will start from.
        `signalled`: the loop's list of caught signals, read after the (slow) tracker calls, so a signal that came
        during them still makes this checkpoint the preempted one (the loop hands it on right after)."""
        if self.status.chunks == 1:  # a chunk's rows are not the population: chunked runs log once at the end
            self.trackers.log(metrics)
        self.status.write("preempted" if signalled else "running", step)

    def all_done(self, step: int, all_done: bool, any_active: bool, signalled: list) -> bool:
        """Early stop: every live member has reached the threshold at this eval (and some member is live)."""
        return all_done and any_active

    def preempted(self, step: int) -> None:
        """The checkpoint at `step` is on disk and a caught signal is about to be handed on."""
        self.status.write("preempted", step)

    def finish(self) -> None:
        if self.trackers is None:  # nothing trained in this process (a finished job rerun): its status stays
            return
        self.trackers.log(pd.read_parquet(self.run_dir / store.METRICS_FILE))
        self.trackers.close()
        self.status.write("finished", self.status.last_step)

    def fail(self, err: Exception) -> None:
        if not self.started and self.status.path.exists():
            return  # refused before training (e.g. another config's run): the dir's status is not ours to touch
        self.status.write("failed", self.status.last_step or 0, error=f"{type(err).__name__}: {err}"[:500])
        if self.trackers is not None:
            self.trackers.close()
