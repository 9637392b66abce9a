"""Draw the Doshi et al. (2024, Fig. 3) phase diagram from a finished multirun: every job's summary.parquet under
SWEEP_DIR, one cell per (ξ = task.corruption, weight decay), colored by the most common phase among its members.

    python scripts/plot_phase_diagram.py SWEEP_DIR [--out PATH]     (default: SWEEP_DIR/phase_diagram.png)

ξ comes from the config each job trained (grokbench/runs.py; the swept task.corruption); the weight decay from the
summary's optimizer.weight_decay column, so the weight decay may be swept as Hydra jobs or as population members.
The phase is not defined at ξ = 0 (summary.parquet leaves it null there), so ξ = 0 jobs draw no cells.
"""
import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from grokbench.analysis.collect import job_dirs  # noqa: E402
from grokbench.metrics.phases import PHASES  # noqa: E402
from grokbench.runs import run_config  # noqa: E402

COLORS = {"coexistence": "#4c72b0", "partial_inversion": "#55a868", "full_inversion": "#8fd175",
          "memorization": "#dd8452", "forgetting": "#c44e52", "diverged": "#333333"}


def load(sweep_dir: Path) -> pd.DataFrame:
    frames = []
    for job in job_dirs(sweep_dir):  # a job's own summary, not its chunks' (population.chunk / workers)
        if not (job / "summary.parquet").exists():
            continue
        frame = pd.read_parquet(job / "summary.parquet")
        if "task.corruption" not in frame:  # a job axis; a population.grid over ξ is a column already
            frame["task.corruption"] = float(run_config(job).task.corruption)  # the config the job trained
        frames.append(frame)
    if not frames:
        raise FileNotFoundError(f"no summary.parquet under {sweep_dir}")
    members = pd.concat(frames, ignore_index=True).dropna(subset=["phase"])  # ξ = 0: no phase
    if members.empty:
        raise FileNotFoundError(f"no member with a phase under {sweep_dir} (every job has ξ = 0?)")
    return members


def cells(members: pd.DataFrame) -> pd.DataFrame:
    """(ξ, wd) → the most common phase of its members (ties: the earlier phase in PHASES) and how many agree."""
    order = {p: i for i, p in enumerate((*PHASES, "diverged"))}

    def mode(phases: pd.Series) -> pd.Series:
        counts = phases.value_counts()
        best = min(counts[counts == counts.max()].index, key=order.get)
        return pd.Series({"phase": best, "agree": counts[best] / len(phases)})

    return members.groupby(["task.corruption", "optimizer.weight_decay"])["phase"].apply(mode).unstack().reset_index()


def draw(table: pd.DataFrame, path: Path) -> None:
    names = list(COLORS)
    grid = table.pivot(index="optimizer.weight_decay", columns="task.corruption", values="phase")
    codes = grid.apply(lambda col: col.map(names.index))
    fig, ax = plt.subplots(figsize=(1.0 * grid.shape[1] + 3, 0.6 * grid.shape[0] + 1.5))
    ax.imshow(codes.to_numpy(dtype=float), cmap=ListedColormap(list(COLORS.values())), vmin=-0.5,
              vmax=len(names) - 0.5, origin="lower", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [f"{x:g}" for x in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{y:g}" for y in grid.index])
    ax.set(xlabel="corrupted fraction ξ", ylabel="weight decay", title="phase (most common over members)")
    present = [n for n in names if (grid == n).any().any()]
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[n]) for n in present]
    ax.legend(handles, [n.replace("_", " ") for n in present], loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        table = cells(load(args.sweep_dir))
    except FileNotFoundError as err:
        print(f"plot_phase_diagram: error: {err}", file=sys.stderr)
        return 2
    out = args.out or args.sweep_dir / "phase_diagram.png"
    draw(table, out)
    print(table.to_string(index=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
