from __future__ import annotations

from dataclasses import dataclass, fields, replace

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

    def to(self, device) -> "Dataset":
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        moved = {k: v.to(device) if torch.is_tensor(v) else v for k, v in moved.items()}
        return replace(self, **moved)

    @property
    def seq_len(self) -> int:
        return self.x_train.shape[-1]
