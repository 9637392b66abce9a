"""The schema of sparse parity (tasks/parity.py builds its data)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Tuple

from grokbench.schema import DataShape, TaskSchema, check, split_sizes


@dataclass
class SparseParityConfig(TaskSchema):
    """Label = parity of k fixed relevant bits among n random bits (Barak et al. 2022; Prieto et al. 2025 §4)."""

    name: str = "sparse_parity"  # registry key = the YAML file's name, checked against task=<name>; not a setting
    n_bits: int = 40  # bits per sample (relevant + noise), tokens of vocab 2 so the one-hot MLP input is 2·n_bits
    k: int = 3  # relevant bits: positions 0..k-1 (which k is immaterial: the models treat positions symmetrically)
    samples: int = 2000  # samples drawn per member (train + test), from the member's own stream
    # fraction of the samples used for training (rounded), in (0, 1) and leaving both splits non-empty
    train_fraction: float = 0.5
    corruption: float = 0.0  # fraction of TRAIN labels replaced by uniformly random labels, in [0, 1)
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("train_fraction", "corruption")  # per-member keys (population.grid.task)

    def __post_init__(self) -> None:
        check(self.n_bits >= 1, "n_bits", self.n_bits, "an integer >= 1")
        check(1 <= self.k <= self.n_bits, "k", self.k, f"an integer in [1, n_bits={self.n_bits}]")
        check(self.samples >= 2, "samples", self.samples, "an integer >= 2")
        self.data_shape()  # refuses an empty split
        check(0 <= self.corruption < 1, "corruption", self.corruption, "a number in [0, 1)")

    def data_shape(self) -> DataShape:
        return DataShape("tokens", self.n_bits, 2, 2, *split_sizes(self.samples, self.train_fraction, rounding=round))
