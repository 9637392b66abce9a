"""Time to result for Prieto et al.'s Fig. 1a, 4 seeds: the authors' own script against one grokbench run.

    python scripts/bench_vs_authors.py --authors PATH [--seeds 4] [--repeats 1]

PATH is a checkout of the authors' public repository (LucasPrietoAl/grokking-at-the-edge-of-numerical-stability).
Their Fig. 1a command (run_main_experiments.sh: ⊥AdamW, lr .01, 300 epochs, 40 % train, a log every 10 epochs) runs
once per seed, one process after another, as their script is meant to be run, with their own thread setting
(grokking_experiments.py sets torch.set_num_threads(5)); each in a fresh working directory, since it writes its
checkpoints and logs there. Against it, one whole `grokbench run experiment=prieto2025/fig1a_perp_adamw seeds=N
train.max_steps=300 train.eval_every=10 train.eval_log_points=0 train.plot=false` process (their evaluation schedule,
and no picture, since their script draws none) with its defaults otherwise (population.workers=auto). Both are whole-process
wall times (Python start, imports, data, training, evaluation, writing results), measured side by side in this run,
alternating which goes first on each repeat; the medians and their ratio are printed, with each side's final test
accuracies, so the two are seen to have computed the same experiment.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

EPOCHS = 300
THEIRS = ["--lr", "0.01", "--num_epochs", str(EPOCHS), "--log_frequency", "10", "--device", "cpu",
          "--train_fraction", "0.4", "--beta2", "0.99", "--orthogonal_gradients"]  # run_main_experiments.sh, Fig. 1
OURS = ["run", "experiment=prieto2025/fig1a_perp_adamw", "device=cpu", f"train.max_steps={EPOCHS}",
        "train.eval_every=10", "train.eval_log_points=0", "train.plot=false"]  # their evals, no more
FINAL = re.compile(r"Accuracy: ([0-9.]+)")


def theirs(script: Path, seeds: int) -> tuple:
    """(seconds, final test accuracy of each seed) of their script run once per seed, one after another."""
    accs, t0 = [], time.perf_counter()
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as work:
            out = subprocess.run([sys.executable, str(script), *THEIRS, "--seed", str(seed)], cwd=work,
                                 capture_output=True, text=True, check=True).stdout
        accs.append(float(FINAL.findall(out)[-1]) / 100)  # their evaluate() prints a percentage
    return time.perf_counter() - t0, accs


def ours(seeds: int) -> tuple:
    """(seconds, final test accuracy of each member) of one grokbench process training all seeds."""
    with tempfile.TemporaryDirectory() as work:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grokbench.cli", *OURS, f"seeds={seeds}", f"hydra.run.dir={work}/run"],
                       cwd=work, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - t0
        summary = pd.read_parquet(Path(work) / "run" / "summary.parquet")
    return seconds, summary.sort_values("member")["final_test_acc"].round(4).tolist()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--authors", type=Path, required=True, help="a checkout of the authors' repository")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=1, help="runs of each side; the medians are compared")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    args = ap.parse_args(argv)
    script = args.authors.resolve() / "grokking_experiments.py"
    if not script.exists():
        ap.error(f"--authors: {script} not found (a checkout of LucasPrietoAl/grokking-at-the-edge-of-numerical-"
                 "stability)")

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPU(s); torch {torch.__version__}; "
          f"{args.seeds} seeds x {EPOCHS} epochs of Prieto et al.'s Fig. 1a")
    times = {"theirs": [], "grokbench": []}
    for i in range(args.repeats):
        for side in (("theirs", "grokbench") if i % 2 == 0 else ("grokbench", "theirs")):
            seconds, accs = theirs(script, args.seeds) if side == "theirs" else ours(args.seeds)
            times[side].append(seconds)
            print(f"  {side:<9} repeat {i + 1}: {seconds:7.1f} s, final test accuracy per seed {accs}", flush=True)
    a, b = statistics.median(times["theirs"]), statistics.median(times["grokbench"])
    print(f"authors' script, {args.seeds} runs one after another: {a:.1f} s; grokbench seeds={args.seeds}: {b:.1f} s; "
          f"time-to-result ratio {a / b:.2f}x")
    if args.json is not None:
        args.json.write_text(json.dumps({**times, "ratio": a / b}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
