"""A new task is one module (its schema and its builder) and one YAML file, dropped into the task registry the way
the real ones are: composing `task=<it>`, validating and training need no other file."""
import importlib
import shutil
import sys
import textwrap

import pandas as pd
from hydra.core.config_store import ConfigStore

from grokbench import config, tasks
from grokbench.compose import checked_config
from grokbench.train import train

TOY_MODULE = '''
"""Copy the first of two tokens over n ids: label = a."""
from dataclasses import dataclass
from typing import ClassVar, Tuple

import torch

from grokbench.schema import DataShape, TaskSchema, check
from grokbench.seeding import generator
from grokbench.tasks.dataset import Dataset


@dataclass
class CopyTaskConfig(TaskSchema):
    name: str = "copy_first"  # registry key = the YAML file's name
    n: int = 5  # ids per token, >= 2
    samples: int = 40  # per member, half of them train
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        check(self.n >= 2, "n", self.n, "an integer >= 2")

    def data_shape(self) -> DataShape:
        return DataShape("tokens", 2, self.n, self.n, self.samples // 2, self.samples - self.samples // 2)


def build_copy_first(cfg, seeds, member_ids=None) -> Dataset:
    x = torch.stack([torch.randint(cfg.n, (cfg.samples, 2), generator=generator(s, "copy")) for s in seeds])
    y, k = x[..., 0], cfg.samples // 2  # (R, N), the first token
    return Dataset(x[:, :k], y[:, :k], torch.zeros_like(y[:, :k], dtype=torch.bool), x[:, k:], y[:, k:],
                   vocab_size=cfg.n, n_classes=cfg.n)
'''

TOY_YAML = """\
# the first of two tokens over n ids
defaults:
  - copy_first_schema
name: copy_first
n: 5
samples: 40
"""


def test_a_task_in_one_module_and_one_yaml_composes_validates_and_trains(tmp_path, monkeypatch):
    (tmp_path / "copy_first.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    toy = importlib.import_module("copy_first")
    monkeypatch.setitem(sys.modules, "copy_first", toy)  # gone again after the test
    configs = tmp_path / "configs"  # the package's config dir with the new YAML dropped in
    shutil.copytree(config.CONFIG_DIR, configs)
    (configs / "task" / "copy_first.yaml").write_text(TOY_YAML)
    monkeypatch.setattr(config, "CONFIG_DIR", configs)
    monkeypatch.setitem(tasks.SCHEMAS, "copy_first", toy.CopyTaskConfig)
    monkeypatch.setitem(tasks.TASKS, "copy_first", toy.build_copy_first)
    try:
        # composed and validated as `grokbench show` and `grokbench run` do
        cfg = checked_config(["task=copy_first", "task.n=7", "device=cpu", "model.width=16", "train.max_steps=2",
                              "train.eval_every=1", "seeds=2", f"hydra.searchpath=[file://{configs}]",
                              "population.workers=1"])  # registered in this process only: no spawned workers
        assert isinstance(config.plain(cfg.task), toy.CopyTaskConfig) and cfg.task.n == 7
        summary = train(cfg, tmp_path / "run")
    finally:
        ConfigStore.instance().repo["task"].pop("copy_first_schema.yaml", None)  # the schema stored while composing
    metrics = pd.read_parquet(tmp_path / "run" / "metrics.parquet")
    assert len(summary) == 2 and sorted(metrics["step"].unique()) == [0, 1, 2]
    assert metrics["train_acc"].between(0, 1).all()
