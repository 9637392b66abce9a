"""Train a run: its members split into the parts it trains (chunks, workers' pieces), each part trained by
grokbench/loop.py's `train_members` — one after another here, at the same time in worker processes
(grokbench/workers.py) — then one table per kind for the run."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from grokbench.chunking import chunk_parts, fixed_split
from grokbench.compute import training_compute
from grokbench.devices import resolve_device
from grokbench.live import Live
from grokbench.loop import merge_parts, train_members
from grokbench.population import members
from grokbench.provenance import RunRecord


def train(cfg, out_dir: Path) -> pd.DataFrame:
    """Train the population `cfg` describes, writing into out_dir. Returns the per-member summary.
    population.chunk: members in chunks trained one after another (each with its own checkpoint under
    out_dir/chunks/<k>/), then one metrics.parquet and summary.parquet with global member indices (with
    train.early_stop_threshold each chunk stops on its own members' accuracy).
    population.workers: parts trained at the same time in worker processes (grokbench/workers.py), same outputs.
    On CPU one intra-op thread (bitwise the same member whatever the population) and train.flush_denormal, as each
    worker process does too (grokbench/compute.py)."""
    with training_compute(cfg):
        return train_run(cfg, Path(out_dir))


def train_run(cfg, out_dir: Path) -> pd.DataFrame:
    from grokbench.workers import check_workers, concurrent_workers, train_concurrently

    table, device = members(cfg), resolve_device(cfg.device.value)
    check_workers(cfg, device)
    size, pieces = fixed_split(cfg, out_dir, table, device)
    parts = chunk_parts(table, out_dir, size, pieces)
    workers = concurrent_workers(cfg, device, len(parts), pieces)
    record = RunRecord(out_dir, len(table), device)  # run.json: written once training (re)starts, not for a refusal
    # status.json and the trackers; parts trained at once show as one
    live = Live(cfg, out_dir, table, chunks=-(-len(parts) // workers))
    try:
        if workers > 1:
            summary = train_concurrently(cfg, parts, pieces, out_dir, record, live, workers)
        else:
            summary = train_parts(cfg, parts, out_dir, record, live)
    except Exception as err:  # status.json says failed (a signal's SystemExit is no failure: state stays preempted)
        live.fail(err)
        raise
    live.finish()
    return summary


def train_parts(cfg, parts, out_dir: Path, record, live: Live) -> pd.DataFrame:
    """Each chunk part in turn, then one table per kind for the run, as if all had trained at once."""
    def starting() -> None:  # a part is about to set up: this dir's run is ours (run.json, and a failure is ours)
        record.start()
        live.started = True

    summaries = [train_members(cfg, rows, part_dir, live, k, starting) for k, (rows, part_dir) in enumerate(parts)]
    if len(parts) == 1:
        record.end()
        return summaries[0]
    summary = merge_parts(cfg, parts, summaries, out_dir)
    record.end()
    return summary
