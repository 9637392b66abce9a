"""`grokbench run|show|list|...` — thin: `run` hands its arguments to Hydra, the others to their modules."""
from __future__ import annotations

import importlib
import sys

from grokbench.errors import ArgumentParser, fail

HELP = """\
grokbench — grokking and memorization experiments, many seeds as one batched population.

  grokbench run [OVERRIDES]            train one population (the default: modular addition, MLP, AdamW)
  grokbench run -m KEY=A,B [...]       multirun sweep (hydra/launcher=basic|joblib|slurm)
  grokbench show [OVERRIDES]           print the composed config
  grokbench list                       config groups, their options and the published experiments
  grokbench collect SWEEP_DIR          rebuild SWEEP_DIR/sweep.parquet from every finished job
  grokbench summarize SWEEP_DIR        table grouped by swept values (--by, --format csv|markdown)
  grokbench plot DIR                   accuracy curves and heatmaps as PNGs
  grokbench watch DIR                  live table of a run or sweep while it trains (--once: print once)
  grokbench reproduce PAPER/FIGURE     rerun a published config, check its `expect:` claims
  grokbench bench [OVERRIDES]          time training steps against bare PyTorch loops
  grokbench analyze prune RUN_DIR      prune neurons by IPR order and report accuracies
  grokbench analyze fourier RUN_DIR    Fourier progress measures from weight snapshots (train.snapshots=N)
  grokbench data [OVERRIDES] --out F   write each member's train/test samples (a, b, label, corrupted) to Parquet
  grokbench export RUN_DIR --member K --to torch|transformer_lens --out F   one member as a plain model file

Overrides are Hydra's: task=modsub task.p=97 model.width=512 optimizer.lr=3e-3 seeds=8 device=cpu
  seeds=N trains seeds 0..N-1 as one population; seeds=[3,7] picks seeds;
  population.grid.optimizer.weight_decay=[0,0.3,1] adds per-member hyperparameters (seeds × grid members).
Outputs: outputs/runs/<date>/<time>-<id>/ (metrics.parquet, summary.parquet, checkpoint.pt, run.json, .hydra/);
  hydra.run.dir=... and hydra.sweep.dir=... choose where. `grokbench run --help` shows Hydra's own help.
"""

# subcommand → module with `main(argv) -> int`, imported only when used so `grokbench run` starts fast
COMMANDS = {
    "collect": "grokbench.analysis.collect",
    "summarize": "grokbench.analysis.summarize",
    "plot": "grokbench.analysis.plots",
    "reproduce": "grokbench.reproduce",
    "bench": "grokbench.bench",
    "analyze": "grokbench.analysis.analyze",
    "data": "grokbench.data_cmd",
    "watch": "grokbench.watch",
    "export": "grokbench.export",
}


PLUGIN_LAUNCHERS = {"joblib", "submitit_local", "submitit_slurm"}  # from hydra-joblib/submitit-launcher


def check_hydra_flags(argv) -> None:
    """Hydra's own command-line parser (the one @hydra.main uses) on `grokbench run`'s arguments: a bad flag raises
    ValueError with argparse's one-line message, where Hydra would print its usage block first."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message: str):
        raise ValueError(message)

    parser.error = error
    parser.parse_args(argv)


def run(argv) -> int:
    from grokbench.compose import one_line, preflight

    # Hydra overrides are key=value (or ~key); the other tokens are Hydra's flags and their values (-cn NAME, ...)
    overrides = [a for a in argv if not a.startswith("-") and ("=" in a or a.startswith("~"))]
    try:
        check_hydra_flags(argv)
    except ValueError as err:
        return fail(f"run: {err}")
    if not any(a in ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c") for a in argv):
        start_worker_server(overrides)
        try:
            preflight(overrides, multirun="-m" in argv or "--multirun" in argv)
        except Exception as err:  # every config mistake ends here as one line, before anything is written
            return fail(one_line(err))
    import json
    import os

    from grokbench import job
    from grokbench.provenance import COMMAND_ENV

    os.environ[COMMAND_ENV] = json.dumps(["grokbench", "run", *argv])  # for run.json, in this process and its jobs'
    sys.argv = ["grokbench", *argv]
    job.hydra_main()
    return 0


def start_worker_server(overrides) -> None:
    """Where population.workers may train in processes (more than one core, jobs run in this process: no launcher
    of other processes or machines, no workers=1), start their fork server now: its imports (~2 s) run beside this
    process's own start-up. Left idle where the config turns out to train in one process (a GPU)."""
    from grokbench.cores import available_cores
    from grokbench.forking import start_server

    launcher = any(o.startswith(("hydra/launcher=", "+hydra/launcher=")) for o in overrides)
    if available_cores() > 1 and not launcher and "population.workers=1" not in overrides:
        start_server()


def show(argv) -> int:
    from omegaconf import OmegaConf

    from grokbench.compose import checked_config, one_line

    parser = ArgumentParser(prog="grokbench show", description="print the composed config")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for grokbench run")
    try:
        cfg = checked_config(parser.parse_args(argv).overrides)
    except Exception as err:
        return fail(one_line(err))
    print(OmegaConf.to_yaml(cfg, resolve=True))
    return 0


def list_configs(argv) -> int:
    from rich.console import Console
    from rich.table import Table

    from grokbench.config import CONFIG_DIR, GROUPS, config_options

    ArgumentParser(prog="grokbench list", description="config groups, their options, the experiments").parse_args(argv)
    table = Table("group", "options", title="config groups (pick with group=option)")
    for group in (*GROUPS, "logger"):
        table.add_row(group, ", ".join(config_options(group)))
    # presets of ours plus the plugins' own configs (a preset named like a plugin config would shadow it)
    launchers = {p.stem for p in (CONFIG_DIR / "hydra/launcher").glob("*.yaml")}
    table.add_row("hydra/launcher", ", ".join(["basic", *sorted(launchers | PLUGIN_LAUNCHERS)]))
    table.add_row("hydra/sweeper", "basic, optuna (pip install grokbench[optuna])")
    table.add_row("experiment", "\n".join(config_options("experiment")) or "(none)")
    Console().print(table)
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(HELP)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run(rest)
    if command == "show":
        return show(rest)
    if command == "list":
        return list_configs(rest)
    if command in COMMANDS:
        return importlib.import_module(COMMANDS[command]).main(rest)
    return fail(f"unknown command {command!r}; allowed: run, show, list, {', '.join(COMMANDS)}")


if __name__ == "__main__":
    sys.exit(main())
