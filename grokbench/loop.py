"""One part of a population trained to the end: `train_members` (build, step, evaluate on a schedule, checkpoint,
resume, hand signals on), and `merge_parts`, which turns the parts' tables into the run's. grokbench/train.py runs
the parts one after another, grokbench/workers.py at the same time. Checkpoints live in grokbench/checkpoint.py,
signal hand-back in grokbench/signals.py, what is recorded in grokbench/recording.py."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from grokbench import store
from grokbench.batches import MinibatchSampler
from grokbench.checkpoint import PartCheckpoint
from grokbench.config import plain
from grokbench.devices import resolve_device
from grokbench.live import Live
from grokbench.metrics import evaluate
from grokbench.metrics.ipr import neuron_ipr_table
from grokbench.population import build_population
from grokbench.progress import Progress
from grokbench.recording import Recorder, eval_steps
from grokbench.signals import CaughtSignals
from grokbench.snapshots import Snapshots, merge, snapshot_steps
from grokbench.step import Stepper
from grokbench.summary import member_label_noise, summarize_members, summary_settings

log = logging.getLogger("grokbench")


@dataclass
class Part:
    """The members of one part as they train: what a step changes and what a checkpoint saves."""

    cfg: object
    table: pd.DataFrame
    data: object
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sampler: MinibatchSampler | None  # None: full batch
    active: torch.Tensor  # (R,) bool: members still training (a non-finite loss freezes one)
    diverged_step: torch.Tensor  # (R,) long: the step a member froze at, -1 if never
    take_step: Stepper
    device: torch.device
    schedule: set  # the steps evaluated after
    recorder: Recorder
    snaps: Snapshots | None
    step: int = 0
    streak: int = 0  # consecutive evals at which every live member reached train.early_stop_threshold

    @classmethod
    def build(cls, cfg, table: pd.DataFrame, device) -> Part:
        data, model, opt, _, _, active, diverged_step = build_population(cfg, table, device)
        n_train = data.train_size.tolist()  # each member's own train set size
        full_batch = cfg.train.batch_size is None or cfg.train.batch_size >= max(n_train)
        sampler = None if full_batch else MinibatchSampler(table["seed"].tolist(), n_train, cfg.train.batch_size)
        schedule = eval_steps(cfg.train.max_steps, cfg.train.eval_every, cfg.train.eval_log_points)
        snaps = (Snapshots(snapshot_steps(schedule, cfg.train.snapshots), table, model)
                 if cfg.train.snapshots > 0 else None)
        take_step = Stepper(cfg.train.compile, model, opt, cfg.loss, active, diverged_step, device, cfg.train.tf32)
        return cls(cfg, table, data, model, opt, sampler, active, diverged_step, take_step, device, schedule,
                   Recorder(table), snaps)

    def train_step(self) -> None:
        """Forward, loss, freeze diverged members, backward, optimizer: one step of every live member."""
        if self.sampler is None:
            x, y, mask = self.data.x_train, self.data.y_train, self.data.train_mask
        else:
            x, y, mask = self.sampler.batch(self.data, self.device)
        self.take_step(self.step, x, y, mask)
        self.step += 1

    def evaluate(self, train_cfg, loss_cfg) -> dict:
        """Every eval metric of every member at this step, recorded (and a snapshot where one is due)."""
        values = evaluate(self.model, self.data, loss_cfg, train_cfg.nlm_metrics, train_cfg.fourier_metrics)
        self.recorder.add(self.step, values)
        if self.snaps is not None:
            self.snaps.take(self.step, self.model)
        return values

    def summary(self) -> pd.DataFrame:
        """The per-member summary of everything recorded (ends the snapshots with this step's weights)."""
        if self.snaps is not None:
            self.snaps.take(self.step, self.model, force=True)  # the last step always (an early stop ends before max)
        ds = self.diverged_step.cpu().numpy()
        return summarize_members(self.recorder.frame(), self.table, [None if d < 0 else int(d) for d in ds],
                                 member_label_noise(self.cfg, self.table), summary_settings(self.cfg))


def train_members(cfg, table: pd.DataFrame, out_dir: Path, live: Live, chunk: int = 0,
                  starting=lambda: None) -> pd.DataFrame:
    """Train the members in `table` (all of cfg's, or one chunk) as one population, writing into out_dir.
    `starting()` is called once the checkpoint (if any) is known to be this config's and unfinished."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = PartCheckpoint(cfg, out_dir)
    if ckpt.finished:
        log.info(f"already finished, nothing to do: {out_dir}")
        return pd.read_parquet(out_dir / store.SUMMARY_FILE)
    starting()

    part = Part.build(cfg, table, resolve_device(cfg.device.value))
    train_cfg, loss_cfg = plain(cfg.train), plain(cfg.loss)  # per-step reads: a DictConfig read costs ~50 µs
    if not ckpt.restore(part):  # resumed exactly where the last checkpoint left off, or step 0's eval
        part.evaluate(train_cfg, loss_cfg)
    live.begin(chunk, part.step)

    with CaughtSignals() as signals, Progress(train_cfg.max_steps, start=part.step, bar=live.bar) as progress:
        last_save = time.monotonic()

        def save() -> None:
            nonlocal last_save
            live.checkpoint(ckpt.save(part), part.step, signals.caught)
            last_save = time.monotonic()

        def save_and_hand_on() -> None:  # the state is safe on disk: the signals go to whoever handled them before
            save()
            live.preempted(part.step)  # also for a signal that came after save() wrote its status
            signals.hand_on()

        while part.step < train_cfg.max_steps:
            # parts that stop together (grokbench/workers.py) take a signal at the next eval, all at the same one
            if signals.caught and not live.signals_at_evals:
                save_and_hand_on()
            elif time.monotonic() - last_save > train_cfg.checkpoint_every_s:
                save()

            part.train_step()
            if part.step not in part.schedule:
                progress.update(part.step)
                continue
            values = part.evaluate(train_cfg, loss_cfg)
            progress.update(part.step, values)
            threshold = train_cfg.early_stop_threshold
            if threshold is None:
                continue
            # test_acc is float64 count / n (metrics/basic.py): exactly 95 % counts as >= 0.95
            done = live.all_done(part.step, bool((values["test_acc"][part.active] >= threshold).all()),
                                 bool(part.active.any()), signals.caught)  # over every part that stops with this one
            part.streak = part.streak + 1 if done else 0
            if part.streak >= train_cfg.early_stop_patience:
                log.info(f"early stop at step {part.step}: every live member has test_acc >= {threshold}")
                break
            if signals.caught and live.signals_at_evals:
                save_and_hand_on()

    # the handlers from before are back: a signal from here on acts at once (every write below is atomic)
    summary = part.summary()
    store.write_parquet(summary, out_dir / store.SUMMARY_FILE)
    ipr = neuron_ipr_table(part.model, table)  # per-neuron IPR of models with neurons over Z_p, else None
    if ipr is not None:
        store.write_parquet(ipr, out_dir / store.IPR_FILE)
    live.checkpoint(ckpt.save(part, finished=True), part.step, signals.caught)
    return summary


def merge_parts(cfg, parts, summaries, out_dir: Path) -> pd.DataFrame:
    """One metrics.parquet, summary.parquet, snapshots.pt and ipr.parquet for the run from its parts' own, with global
    member ids, as if all had trained at once."""
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
    return summary
