"""population.chunk: how many members to train at once, so that seeds=4096 runs on any device.

`auto` measures instead of modelling: one eager step and one evaluation of a small trial population on the device
give the peak bytes per member (parameters, gradients, optimizer state, activations, cached inputs, eval logits),
and as many members as fit in 80 % of the free memory are trained at once.

On CPU (null or auto), a population.grid that gives members train or test sets of different sizes (train_fraction)
trains each set size's members in turn, unpadded: there time is FLOPs, and padding the 0.2-fraction members' sets to
the 0.8 fraction's cost 0.75× the member-steps/s of as many seeds of one fraction (docs/benchmarks.md). On a GPU the
sets stay padded in one population (small populations are launch-bound there; not measured yet).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Tuple

import pandas as pd
import torch

from grokbench import store

log = logging.getLogger("grokbench")
TRIAL_MEMBERS = 4  # enough to separate per-member bytes from fixed ones (CUDA context, cuBLAS workspace)
MEMORY_FRACTION = 0.8  # headroom for the allocator's fragmentation and the caller's own tensors


SIZE_FILE = Path("chunks") / "size.json"  # in the run dir: the decision of the first start


def recorded_config(run_dir: Path):
    """The config (resolved YAML) of the run a dir holds: its chunk decision's, else its checkpoint's; None if none."""
    run_dir = Path(run_dir)
    if (run_dir / SIZE_FILE).exists():
        saved = json.loads((run_dir / SIZE_FILE).read_text()).get("config")
        if saved is not None:
            return saved
    ckpt = store.load_checkpoint(run_dir / store.CHECKPOINT_FILE)  # refuses pickled objects (RunDirError)
    return None if ckpt is None else ckpt["config"]


def check_run_dir(config: str, run_dir: Path) -> None:
    """store.RunDirError unless run_dir is empty of runs or holds a run of this very config (resolved YAML)."""
    recorded = recorded_config(run_dir)
    if recorded is not None and recorded != config:
        raise store.RunDirError(f"{run_dir} holds a run of a different config; use a new output dir")


def fixed_split(cfg, run_dir: Path, table: pd.DataFrame, device: torch.device) -> Tuple[int, int]:
    """(members per chunk, pieces per chunk) as decided at the run's first start, whatever it decided (all at once
    included): a resume reads the decision back, because chunk=auto measured again (say, with less free memory) or
    workers=auto counted again (on a machine with other cores) would slice the members differently and so train them
    again from step 0. Pieces: population.workers > 1 cuts each chunk into that many contiguous parts trained at the
    same time (grokbench/workers.py). Another config's run dir is refused (store.RunDirError) before anything is
    written into it; a dir whose checkpoint predates the recorded decision trained all at once."""
    from omegaconf import OmegaConf

    path, config = Path(run_dir) / SIZE_FILE, OmegaConf.to_yaml(cfg, resolve=True)
    check_run_dir(config, run_dir)
    if path.exists():
        saved = json.loads(path.read_text())
        return saved["members_per_chunk"], saved.get("pieces", 1)  # runs from before workers: uncut
    has_run = (Path(run_dir) / store.CHECKPOINT_FILE).exists()
    size = len(table) if has_run else chunk_size(cfg, table, device)
    pieces = 1 if has_run else chunk_pieces(cfg, table, size, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    store.write_json({"members_per_chunk": size, "pieces": pieces, "config": config}, path)
    return size, pieces


def chunk_pieces(cfg, table: pd.DataFrame, size: int, device: torch.device) -> int:
    """Contiguous parts each chunk is cut into so that population.workers processes train at once: workers ÷ chunks
    when the chunk size is not the user's (chunk null or auto), at most the smallest chunk's members; else 1."""
    from grokbench.cores import worker_count

    chunk = cfg.population.chunk
    if chunk is not None and chunk != "auto":  # an explicit size: its chunks are the parts, a pool trains them
        return 1
    n_chunks = -(-len(table) // size)
    smallest = len(table) - (n_chunks - 1) * size
    return max(1, min(worker_count(cfg, device, len(table)) // n_chunks, smallest))


def chunk_parts(table: pd.DataFrame, run_dir: Path, size: int, pieces: int = 1) -> list:
    """[(members, dir)] of each part: chunks/<k>/ for part k, the run dir itself when all train at once. A chunk cut
    into pieces gives `pieces` parts in a row, of sizes that differ by at most one member."""
    if size >= len(table) and pieces == 1:
        return [(table, Path(run_dir))]
    chunks = [table.iloc[i : i + size] for i in range(0, len(table), size)]
    parts = [c.iloc[j * len(c) // pieces : (j + 1) * len(c) // pieces] for c in chunks for j in range(pieces)]
    return [(rows, Path(run_dir) / "chunks" / str(k)) for k, rows in enumerate(parts)]


def recorded_parts(table: pd.DataFrame, run_dir: Path) -> list:
    """chunk_parts of a run dir as its first start decided them (chunks/size.json; a dir written before runs
    recorded the decision trained all at once)."""
    path = Path(run_dir) / SIZE_FILE
    saved = json.loads(path.read_text()) if path.exists() else {"members_per_chunk": len(table)}
    return chunk_parts(table, run_dir, saved["members_per_chunk"], saved.get("pieces", 1))


def set_size_group(cfg, table: pd.DataFrame):
    """Members per run of equal train and test set sizes, when the members' set sizes differ and each size is one
    contiguous run of members of the same length (it is: train_fraction is the first task key of the member order,
    grokbench/population.py); else None."""
    from grokbench.population import task_groups

    if not any(c.startswith("task.") for c in table.columns):
        return None
    table, shapes = table.reset_index(drop=True), [None] * len(table)
    for task, rows in task_groups(cfg, table):  # one schema per group of task values, as build_data makes them
        shape = task.data_shape()
        for i in rows.index:
            shapes[i] = (shape.n_train, shape.n_test)
    runs = [1]
    for before, now in zip(shapes, shapes[1:]):
        runs[-1:] = [runs[-1] + 1] if now == before else [runs[-1], 1]
    if len(runs) == 1 or len(set(runs)) > 1 or len(runs) != len(set(shapes)):
        return None
    return runs[0]


def chunk_size(cfg, table: pd.DataFrame, device: torch.device) -> int:
    """Members per chunk, in [1, len(table)]."""
    chunk, n_members = cfg.population.chunk, len(table)
    if chunk is not None and chunk != "auto":
        return min(int(chunk), n_members)
    if device.type != "cuda":
        group = set_size_group(cfg, table)
        if group is not None:
            log.info(f"population.grid gives {n_members // group} set sizes: on {device.type} each size's "
                     f"{group} members train in turn, unpadded")
            return group
        return n_members
    if chunk is None:
        return n_members
    per_member = member_bytes(cfg, device)
    free, _ = torch.cuda.mem_get_info(device)
    size = max(1, min(n_members, int(MEMORY_FRACTION * free // per_member)))
    log.info(f"population.chunk=auto: {per_member / 2**20:.1f} MiB per member, {free / 2**30:.1f} GiB free "
             f"→ {size} of {n_members} members at once")
    return size


def trial_members(table: pd.DataFrame) -> pd.DataFrame:
    """The trial population: a population.grid over task keys (train_fraction, ...) pads every member's sets to the
    longest, so the trial holds one member of each group of task values (its sets padded as long as the run's), then
    other members up to TRIAL_MEMBERS."""
    keys = [c for c in table.columns if c.startswith("task.")]
    first = table.drop_duplicates(keys) if keys else table.iloc[:0]
    return pd.concat([first, table.drop(first.index).iloc[: max(0, TRIAL_MEMBERS - len(first))]])


def member_bytes(cfg, device: torch.device) -> float:
    """Peak device bytes per member of one training step plus one evaluation, measured on a trial population."""
    from grokbench.metrics import evaluate
    from grokbench.population import build_population, members
    from grokbench.step import train_step

    table = trial_members(members(cfg))
    torch.cuda.synchronize(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    data, model, opt, _, _, active, diverged = build_population(cfg, table, device)
    train_step(model, opt, cfg.loss, data.x_train, data.y_train, active, diverged, 0, data.train_mask)
    # NLM adds a backward pass: measure it too
    evaluate(model, data, cfg.loss, cfg.train.nlm_metrics, cfg.train.fourier_metrics)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - base
    del data, model, opt
    torch.cuda.empty_cache()
    return peak / len(table)
