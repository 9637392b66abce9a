"""Whole-run time of the MLP's first layer as a one-hot product against a row lookup, side by side, in one process.

    PYTHONPATH=. python scripts/bench_first_layer.py [--repeats 2] [--max-steps N] [--json FILE]

model.first_layer=onehot computes onehot(a) ⊕ onehot(b) @ W_in as a dense batched matmul; gather adds the rows
W_in[a] + W_in[p + b] (one index_select over all members' rows; its backward is an index_add). The forward is the
same bit for bit; the backward sums W_in's gradient in another order. For each config (the default demo, 4 seeds;
Prieto et al.'s fig1a, 2 seeds, 300 steps with an eval every 10 as the authors log), `grokbench.train.train` runs to
the end with each choice on population.workers=1 (one core), alternating which goes first; the median of --repeats
runs is reported with the ratio onehot ÷ gather (> 1: gather is faster).
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path

import torch

from bench_workers import timed_run  # scripts/ is on sys.path when this file runs

CONFIGS = {
    "demo, 4 seeds": ["seeds=4"],
    "prieto2025/fig1a, 2 seeds": ["experiment=prieto2025/fig1a_perp_adamw", "seeds=2", "train.max_steps=300",
                                  "train.eval_every=10"],
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--max-steps", type=int, help="train.max_steps for every config (default: each config's own)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    logging.getLogger("grokbench").setLevel(logging.WARNING)
    print(f"torch {torch.__version__}, CPU, one process on one thread (population.workers=1)")
    print(f"{'config':<28} {'onehot s':>9} {'gather s':>9} {'onehot ÷ gather':>16}")
    rows = []
    for name, overrides in CONFIGS.items():
        times = {"onehot": [], "gather": []}
        for i in range(args.repeats):
            for layer in (("onehot", "gather") if i % 2 == 0 else ("gather", "onehot")):
                base = ["device=cpu", "population.workers=1", "train.plot=false", *overrides]
                if args.max_steps is not None:
                    base.append(f"train.max_steps={args.max_steps}")
                times[layer].append(timed_run([*base, f"model.first_layer={layer}"])[0])
        onehot, gather = statistics.median(times["onehot"]), statistics.median(times["gather"])
        rows.append({"config": name, "onehot_s": onehot, "gather_s": gather, "ratio": onehot / gather})
        print(f"{name:<28} {onehot:>9.1f} {gather:>9.1f} {onehot / gather:>16.2f}", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
