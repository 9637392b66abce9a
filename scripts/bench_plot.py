"""What the end-of-run picture costs: the default demo (`grokbench run`) timed with train.plot=true and
train.plot=false, alternating, side by side in one run of this script; the plot step as the job logs it; and the plot
step alone (plots/curves.png drawn from a finished run dir in a fresh process, grokbench, pandas and matplotlib imports
included: an upper bound), each as a fraction of the demo without it.

    python scripts/bench_plot.py [--repeats 2] [OVERRIDES...]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLOT_ONLY = """
import sys, time
from pathlib import Path
t = time.perf_counter()
import pandas as pd
from grokbench.analysis.plots import plot_run
run = Path(sys.argv[1])
plot_run(run, pd.read_parquet(run / "summary.parquet"))
print(time.perf_counter() - t)
"""


def timed(args, env) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grokbench.cli", "run", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args, overrides = parser.parse_known_args()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    walls = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for plot in (True, False):  # alternating: drifting machine load hits both alike
                run_dir = Path(tmp) / f"{i}-{plot}"
                walls[plot].append(timed([*overrides, f"train.plot={str(plot).lower()}", f"hydra.run.dir={run_dir}"],
                                         env))
        in_job = [float(re.search(r"curves: .* \(([\d.]+) s\)", (Path(tmp) / f"{i}-True" / "job.log").read_text())[1])
                  for i in range(args.repeats)]  # what the job itself logs: the plot step inside the running job
        plot_only = [float(subprocess.run([sys.executable, "-c", PLOT_ONLY, str(Path(tmp) / f"{i}-False")], env=env,
                                          check=True, capture_output=True, text=True).stdout)
                     for i in range(args.repeats)]
    with_plot, without = statistics.median(walls[True]), statistics.median(walls[False])
    print(f"demo {' '.join(overrides) or '(defaults)'}, {args.repeats} repeats, median wall time:")
    print(f"  train.plot=true   {with_plot:7.1f} s   {walls[True]}")
    print(f"  train.plot=false  {without:7.1f} s   {walls[False]}")
    print(f"  ratio true/false  {with_plot / without:7.3f}")
    print(f"  the plot step inside the job (its own log line): {statistics.median(in_job):.2f} s = "
          f"{statistics.median(in_job) / without:.1%} of the demo without it")
    print(f"  the plot step alone (fresh process, imports included): {statistics.median(plot_only):.2f} s = "
          f"{statistics.median(plot_only) / without:.1%} of the demo without it")


if __name__ == "__main__":
    main()
