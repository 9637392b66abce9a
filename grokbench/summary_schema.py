"""The schemas of `summary` (how summary.parquet labels each member: grokbench/summary.py) and `search` (what a job
returns to a hyperparameter search: job.objective)."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from grokbench.schema import check


class Objective(enum.Enum):
    # what a job returns to a Hydra sweeper (hydra/sweeper=optuna); "never generalised" counts as max_steps + 1 steps
    median_step_test_95 = "median_step_test_95"  # median over members of the first step with test acc >= threshold
    fraction_generalized = "fraction_generalized"  # fraction of members whose test acc reached the threshold
    final_test_acc = "final_test_acc"  # median over members of the last test accuracy


@dataclass
class SearchConfig:
    # the value a job returns to the sweeper; set hydra.sweeper.direction to match (minimize the step, maximize the
    # others)
    objective: Objective = Objective.final_test_acc


@dataclass
class SummaryConfig:
    """How summary.parquet labels each member (grokbench/summary.py). Steps are evaluated steps (train.eval_*)."""

    # `generalized`: test accuracy reached this at some evaluated step, in (0, 1]
    threshold: float = 0.95
    # `grokked`: generalized, and test reached `threshold` at a step >= grok_ratio × the step where train accuracy
    # reached it (train at step 0, test later: grokked; train never: not grokked), a number >= 1
    grok_ratio: float = 2.0

    def __post_init__(self) -> None:
        check(0 < self.threshold <= 1, "threshold", self.threshold, "a number in (0, 1]")
        check(self.grok_ratio >= 1, "grok_ratio", self.grok_ratio, "a number >= 1")
