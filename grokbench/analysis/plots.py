"""`grokbench plot DIR [--out OUT] [--x KEY --y KEY]`: PNGs of a sweep (or of one run) into DIR/plots.

- curves.png: train (dashed) and test (solid) accuracy and loss against step (log x), median over the members of each
  group of swept values with the interquartile band (a group's members are its seeds), one colour per group, the
  group's grokking step (median step_test_95) dotted. `grokbench run` draws the same picture for its run.
- heatmap_step_test_95.png: median step where test accuracy first reached 95 % over two swept axes (never = +inf,
  drawn grey, labelled "never"); heatmap_phase.png: the most common `phase` per cell, when the tables have that column.
- with --x alone, steps_test_95.png: that median step against x with its 25–75 % band (e.g. against train fraction).
A single run with a population.grid works as a one-job sweep: its grid keys are member columns, so
`grokbench plot RUN_DIR --x task.train_fraction --y optimizer.weight_decay` draws a phase diagram of one job.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import List

import numpy as np
import pandas as pd

from grokbench import store
from grokbench.errors import ArgumentParser

MEMBER_LINES = 8  # one thin line per member up to this many members (one group); more would hide the median


def load_curves(sweep_dir: Path, sweep: pd.DataFrame) -> pd.DataFrame:
    """Every job's metrics.parquet with the job's override columns added (one row per member × eval step)."""
    from grokbench.analysis.collect import job_dirs, overrides

    frames = []
    for job in job_dirs(sweep_dir):
        if (job / store.METRICS_FILE).exists():
            m = pd.read_parquet(job / store.METRICS_FILE)
            extra = {k: v for k, v in overrides(job).items() if k not in m.columns}
            frames.append(m.assign(job=str(job.relative_to(sweep_dir)), **extra))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def label(by: List[str], key) -> str:
    key = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{k.rpartition('.')[2]}={v:g}" if isinstance(v, float) else f"{k.rpartition('.')[2]}={v}"
                     for k, v in zip(by, key)) or "all members"


def plot_curves(curves: pd.DataFrame, by: List[str], path: Path, title: str, members: pd.DataFrame = None) -> None:
    """Accuracy (train dashed, test solid) and loss against step, log x: per group of `by` values the median over its
    members with the interquartile band; one thin line per member when there is one group of at most
    MEMBER_LINES members. `members` (summary or sweep rows, with `step_test_95`): each group's grokking step (median
    step_test_95, never = +inf) is marked by a dotted line."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogFormatter

    from grokbench.analysis.summarize import quantile, steps_or_inf

    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    groups = list(curves.groupby(by, sort=True) if by else [((), curves)])
    colours = plt.get_cmap("tab10" if len(groups) <= 10 else "viridis")
    curves = curves[curves["step"] > 0]  # log x: step 0 has no place
    for i, (key, g) in enumerate(groups):
        colour = colours(i % 10 if len(groups) <= 10 else i / max(len(groups) - 1, 1))
        g = g[g["step"] > 0]
        n = len(g[["job", "member"]].drop_duplicates())
        grok = None
        if members is not None and "step_test_95" in members:
            rows = members if not by else members[(members[by] == pd.Series(key if isinstance(key, tuple) else (key,),
                                                                              index=by)).all(axis=1)]
            grok = quantile(steps_or_inf(rows["step_test_95"]), 0.5) if len(rows) else None
        name = f"{label(by, key)} (n={n})"
        if grok is not None:
            name += f", test ≥ 95 % at step {grok:.0f}" if math.isfinite(grok) else ", median never reaches 95 % test"
        for ax, pairs in ((acc_ax, (("test_acc", "-"), ("train_acc", "--"))),
                          (loss_ax, (("test_loss", "-"), ("train_loss", "--")))):
            for metric, style in pairs:
                q = g.groupby("step")[metric].quantile([0.25, 0.5, 0.75]).unstack()  # over members
                if len(groups) == 1 and n <= MEMBER_LINES:
                    for _, m in g.groupby(["job", "member"]):
                        ax.plot(m["step"], m[metric], style, color=colour, lw=0.6, alpha=0.35)
                ax.plot(q.index, q[0.5], style, color=colour, lw=1.8,
                        label=name if metric == "test_acc" else None)
                ax.fill_between(q.index, q[0.25], q[0.75], color=colour, lw=0,
                                alpha=0.15 if metric.startswith("test") else 0.07)
            if grok is not None and math.isfinite(grok):
                ax.axvline(grok, color=colour, ls=":", lw=1.2)
    for ax in (acc_ax, loss_ax):
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3, which="both", lw=0.5)
    acc_ax.set_ylim(-0.02, 1.02)
    acc_ax.set_ylabel("accuracy")
    loss_ax.set_yscale("log")
    for axis_ticks in (loss_ax.yaxis.set_major_formatter, loss_ax.yaxis.set_minor_formatter):
        axis_ticks(LogFormatter(labelOnlyBase=False))  # 2.4, not 2.4×10⁰; still thins labels over many decades
    loss_ax.set_ylabel("loss")
    fig.suptitle(title)
    handles, labels = acc_ax.get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="k", ls="-"), plt.Line2D([], [], color="k", ls="--"),
                plt.Line2D([], [], color="k", ls=":")]
    labels += ["test (median, 25–75 % band)", "train", "grokking step (median step_test_95)"]
    if len(groups) == 1 and n <= MEMBER_LINES:
        handles.append(plt.Line2D([], [], color="k", lw=0.6, alpha=0.35))
        labels.append("one member")
    acc_ax.legend(handles, labels, fontsize=8, loc="best")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_run(run_dir: Path, summary: pd.DataFrame) -> Path:
    """The end-of-run picture `grokbench run` draws: run_dir/plots/curves.png (train.plot=false: none)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed (cluster nodes, CI)
    metrics = pd.read_parquet(run_dir / store.METRICS_FILE).assign(job=".")
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    path = out / "curves.png"
    plot_curves(metrics, [], path, f"{run_dir.name}: {len(summary)} members", summary)
    return path


def plot_heatmap(sweep: pd.DataFrame, x: str, y: str, column: str, path: Path, title: str) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    from grokbench.analysis.summarize import quantile, steps_or_inf

    xs, ys = sorted(sweep[x].dropna().unique()), sorted(sweep[y].dropna().unique())
    fig, ax = plt.subplots(figsize=(max(5.5, 2.5 + 1.3 * len(xs)), max(3.5, 1.6 + 0.8 * len(ys))),
                           constrained_layout=True)
    grid = np.full((len(ys), len(xs)), math.nan)
    text = [[""] * len(xs) for _ in ys]
    categorical = column == "phase"
    names = sorted(sweep[column].dropna().astype(str).unique()) if categorical else []
    for (xv, yv), g in sweep.groupby([x, y]):
        i, j = ys.index(yv), xs.index(xv)
        done = "" if g["finished"].all() else f"\n{int(g['finished'].sum())}/{len(g)} finished"
        if categorical:
            mode = g[column].dropna().astype(str).mode()
            if len(mode):
                grid[i, j], text[i][j] = names.index(mode.iloc[0]), f"{mode.iloc[0]}\n{len(g)} members{done}"
            else:
                text[i][j] = f"no {column}{done}"  # not yet, or not defined there (phase at ξ = 0)
        else:
            median = quantile(steps_or_inf(g[column]), 0.5)
            grid[i, j] = median
            text[i][j] = (f"{'never' if math.isinf(median) else f'{median:.0f}'}\n{g['generalized'].mean():.0%} "
                          f"generalized, {g['grokked'].mean():.0%} grokked{done}")
    finite = grid[np.isfinite(grid)]
    ax.set_facecolor("0.8")  # never (+inf) and empty cells show the grey background
    if categorical:
        image = ax.imshow(grid, cmap=plt.get_cmap("tab10", max(len(names), 1)), vmin=-0.5, vmax=len(names) - 0.5,
                          origin="lower", aspect="auto")
    else:
        shown = np.where(np.isfinite(grid), grid, np.nan)
        lo, hi = (max(finite.min(), 1), max(finite.max(), 1)) if len(finite) else (1, 10)
        lo, hi = (lo / 1.5, hi * 1.5) if lo == hi else (lo, hi)  # one value: still a readable colour bar
        image = ax.imshow(shown, cmap="viridis_r", norm=LogNorm(lo, hi), origin="lower", aspect="auto")
        if len(finite):
            bar = fig.colorbar(image, ax=ax, label=f"median {column} (log)")
            bar.ax.yaxis.set_major_formatter("{x:.0f}")
            bar.ax.yaxis.set_minor_formatter("{x:.0f}")
    for i in range(len(ys)):
        for j in range(len(xs)):
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8,
                    color="k" if categorical or not np.isfinite(grid[i, j]) else "w")
    ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, float) else str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, float) else str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_steps(sweep: pd.DataFrame, x: str, by: List[str], column: str, path: Path, title: str) -> None:
    """Median `column` (a step count) against x with the 25–75 % band over the members of each point, one line per
    group of the other swept values; members that never reached it count as +inf (drawn on the "never" line at the
    top), and each point is labelled reached/members."""
    import matplotlib.pyplot as plt

    from grokbench.analysis.summarize import quantile, steps_or_inf

    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    finite = steps_or_inf(sweep[column])
    finite = finite[np.isfinite(finite)]
    top = (finite.max() if len(finite) else 10) * 2.0  # where "never" is drawn, above every finite step
    groups = list(sweep.groupby(by, sort=True) if by else [((), sweep)])
    colours = plt.get_cmap("tab10")
    for i, (key, g) in enumerate(groups):
        xs, q = [], []
        for xv, cell in g.groupby(x, sort=True):
            steps = steps_or_inf(cell[column])
            xs.append(xv)
            q.append([quantile(steps, k) for k in (0.25, 0.5, 0.75)] + [int(np.isfinite(steps).sum()), len(steps)])
        q = np.array(q, dtype=float)
        shown = np.where(np.isfinite(q[:, :3]), q[:, :3], top)  # +inf → the "never" row at the top
        colour, reached = colours(i % 10), np.isfinite(q[:, 1])
        ax.fill_between(xs, shown[:, 0], shown[:, 2], color=colour, alpha=0.2, lw=0)
        ax.plot(xs, shown[:, 1], "--", color=colour, lw=0.8, alpha=0.6)  # links the reached points to the never ones
        ax.plot(np.array(xs)[reached], shown[reached, 1], "o", color=colour, label=label(by, key) if by else None)
        ax.plot(np.array(xs)[~reached], shown[~reached, 1], "x", color=colour, ms=9, mew=2)
        for xv, med, hit, n in zip(xs, shown[:, 1], q[:, 3], q[:, 4]):
            ax.annotate(f"{hit:.0f}/{n:.0f}", (xv, med), textcoords="offset points", xytext=(0, 8), ha="center",
                        fontsize=8, color=colour)
    ax.axhline(top, color="0.5", ls=":", lw=1)
    ax.set_yscale("log")
    low = (finite.min() if len(finite) else 1) / 1.5
    ax.set_ylim(low, top * 1.5)
    nice = [m * 10**k for k in range(0, 8) for m in (1, 2, 3, 5)]  # 1, 2, 3, 5, 10, 20, ... steps
    ticks = [t for t in nice if low <= t < top / 1.3] + [top]  # "never" gets its own row, clear of the steps
    ax.set_yticks(ticks, [f"{t:.0f}" for t in ticks[:-1]] + ["never"])
    ax.yaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xticks(sorted(sweep[x].dropna().unique()))
    ax.set_xlabel(x)
    ax.set_ylabel(f"{column}: median, 25–75 % band")
    ax.set_title(f"{title}\nlabels: members that reached it / members; × = median never reached", fontsize=9)
    ax.grid(alpha=0.3, which="major", lw=0.5)
    if by:
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv) -> int:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed (cluster login nodes, CI)
    from grokbench.analysis.collect import collect, no_results_line
    from grokbench.analysis.summarize import swept

    parser = ArgumentParser(prog="grokbench plot", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a sweep dir or a single run dir")
    parser.add_argument("--out", type=Path, help="where the PNGs go (default: DIR/plots)")
    parser.add_argument("--by", help="comma-separated columns that make the curve groups (default: the swept ones)")
    parser.add_argument("--x", help="heatmap x axis (default: the first swept column); alone: steps to 95 %% test "
                                    "against x (one line per group of the other swept values)")
    parser.add_argument("--y", help="heatmap y axis (default: the second swept column)")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        print(f"grokbench: error: {args.dir} is not a directory", file=sys.stderr)
        return 2
    sweep = collect(args.dir, write=False)
    if sweep.empty:
        print(no_results_line(args.dir, sweep), file=sys.stderr)
        return 2
    axes = swept(sweep)
    by = axes if args.by is None else [c for c in args.by.split(",") if c]
    steps_plot = args.x is not None and args.y is None  # --x alone: steps-to-threshold against x
    x, y = args.x or (axes[0] if axes else None), args.y or (axes[1] if len(axes) > 1 and not steps_plot else None)
    for key, value in (("--by", ",".join(by)), ("--x", x), ("--y", y)):
        bad = [c for c in (value or "").split(",") if c and c not in sweep.columns]
        if bad:
            allowed = ", ".join(sweep.attrs["parameters"])
            print(f"grokbench: error: {key} {','.join(bad)} is invalid; allowed: {allowed}", file=sys.stderr)
            return 2
    out = args.out or args.dir / "plots"
    out.mkdir(parents=True, exist_ok=True)
    a = sweep.attrs
    title = f"{args.dir.resolve().name}: {len(sweep)} members, {a['finished']}/{a['jobs']} jobs finished"
    written = []
    plot_curves(load_curves(args.dir, sweep), by, out / "curves.png", title, sweep)
    written.append(out / "curves.png")
    if steps_plot:
        others = [c for c in by if c != x]
        plot_steps(sweep, x, others, "step_test_95", out / "steps_test_95.png", title)
        written.append(out / "steps_test_95.png")
    elif x is not None and y is not None and x != y:
        for column in ("step_test_95", "phase"):
            if column in sweep.columns and (column != "phase" or sweep[column].notna().any()):  # phase: null at ξ = 0
                what = "most common phase" if column == "phase" else f"median {column} (grey: never)"
                plot_heatmap(sweep, x, y, column, out / f"heatmap_{column}.png", f"{what}\n{title}")
                written.append(out / f"heatmap_{column}.png")
    else:
        print("no heatmap: it needs two swept columns (or --x and --y)")
    print("\n".join(map(str, written)))
    return 0
