"""The schema of the modular arithmetic tasks (tasks/modular.py builds their data), and the token encodings that
every two-operand task shares."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, List, Optional, Tuple

from omegaconf import MISSING

from grokbench.schema import DataShape, TaskSchema, check, split_sizes


class Encoding(enum.Enum):
    # what a sample of a modular task looks like as tokens; the MLP sees the concatenated one-hots of those tokens
    onehot_concat = "onehot_concat"  # [a, b], vocab p: one-hot(a) ⊕ one-hot(b), the 2p-dim input (226 for p=113)
    equals_token = "equals_token"  # [a, b, =], vocab p+1 ("=" is id p; Nanda et al. 2023): read-out at "="
    # [a, op, b, =], vocab p+2 ("=" is id p, op is id p+1, as Lee et al.'s Grokfast code), read-out at "=": Power et
    # al.'s `<eos> a op b = c <eos>` with the loss only on c, which their decoder predicts at "="
    op_equals = "op_equals"


# operations that divide: b⁻¹ mod p exists for every b ≠ 0 only when p is prime. Every other operation uses only
# + − ×, which are well defined mod any p >= 2, so a composite p is refused only here.
NEEDS_PRIME = {"moddiv"}


@dataclass
class ModularTaskConfig(TaskSchema):
    """(a ∘ b) mod p for every pair (a, b); ∘ is fixed by the file name (tasks/modular.py OPS)."""

    name: str = MISSING  # registry key = the YAML file's name, checked against task=<name>; not a setting
    p: int = 59  # modulus, >= 2; prime for moddiv (b⁻¹ must exist); + − × and the polynomials take any p
    # fraction of all pairs used for training (floor of fraction·pairs), in (0, 1) and leaving both splits non-empty;
    # the split is per seed
    train_fraction: float = 0.5
    corruption: float = 0.0  # fraction of TRAIN labels replaced by uniformly random labels, in [0, 1)
    encoding: Encoding = Encoding.onehot_concat  # token layout the model sees; see Encoding
    # Parquet file of a, b, split (+ optional seed or member) fixing each member's train/test split (see
    # tasks/split_file.py); when set it decides the split and train_fraction is ignored (job.log records the fraction
    # the file gives). None: a random split of train_fraction per seed.
    split_file: Optional[str] = None
    # leave out the pairs with b = 0 (moddiv always does): Lee et al.'s Grokfast x·y data has y in 1..p-1 (9,312 at 97)
    nonzero_b: bool = False
    # keys population.grid.task.<key> may vary per member (the others change shapes or what is built: Hydra job axes)
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("train_fraction", "corruption")

    def __post_init__(self) -> None:
        check(self.p >= 2, "p", self.p, "an integer >= 2")
        if self.name in NEEDS_PRIME:
            check(is_prime(self.p), "p", self.p, f"a prime number ({self.name} needs b⁻¹ mod p)")
        self.data_shape()  # refuses an empty split
        check(0 <= self.corruption < 1, "corruption", self.corruption, "a number in [0, 1)")

    def data_shape(self) -> DataShape:
        nonzero_b = self.name in NEEDS_PRIME or self.nonzero_b  # moddiv and nonzero_b: b ≠ 0
        n_train, n_test = split_sizes(self.p * (self.p - 1) if nonzero_b else self.p**2, self.train_fraction)
        width, vocab = encoded_width_vocab(self.encoding, self.p)
        return DataShape("tokens", width, vocab, self.p, n_train, n_test)

    def check_files(self, member_seeds: List[int]) -> None:
        if self.split_file is not None:  # read it now: a bad file is refused before any run dir
            from grokbench.tasks.modular import check_split_file

            check_split_file(self, member_seeds)


def encoded_width_vocab(encoding: "Encoding", n: int) -> tuple:
    """(tokens per sample, ids) of an operand pair with ids in [0, n) in `encoding` (tasks/modular.py encode)."""
    return {Encoding.onehot_concat: (2, n), Encoding.equals_token: (3, n + 1), Encoding.op_equals: (4, n + 2)}[encoding]


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))
