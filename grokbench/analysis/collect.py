"""`grokbench collect SWEEP_DIR`: one table of every member of every job in a sweep → SWEEP_DIR/sweep.parquet.

A job is any dir under SWEEP_DIR holding `.hydra/overrides.yaml`. Its overrides become columns (`key=value` → column
`key`, the value typed as Hydra parses it); member columns (`seed`, `optimizer.lr`, ...) come from its
summary.parquet. A job still running, or killed, contributes the summary of the steps it has written so far, marked
`finished=False`, so a half-finished sweep can be looked at; a job that has written nothing yet adds no rows.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List, Optional

import pandas as pd
from omegaconf import OmegaConf

from grokbench import store
from grokbench.cli import ArgumentParser
from grokbench.provenance import grokbench_version

SWEEP_FILE = "sweep.parquet"


def job_dirs(sweep_dir: Path) -> List[Path]:
    """Every job dir under sweep_dir (the dir itself for a single run), in natural order (2 before 10)."""
    found = [p.parent.parent for p in Path(sweep_dir).rglob("overrides.yaml") if p.parent.name == ".hydra"]
    return sorted(found, key=natural)


def natural(path: Path) -> list:
    """Sort key: numbers in a path compare as numbers (2 before 10)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def overrides(job_dir: Path) -> dict:
    """The job's command-line overrides as {key: typed value}; lists and dicts as their text (one cell each)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    columns = {}
    for o in OverridesParser.create().parse_overrides(list(OmegaConf.load(job_dir / ".hydra" / "overrides.yaml"))):
        if o.is_delete() or o.key_or_group.startswith(("hydra.", "hydra/")):
            continue
        value = o.value()
        columns[o.key_or_group] = value if value is None or isinstance(value, (bool, int, float, str)) \
            else o.get_value_element_as_str()
    return columns


def member_table(job_dir: Path) -> pd.DataFrame:
    """The job's members (member, seed, per-member hyperparameters), from its saved config."""
    from grokbench.population import members

    return members(OmegaConf.load(job_dir / ".hydra" / "config.yaml"))


def job_members(job_dir: Path) -> Optional[pd.DataFrame]:
    """One row per member: the final summary, or one computed from the metrics written so far; None if neither."""
    if (job_dir / store.SUMMARY_FILE).exists():
        return pd.read_parquet(job_dir / store.SUMMARY_FILE).assign(finished=True)
    if not (job_dir / store.METRICS_FILE).exists():
        return None
    from grokbench.metrics.phases import label_noise
    from grokbench.summary import summarize_members, summary_settings

    cfg = OmegaConf.load(job_dir / ".hydra" / "config.yaml")
    table = member_table(job_dir)
    metrics = pd.read_parquet(job_dir / store.METRICS_FILE)
    partial = summarize_members(metrics, table, [None] * len(table), label_noise(cfg.task), summary_settings(cfg))
    return partial.assign(diverged_step=pd.NA, diverged=pd.NA, finished=False)  # divergence is only known at the end


def collect(sweep_dir, write: bool = True) -> pd.DataFrame:
    """The sweep table; `attrs` holds `parameters` (override and member columns), `jobs`, `finished`, `started`."""
    sweep_dir = Path(sweep_dir)
    frames, parameters, jobs, finished = [], {}, job_dirs(sweep_dir), 0
    for job in jobs:
        rows = job_members(job)
        if rows is None:
            continue
        finished += bool(rows["finished"].all())
        parameters.update(dict.fromkeys(member_table(job).columns))
        extra = {k: v for k, v in overrides(job).items() if k not in rows.columns}
        parameters.update(dict.fromkeys(extra))
        front = pd.DataFrame({"job": str(job.relative_to(sweep_dir)), "grokbench_version": grokbench_version(job),
                              **extra}, index=rows.index)
        frames.append(pd.concat([front, rows], axis=1))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"job": [], "member": [], "finished": []})
    df.attrs.update(parameters=[c for c in parameters if c in df.columns], jobs=len(jobs), finished=finished,
                    started=len(frames))
    if write:
        store.write_parquet(df, sweep_dir / SWEEP_FILE)
    return df


def status_line(df: pd.DataFrame) -> str:
    a = df.attrs
    return (f"{len(df)} members from {a['jobs']} jobs: {a['finished']} finished, "
            f"{a['started'] - a['finished']} unfinished with partial results, {a['jobs'] - a['started']} not started")


def main(argv) -> int:
    parser = ArgumentParser(prog="grokbench collect", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"grokbench: error: {args.sweep_dir} is not a directory", file=sys.stderr)
        return 2
    df = collect(args.sweep_dir)
    print(f"{args.sweep_dir / SWEEP_FILE}: {status_line(df)}")
    return 0
