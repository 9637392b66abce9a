"""A run dir read back: the config it trained, its members, the parts it trained them in, and each part's data and
model built by the very functions training calls (population.build_data, models.build_model).

Every reader of a run — `analyze`, `grokbench data`, `collect`, `summarize`, `reproduce`, the Python API — goes
through here, so a member's samples, labels and settings (train fraction, ξ, split file rows, ...) are the ones it
trained on, whether the run trained all at once or in chunks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Tuple

import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from grokbench import store
from grokbench.config import GROUP_SCHEMAS, Config

CONFIG_FILE = Path(".hydra") / "config.yaml"


def schema_name(group: str, name: str) -> str:
    """The GROUP_SCHEMAS key of a group's option: every modular operation has the `modular` schema, S5's `s5`."""
    if group == "task":
        from grokbench.tasks.modular import OPS as MODULAR_OPS
        from grokbench.tasks.permutations import OPS as S5_OPS

        return "modular" if name in MODULAR_OPS else "s5" if name in S5_OPS else name
    return "loss" if group == "loss" else name


def typed_config(saved: DictConfig) -> DictConfig:
    """A job's saved config (.hydra/config.yaml) typed as Hydra composed it for training: the Config schema with each
    group's own dataclass (enums, int and float fields, defaults of keys an older run did not save)."""
    saved = OmegaConf.masked_copy(saved, [k for k in saved if k != "hydra"])
    groups = {g: OmegaConf.merge(OmegaConf.structured(GROUP_SCHEMAS[g][schema_name(g, saved[g].name)]), saved[g])
              for g in GROUP_SCHEMAS}
    rest = OmegaConf.masked_copy(saved, [k for k in saved if k not in GROUP_SCHEMAS])
    cfg = OmegaConf.merge(OmegaConf.structured(Config), rest)
    for group, node in groups.items():
        cfg[group] = node
    return cfg


def run_config(run_dir: Path) -> DictConfig:
    """The typed config of the run in run_dir: the one training recorded at its first start (chunks/size.json, or an
    older run's checkpoint), else Hydra's .hydra/config.yaml of a job that has not started training yet;
    FileNotFoundError if there is neither."""
    from grokbench.chunking import recorded_config

    run_dir = Path(run_dir)
    recorded = recorded_config(run_dir) if run_dir.is_dir() else None
    if recorded is not None:
        return typed_config(OmegaConf.create(recorded))
    path = run_dir / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (a run dir written by `grokbench run`)")
    return typed_config(OmegaConf.load(path))


@dataclass
class RunParts:
    """A run dir: its config, every member (the members table training wrote its rows with) and the parts they trained
    in — [(rows of the members table, the part's dir)]: chunks/<k>/ for a chunked run, else the run dir itself."""

    dir: Path
    cfg: DictConfig
    table: pd.DataFrame
    parts: List[Tuple[pd.DataFrame, Path]]

    def part_of(self, member: int) -> Tuple[pd.DataFrame, Path]:
        for rows, part_dir in self.parts:
            if member in set(rows["member"]):
                return rows, part_dir
        n = len(self.table)
        raise ValueError(f"member {member} is out of range; allowed: 0..{n - 1} (the run has {n} members)")


def open_run(run_dir) -> RunParts:
    """The run in run_dir. Its members and parts come from the functions training used (population.members,
    chunking.chunk_parts as the run recorded them at its first start)."""
    from grokbench.chunking import recorded_parts
    from grokbench.population import members

    run_dir = Path(run_dir)
    cfg = run_config(run_dir)
    table = members(cfg)
    return RunParts(run_dir, cfg, table, recorded_parts(table, run_dir))


def member_data(cfg, rows: pd.DataFrame, device="cpu"):
    """The data of the members in `rows` exactly as training built it (population.build_data)."""
    from grokbench.population import build_data

    return build_data(cfg, rows, device)


def member_model(cfg, rows: pd.DataFrame, data, state: Optional[dict] = None, device="cpu"):
    """The batched model of the members in `rows` (built as training builds it), with `state` loaded if given, in
    eval mode."""
    from grokbench.models import build_model

    model = build_model(cfg.model, data, rows["seed"].tolist(), device)
    if state is not None:
        load_weights(model, state)
    return model.eval()


def load_weights(model, state: dict) -> None:
    """Saved weights (a checkpoint's or one snapshot's) into a part's model; ValueError if they do not fit."""
    loaded = model.load_state_dict(state, strict=False)
    stray = [k for k in loaded.missing_keys if not k.endswith("_extra_state")] + loaded.unexpected_keys
    if stray:  # only the dropout generator states may be left out (snapshots do not keep them)
        raise ValueError(f"the saved weights do not fit the model of {CONFIG_FILE}: {', '.join(stray)}")


def trained_parts(run: RunParts, device="cpu") -> Iterator[tuple]:
    """(rows, data, model) of each part with its final weights (the part's checkpoint.pt)."""
    for rows, part_dir in run.parts:
        ckpt = store.load_checkpoint(part_dir / store.CHECKPOINT_FILE)
        if ckpt is None:
            raise FileNotFoundError(f"{part_dir / store.CHECKPOINT_FILE} not found")
        data = member_data(run.cfg, rows, device)
        yield rows, data, member_model(run.cfg, rows, data, ckpt["model"], device)


def snapshot_state(run_dir: Path, rows: pd.DataFrame, step: int, part_dir: Optional[Path] = None) -> dict:
    """The weights of the members in `rows` at snapshot `step`: RUN_DIR/snapshots.pt (train.snapshots=N), or, while a
    chunked run trains, the snapshots of the members' own chunk dir `part_dir`."""
    from grokbench import snapshots

    path = Path(run_dir) / store.SNAPSHOTS_FILE
    path = path if path.exists() or part_dir is None else Path(part_dir) / store.SNAPSHOTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: train with train.snapshots=N (N >= 1) to keep weights along the "
                                f"way; without a step the final weights are read")
    snaps = snapshots.load(path)
    column = {int(m): i for i, m in enumerate(snaps["member"])}
    if any(int(m) not in column for m in rows["member"]):  # a chunked run still training: only chunks so far
        raise FileNotFoundError(f"member {int(rows['member'].iloc[0])}'s chunk has no snapshots yet")
    cols = [column[int(m)] for m in rows["member"]]
    have = [s for j, s in enumerate(snaps["steps"]) if bool(snaps["present"][j, cols].all())]
    if step not in have:
        shown = ", ".join(map(str, have if len(have) <= 8 else [*have[:4], "…", *have[-3:]]))
        raise ValueError(f"step {step} is not among member {int(rows['member'].iloc[0])}'s snapshots; available: "
                         f"{shown} ({len(have)} in all)")
    i = list(snaps["steps"]).index(step)
    return {name: v[i][cols] for name, v in snaps["state"].items()}


# ------------------------------------------------------------------------------------ a run for a notebook (api.py)
class MemberData(NamedTuple):
    """One member's samples as it trained and tested on them (no padding): inputs (N, T) tokens or (N, D) features,
    labels (N,) as trained on (a corrupted train label is the replaced one), corrupted (N_train,) bool."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    corrupted: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


class Run:
    """A run dir: tables, config, members, and each member's data and model."""

    def __init__(self, run_dir):
        self._run = open_run(run_dir)
        self.dir = self._run.dir

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}, {len(self.members)} members)"

    @property
    def config(self):
        return self._run.cfg

    @property
    def members(self) -> pd.DataFrame:
        return self._run.table

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.read_parquet(self.dir / store.METRICS_FILE)

    @property
    def summary(self) -> pd.DataFrame:
        return pd.read_parquet(self.dir / store.SUMMARY_FILE)

    def _member(self, member: int):
        """(the member's part rows, its row in the part, the part's dir); ValueError for an unknown member."""
        rows, part_dir = self._run.part_of(int(member))
        return rows, list(rows["member"]).index(int(member)), part_dir

    def data(self, member: int) -> MemberData:
        rows, r, _ = self._member(member)
        data = member_data(self.config, rows)
        nt, ne = int(data.train_size[r]), int(data.test_size[r])  # a padded set's real samples come first
        return MemberData(data.x_train[r, :nt], data.y_train[r, :nt], data.corrupted[r, :nt], data.x_test[r, :ne],
                          data.y_test[r, :ne])

    def weights(self, member: int, step: Optional[int] = None):
        """(the weights of the member's part at `step` — None: the final ones —, the member's row in them, the step)."""
        rows, r, part_dir = self._member(member)
        if step is not None:
            return snapshot_state(self.dir, rows, step, part_dir), r, step
        ckpt = store.load_checkpoint(part_dir / store.CHECKPOINT_FILE)
        if ckpt is None:
            raise FileNotFoundError(f"{part_dir} has no {store.CHECKPOINT_FILE} yet (member {member}'s part has not "
                                    f"trained)")
        return ckpt["model"], r, int(ckpt["step"])

    def batched_model(self, member: int, step: Optional[int] = None):
        """(the batched model of the member's part with the weights at `step` (None: final), the member's row)."""
        rows, _, _ = self._member(member)
        state, r, _ = self.weights(member, step)
        return member_model(self.config, rows, member_data(self.config, rows), state), r

    def model(self, member: int, step: Optional[int] = None):
        """Member `member` as a plain torch.nn.Module (no member dim) at `step` (None: final), in eval mode."""
        from grokbench.models.plain import member_module

        model, r = self.batched_model(member, step)
        return member_module(model, r)  # models/plain.py: tested equal to the population's member
