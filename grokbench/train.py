"""The training loop: build a population, train it full batch (or minibatch), evaluate on a schedule, write tidy
tables, checkpoint so a killed job resumes where it stopped. Read top to bottom."""
from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from grokbench import store
from grokbench.chunking import chunk_parts, fixed_chunk_size
from grokbench.config import ConfigError, plain
from grokbench.denormals import trains_with_flush_denormal
from grokbench.live import Live
from grokbench.metrics import evaluate
from grokbench.metrics.ipr import neuron_ipr_table
from grokbench.population import build_population, members
from grokbench.progress import Progress
from grokbench.provenance import RunRecord
from grokbench.seeding import generator
from grokbench.snapshots import Snapshots, merge, snapshot_steps
from grokbench.step import Stepper
from grokbench.summary import member_label_noise, summarize_members, summary_settings
from grokbench.threads import trains_one_thread_per_member

log = logging.getLogger("grokbench")
EVALS_AUTO = 100  # train.eval_every=null: about this many evenly spaced evals per run (plus the log-spaced ones)
# Save first, then hand the signal on: submitit's SIGUSR2 handler (timeout/preemption) requeues and exits, its SIGTERM
# handler only logs; without submitit the default action ends the process.
CHECKPOINT_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_device(name: str) -> None:
    """device=cuda on a machine without a visible GPU: one line (ConfigError), not torch's traceback mid-setup."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", name, "cpu or auto: no CUDA device is visible on this machine")


def rng_state() -> dict:
    """Global torch RNG streams (CPU, every CUDA device), for anything that draws from them (e.g. dropout)."""
    return {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def eval_steps(max_steps: int, every, log_points: int) -> set:
    """Step 0, log-spaced steps (sharp early curves) and every `every` steps up to max_steps, which is always in.
    every=None: max_steps / EVALS_AUTO, so a 10^5-step run stays as small on disk as a 10^3-step one."""
    every = every if every is not None else max(1, -(-max_steps // EVALS_AUTO))
    log_spaced = np.unique(np.round(np.logspace(0, np.log10(max_steps), log_points)).astype(int)) if log_points else []
    return {0, max_steps, *range(every, max_steps + 1, every), *map(int, log_spaced)}


class MinibatchSampler:
    """Per-member shuffles from each member's own stream → (R, B) indices into that member's train set, and a (R, B)
    mask of real samples (None when every member draws B real ones).

    Each member draws batch_size of its own n_k samples per step, reshuffling when fewer than batch_size are left
    (the ragged tail of an epoch is dropped), so its epochs are its own: a member with fewer samples starts new epochs
    more often. A member with n_k <= batch_size trains on all its samples every step, in order (full batch, as a
    standalone run of it would), the rest of its batch padding."""

    def __init__(self, seeds, n_train, batch_size: int):
        self.gens = [generator(s, "batches") for s in seeds]
        self.n, self.b = [int(n) for n in n_train], batch_size
        self.groups = {}  # n → member positions drawing from n samples: one (R_n, ·) queue per group
        for k, n in enumerate(self.n):
            self.groups.setdefault(n, []).append(k)
        self.queues = {n: None for n in self.groups}
        # the same every step: which batch positions hold real samples (None: all do), and the small sets' indices
        self.mask = None if min(self.n) >= self.b else torch.arange(self.b) < torch.tensor(self.n)[:, None]  # (R, B)
        self.all_of = {n: torch.arange(self.b).clamp(max=n - 1) for n in self.groups if n <= self.b}
        self.device_mask = None

    def next(self, device):
        idx = torch.empty(len(self.n), self.b, dtype=torch.long)
        for n, ks in self.groups.items():
            if n <= self.b:
                idx[ks] = self.all_of[n]  # full batch; positions >= n are masked out
                continue
            queue = self.queues[n]
            if queue is None or queue.shape[1] < self.b:  # new epoch: drop the ragged tail
                queue = torch.stack([torch.randperm(n, generator=self.gens[k]) for k in ks])
            idx[ks], self.queues[n] = queue[:, : self.b], queue[:, self.b :]
        if self.mask is not None and self.device_mask is None:
            self.device_mask = self.mask.to(device)  # copied to the device once, not every step
        return idx.to(device), self.device_mask

    def state_dict(self):
        return {"gens": [g.get_state() for g in self.gens], "queues": [self.queues[n] for n in self.groups]}

    def load_state_dict(self, sd):
        for g, s in zip(self.gens, sd["gens"]):
            g.set_state(s)
        queues = sd["queues"] if "queues" in sd else [sd["queue"]]  # checkpoints before per-size groups: one queue
        self.queues = dict(zip(self.groups, queues))


class Recorder:
    """Eval results stay on the device as (R,) tensors until a flush turns them into one tidy table."""

    def __init__(self, table: pd.DataFrame, frames=None):
        self.table, self.frames, self.pending = table, list(frames or []), []

    def add(self, step: int, values: dict) -> None:
        self.pending.append((step, values))

    def frame(self) -> pd.DataFrame:
        if self.pending:
            names = list(self.pending[0][1])
            stacked = {n: torch.stack([v[n] for _, v in self.pending]).cpu().numpy() for n in names}  # (E, R)
            steps = np.array([s for s, _ in self.pending])
            R = len(self.table)
            ids = self.table["member"].to_numpy()  # global member indices (a chunk's members are a slice)
            chunk = pd.DataFrame({"step": np.repeat(steps, R), "member": np.tile(ids, len(steps))})
            for n in names:
                chunk[n] = stacked[n].reshape(-1)
            self.frames.append(chunk.merge(self.table, on="member", how="left"))
            self.pending = []
        front = ["step", *self.table.columns]
        df = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame(columns=front)
        return df[front + [c for c in df.columns if c not in front]]


@trains_one_thread_per_member  # CPU: bitwise the same member whatever the population (grokbench/threads.py)
@trains_with_flush_denormal  # train.flush_denormal (grokbench/denormals.py)
def train(cfg, out_dir: Path) -> pd.DataFrame:
    """Train the population `cfg` describes, writing into out_dir. Returns the per-member summary.
    population.chunk: members in chunks trained one after another (each with its own checkpoint under
    out_dir/chunks/<k>/), then one metrics.parquet and summary.parquet with global member indices (with
    train.early_stop_threshold each chunk stops on its own members' accuracy)."""
    out_dir, table, device = Path(out_dir), members(cfg), resolve_device(cfg.device.value)
    size = fixed_chunk_size(cfg, out_dir, table, device)
    parts = chunk_parts(table, out_dir, size)
    record = RunRecord(out_dir, len(table), device)  # run.json: written once training (re)starts, not for a refusal
    live = Live(cfg, out_dir, table, chunks=len(parts))  # status.json and the trackers
    try:
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
    metrics = pd.concat([pd.read_parquet(part_dir / store.METRICS_FILE) for _, part_dir in parts], ignore_index=True)
    store.write_parquet(metrics.sort_values(["step", "member"], kind="stable", ignore_index=True),
                        out_dir / store.METRICS_FILE)
    summary = pd.concat(summaries, ignore_index=True)
    store.write_parquet(summary, out_dir / store.SUMMARY_FILE)
    if cfg.train.snapshots > 0:  # one file, global member ids, as unchunked
        merge([part_dir / store.SNAPSHOTS_FILE for _, part_dir in parts], out_dir / store.SNAPSHOTS_FILE)
    ipr = [part_dir / store.IPR_FILE for _, part_dir in parts]
    if all(p.exists() for p in ipr):  # models with per-neuron IPR: one table for the run, as unchunked
        store.write_parquet(pd.concat(map(pd.read_parquet, ipr), ignore_index=True), out_dir / store.IPR_FILE)
    record.end()
    return summary


def train_members(cfg, table: pd.DataFrame, out_dir: Path, live: Live, chunk: int = 0,
                  starting=lambda: None) -> pd.DataFrame:
    """Train the members in `table` (all of cfg's, or one chunk) as one population, writing into out_dir.
    `starting()` is called once the checkpoint (if any) is known to be this config's and unfinished."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = store.load_checkpoint(out_dir / store.CHECKPOINT_FILE)
    config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    if ckpt is not None and ckpt["config"] != config_yaml:
        raise store.RunDirError(f"{out_dir} holds a checkpoint of a different config; use a new output dir")
    if ckpt is not None and ckpt["finished"]:
        log.info(f"already finished, nothing to do: {out_dir}")
        return pd.read_parquet(out_dir / store.SUMMARY_FILE)

    starting()

    # ----------------------------------------------------------------------------------------- setup
    device = resolve_device(cfg.device.value)
    seeds = table["seed"].tolist()
    data, model, opt, _, _, active, diverged_step = build_population(cfg, table, device)
    R, n_train = len(table), data.train_size.tolist()  # each member's own train set size
    full_batch = cfg.train.batch_size is None or cfg.train.batch_size >= max(n_train)
    sampler = None if full_batch else MinibatchSampler(seeds, n_train, cfg.train.batch_size)
    rows = torch.arange(R, device=device)[:, None]  # (R, 1): member k's batch indices select its own samples
    schedule = eval_steps(cfg.train.max_steps, cfg.train.eval_every, cfg.train.eval_log_points)
    recorder, step, streak = Recorder(table), 0, 0
    snaps = (Snapshots(snapshot_steps(schedule, cfg.train.snapshots), table, model)
             if cfg.train.snapshots > 0 else None)
    take_step = Stepper(cfg.train.compile, model, opt, cfg.loss, active, diverged_step, device, cfg.train.tf32)

    if ckpt is not None:  # resume exactly where the last checkpoint left off
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if sampler is not None:
            sampler.load_state_dict(ckpt["sampler"])
        active.copy_(ckpt["active"])
        diverged_step.copy_(ckpt["diverged_step"])
        step, streak, metrics = ckpt["step"], ckpt["streak"], pd.read_parquet(out_dir / store.METRICS_FILE)
        # rows past the checkpoint's step (killed between writing metrics.parquet and checkpoint.pt) are recomputed
        recorder = Recorder(table, [metrics[metrics["step"] <= step].reset_index(drop=True)])
        set_rng_state(ckpt["rng"])
        if snaps is not None:
            snaps.restore(out_dir / store.SNAPSHOTS_FILE, up_to_step=step)
        log.info(f"resumed from step {step}: {out_dir / store.CHECKPOINT_FILE}")
    else:
        recorder.add(0, evaluate(model, data, cfg.loss, cfg.train.nlm_metrics, cfg.train.fourier_metrics))
        if snaps is not None:
            snaps.take(0, model)
    live.begin(chunk, step)

    def checkpoint(finished: bool = False) -> pd.DataFrame:
        # metrics first: a checkpoint never points past the rows on disk (a resume drops rows past its step)
        metrics = recorder.frame()
        store.write_parquet(metrics, out_dir / store.METRICS_FILE)
        if snaps is not None:  # before checkpoint.pt: a resume must find every snapshot up to its step
            snaps.save(out_dir / store.SNAPSHOTS_FILE)
        store.save_checkpoint(  # tensors and plain types only: loaded with weights_only=True
            {
                "config": config_yaml, "finished": finished, "step": step, "streak": streak,
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "sampler": sampler.state_dict() if sampler else None,
                "active": active.cpu(), "diverged_step": diverged_step.cpu(), "rng": rng_state(),
            },
            out_dir / store.CHECKPOINT_FILE,
        )
        live.checkpoint(metrics, step, signalled)
        return metrics

    signalled = []

    def catch_signals() -> dict:  # signal handlers can only be set from the main thread (not joblib's threads)
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, lambda signum, _: signalled.append(signum)) for s in CHECKPOINT_SIGNALS}

    previous = catch_signals()

    # ----------------------------------------------------------------------------------------- the loop
    train_cfg, loss_cfg = plain(cfg.train), plain(cfg.loss)  # per-step reads: a DictConfig read costs ~50 µs
    last_save = time.monotonic()
    try:
        with Progress(cfg.train.max_steps, start=step) as progress:
            while step < train_cfg.max_steps:
                if signalled or time.monotonic() - last_save > train_cfg.checkpoint_every_s:
                    checkpoint()
                    last_save = time.monotonic()
                    if signalled:  # state is safe on disk: hand the signals to whoever handled them before us
                        live.preempted(step)  # also for a signal that came after checkpoint() wrote its status
                        pending = list(dict.fromkeys(signalled))  # e.g. SIGTERM then SIGUSR2 on a SLURM preemption
                        signalled.clear()
                        for s, handler in previous.items():
                            signal.signal(s, handler)
                        for s in pending:
                            signal.raise_signal(s)
                        previous = catch_signals()  # those handlers returned (e.g. submitit logs SIGTERM): keep going

                if sampler is None:
                    x, y, mask = data.x_train, data.y_train, data.train_mask
                else:
                    idx, mask = sampler.next(device)  # (R, B) each
                    x, y = data.x_train[rows, idx], data.y_train[rows, idx]
                take_step(step, x, y, mask)  # forward, loss, freeze diverged members, backward, optimizer
                step += 1

                if step in schedule:
                    values = evaluate(model, data, loss_cfg, train_cfg.nlm_metrics, train_cfg.fourier_metrics)
                    recorder.add(step, values)
                    if snaps is not None:
                        snaps.take(step, model)
                    progress.update(step, values)
                    threshold = train_cfg.early_stop_threshold
                    if threshold is not None:
                        # test_acc is float64 count / n (metrics/basic.py): exactly 95 % counts as >= 0.95
                        done = bool((values["test_acc"][active] >= threshold).all()) and bool(active.any())
                        streak = streak + 1 if done else 0
                        if streak >= train_cfg.early_stop_patience:
                            log.info(f"early stop at step {step}: every live member has test_acc >= {threshold}")
                            break
                else:
                    progress.update(step)
    finally:  # also on an exception: our handlers must not go on swallowing SIGTERM for a dead loop
        for s, handler in previous.items():
            signal.signal(s, handler)
    if snaps is not None:
        snaps.take(step, model, force=True)  # the last step always (an early stop ends before max_steps)
    metrics = recorder.frame()
    ds = diverged_step.cpu().numpy()
    summary = summarize_members(metrics, table, [None if d < 0 else int(d) for d in ds],
                                member_label_noise(cfg, table), summary_settings(cfg))
    store.write_parquet(summary, out_dir / store.SUMMARY_FILE)
    ipr = neuron_ipr_table(model, table)  # per-neuron IPR of models with neurons over Z_p, else None
    if ipr is not None:
        store.write_parquet(ipr, out_dir / store.IPR_FILE)
    checkpoint(finished=True)
    return summary
