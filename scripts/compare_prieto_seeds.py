"""Seed distributions of one experiment from two codes: the authors' Prieto et al. script and a grokbench run.

    python scripts/compare_prieto_seeds.py --theirs 'RUNS/seed*/loggs/*/metrics.csv' --ours RUN_DIR --at 400 --by 490

Their metrics.csv has one row per (epoch/10, split, metric); their row for "epoch" E is logged after 10·E + 1
optimizer steps, ours at step s after s steps. For each code: test accuracy at --at (median, quartiles, min-max),
how many seeds reach 95 % by --at and by --by, and the median step to 95 %; then a two-sided permutation test of the
difference in median test accuracy at --at (the seeds' labels shuffled between the codes).
"""
from __future__ import annotations

import argparse
import glob

import numpy as np
import pandas as pd

THRESHOLD = 0.95


def theirs(patterns) -> pd.DataFrame:
    """step, test_acc, seed per logged row of each of their runs."""
    frames = []
    for path in sorted(p for pattern in patterns for p in glob.glob(pattern)):
        log = pd.read_csv(path)
        acc = log[(log["input_type"] == "test") & (log["metric_name"] == "accuracy")]
        seed = int(path.split("seed-")[-1].split("/")[0])
        frames.append(pd.DataFrame({"step": acc["epoch"] * 10, "test_acc": acc["value"], "seed": seed}))
    if not frames:
        raise SystemExit(f"no metrics.csv matches {patterns}")
    return pd.concat(frames, ignore_index=True)


def ours(run_dir: str) -> pd.DataFrame:
    metrics = pd.read_parquet(f"{run_dir}/metrics.parquet", columns=["step", "member", "test_acc"])
    return metrics.rename(columns={"member": "seed"})


def per_seed(curves: pd.DataFrame, at: int) -> pd.DataFrame:
    """Test accuracy at the last logged step <= at, and the first logged step with test >= 95 % (NaN: never)."""
    rows = []
    for seed, c in curves.sort_values("step").groupby("seed"):
        reached = c.loc[c["test_acc"] >= THRESHOLD, "step"]
        rows.append({"seed": seed, "test_at": c.loc[c["step"] <= at, "test_acc"].iloc[-1],
                     "step_95": reached.iloc[0] if len(reached) else np.nan})
    return pd.DataFrame(rows)


def describe(name: str, seeds: pd.DataFrame, at: int, by: int) -> str:
    acc, step = seeds["test_at"], seeds["step_95"]
    q1, med, q3 = acc.quantile([0.25, 0.5, 0.75])
    return (f"{name}: n = {len(seeds)}; test at {at}: median {med:.3f} [IQR {q1:.3f}-{q3:.3f}, min {acc.min():.3f}, "
            f"max {acc.max():.3f}]; >= 95 % by {at}: {int((step <= at).sum())}/{len(seeds)}, by {by}: "
            f"{int((step <= by).sum())}/{len(seeds)}; median step to 95 %: "
            f"{step.fillna(np.inf).median():g} (never within the run: {int(step.isna().sum())})")


def permutation_p(a: np.ndarray, b: np.ndarray, draws: int = 20000, seed: int = 0) -> float:
    """Two-sided p-value of |median(a) - median(b)| under random relabelling of the pooled seeds."""
    rng = np.random.default_rng(seed)
    pooled, observed = np.concatenate([a, b]), abs(np.median(a) - np.median(b))
    hits = 0
    for _ in range(draws):
        rng.shuffle(pooled)
        hits += abs(np.median(pooled[: len(a)]) - np.median(pooled[len(a):])) >= observed
    return (hits + 1) / (draws + 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--theirs", required=True, nargs="+", help="globs of the authors' metrics.csv files, one per seed")
    ap.add_argument("--ours", required=True, help="a grokbench run dir (one member per seed)")
    ap.add_argument("--at", type=int, default=400)
    ap.add_argument("--by", type=int, default=490)
    args = ap.parse_args()
    a, b = per_seed(theirs(args.theirs), args.at), per_seed(ours(args.ours), args.at)
    print(describe("authors' code", a, args.at, args.by))
    print(describe("grokbench    ", b, args.at, args.by))
    p = permutation_p(a["test_at"].to_numpy(), b["test_at"].to_numpy())
    print(f"difference of the medians at {args.at}: {np.median(b['test_at']) - np.median(a['test_at']):+.3f} "
          f"(grokbench - authors), permutation p = {p:.3f}")


if __name__ == "__main__":
    main()
