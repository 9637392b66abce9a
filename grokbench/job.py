"""The Hydra job: one call per (multi)run job. Resolves the output dir once and hands it to train()."""
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig

from grokbench.compose import register
from grokbench.config import ConfigError, validate

register()


@hydra.main(version_base="1.3", config_path="pkg://grokbench.configs", config_name="config")
def hydra_main(cfg) -> float:
    from grokbench.report import print_summary
    from grokbench.summary import summary_settings
    from grokbench.train import check_device, train

    try:
        validate(cfg, HydraConfig.get().runtime.choices)  # normally done before launch; sweeps set in configs land here
        check_device(cfg.device.value)  # here, on the machine that trains, not on the host that submits
    except ConfigError as err:
        print(f"grokbench: error: {err}", file=sys.stderr)
        sys.exit(2)

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    summary = train(cfg, out_dir)
    print_summary(summary, out_dir, settings=summary_settings(cfg))
    return float(summary["final_test_acc"].median())  # the swept metric, for sweepers that optimise
