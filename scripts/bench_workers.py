"""Whole-command time with population.workers=auto against workers=1, side by side, in one run of this script.

    PYTHONPATH=. python scripts/bench_workers.py [--seeds 4,16] [--repeats 1] [--max-steps N] [--json FILE]

For each config (Prieto et al.'s fig1a, `experiment=prieto2025/fig1a_perp_adamw`, and the default demo) and each seed
count, `grokbench run` runs to the end twice, each time a fresh process timed from its start to its exit, as a
researcher waits for it: once with population.workers=1 (one process, one core: the population trains on one thread,
grokbench/threads.py) and once with workers=auto (one process per physical core this job may use,
grokbench/cores.py, the members cut into that many parts). Both times hold the same Python start, Hydra, imports,
data and model building, evaluation, checkpoints and the run's table; auto's also its fork server and workers
(grokbench/forking.py) and the merge of the parts' tables. The two alternate (auto first on odd repeats); with
--repeats > 1 the median is reported. Each row also says whether the two runs wrote the same tables (bit for bit).
Target on a 2-core machine: auto ÷ 1 speed-up >= 1.8.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from grokbench import store
from grokbench.compose import compose_config
from grokbench.cores import available_cores, cores_per_job

CONFIGS = {"prieto2025/fig1a": ["experiment=prieto2025/fig1a_perp_adamw"], "demo": []}


def timed_run(overrides) -> tuple:
    """(seconds of one whole `grokbench run`, its metrics and summary tables)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grokbench.cli", "run", *overrides, f"hydra.run.dir={tmp}"],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        tables = [pd.read_parquet(Path(tmp) / name) for name in (store.METRICS_FILE, store.SUMMARY_FILE)]
    return seconds, tables


def same(a, b) -> bool:
    try:
        for x, y in zip(a, b):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        return True
    except AssertionError:
        return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="4,16", help="comma-separated seed counts")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each contender; the median is reported")
    ap.add_argument("--max-steps", type=int, help="train.max_steps for every config (default: each config's own)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of: {', '.join(CONFIGS)}")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args(argv)

    print(f"{platform.processor() or platform.machine()}, {available_cores()} physical core(s) for this process, "
          f"workers=auto = {cores_per_job()} at most; torch {torch.__version__}")
    print(f"{'config':<18} {'seeds':>5} {'steps':>6} {'workers=1 s':>11} {'auto s':>8} {'auto ÷ 1':>9} "
          f"{'same tables':>11}")
    rows = []
    for name in args.configs.split(","):
        for seeds in [int(s) for s in args.seeds.split(",")]:
            base = ["device=cpu", *CONFIGS[name], f"seeds={seeds}", "train.plot=false"]
            if args.max_steps is not None:
                base.append(f"train.max_steps={args.max_steps}")
            times, tables = {"1": [], "auto": []}, {}
            for i in range(args.repeats):
                for workers in (("1", "auto") if i % 2 == 0 else ("auto", "1")):
                    seconds, tables[workers] = timed_run([*base, f"population.workers={workers}"])
                    times[workers].append(seconds)
            one, auto = statistics.median(times["1"]), statistics.median(times["auto"])
            row = {"config": name, "seeds": seeds, "max_steps": compose_config(base).train.max_steps,
                   "workers_1_s": one, "auto_s": auto, "speedup": one / auto,
                   "same_tables": same(tables["1"], tables["auto"])}
            rows.append(row)
            print(f"{name:<18} {seeds:>5} {row['max_steps']:>6} {one:>11.1f} {auto:>8.1f} {row['speedup']:>9.2f} "
                  f"{'yes' if row['same_tables'] else 'NO':>11}", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
