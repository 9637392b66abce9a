"""Accuracy timelines of a population: median over members and the 20-80 % band, train and test, log-step axis
(the presentation of Xu et al. 2024, Fig. 1).

    python scripts/plot_timelines.py RUN_DIR [RUN_DIR ...] [--out PATH]   (default: first RUN_DIR/timelines.png)
"""
import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

BAND = (0.2, 0.8)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    fig, axes = plt.subplots(1, len(args.run_dirs), figsize=(5.5 * len(args.run_dirs), 4), squeeze=False)
    for ax, run_dir in zip(axes[0], args.run_dirs):
        metrics = pd.read_parquet(run_dir / "metrics.parquet")
        metrics = metrics[metrics["step"] > 0]  # log axis
        for metric, color in (("train_acc", "tab:blue"), ("test_acc", "tab:red")):
            by_step = metrics.groupby("step")[metric]
            lo, med, hi = by_step.quantile(BAND[0]), by_step.median(), by_step.quantile(BAND[1])
            ax.plot(med.index, med, color=color, label=f"{metric.replace('_acc', '')} (median)")
            ax.fill_between(med.index, lo, hi, color=color, alpha=0.2, lw=0)
        ax.set(xscale="log", xlabel="step", ylabel="accuracy", ylim=(0.4, 1.02),
               title=f"{run_dir.name}: {metrics['member'].nunique()} members, 20-80 % band")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out = args.out or args.run_dirs[0] / "timelines.png"
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
