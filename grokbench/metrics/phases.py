"""The phase of a trained network on corrupted-label data (Doshi et al. 2024, sec. 4, Fig. 3).

With a fraction ξ of train labels random, a network that generalises perfectly and memorises nothing fits only the
clean ones (plus the ~ξ/p random labels that happen to be right): train ≈ (1 - ξ) + ξ/p. The paper's thresholds:
  test ≥ 90 %:  train ≥ 90 % → coexistence (memorises and generalises)
                100·(1.05 - ξ) % ≤ train < 90 % → partial_inversion (forgets some corrupted labels)
                train < 100·(1.05 - ξ) % → full_inversion (fits only what the rule predicts)
  test < 90 %:  train ≥ 90 % → memorization, else forgetting.
The label is defined for modular arithmetic with corrupted train labels (ξ > 0) only: at ξ = 0 there is nothing to
memorise or invert, and other tasks (parity, XOR clusters) have no (1 - ξ) + ξ/p baseline; there it is null.
"""
import math
from typing import Optional

PHASES = ("coexistence", "partial_inversion", "full_inversion", "memorization", "forgetting")
ACC_THRESHOLD = 0.9  # test and train "high" (paper: 90 %)
INVERSION_MARGIN = 1.05  # partial vs full inversion at train = 1.05 - ξ (paper)
TOL = 1e-9  # 1.05 - .35 is 0.7000000000000001 in floats; an accuracy of exactly 70 % is on the boundary


def phase(train_acc: float, test_acc: float, corruption: float) -> str:
    """Final train / test accuracy (in [0, 1]) and corrupted fraction ξ → phase name; 'diverged' if NaN."""
    if math.isnan(train_acc) or math.isnan(test_acc):
        return "diverged"
    # ALGO LOGIC: Doshi et al. 2024 phase thresholds
    if test_acc >= ACC_THRESHOLD:
        if train_acc >= ACC_THRESHOLD:
            return "coexistence"
        return "partial_inversion" if train_acc >= INVERSION_MARGIN - corruption - TOL else "full_inversion"
    return "memorization" if train_acc >= ACC_THRESHOLD else "forgetting"


def label_noise(task_cfg) -> Optional[float]:
    """ξ of a task config where the phase is defined — a modular arithmetic task (tasks/modular.py) with a corrupted
    fraction ξ > 0 — else None."""
    from grokbench.tasks.modular import OPS

    xi = float(getattr(task_cfg, "corruption", 0.0))
    return xi if getattr(task_cfg, "name", None) in OPS and xi > 0 else None
