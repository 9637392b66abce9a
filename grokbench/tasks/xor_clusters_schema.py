"""The schema of the XOR cluster task (tasks/xor_clusters.py builds its data)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Tuple

from grokbench.schema import DataShape, DType, TaskSchema, check


@dataclass
class XorClustersTaskConfig(TaskSchema):
    """XOR cluster data (Xu et al. 2024): label +1 from ½N(±μ1, I), label -1 from ½N(±μ2, I), μ1 ⊥ μ2, ‖μ1‖ = ‖μ2‖."""

    name: str = "xor_clusters"  # registry key = the YAML file's name, checked against task=<name>; not a setting
    p: int = 2500  # input dimension, >= 2 (the paper: 40000; benign overfitting needs p ≫ n)
    n_train: int = 50  # train samples, >= 1 (the paper: 200)
    n_test: int = 200  # clean test samples, >= 1 (the paper: 200)
    mu_norm: Optional[float] = None  # ‖μ‖, > 0; null → mu_ratio·√(p/n_train)
    mu_ratio: float = 2.5  # ‖μ‖ / √(p/n_train) when mu_norm is null, > 0 (the paper: 2.5)
    label_flip: float = 0.05  # probability η that a TRAIN label is flipped, in [0, 0.5); test stays clean
    dtype: DType = DType.float32  # features; float64 for the paper's tiny init / learning rates
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("label_flip", "mu_ratio")  # per-member keys (population.grid.task)

    def __post_init__(self) -> None:
        check(self.p >= 2, "p", self.p, "an integer >= 2")
        check(self.n_train >= 1, "n_train", self.n_train, "an integer >= 1")
        check(self.n_test >= 1, "n_test", self.n_test, "an integer >= 1")
        check(self.mu_norm is None or self.mu_norm > 0, "mu_norm", self.mu_norm, "null or a number > 0")
        check(self.mu_ratio > 0, "mu_ratio", self.mu_ratio, "a number > 0")
        check(0 <= self.label_flip < 0.5, "label_flip", self.label_flip, "a number in [0, 0.5)")

    def data_shape(self) -> DataShape:
        return DataShape("features", self.p, 0, 2, self.n_train, self.n_test)
