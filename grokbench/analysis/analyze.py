"""`grokbench analyze prune|fourier|llc RUN_DIR ...`: analyses that reload a finished run's trained population."""
from __future__ import annotations

import sys
from pathlib import Path

from grokbench.errors import ArgumentParser, fail

DEVICES = ("cpu", "cuda", "auto")  # the values of config.Device


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


def fourier(args) -> int:
    import math

    from rich.console import Console
    from rich.table import Table

    from grokbench import store
    from grokbench.analysis.fourier import (KEY_CUTOFF, analyze, grok_step, parse_freqs, plot, run_config,
                                            with_losses)

    run_dir = Path(args.run_dir)
    freqs = None if args.freqs is None else parse_freqs(args.freqs)
    if args.top is not None and (args.top < 1 or freqs is not None):
        raise ValueError(f"--top {args.top} is invalid; allowed: an integer >= 1, without --freqs")
    table, keys = analyze(run_dir, freqs, args.device, args.top)
    table = with_losses(table, run_dir)
    store.write_parquet(table, run_dir / "fourier.parquet")
    store.write_parquet(keys, run_dir / "key_freqs.parquet")
    cfg = run_config(run_dir)
    g, counts, K = grok_step(run_dir), keys.groupby("member").size(), (cfg.task.p - 1) // 2
    rule = ("given by --freqs" if freqs else f"each member's top {args.top}" if args.top
            else f"norm ≥ {KEY_CUTOFF:g} × the largest")
    plot(table, g, run_dir / "plots" / "progress_measures.png",
         f"{run_dir.name}: {cfg.task.name} p={cfg.task.p}, {cfg.model.name}: Nanda et al. 2023's progress measures, "
         f"median over n={table['member'].nunique()} members\nkey frequencies per member: "
         f"{counts.min()}{'' if counts.min() == counts.max() else f'–{counts.max()}'} of {K} ({rule})",
         loss_name=f"{cfg.loss.name} loss", chance=math.log(cfg.task.p) if cfg.loss.name == "softmax_ce" else None)
    last = table.sort_values("step").groupby("member").tail(1).set_index("member")  # each member's own last snapshot
    steps = last["step"].unique()
    rich_table = Table("member", "seed", "n", "key frequencies (by norm)", "share of logits", "restricted (test)",
                       "excluded (train)", "train loss", "gini_embed",
                       title=f"{run_dir}: each member's final snapshot (step "
                             f"{steps.min()}{'' if len(steps) == 1 else f'–{steps.max()}'})", title_justify="left")
    for member, k in keys.groupby("member", sort=True):
        r = last.loc[member]
        shown = ",".join(map(str, k["freq"].iloc[:8])) + (",…" if len(k) > 8 else "")  # all in key_freqs.parquet
        rich_table.add_row(str(member), str(int(r["seed"])), str(len(k)), shown,
                           f"{k['frac'].sum():.0%}",
                           f"{r['restricted_loss']:.3g}", f"{r['excluded_loss']:.3g}", f"{r['train_loss']:.3g}",
                           f"{r['gini_embed']:.2f}")
    console = Console(width=130)
    console.print(rich_table)
    console.print(f"outputs: {run_dir}  (fourier.parquet, key_freqs.parquet, plots/progress_measures.png)")
    return 0


def llc(args) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from grokbench import store
    from grokbench.analysis.fourier import grok_step
    from grokbench.analysis.llc import analyze, parse_sgld, plot, require_devinterp, snapshot_steps
    from grokbench.runs import run_config

    run_dir = Path(args.run_dir)
    sgld = parse_sgld(args.lr, args.nbeta, args.localization, args.chains, args.draws, args.burnin, args.batch_size)
    device = args.device  # checked and resolved (auto) in main
    cfg = run_config(run_dir)  # a missing run dir, then a run without snapshots, fail before devinterp is imported
    snapshot_steps(run_dir)
    require_devinterp()
    with Progress(transient=True) as bar:
        task = bar.add_task("LLC (member × snapshot)", total=None)
        table = analyze(run_dir, sgld, device, progress=lambda done, total: bar.update(task, completed=done,
                                                                                             total=total))
    store.write_parquet(table, run_dir / "llc.parquet")
    g, n = grok_step(run_dir), table["member"].nunique()
    nbeta = "default_nbeta(m)" if sgld.nbeta is None else f"{sgld.nbeta:g}"
    settings = (f"ε={sgld.lr:g}, nβ={nbeta}, γ={sgld.localization:g}, {sgld.chains} chains × {sgld.draws} draws, "
                f"burn-in {sgld.burnin}, batch {sgld.batch_size}")
    plot(table, g, run_dir / "plots" / "llc.png",
         f"{run_dir.name}: {cfg.task.name} p={cfg.task.get('p', '-')}, {cfg.model.name}: local learning coefficient "
         f"on each member's train set, median over n={n} members\nSGLD (devinterp): {settings}",
         loss_name=f"{cfg.loss.name} loss")
    q = table.groupby("step").agg(llc=("llc_mean", "median"), q1=("llc_mean", lambda v: v.quantile(0.25)),
                                  q3=("llc_mean", lambda v: v.quantile(0.75)), std=("llc_std", "median"),
                                  train_acc=("train_acc", "median"), test_acc=("test_acc", "median"),
                                  train_loss=("train_loss", "median"), test_loss=("test_loss", "median"))
    rich_table = Table("step", "LLC (median)", "IQR over members", "std over chains (median)", "train acc",
                       "test acc", "train loss", "test loss",
                       title=f"{run_dir}: LLC per snapshot, median over {n} members ({settings})",
                       title_justify="left")
    for step, r in q.iterrows():
        rich_table.add_row(str(step), f"{r['llc']:.3g}", f"{r['q1']:.3g} – {r['q3']:.3g}", f"{r['std']:.2g}",
                           f"{r['train_acc']:.1%}", f"{r['test_acc']:.1%}", f"{r['train_loss']:.3g}",
                           f"{r['test_loss']:.3g}")
    console = Console(width=130)
    console.print(rich_table)
    if g is not None:
        console.print(f"test accuracy 95 %: median step {g:g}")
    failed = int((table["chains_ok"] < table["chains"]).sum())
    if failed:
        console.print(f"[yellow]{failed} estimates lost a chain to a non-finite loss (chains_ok < chains); try a "
                      f"smaller --lr[/yellow]")
    console.print(f"outputs: {run_dir}  (llc.parquet, plots/llc.png)")
    return 0


def main(argv) -> int:
    parser = ArgumentParser(prog="grokbench analyze", description=__doc__)
    sub = parser.add_subparsers(dest="analysis", required=True, metavar="{prune,fourier,llc}")
    p = sub.add_parser("prune", help="prune neurons in order of Fourier IPR; accuracies per fraction pruned")
    p.add_argument("run_dir", help="a finished run dir (checkpoint.pt and .hydra/)")
    p.add_argument("--order", nargs="+", choices=("low_ipr", "high_ipr", "random"),
                   help="which neurons go first (default: all three)")
    p.add_argument("--device", default="cpu", choices=DEVICES, help="cpu | cuda | auto (default cpu)")
    f = sub.add_parser("fourier", help="Nanda et al. 2023's progress measures from weight snapshots "
                                       "(train.snapshots=N): key frequencies, restricted/excluded loss, Gini")
    f.add_argument("run_dir", help="a finished run dir of modadd or modsub trained with train.snapshots=N")
    f.add_argument("--freqs", help="key frequencies k1,k2,... for every member (default: from the final snapshot)")
    f.add_argument("--top", type=int, help="each member's N frequencies of largest norm as its key frequencies")
    f.add_argument("--device", default="cpu", choices=DEVICES, help="cpu | cuda | auto (default cpu)")
    from grokbench.analysis import llc as L  # the SGLD defaults; devinterp is imported only when the command runs

    c = sub.add_parser("llc", help="local learning coefficient (Lau et al.) of each member at each weight snapshot "
                                   "(train.snapshots=N), devinterp's SGLD on the member's own train set "
                                   "(pip install 'grokbench[llc]')")
    c.add_argument("run_dir", help="a finished run dir trained with train.snapshots=N")
    c.add_argument("--lr", default=str(L.LR), help=f"SGLD step size ε (default {L.LR:g})")
    c.add_argument("--nbeta", default=str(L.NBETA),
                   help=f"inverse temperature nβ, or auto: devinterp's default_nbeta(batch) (default {L.NBETA:g})")
    c.add_argument("--localization", default=str(L.LOCALIZATION),
                   help=f"γ, the pull towards the snapshot's weights (default {L.LOCALIZATION:g})")
    c.add_argument("--chains", default=str(L.CHAINS), help=f"SGLD chains per estimate, >= 2 (default {L.CHAINS})")
    c.add_argument("--draws", default=str(L.DRAWS), help=f"draws per chain (default {L.DRAWS})")
    c.add_argument("--burnin", default=str(L.BURNIN), help=f"burn-in steps per chain (default {L.BURNIN})")
    c.add_argument("--batch-size", default=str(L.BATCH_SIZE),
                   help=f"train samples per SGLD step; a smaller train set samples full batch (default {L.BATCH_SIZE})")
    c.add_argument("--device", default="cpu", choices=DEVICES, help="cpu | cuda | auto (default cpu)")
    args = parser.parse_args(argv)
    from grokbench.config import ConfigError
    from grokbench.store import RunDirError
    from grokbench.devices import check_device, resolve_device

    try:
        check_device(args.device)
    except ConfigError as err:  # cuda on a machine without a GPU
        return fail(f"--device={args.device} is invalid; allowed: {err.allowed}")
    args.device = resolve_device(args.device).type  # auto: cuda where there is one, else cpu

    try:
        return {"fourier": fourier, "llc": llc, "prune": prune}[args.analysis](args)
    except (FileNotFoundError, ValueError, RunDirError) as err:  # RunDirError: a checkpoint holding pickled objects
        print(f"grokbench: error: {err}", file=sys.stderr)
        return 2
