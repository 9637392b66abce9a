"""Neuron pruning by Fourier IPR (Doshi et al. 2024, sec. 5, Fig. 5): zero the neurons of a trained network in order of
their IPR and watch what goes first. Removing low-IPR (memorising) neurons first erases the corrupted train labels
while clean test accuracy holds; removing high-IPR (generalising) neurons first destroys test accuracy.

`grokbench analyze prune RUN_DIR --order low_ipr high_ipr random` → RUN_DIR/prune/{prune.parquet, prune.png}.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from grokbench.metrics import evaluate
from grokbench.metrics.ipr import neuron_ipr
from grokbench import store
from grokbench.runs import open_run, trained_parts
from grokbench.seeding import generator
from grokbench.devices import resolve_device

ORDERS = ("low_ipr", "high_ipr", "random")
FRACTIONS = tuple(np.round(np.arange(0, 0.91, 0.05), 2))  # fraction of neurons pruned
MEASURES = ("test_acc", "train_acc_corrupted", "train_acc_clean", "train_acc")
HPARAMS = ["optimizer.lr", "optimizer.weight_decay"]


def load_run(run_dir: Path, device: str = "cpu"):
    """A finished run's trained members: yields (cfg, table, data, model) once per part it trained in (chunk by chunk
    for a chunked run), each built as training built it (grokbench/runs.py)."""
    run = open_run(run_dir)
    for rows, data, model in trained_parts(run, resolve_device(device)):
        yield run.cfg, rows, data, model


def neuron_order(model, table: pd.DataFrame, order: str) -> torch.Tensor:
    """(R, N) neuron indices, the first to prune first, per member."""
    scores = neuron_ipr(model)  # (R, N)
    if order == "random":  # per-member stream: the same member gets the same order in any population
        perms = [torch.randperm(scores.shape[1], generator=generator(int(s), "prune/random")) for s in table["seed"]]
        return torch.stack(perms).to(scores.device)
    return scores.argsort(dim=1, descending=order == "high_ipr")


@torch.no_grad()
def prune_curves(cfg, table, data, model, orders=ORDERS, fractions=FRACTIONS) -> pd.DataFrame:
    """One row per (order, fraction, member): accuracies after zeroing that fraction of neurons."""
    trained = {k: v.clone() for k, v in model.state_dict().items() if torch.is_tensor(v)}
    R, rows = len(table), []
    for order in orders:
        model.load_state_dict(trained, strict=False)  # rank on the trained weights, not the last order's pruned ones
        ranked = neuron_order(model, table, order)  # (R, N)
        N = ranked.shape[1]
        for fraction in fractions:
            k = int(round(fraction * N))
            keep = torch.ones(R, N, dtype=torch.bool, device=ranked.device)
            keep.scatter_(1, ranked[:, :k], False)  # ALGO LOGIC: drop the first k neurons of this order
            model.load_state_dict(trained, strict=False)
            model.prune_neurons(keep)
            values = evaluate(model, data, cfg.loss)
            frame = table.copy()
            frame["order"], frame["fraction"], frame["pruned"] = order, float(fraction), k
            for m in MEASURES:
                frame[m] = values[m].cpu().numpy()
            rows.append(frame)
    model.load_state_dict(trained, strict=False)
    return pd.concat(rows, ignore_index=True)


def median_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Median over members (seeds) per hyperparameter group, order and fraction."""
    keys = [*HPARAMS, "order", "fraction"]
    return curves.groupby(keys, sort=False)[list(MEASURES)].median().reset_index()


def plot(medians: pd.DataFrame, path: Path, title: str) -> None:
    """One row of panels per hyperparameter group (e.g. weight decay): test and corrupted-train accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(medians.groupby(HPARAMS, sort=False))
    fig, axes = plt.subplots(len(groups), 2, figsize=(10, 3.2 * len(groups) + 0.6), sharex=True, sharey=True,
                             squeeze=False)
    colors = dict(zip(ORDERS, ("tab:blue", "tab:red", "tab:gray")))
    for row, ((lr, wd), g) in zip(axes, groups):
        for order, curve in g.groupby("order", sort=False):
            for ax, measure in zip(row, ("test_acc", "train_acc_corrupted")):
                ax.plot(curve["fraction"], curve[measure], marker="o", ms=3, color=colors[order],
                        label=f"{order.replace('_', '-')} first")
        for ax, name in zip(row, ("clean test accuracy", "train accuracy on corrupted labels")):
            ax.set(title=f"{name} (lr {lr:g}, wd {wd:g})", ylim=(-0.02, 1.02))
            ax.grid(alpha=0.3)
        row[0].set_ylabel("median over seeds")
    for ax in axes[-1]:
        ax.set_xlabel("fraction of neurons pruned")
    axes[0][1].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    store.save_figure(fig, path)
