"""The schema of `logger`: which experiment trackers a run feeds (grokbench/trackers.py feeds them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from grokbench.schema import check


@dataclass
class TensorboardLoggerConfig:
    enabled: bool = False  # logger=[tensorboard]: event files under <run dir>/tensorboard (pip install grokbench[tensorboard])


@dataclass
class MlflowLoggerConfig:
    enabled: bool = False  # logger=[mlflow] (pip install grokbench[mlflow])
    # null: a file store at <sweep dir>/mlruns for a multirun job (every job of a sweep in one experiment, comparable
    # in `mlflow ui`), <run dir>/mlruns for a single run; or any URI MLflow takes (http://host:5000, sqlite:///x.db)
    tracking_uri: Optional[str] = None
    experiment: str = "grokbench"  # MLflow experiment name


@dataclass
class WandbLoggerConfig:
    enabled: bool = False  # logger=[wandb] (pip install grokbench[wandb])
    mode: str = "offline"  # offline (files under <run dir>/wandb, `wandb sync` uploads them later) | online | disabled
    project: str = "grokbench"  # W&B project
    entity: Optional[str] = None  # W&B team or user; null: your default

    def __post_init__(self) -> None:
        check(self.mode in ("offline", "online", "disabled"), "wandb.mode", self.mode, "offline, online, disabled")


@dataclass
class LoggerConfig:
    """Experiment trackers, fed at every checkpoint with the eval rows metrics.parquet got since the last one."""

    # per-member series (`test_acc/member_3`) only up to this many members; population median and quartiles always
    max_members: int = 16
    tensorboard: TensorboardLoggerConfig = field(default_factory=TensorboardLoggerConfig)
    mlflow: MlflowLoggerConfig = field(default_factory=MlflowLoggerConfig)
    wandb: WandbLoggerConfig = field(default_factory=WandbLoggerConfig)

    def __post_init__(self) -> None:
        check(self.max_members >= 0, "max_members", self.max_members, "an integer >= 0")
