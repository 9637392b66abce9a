"""Per-member summary of a metrics table: when thresholds were first crossed, final values, divergence."""
import pandas as pd

from grokbench.metrics.phases import phase

THRESHOLDS = {  # column → (metric, threshold)
    "step_train_95": ("train_acc", 0.95),
    "step_train_100": ("train_acc", 1.0),
    "step_test_95": ("test_acc", 0.95),
    "step_test_99": ("test_acc", 0.99),
}


def first_step(curve: pd.DataFrame, metric: str, threshold: float):
    hit = curve.loc[curve[metric] >= threshold, "step"]
    return hit.iloc[0] if len(hit) else pd.NA


def summarize_members(metrics: pd.DataFrame, members: pd.DataFrame, diverged_step,
                      label_noise: float = 0.0) -> pd.DataFrame:
    """metrics: one row per (member, eval step); members: one row per member → one row per member.

    Steps are the first *evaluated* step at or past the threshold (resolution = the eval schedule), null if never.
    grok_delay = step_test_95 − step_train_95. phase: Doshi et al. 2024's label for the final accuracies at train
    label noise ξ = label_noise (metrics/phases.py).
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
        rows.append(row)
    out = members.merge(pd.DataFrame(rows), on="member", how="left")
    for col in THRESHOLDS:
        out[col] = out[col].astype("Int64")
    out["grok_delay"] = out["step_test_95"] - out["step_train_95"]
    out["diverged_step"] = pd.array(diverged_step, dtype="Int64")
    out["diverged"] = out["diverged_step"].notna()
    out["grokked"] = out["step_test_95"].notna()
    finals = zip(out["final_train_acc"], out["final_test_acc"])
    out["phase"] = [phase(float(train), float(test), label_noise) for train, test in finals]
    # a NaN-logit member still scores an argmax accuracy, so its phase must come from the divergence flag
    out.loc[out["diverged"], "phase"] = "diverged"
    return out
