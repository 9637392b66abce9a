"""Experiment trackers (TensorBoard, MLflow, W&B), fed from the rows metrics.parquet gets.

At every checkpoint train.py hands over the metrics table; each tracker receives the eval steps it has not had yet:
per step and metric the population median and quartiles (`test_acc/median`, `test_acc/q25`, `test_acc/q75`) and,
for populations of at most `logger.max_members`, one series per member (`test_acc/member_3`). The resolved config
goes in as hyperparameters, the run dir as a tag.

Never a lost run: a tracker whose package is missing or whose server is down gives one warning and is switched off.
Resume: `trackers.json` in the run dir keeps each tracker's run id and the last step sent; a resumed process logs
into the same tracker run from the next step on, so no step is logged twice (TensorBoard also purges anything
past that step that a killed process wrote after its last checkpoint).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import List

import pandas as pd
from omegaconf import OmegaConf

log = logging.getLogger("grokbench")
STATE_FILE = "trackers.json"
NOT_METRICS = {"step", "member", "seed"}  # identity columns of metrics.parquet; member hyperparameters are excluded too


def metric_series(rows: pd.DataFrame, member_columns: List[str], max_members: int) -> dict:
    """{step: {name: value}} for the given metrics.parquet rows: quartiles over members, members if few enough."""
    names = [c for c in rows.columns if c not in NOT_METRICS and c not in member_columns
             and pd.api.types.is_numeric_dtype(rows[c])]
    out = {}
    few = rows["member"].nunique() <= max_members
    for step, g in rows.groupby("step", sort=True):
        values = {}
        q = g[names].quantile([0.25, 0.5, 0.75])
        for n in names:
            if g[n].notna().any():
                values.update({f"{n}/q25": q.at[0.25, n], f"{n}/median": q.at[0.5, n], f"{n}/q75": q.at[0.75, n]})
                if few:
                    values.update({f"{n}/member_{m}": v for m, v in zip(g["member"], g[n]) if pd.notna(v)})
        out[int(step)] = {k: float(v) for k, v in values.items()}
    return out


def flat_config(cfg) -> dict:
    """The resolved config as {dotted.key: scalar}: what trackers show as hyperparameters."""
    flat = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            flat[prefix[:-1]] = node if node is None or isinstance(node, (bool, int, float, str)) else str(node)

    walk(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True), "")
    return flat


def store_root(run_dir: Path) -> Path:
    """Where sweep-wide stores go: the sweep dir for a multirun job (whatever the sweeper), else the run dir."""
    from grokbench.status import hydra_of

    hydra = hydra_of(run_dir)
    return Path(hydra.sweep.dir) if hydra is not None and str(hydra.mode) == "MULTIRUN" else run_dir


# ------------------------------------------------------------------------------------------------------ trackers
class TensorBoard:
    def __init__(self, cfg, run_dir: Path, state: dict, last_step):
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

        # purge_step: events a killed process wrote after its last checkpoint are dropped, so a resume stays exact
        self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=None if last_step is None else last_step + 1)
        if last_step is None:
            self.writer.add_text("config", "```\n" + OmegaConf.to_yaml(cfg, resolve=True) + "\n```")
            self.writer.add_text("run_dir", str(run_dir))

    def log(self, series: dict) -> None:
        for step, values in series.items():
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class MLflow:
    def __init__(self, cfg, run_dir: Path, state: dict, last_step):
        from mlflow.entities import Param, RunTag
        from mlflow.tracking import MlflowClient

        settings = cfg.logger.mlflow
        # MLflow 3 refuses new file stores (./mlruns): a SQLite file is the local default that needs no server
        root = store_root(run_dir).resolve()
        uri = settings.tracking_uri or f"sqlite:///{root / 'mlflow.db'}"
        # artifacts (config.yaml) next to the database, not in ./mlruns of whatever dir the job started in
        artifacts = (root / "mlartifacts").as_uri() if settings.tracking_uri is None else None
        self.client = MlflowClient(tracking_uri=uri)
        if state.get("run_id") is not None:  # a resumed job goes on in its own MLflow run
            self.run_id = state["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return
        experiment = self.client.get_experiment_by_name(settings.experiment)
        if experiment is None:
            experiment_id = self.client.create_experiment(settings.experiment, artifact_location=artifacts)
        else:
            experiment_id = experiment.experiment_id
        self.run_id = self.client.create_run(experiment_id, run_name=run_dir.name).info.run_id
        state["run_id"] = self.run_id
        params = [Param(k, str(v)[:6000]) for k, v in flat_config(cfg).items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])
        self.client.log_batch(self.run_id, tags=[RunTag("run_dir", str(run_dir.resolve()))])
        self.client.log_text(self.run_id, OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")

    def log(self, series: dict) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(name, value, now, step) for step, values in series.items() for name, value in values.items()]
        for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
            self.client.log_batch(self.run_id, metrics=metrics[i : i + 1000])

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


class WandB:
    def __init__(self, cfg, run_dir: Path, state: dict, last_step):
        import secrets

        import wandb

        settings = cfg.logger.wandb
        state.setdefault("run_id", secrets.token_hex(4))  # W&B run ids: short, lower-case alphanumeric
        group = store_root(run_dir).name if store_root(run_dir) != run_dir else None  # a sweep's jobs in one group
        self.run = wandb.init(
            project=settings.project, entity=settings.entity, mode=settings.mode, dir=str(run_dir), id=state["run_id"],
            resume="allow", group=group, name=run_dir.name, config=flat_config(cfg),
            notes=f"run dir: {run_dir.resolve()}", reinit="create_new",
            settings=wandb.Settings(quiet=True, console="off"),  # grokbench's own progress stays on the console
        )
        self.run.summary["run_dir"] = str(run_dir.resolve())

    def log(self, series: dict) -> None:
        for step, values in series.items():
            self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


TRACKERS = {"tensorboard": TensorBoard, "mlflow": MLflow, "wandb": WandB}


class Trackers:
    """The trackers `cfg.logger` turns on, for one run dir. Every call survives a tracker that fails."""

    def __init__(self, cfg, run_dir: Path, member_columns: List[str]):
        self.run_dir, self.member_columns, self.max_members = Path(run_dir), member_columns, cfg.logger.max_members
        self.state_path = self.run_dir / STATE_FILE
        saved = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.last_step = saved.get("last_step")
        self.state, self.active = saved.get("trackers", {}), {}
        for name, cls in TRACKERS.items():
            if not cfg.logger[name].enabled:
                continue
            state = self.state.setdefault(name, {})
            try:
                self.active[name] = cls(cfg, self.run_dir, state, self.last_step)
            except Exception as err:  # ImportError, a server that does not answer, ...: the run goes on without it
                self.fail(name, "could not start", err)
        if self.active:
            self.save()

    def fail(self, name: str, what: str, err: Exception) -> None:
        self.active.pop(name, None)
        log.warning(f"logger {name}: {what} ({type(err).__name__}: {' '.join(str(err).split())[:300]}); "
                    f"training goes on without it, the tables in {self.run_dir} are complete")

    def log(self, metrics: pd.DataFrame) -> None:
        """Send the eval steps of `metrics` (a metrics.parquet table) not sent before."""
        if not self.active or metrics.empty:
            return
        new = metrics if self.last_step is None else metrics[metrics["step"] > self.last_step]
        if new.empty:
            return
        series = metric_series(new, self.member_columns, self.max_members)
        for name, tracker in list(self.active.items()):
            try:
                tracker.log(series)
            except Exception as err:
                self.fail(name, "could not log", err)
        self.last_step = int(new["step"].max())
        self.save()

    def save(self) -> None:
        tmp = self.state_path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"last_step": self.last_step, "trackers": self.state}))
        os.replace(tmp, self.state_path)

    def close(self) -> None:
        for name, tracker in list(self.active.items()):
            try:
                tracker.close()
            except Exception as err:
                self.fail(name, "could not close", err)
