"""The Hydra job: one call per (multi)run job. Resolves the output dir once and hands it to train()."""
import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig

from grokbench.compose import register
from grokbench.store import RunDirError
from grokbench.config import ConfigError, validate

log = logging.getLogger("grokbench")
register()


@hydra.main(version_base="1.3", config_path="pkg://grokbench.configs", config_name="config")
def hydra_main(cfg) -> float:
    try:
        validate(cfg)
    except ConfigError as err:  # normally caught before launch; sweeps defined inside configs land here
        log.error(f"grokbench: error: {err}")
        sys.exit(2)
    from grokbench.report import print_summary
    from grokbench.train import train

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        summary = train(cfg, out_dir)
    except RunDirError as err:  # a dir we must not continue in: one line, nothing in it touched
        print(f"grokbench: error: {err}", file=sys.stderr)
        sys.exit(2)
    print_summary(summary, out_dir)
    return float(summary["final_test_acc"].median())  # the swept metric, for sweepers that optimise
