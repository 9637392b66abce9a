"""Hydra callback keeping SWEEP_DIR/sweep.parquet current while a multirun goes on (registered in config.yaml)."""
import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from hydra.types import RunMode

log = logging.getLogger("grokbench")


class SweepTable(Callback):
    def on_job_end(self, config, job_return, **kwargs) -> None:
        # runs where the job ran (a SLURM node): rebuild from every job dir; concurrent writers are atomic and the
        # last one wins, and on_multirun_end rewrites it once all jobs are back
        if config.hydra.mode == RunMode.MULTIRUN:
            self.write(config.hydra.sweep.dir)

    def on_multirun_end(self, config, **kwargs) -> None:
        self.write(config.hydra.sweep.dir)

    @staticmethod
    def write(sweep_dir) -> None:
        from grokbench.analysis.collect import SWEEP_FILE, collect, status_line

        try:  # a table that cannot be written must not fail a job whose results are safe on disk
            df = collect(Path(sweep_dir))
            log.info(f"{Path(sweep_dir) / SWEEP_FILE}: {status_line(df)}")
        except Exception as err:
            log.warning(f"could not write {Path(sweep_dir) / SWEEP_FILE}: {err}; rerun `grokbench collect {sweep_dir}`")
