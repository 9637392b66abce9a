"""Hydra callback writing SWEEP_DIR/sweep.parquet once every job of a multirun is back (registered in config.yaml).

on_multirun_end runs on the submitting host, once: rebuilding the table as each job ended ran on every compute node
and read every job dir each time (quadratic in jobs, on a shared file system). A sweep still running, or whose
submitting command died, is tabled with `grokbench collect SWEEP_DIR`.
"""
import logging
from pathlib import Path

from hydra.experimental.callback import Callback

log = logging.getLogger("grokbench")


class SweepTable(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        from grokbench.analysis.collect import SWEEP_FILE, collect, status_line

        sweep_dir = config.hydra.sweep.dir
        try:  # a table that cannot be written must not fail a sweep whose results are safe on disk
            df = collect(Path(sweep_dir))
            log.info(f"{Path(sweep_dir) / SWEEP_FILE}: {status_line(df)}")
        except Exception as err:
            log.warning(f"could not write {Path(sweep_dir) / SWEEP_FILE}: {err}; rerun `grokbench collect {sweep_dir}`")
