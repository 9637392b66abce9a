"""`grokbench analyze prune RUN_DIR [--order ...]`: analyses that reload a finished run's trained population."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def prune(args) -> int:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from grokbench import store
    from grokbench.analysis.prune import ORDERS, median_table, plot, prune_curves, load_run

    run_dir = Path(args.run_dir)
    parts = []
    for cfg, table, data, model in load_run(run_dir, args.device):  # chunk by chunk for a chunked run
        if not hasattr(model, "prune_neurons"):
            print(f"grokbench: error: model={cfg.model.name} has no neurons over Z_p to prune; allowed: quadratic",
                  file=sys.stderr)
            return 2
        parts.append(prune_curves(cfg, table, data, model, orders=args.order or ORDERS))
    rank = {order: i for i, order in enumerate(args.order or ORDERS)}  # the row order of an unchunked run
    curves = pd.concat(parts, ignore_index=True).sort_values(
        ["order", "fraction", "member"], key=lambda c: c.map(rank) if c.name == "order" else c, kind="stable",
        ignore_index=True)
    table = curves.drop_duplicates("member")
    out = run_dir / "prune"
    out.mkdir(exist_ok=True)
    store.write_parquet(curves, out / "prune.parquet")
    medians = median_table(curves)
    plot(medians, out / "prune.png", f"{run_dir.name}: pruning neurons by Fourier IPR "
                                     f"(median over n={table['seed'].nunique()} seeds)")
    console = Console(width=110)
    rich_table = Table("wd", "order", "pruned", "test acc", "corrupted-train acc", "clean-train acc",
                       title=f"pruning {run_dir} (median over {table['seed'].nunique()} seeds)", title_justify="left")
    for r in medians[(medians["fraction"] * 10).round(6) % 1 == 0].to_dict("records"):  # every 10 %; all in parquet
        rich_table.add_row(f"{r['optimizer.weight_decay']:g}", r["order"], f"{r['fraction']:.0%}",
                           f"{r['test_acc']:.1%}", f"{r['train_acc_corrupted']:.1%}", f"{r['train_acc_clean']:.1%}")
    console.print(rich_table)
    console.print(f"outputs: {out}  (prune.parquet, prune.png)")
    return 0


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="grokbench analyze", description=__doc__)
    sub = parser.add_subparsers(dest="analysis", required=True)
    p = sub.add_parser("prune", help="prune neurons in order of Fourier IPR; accuracies per fraction pruned")
    p.add_argument("run_dir", help="a finished run dir (checkpoint.pt and .hydra/)")
    p.add_argument("--order", nargs="+", choices=("low_ipr", "high_ipr", "random"),
                   help="which neurons go first (default: all three)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    args = parser.parse_args(argv)
    from grokbench.store import RunDirError

    try:
        return prune(args)
    except (FileNotFoundError, ValueError, RunDirError) as err:  # RunDirError: a checkpoint holding pickled objects
        print(f"grokbench: error: {err}", file=sys.stderr)
        return 2
