"""`grokbench collect SWEEP_DIR`: one table of every member of every job in a sweep → SWEEP_DIR/sweep.parquet.

A job is any dir under SWEEP_DIR holding `.hydra/overrides.yaml`. Its overrides become columns (`key=value` → column
`key`, the value typed as Hydra parses it); member columns (`seed`, `optimizer.lr`, ...) come from its
summary.parquet. A job still running, or killed, contributes the summary of the steps it has written so far, marked
`finished=False`, so a half-finished sweep can be looked at; a job that has written nothing yet adds no rows.
A job trained in chunks (population.chunk) writes its run-wide tables only once its last chunk ends; until then its
finished chunks' members come from chunks/<k>/summary.parquet (`finished=True`: their numbers are final), the chunk in
training's from its metrics so far (`finished=False`), and members of chunks not started add no rows (the status line
counts them), so that fractions over the table are over members that have trained.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List, Optional

import pandas as pd
from omegaconf import OmegaConf

from grokbench import store
from grokbench.errors import ArgumentParser
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
    """The job's members (member, seed, per-member hyperparameters), from the config it trained (grokbench/runs.py)."""
    from grokbench.population import members
    from grokbench.runs import run_config

    return members(run_config(job_dir))


def job_members(job_dir: Path) -> Optional[pd.DataFrame]:
    """One row per member that has trained: final summaries, or ones computed from the metrics written so far; None if
    none. Chunked and unfinished: `attrs["chunk"]` = (chunk in training, chunks, members of later chunks)."""
    if (job_dir / store.SUMMARY_FILE).exists():
        return pd.read_parquet(job_dir / store.SUMMARY_FILE).assign(finished=True)
    parts = job_parts(job_dir)
    frames = [rows for rows in (part_members(job_dir, members, part) for members, part in parts) if rows is not None]
    if not frames:
        return None
    rows = pd.concat(frames, ignore_index=True)
    if len(parts) > 1:  # the first part without a summary is the one training (or killed in training)
        k = next((i for i, (_, part) in enumerate(parts) if not (part / store.SUMMARY_FILE).exists()), len(parts))
        rows.attrs["chunk"] = (k, len(parts), sum(len(members) for members, _ in parts[k + 1:]))
    return rows


def job_parts(job_dir: Path) -> list:
    """[(members, dir)] the job trains one after another: its chunks/<k>/ (population.chunk), or the job dir alone."""
    from grokbench.runs import open_run

    return open_run(job_dir).parts


def part_members(job_dir: Path, members: pd.DataFrame, part: Path) -> Optional[pd.DataFrame]:
    """The rows of one part's members: its summary, else one from its metrics so far, else None."""
    if (part / store.SUMMARY_FILE).exists():
        return pd.read_parquet(part / store.SUMMARY_FILE).assign(finished=True)
    if not (part / store.METRICS_FILE).exists():
        return None
    from grokbench.runs import run_config
    from grokbench.summary import member_label_noise, summarize_members, summary_settings

    cfg = run_config(job_dir)
    members = members.reset_index(drop=True)
    metrics = pd.read_parquet(part / store.METRICS_FILE)
    partial = summarize_members(metrics, members, [None] * len(members), member_label_noise(cfg, members),
                                summary_settings(cfg))
    unknown = len(partial) * [pd.NA]  # divergence is only known at the end; typed, so chunks' rows concatenate
    return partial.assign(diverged_step=pd.array(unknown, dtype="Int64"), diverged=pd.array(unknown, dtype="boolean"),
                          finished=False)


def collect(sweep_dir, write: bool = True) -> pd.DataFrame:
    """The sweep table; `attrs` holds `parameters` (override and member columns), `jobs`, `finished`, `started`."""
    sweep_dir = Path(sweep_dir)
    frames, parameters, jobs, finished, chunks = [], {}, job_dirs(sweep_dir), 0, {}
    for job in jobs:
        rows = job_members(job)
        if rows is None:
            continue
        finished += (job / store.SUMMARY_FILE).exists()  # a chunked job whose chunks all ended still has to merge
        if "chunk" in rows.attrs:
            chunks[str(job.relative_to(sweep_dir))] = rows.attrs["chunk"]
        parameters.update(dict.fromkeys(member_table(job).columns))
        extra = {k: v for k, v in overrides(job).items() if k not in rows.columns}
        parameters.update(dict.fromkeys(extra))
        front = pd.DataFrame({"job": str(job.relative_to(sweep_dir)), "grokbench_version": grokbench_version(job),
                              **extra}, index=rows.index)
        frames.append(pd.concat([front, rows], axis=1))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"job": [], "member": [], "finished": []})
    df.attrs.update(parameters=[c for c in parameters if c in df.columns], jobs=len(jobs), finished=finished,
                    started=len(frames), chunks=chunks)
    if write:
        store.write_parquet(df, sweep_dir / SWEEP_FILE)
    return df


def status_line(df: pd.DataFrame) -> str:
    a = df.attrs
    line = (f"{len(df)} members from {a['jobs']} jobs: {a['finished']} finished, "
            f"{a['started'] - a['finished']} unfinished with partial results, {a['jobs'] - a['started']} not started")
    chunks = a.get("chunks") or {}
    if chunks:  # chunked jobs in progress: which chunk each is at, and who is not in the table yet
        at = ", ".join(f"{'' if job == '.' else f'job {job} '}at chunk {min(k + 1, n)}/{n}"
                       for job, (k, n, _) in chunks.items())
        later = sum(waiting for _, _, waiting in chunks.values())
        line += f"; {at}" + (f"; {later} member{'s' * (later != 1)} of later chunks not started" if later else "")
    return line


def no_results_line(directory, df: pd.DataFrame) -> str:
    """The error line for a directory with nothing to show: where its jobs are, or that it holds none."""
    why = status_line(df) if df.attrs.get("jobs") else "no runs there"
    return f"grokbench: error: no results under {directory} yet ({why})"


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
