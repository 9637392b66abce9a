from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Optional

import torch


@dataclass
class Dataset:
    """One train/test split per member, stacked on the leading member dim R. Everything lives on the device.

    Inputs are token ids (R, N, T) in [0, vocab_size) (modular arithmetic, parity) or features (R, N, D) (XOR clusters).
    """

    x_train: torch.Tensor  # (R, N_train, T) long or (R, N_train, D) float
    y_train: torch.Tensor  # (R, N_train) long, labels as trained on (corrupted ones included)
    corrupted: torch.Tensor  # (R, N_train) bool, True where the train label was replaced
    x_test: torch.Tensor  # (R, N_test, T) or (R, N_test, D)
    y_test: torch.Tensor  # (R, N_test) long, always clean
    vocab_size: int  # token ids per position (0 for float features)
    n_classes: int
    # (R, N_train) / (R, N_test) bool, True at a member's real samples; None = every sample is real. Members of a
    # population.grid over train_fraction (or any key that changes set sizes) have sets of different sizes, padded
    # to the longest: padded samples add exactly zero to every loss, gradient, accuracy and metric.
    train_mask: Optional[torch.Tensor] = None
    test_mask: Optional[torch.Tensor] = None
    # token positions of the operands a and b (two-operand tasks): (0, 2) for [a, op, b, =], else (0, 1)
    operand_positions: tuple = (0, 1)

    def to(self, device) -> "Dataset":
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        moved = {k: v.to(device) if torch.is_tensor(v) else v for k, v in moved.items()}
        return replace(self, **moved)

    @property
    def seq_len(self) -> int:
        return self.x_train.shape[-1]

    @property
    def train_size(self) -> torch.Tensor:
        """(R,) long: each member's own number of train samples."""
        return count(self.train_mask, self.y_train)

    @property
    def test_size(self) -> torch.Tensor:
        return count(self.test_mask, self.y_test)

    def select(self, index: torch.Tensor) -> "Dataset":
        """The members at `index` (R',), in that order."""
        picked = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: v[index] if torch.is_tensor(v) else v for k, v in picked.items()})


def count(mask: Optional[torch.Tensor], y: torch.Tensor) -> torch.Tensor:
    if mask is None:
        return torch.full(y.shape[:1], y.shape[1], dtype=torch.long, device=y.device)
    return mask.sum(-1)


def pad(t: torch.Tensor, n: int) -> torch.Tensor:
    """(R, N, ...) → (R, n, ...) with zeros after the N real samples (token 0 / a zero vector / label 0 / False)."""
    out = t.new_zeros(t.shape[0], n, *t.shape[2:])
    out[:, : t.shape[1]] = t
    return out


def stack_padded(parts) -> Dataset:
    """Datasets of the same task with different set sizes (e.g. train fractions) → one, members in order of `parts`.
    Train and test sets are padded to the longest; `train_mask`/`test_mask` mark the real samples (None where no
    member needed padding), so losses, accuracies and gradients see only each member's own samples."""
    first = parts[0]
    if len(parts) == 1:
        return first
    n_train, n_test = (max(getattr(d, name).shape[1] for d in parts) for name in ("y_train", "y_test"))
    stacked = {}
    for name, n in (("x_train", n_train), ("y_train", n_train), ("corrupted", n_train),
                    ("x_test", n_test), ("y_test", n_test)):
        stacked[name] = torch.cat([pad(getattr(d, name), n) for d in parts])
    for name, n in (("train", n_train), ("test", n_test)):
        # real samples come first in every member's set: (R, n) = position < the member's own size
        mask = torch.cat([torch.arange(n) < getattr(d, f"{name}_size")[:, None].cpu() for d in parts])
        stacked[f"{name}_mask"] = None if bool(mask.all()) else mask
    return replace(first, **stacked)
