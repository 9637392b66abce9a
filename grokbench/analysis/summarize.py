"""`grokbench summarize SWEEP_DIR [--by k1,k2] [--format rich|csv|markdown]`: one row per group of swept values.

Per group: members, how many finished, the fraction that generalized (test accuracy reached summary.threshold) and
the fraction that grokked (generalized, and at least summary.grok_ratio times as late as train accuracy got there;
summary.parquet's columns), median and IQR of the step where test accuracy first reached 95 % (a member that never
did counts as +inf, so a median of "never" means most members never got there), and median final accuracies.
Half-finished sweeps work: `done` says how many members have their final numbers.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import List

import numpy as np
import pandas as pd

from grokbench.errors import ArgumentParser

IGNORED = ("job", "member", "seed")  # identify a member, are not what was swept


def swept(df: pd.DataFrame) -> List[str]:
    """Parameter columns (overrides and per-member hyperparameters) that take more than one value."""
    parameters = df.attrs.get("parameters", [])
    return [c for c in parameters if c in df.columns and c not in IGNORED and df[c].nunique(dropna=False) > 1]


def steps_or_inf(s: pd.Series) -> np.ndarray:
    return s.astype("Float64").fillna(math.inf).to_numpy(dtype=float)  # null = never reached = +inf


def quantile(values: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile where +inf is a value (numpy gives nan for inf − inf): any weight on +inf → inf."""
    if len(values) == 0:
        return math.nan
    v = np.sort(values)
    pos = q * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if math.isinf(v[lo]) or (hi > lo and math.isinf(v[hi])):
        return math.inf
    return float(v[lo] + (v[hi] - v[lo]) * (pos - lo))


def group_table(df: pd.DataFrame, by: List[str]) -> pd.DataFrame:
    rows = []
    groups = df.groupby(by, sort=True, dropna=False) if by else [((), df)]
    for key, g in groups:
        steps = steps_or_inf(g["step_test_95"])
        q25, q50, q75 = (quantile(steps, q) for q in (0.25, 0.5, 0.75))
        key = key if isinstance(key, tuple) else (key,)
        rows.append({
            **dict(zip(by, key)),
            "members": len(g),
            "done": int(g["finished"].sum()),
            "generalized": float(g["generalized"].mean()),
            "grokked": float(g["grokked"].mean()),
            "step_test_95_median": q50,
            "step_test_95_q25": q25,
            "step_test_95_q75": q75,
            "final_train_acc": float(g["final_train_acc"].median()),
            "final_test_acc": float(g["final_test_acc"].median()),
        })
    return pd.DataFrame(rows)


def fmt_step(x: float) -> str:
    return "never" if math.isinf(x) else ("" if math.isnan(x) else f"{x:.0f}")


def pretty(table: pd.DataFrame, by: List[str]) -> pd.DataFrame:
    """Strings for people: percentages, 'never' for steps that were not reached, IQR as a range."""
    out = table[by].astype(str)
    out["members"] = table["members"].astype(str)
    out["done"] = table["done"].astype(str)
    out["generalized"] = table["generalized"].map(lambda x: f"{x:.0%}")
    out["grokked"] = table["grokked"].map(lambda x: f"{x:.0%}")
    out["test ≥ 95 % at"] = table["step_test_95_median"].map(fmt_step)
    out["(IQR)"] = [f"{fmt_step(a)}–{fmt_step(b)}" for a, b in zip(table["step_test_95_q25"], table["step_test_95_q75"])]
    out["final train"] = table["final_train_acc"].map(lambda x: f"{x:.1%}")
    out["final test"] = table["final_test_acc"].map(lambda x: f"{x:.1%}")
    return out


def markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def main(argv) -> int:
    from grokbench.analysis.collect import collect, no_results_line, status_line

    parser = ArgumentParser(prog="grokbench summarize", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--by", help="comma-separated columns to group by (default: the swept ones)")
    parser.add_argument("--format", choices=["rich", "csv", "markdown"], default="rich")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"grokbench: error: {args.sweep_dir} is not a directory", file=sys.stderr)
        return 2
    df = collect(args.sweep_dir, write=False)  # always current, also while jobs still run
    if df.empty:
        print(no_results_line(args.sweep_dir, df), file=sys.stderr)
        return 2
    by = swept(df) if args.by is None else [c for c in args.by.split(",") if c]
    unknown = [c for c in by if c not in df.columns]
    if unknown:
        allowed = ", ".join(c for c in df.attrs["parameters"] if c not in IGNORED)
        print(f"grokbench: error: --by {','.join(unknown)} is invalid; allowed: {allowed}", file=sys.stderr)
        return 2
    table = group_table(df, by)
    if args.format == "csv":
        table.to_csv(sys.stdout, index=False)
    elif args.format == "markdown":
        print(markdown(pretty(table, by)))
    else:
        from rich.console import Console
        from rich.table import Table

        shown = pretty(table, by)
        rich_table = Table(*shown.columns, title=f"{args.sweep_dir}: {status_line(df)}")
        for row in shown.itertuples(index=False):
            rich_table.add_row(*map(str, row))
        Console(width=None if sys.stdout.isatty() else 200).print(rich_table)  # pipes, logs: no squeezed columns
    return 0
