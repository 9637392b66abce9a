"""The Hydra job: one call per (multi)run job. Resolves the output dir once and hands it to train()."""
import logging
import sys
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from grokbench.compose import register
from grokbench.config import ConfigError, validate
from grokbench.store import RunDirError

log = logging.getLogger("grokbench")
register()


def objective(summary: pd.DataFrame, name: str, max_steps: int) -> float:
    """search.objective for a hyperparameter search. A member that never generalised counts as max_steps + 1 steps,
    so a minimiser of the step prefers any run that groks to one that does not."""
    generalized = summary["generalized"] if "generalized" in summary else summary["step_test_95"].notna()
    if name == "median_step_test_95":
        return float(summary["step_test_95"].astype("Float64").fillna(max_steps + 1).median())
    if name == "fraction_generalized":
        return float(generalized.astype(bool).mean())
    return float(summary["final_test_acc"].median())  # final_test_acc


@hydra.main(version_base="1.3", config_path="pkg://grokbench.configs", config_name="config")
def hydra_main(cfg) -> float:
    from grokbench.report import print_summary
    from grokbench.summary import summary_settings
    from grokbench.devices import check_device, resolve_device
    from grokbench.train import train
    from grokbench.workers import check_workers

    try:
        validate(cfg, HydraConfig.get().runtime.choices)  # normally done before launch; sweeps set in configs land here
        check_device(cfg.device.value)  # here, on the machine that trains, not on the host that submits
        check_workers(cfg, resolve_device(cfg.device.value))
    except ConfigError as err:
        print(f"grokbench: error: {err}", file=sys.stderr)
        sys.exit(2)

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        summary = train(cfg, out_dir)
    except RunDirError as err:  # a dir we must not continue in: one line, nothing in it touched
        print(f"grokbench: error: {err}", file=sys.stderr)
        sys.exit(2)
    print_summary(summary, out_dir, settings=summary_settings(cfg))
    if cfg.train.plot:
        import time

        from grokbench.analysis.plots import plot_run

        start = time.perf_counter()
        try:  # the results are safe on disk: a picture that cannot be drawn must not fail the job (or its trial)
            path = plot_run(out_dir, summary)
            log.info(f"curves: {path} ({time.perf_counter() - start:.1f} s)")
        except Exception as err:
            log.warning(f"could not draw {out_dir / 'plots'}: {err}; `grokbench plot {out_dir}` retries")
    value = objective(summary, cfg.search.objective.value, cfg.train.max_steps)
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        log.info(f"search.objective {cfg.search.objective.value} = {value:g}")
    return value  # what a sweeper that optimises (hydra/sweeper=optuna) sees
