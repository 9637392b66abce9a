"""Per-member summary of a metrics table: when thresholds were first crossed, final values, divergence, and the labels
`generalized`, `grokked` (summary.* in the config) and `phase` (Doshi et al. 2024, where it is defined)."""
from typing import Optional, Sequence

import pandas as pd
from omegaconf import OmegaConf

from grokbench.summary_schema import SummaryConfig
from grokbench.metrics.phases import label_noise, phase

THRESHOLDS = {  # column → (metric, threshold)
    "step_train_95": ("train_acc", 0.95),
    "step_train_100": ("train_acc", 1.0),
    "step_test_95": ("test_acc", 0.95),
    "step_test_99": ("test_acc", 0.99),
}


def first_step(curve: pd.DataFrame, metric: str, threshold: float):
    hit = curve.loc[curve[metric] >= threshold, "step"]
    return hit.iloc[0] if len(hit) else pd.NA


def member_label_noise(cfg, table: pd.DataFrame) -> list:
    """Each member's ξ where the phase is defined (its own task.corruption: a population.grid over it gives members
    different ξ), else None; in the order of `table`."""
    from grokbench.population import member_tasks

    return [label_noise(task) for task in member_tasks(cfg, table)]


def summary_settings(cfg) -> SummaryConfig:
    """cfg.summary as its dataclass; the defaults for runs saved before the config had that section."""
    node = OmegaConf.select(cfg, "summary")
    return SummaryConfig(**OmegaConf.to_container(node)) if node is not None else SummaryConfig()


def grokked(step_train, step_test, grok_ratio: float) -> bool:
    """Test accuracy reached the threshold (at evaluated step step_test) at least grok_ratio times as many steps into
    training as train accuracy did (step_train): step_test >= grok_ratio · step_train and step_test > 0.
    Train there at step 0 and test later: grokked (an infinite ratio). Both at step 0: not (nothing was delayed).
    Train never there: not grokked (no fit for generalisation to lag behind). Test never there: not grokked."""
    if pd.isna(step_train) or pd.isna(step_test):
        return False
    return step_test > 0 and step_test >= grok_ratio * step_train


def summarize_members(metrics: pd.DataFrame, members: pd.DataFrame, diverged_step,
                      label_noise: Optional[Sequence[Optional[float]]] = None,
                      settings: SummaryConfig = SummaryConfig()) -> pd.DataFrame:
    """metrics: one row per (member, eval step); members: one row per member → one row per member.

    Steps are the first *evaluated* step at or past the threshold (resolution = the eval schedule), null if never.
    grok_delay = step_test_95 − step_train_95. generalized / grokked: at settings.threshold (see `grokked`).
    phase: Doshi et al. 2024's label for the final accuracies at each member's own train label noise ξ
    (label_noise[k] for the k-th row of `members`: member_label_noise gives them); null where ξ is None (the label is
    not defined: ξ = 0, tasks other than modular arithmetic; metrics/phases.py), for every member if label_noise is.
    """
    rows = []
    for member, curve in metrics.sort_values("step").groupby("member"):
        last = curve.iloc[-1]
        row = {"member": member}
        row.update({col: first_step(curve, m, t) for col, (m, t) in THRESHOLDS.items()})
        row.update({f"final_{m}": last[m] for m in ("train_acc", "test_acc", "train_loss", "test_loss")})
        row.update({"final_train_acc_clean": last["train_acc_clean"], "final_weight_norm": last["weight_norm"]})
        row["final_train_acc_corrupted"] = last["train_acc_corrupted"]
        row["final_step"] = last["step"]
        step_train = first_step(curve, "train_acc", settings.threshold)
        step_test = first_step(curve, "test_acc", settings.threshold)
        row["generalized"] = not pd.isna(step_test)
        row["grokked"] = grokked(step_train, step_test, settings.grok_ratio)
        rows.append(row)
    out = members.merge(pd.DataFrame(rows), on="member", how="left")
    for col in THRESHOLDS:
        out[col] = out[col].astype("Int64")
    out["grok_delay"] = out["step_test_95"] - out["step_train_95"]
    out["diverged_step"] = pd.array(diverged_step, dtype="Int64")
    out["diverged"] = out["diverged_step"].notna()
    out["generalized"], out["grokked"] = out["generalized"].astype(bool), out["grokked"].astype(bool)
    xis = [None] * len(out) if label_noise is None else list(label_noise)
    labels = [None if xi is None else phase(float(train), float(test), xi)
              for train, test, xi in zip(out["final_train_acc"], out["final_test_acc"], xis)]
    # a NaN-logit member still scores an argmax accuracy, so its phase must come from the divergence flag
    labels = ["diverged" if d and xi is not None else label for d, label, xi in zip(out["diverged"], labels, xis)]
    out["phase"] = pd.array(labels, dtype="string")  # a string column even when every label is null
    return out
