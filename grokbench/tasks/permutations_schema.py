"""The schema of the S5 tasks (tasks/permutations.py builds their data)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Tuple

from omegaconf import MISSING

from grokbench.schema import DataShape, TaskSchema, check, split_sizes
from grokbench.tasks.modular_schema import Encoding, encoded_width_vocab


@dataclass
class S5TaskConfig(TaskSchema):
    """a ∘ b over all pairs of the 120 permutations of 5 elements; ∘ is fixed by the file name (tasks/permutations)."""

    name: str = MISSING  # registry key = the YAML file's name (s5_compose, s5_conj, s5_aba); not a setting
    # fraction of the 14,400 pairs used for training (floor), in (0, 1) leaving both splits non-empty; per seed
    train_fraction: float = 0.5
    corruption: float = 0.0  # fraction of TRAIN labels replaced by uniformly random labels, in [0, 1)
    encoding: Encoding = Encoding.onehot_concat  # token layout the model sees (vocab 120, 121, 122); see Encoding
    # S5 has no modulus: the key exists only so that task.p=… (e.g. left over from a modular run) is refused with this
    # reason instead of a list of the default task's keys
    p: Optional[int] = None
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("train_fraction", "corruption")  # per-member keys (population.grid.task)

    def __post_init__(self) -> None:
        check(self.p is None, "p", self.p, "unset (S5 has 120 elements and no modulus)")
        self.data_shape()  # refuses an empty split
        check(0 <= self.corruption < 1, "corruption", self.corruption, "a number in [0, 1)")

    def data_shape(self) -> DataShape:
        n_train, n_test = split_sizes(120 * 120, self.train_fraction)
        width, vocab = encoded_width_vocab(self.encoding, 120)
        return DataShape("tokens", width, vocab, 120, n_train, n_test)
