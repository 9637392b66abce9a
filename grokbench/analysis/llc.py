"""The local learning coefficient (LLC, Lau et al. 2023, "Quantifying degeneracy in singular models via the learning
coefficient") of each member at each weight snapshot (train.snapshots=N), estimated with devinterp's SGLD.

    λ̂(w*) = nβ · (E_w[L_n(w)] − L_n(w*))

E_w over SGLD draws from the tempered posterior localised at w*: Δw = −ε/2 (nβ ∇L_m(w) + γ (w − w*)) + N(0, ε),
L_m the loss on a batch of m of the member's own train samples. devinterp's `llc()` runs the chains; its
`compute_llc` averages the sampled loss over every step of a chain (burn-in included, as its reference implementation
does) and subtracts its init_loss, the loss at w* on `num_init_loss_batches` batches drawn as the chains draw them.

Each member's LLC is measured on what it trained on: its own train set and the loss it trained with (run.data(k),
losses.per_sample_loss of run.config.loss, averaged), at its own snapshot weights (run.model(k, step)). The module is
kept in eval mode: L_n is the loss metrics.parquet reports, without dropout's noise (training's regulariser).

devinterp is text-first: a dataset is rows of "input_ids" and a loss maps (model, input_ids (B, T)) to (B, T − 1). A
sample i of the member's train set is the row [i, y_i]; the loss looks up x_train[i] and scores y_i, so T − 1 = 1 and
devinterp's per-token mean is the per-sample mean. The optional extra: pip install 'grokbench[llc]'.
"""
from __future__ import annotations

import functools
import math
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pandas as pd
import torch

from grokbench import store
from grokbench.threads import one_thread_per_member

# ---------------------------------------------------------------------------------------------- SGLD settings
# Defaults: devinterp's examples/grokking.ipynb (modular addition p=53, an MLP): its hyperparameter cell after its ε–nβ
# sweep with EpsilonBetaAnalyzer, the settings of its LLC estimate at every checkpoint.
LR = 3e-3  # ε, SGLD step size: grokking.ipynb `lr = 3e-3` (its sweep: the LLC flattens in ε for ε > 1e-3)
NBETA = 2.0  # nβ, inverse temperature: grokking.ipynb `nbeta = 2.0` (LLC / nβ ~flat for nβ < 100); "auto" gives
#              devinterp.utils.default_nbeta(batch) = m / log m, the SGLD docstring's general recommendation
LOCALIZATION = 5.0  # γ, pull towards w*: grokking.ipynb `gamma = 5` (also its estimate_llc_given_model default)
CHAINS = 2  # grokking.ipynb `num_chains = 2` (its per-checkpoint sweep then runs 1); llc_std is over chains: >= 2
DRAWS = 500  # grokking.ipynb `num_draws = 500` ("the loss trace has well flattened out by then")
BURNIN = 0  # grokking.ipynb: no burn-in (estimate_llc_given_model's num_burnin_steps=0)
BATCH_SIZE = 128  # grokking.ipynb: the sampling DataLoader's batch_size=params.batch_size=128; a member with fewer
#                   train samples samples full batch (as training with train.batch_size does)
INIT_SEED = 100  # devinterp's sample() default: chain c's noise and batches are seeded init_seed + c


@dataclass(frozen=True)
class Sgld:
    lr: float = LR
    nbeta: Optional[float] = NBETA  # None: devinterp's default_nbeta of the batch size
    localization: float = LOCALIZATION
    chains: int = CHAINS
    draws: int = DRAWS
    burnin: int = BURNIN
    batch_size: int = BATCH_SIZE


def parse_sgld(lr, nbeta, localization, chains, draws, burnin, batch_size) -> Sgld:
    """The flags' strings → Sgld; ValueError with one line naming the flag for a bad value."""

    def number(flag, text, kind, ok, allowed):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            value = None
        if value is None or (kind is float and not math.isfinite(value)) or not ok(value):
            raise ValueError(f"{flag} {text} is invalid; allowed: {allowed}")
        return value

    return Sgld(
        lr=number("--lr", lr, float, lambda v: v > 0, "a float > 0 (SGLD step size ε)"),
        nbeta=None if str(nbeta) == "auto" else number("--nbeta", nbeta, float, lambda v: v > 0,
                                                       "a float > 0 or auto (devinterp's default_nbeta)"),
        localization=number("--localization", localization, float, lambda v: v >= 0, "a float >= 0 (γ)"),
        chains=number("--chains", chains, int, lambda v: v >= 2, "an integer >= 2 (llc_std is over chains)"),
        draws=number("--draws", draws, int, lambda v: v >= 1, "an integer >= 1"),
        burnin=number("--burnin", burnin, int, lambda v: v >= 0, "an integer >= 0"),
        batch_size=number("--batch-size", batch_size, int, lambda v: v >= 1, "an integer >= 1"),
    )


@functools.lru_cache(maxsize=None)
def require_devinterp():
    try:
        from devinterp.slt.llc import llc
    except ImportError as err:
        raise ValueError(f"analyze llc needs devinterp ({err}); pip install 'grokbench[llc]'") from None
    import gc

    import devinterp.slt.sampler as sampler
    from tqdm.auto import trange

    if hasattr(sampler, "trange"):  # one tqdm bar per chain and estimate: the command shows its own progress
        sampler.trange = functools.partial(trange, disable=True)
    # devinterp runs gc.collect() around every chain; transformers' import leaves a heap that makes each one take
    # about half a second. Freezing what exists now leaves only the chains' own garbage to collect.
    gc.freeze()
    return llc


# ---------------------------------------------------------------------------------------------- one estimate
class EvalMode(torch.nn.Module):
    """The member's plain module, always in eval mode (devinterp calls .train() before sampling)."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net.requires_grad_(True)

    def train(self, mode: bool = True):
        return super().train(False)

    def forward(self, x):
        return self.net(x)


def rows(y: torch.Tensor) -> list:
    """devinterp's dataset: train sample i as the row {"input_ids": [i, y_i]}."""
    return [{"input_ids": torch.tensor([i, int(label)])} for i, label in enumerate(y)]


def loss_fn(loss_cfg, x: torch.Tensor) -> Callable:
    """(model, input_ids (B, 2)) → the loss the member trained with, per sample, (B, 1)."""
    from grokbench.losses import per_sample_loss

    def fn(model, ids):
        logits = model(x[ids[:, 0]])  # (B, C)
        return per_sample_loss(loss_cfg, logits, ids[:, 1]).unsqueeze(-1)  # ALGO LOGIC: L_n's summand

    return fn


def estimate(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss_cfg, sgld: Sgld, device: str) -> dict:
    """LLC of `net` at its weights on the samples (x, y): llc_mean, llc_std over chains, init_loss, the chains that
    ended with a finite loss, the batch size and nβ used."""
    from devinterp.utils import default_nbeta

    llc = require_devinterp()
    batch = min(sgld.batch_size, len(y))
    nbeta = float(default_nbeta(batch)) if sgld.nbeta is None else sgld.nbeta
    with tempfile.TemporaryDirectory(prefix="grokbench-llc-") as tmp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = llc(EvalMode(net), rows(y.cpu()), observables={}, lr=sgld.lr, n_beta=nbeta,
                  loss_fn=loss_fn(loss_cfg, x.to(device)), num_chains=sgld.chains, num_draws=sgld.draws,
                  num_burnin_steps=sgld.burnin, batch_size=batch, localization=sgld.localization,
                  init_seed=INIT_SEED, device=device, output_path=Path(tmp) / "samples.zarr")
        per_chain = torch.as_tensor(out["llc_per_chain"].values, dtype=torch.float64)
        init_loss = float(out["init_loss"].values)
    failed = {int(c) for w in caught for c in re.findall(r"Chain (\d+) failed", str(w.message))}
    kept = per_chain[[c for c in range(sgld.chains) if c not in failed]]  # a diverged chain's trace is unfinished
    return {"llc_mean": float(kept.mean()) if len(kept) else math.nan,
            "llc_std": float(kept.std()) if len(kept) > 1 else math.nan,
            "chains_ok": len(kept), "init_loss": init_loss, "batch_size": batch, "nbeta": nbeta}


# ---------------------------------------------------------------------------------------------- every snapshot
def snapshot_steps(run_dir: Path):
    """(steps, present (S, R) bool, the member of each column) of RUN_DIR/snapshots.pt; FileNotFoundError without
    one."""
    path = Path(run_dir) / store.SNAPSHOTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; train with train.snapshots=N (N >= 1)")
    snaps = torch.load(path, weights_only=True)
    return [int(s) for s in snaps["steps"]], snaps["present"], [int(m) for m in snaps["member"]]


def analyze(run_dir: Path, sgld: Sgld, device: str = "cpu", progress: Optional[Callable] = None) -> pd.DataFrame:
    """One row per member × snapshot step: step, member, seed, llc_mean, llc_std (over chains), chains_ok, init_loss,
    the SGLD settings (batch_size and nbeta as used); train/test loss and accuracy of metrics.parquet at that step."""
    from grokbench.runs import Run

    require_devinterp()
    steps, present, columns = snapshot_steps(run_dir)
    run = Run(run_dir)  # what load_run gives a notebook
    seed = dict(zip(run.members["member"], run.members["seed"]))
    todo = [(int(k), i) for k in run.members["member"] for i in range(len(steps)) if present[i, columns.index(int(k))]]
    out = []
    # One intra-op thread on CPU (restored after): a batch of 128 through a small model gains nothing from a second
    # thread, and two threads on a busy 2-core machine waited for each other: one estimate (150 draws × 2 chains)
    # took 109 s on 2 threads, 7 s on 1.
    with one_thread_per_member(torch.device(device)):
        for n, (k, i) in enumerate(todo):
            data = run.data(member=k)  # the member's own train set, as it trained on it
            net = run.model(member=k, step=steps[i]).to(device)  # its weights at the snapshot
            est = estimate(net, data.x_train, data.y_train, run.config.loss, sgld, device)
            out.append({"step": steps[i], "member": k, "seed": int(seed[k]), **est, "chains": sgld.chains,
                        "draws": sgld.draws, "sgld_lr": sgld.lr, "localization": sgld.localization,
                        "burnin": sgld.burnin})
            if progress is not None:
                progress(n + 1, len(todo))
    table = pd.DataFrame(out)
    metrics = pd.read_parquet(Path(run_dir) / store.METRICS_FILE,
                              columns=["step", "member", "train_loss", "test_loss", "train_acc", "test_acc"])
    return table.merge(metrics, on=["step", "member"], how="left").sort_values(["step", "member"], ignore_index=True)


# ---------------------------------------------------------------------------------------------- plot
def plot(table: pd.DataFrame, grok_step, path: Path, title: str, loss_name: str) -> None:
    """LLC (median over members, IQR band) against step, train/test loss on a second (log) axis, grokking step
    marked; x symlog (the snapshots are log-spaced early, evenly spaced late)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    q = table[["step", "llc_mean", "train_loss", "test_loss"]].groupby("step").quantile([0.25, 0.5, 0.75]).unstack()
    steps = q.index.to_numpy()
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    ax.plot(steps, q[("llc_mean", 0.5)], color="black", marker="o", ms=4, label="LLC λ̂ (median)")
    ax.fill_between(steps, q[("llc_mean", 0.25)], q[("llc_mean", 0.75)], color="black", alpha=0.15, label="LLC IQR")
    ax.set(xlabel="step", ylabel="local learning coefficient λ̂")
    loss_ax = ax.twinx()
    for col, name, color in (("train_loss", "train loss", "tab:blue"), ("test_loss", "test loss", "tab:red")):
        loss_ax.plot(steps, q[(col, 0.5)], color=color, ls="--", marker=".", ms=4, label=name)
        loss_ax.fill_between(steps, q[(col, 0.25)], q[(col, 0.75)], color=color, alpha=0.12)
    loss_ax.set(yscale="log", ylabel=f"{loss_name} (median, IQR band)")
    ax.set_xscale("symlog", linthresh=1)  # step 0 stays on the axis
    ax.set_xlim(0, steps.max() * 1.1)
    if grok_step is not None:
        ax.axvline(grok_step, color="gray", ls=":", label=f"test acc 95 % (median step {grok_step:g})")
    ax.grid(alpha=0.3)
    handles = [h for a in (ax, loss_ax) for h in a.get_legend_handles_labels()[0]]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="center left")  # clear of the peak
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    store.save_figure(fig, path)
