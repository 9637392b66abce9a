"""The one-screen summary printed at the end of a run."""
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from grokbench.summary_schema import SummaryConfig

MAX_ROWS = 16


def fmt_step(value) -> str:
    # rounded as `summarize` and curves.png round a median step (967.5 → 968), so the three show one number
    return "never" if pd.isna(value) else f"{value:.0f}"


SHORT = {"optimizer.lr": "lr", "optimizer.weight_decay": "wd"}


def print_summary(summary: pd.DataFrame, out_dir: Path, console: Console = None,
                  settings: SummaryConfig = SummaryConfig()) -> None:
    from grokbench.population import GRID_KEYS

    console = console or Console(width=110)
    keys = [c for c in summary.columns if c in GRID_KEYS]  # lr, wd and every population.grid key, in member order
    table = Table("member", "seed", *(SHORT.get(k, k.partition(".")[2]) for k in keys), "train 100 % at",
                  "test 95 % at", "final train", "final test", "phase", title=f"{len(summary)} members",
                  title_justify="left")
    for r in summary.head(MAX_ROWS).to_dict("records"):
        note = " [red](diverged)[/red]" if r["diverged"] else ""
        table.add_row(str(r["member"]), str(r["seed"]), *(f"{r[k]:g}" for k in keys),
                      fmt_step(r["step_train_100"]), fmt_step(r["step_test_95"]) + note,
                      f"{r['final_train_acc']:.1%}", f"{r['final_test_acc']:.1%}",
                      "-" if pd.isna(r["phase"]) else r["phase"])
    if len(summary) > MAX_ROWS:
        table.caption = f"… {len(summary) - MAX_ROWS} more in summary.parquet"
    console.print(table)
    generalized, grokked, n = int(summary["generalized"].sum()), int(summary["grokked"].sum()), len(summary)
    line = (f"generalized (test ≥ {settings.threshold:.0%}): {generalized}/{n} members; grokked (test got there "
            f"≥ {settings.grok_ratio:g}× as late as train): {grokked}/{n}")
    if grokked:
        g = summary[summary["grokked"]]
        line += (f"; median: train 100 % at step {fmt_step(g['step_train_100'].median())}, "
                 f"test 95 % at step {fmt_step(g['step_test_95'].median())}")
    if summary["diverged"].any():
        line += f"; [red]{int(summary['diverged'].sum())} diverged (NaN/Inf loss; frozen at that step)[/red]"
    console.print(line)
    checkpoints = "chunks/<k>/checkpoint.pt" if (Path(out_dir) / "chunks" / "0").exists() else "checkpoint.pt"
    console.print(f"outputs: {out_dir}  (metrics.parquet, summary.parquet, {checkpoints}, .hydra/)")
