"""The words every config schema is written in: one-line refusals (ConfigError, `check`), the enums that many groups
share (Device, DType), and what a task makes and a model reads (DataShape, Accepts and the TaskSchema / ModelSchema
bases), so that a model never trains on data it cannot read.

Each group keeps its schemas beside their implementation (tasks/*_schema.py, models/*_schema.py, optim/*_schema.py);
grokbench/config.py gathers them into the whole config. This module imports nothing of grokbench: every layer may
use it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, List, Optional

from omegaconf import OmegaConf


class ConfigError(ValueError):
    """A config value out of range. `str(err)` is the one line shown to the user."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is invalid; allowed: {allowed}")

    def under(self, prefix: str) -> "ConfigError":
        return ConfigError(f"{prefix}.{self.key}", self.value, self.allowed)


def check(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(key, value, allowed)


class Device(enum.Enum):
    auto = "auto"  # cuda when available, else cpu
    cpu = "cpu"
    cuda = "cuda"


class DType(enum.Enum):
    float16 = "float16"
    bfloat16 = "bfloat16"
    float32 = "float32"
    float64 = "float64"

    @property
    def torch(self):
        """The torch.dtype of the same name (torch imported here, not at config import: `grokbench show` stays fast)."""
        import torch

        return getattr(torch, self.value)


# --------------------------------------------------------------------------------------------------- data shapes
# Each task schema declares the data it produces (`data_shape()`, from its config alone, no data built) and each
# model schema the data it can train on (`accepts`); `validate` refuses a pair that does not fit before anything runs.
@dataclass(frozen=True)
class DataShape:
    """One member's data as a task builds it (tasks/dataset.py holds the tensors)."""

    inputs: str  # "tokens": x (R, N, T) ids in [0, vocab); "features": x (R, N, D) floats
    width: int  # T tokens or D features per sample
    vocab: int  # ids per token position; 0 for features
    n_classes: int  # labels in [0, n_classes)
    n_train: int  # train samples per member
    n_test: int  # test samples per member

    def __str__(self) -> str:
        x = f"{self.width} tokens over {self.vocab} ids" if self.inputs == "tokens" else f"{self.width} features"
        return f"{x}, {self.n_classes} classes"


@dataclass(frozen=True)
class Accepts:
    """The data a model can train on: a DataShape outside these bounds is refused, naming the model."""

    inputs: str  # "tokens" or "features"
    width: Optional[int] = None  # exactly this many tokens/features per sample; None = any
    n_classes: Optional[int] = None  # exactly this many classes; None = any
    vocab_is_classes: bool = False  # token ids and labels range over the same Z_p (neurons over Z_p)

    def check(self, shape: DataShape, model: str, task: str) -> None:
        fits = shape.inputs == self.inputs and self.width in (None, shape.width)
        fits = fits and self.n_classes in (None, shape.n_classes)
        fits = fits and (not self.vocab_is_classes or shape.vocab == shape.n_classes)
        check(fits, "model", model, f"a task with {self}; task={task} gives {shape}")

    def __str__(self) -> str:
        what = "tokens" if self.inputs == "tokens" else "float features (not tokens)"
        text = f"{self.width} {what}" if self.width is not None else what
        text += " over Z_p (ids and labels both in [0, p))" if self.vocab_is_classes else ""
        return text + (f", {self.n_classes} classes" if self.n_classes is not None else "")


class TaskSchema:
    """Base of every task schema: a task says what data it builds, from its config alone."""

    def data_shape(self) -> DataShape:
        raise NotImplementedError

    def check_files(self, member_seeds: List[int]) -> None:
        """Read any file the config names and refuse a bad one (ConfigError, key relative to the task), before any
        run dir is written. member_seeds: each member's seed, in member order. Most tasks name no file."""


class ModelSchema:
    """Base of every model schema: `accepts` bounds the data it trains on; `check_data` may add config-dependent
    rules (raising ConfigError with the full key)."""

    accepts: ClassVar[Accepts]

    def check_data(self, shape: DataShape, task: str) -> None:
        self.accepts.check(shape, self.name, task)


def split_sizes(n: int, train_fraction: float, rounding=int) -> tuple:
    """(n_train, n_test) of n samples; refuses a train_fraction that leaves either split empty (NaN accuracies).
    rounding: how train_fraction·n becomes a count (int = floor: 40 % of 113² = 5107, as Prieto et al.)."""
    n_train = rounding(train_fraction * n)
    check(0 < train_fraction < 1 and 1 <= n_train <= n - 1, "train_fraction", train_fraction,
          f"a number in (0, 1) leaving >= 1 train and >= 1 test sample of the {n}")
    return n_train, n - n_train


def check_init_scale(init_scale: float) -> None:
    check(init_scale > 0, "init_scale", init_scale, "a number > 0")


def plain(node: Any) -> Any:
    """A group's config as its dataclass: attribute reads in the per-step code cost ~50 µs on a DictConfig."""
    return OmegaConf.to_object(node) if OmegaConf.is_config(node) else node
