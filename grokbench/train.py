"""The training loop: build a population, train it full batch (or minibatch), evaluate on a schedule, write tidy
tables, checkpoint so a killed job resumes where it stopped. Read top to bottom."""
from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from grokbench import store
from grokbench.losses import per_sample_loss
from grokbench.metrics import evaluate
from grokbench.metrics.ipr import neuron_ipr_table
from grokbench.metrics.phases import label_noise
from grokbench.models import build_model
from grokbench.optim import build_optimizer
from grokbench.population import member_tensor, members
from grokbench.progress import Progress
from grokbench.seeding import generator
from grokbench.summary import summarize_members
from grokbench.tasks import build_task

log = logging.getLogger("grokbench")
CHECKPOINT_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)  # SIGUSR2 stays submitit's (it requeues on preemption)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def eval_steps(max_steps: int, every: int, log_points: int) -> set:
    """Step 0, log-spaced steps (sharp early curves) and every `every` steps up to max_steps, which is always in."""
    log_spaced = np.unique(np.round(np.logspace(0, np.log10(max_steps), log_points)).astype(int)) if log_points else []
    return {0, max_steps, *range(every, max_steps + 1, every), *map(int, log_spaced)}


class MinibatchSampler:
    """Per-member shuffles from each member's own stream; (R, B) indices into that member's train set."""

    def __init__(self, seeds, n_train: int, batch_size: int):
        self.gens = [generator(s, "batches") for s in seeds]
        self.n, self.b, self.queue = n_train, batch_size, None

    def next(self, device) -> torch.Tensor:
        if self.queue is None or self.queue.shape[1] < self.b:  # new epoch: drop the ragged tail
            self.queue = torch.stack([torch.randperm(self.n, generator=g) for g in self.gens])
        idx, self.queue = self.queue[:, : self.b], self.queue[:, self.b :]
        return idx.to(device)

    def state_dict(self):
        return {"gens": [g.get_state() for g in self.gens], "queue": self.queue}

    def load_state_dict(self, sd):
        for g, s in zip(self.gens, sd["gens"]):
            g.set_state(s)
        self.queue = sd["queue"]


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
            chunk = pd.DataFrame({"step": np.repeat(steps, R), "member": np.tile(np.arange(R), len(steps))})
            for n in names:
                chunk[n] = stacked[n].reshape(-1)
            self.frames.append(chunk.merge(self.table, on="member", how="left"))
            self.pending = []
        front = ["step", *self.table.columns]
        df = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame(columns=front)
        return df[front + [c for c in df.columns if c not in front]]

    def last(self) -> dict:
        return self.pending[-1][1] if self.pending else {}


def train(cfg, out_dir: Path) -> pd.DataFrame:
    """Train the population `cfg` describes, writing into out_dir. Returns the per-member summary."""
    out_dir = Path(out_dir)
    ckpt = store.load_checkpoint(out_dir / store.CHECKPOINT_FILE)
    config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    if ckpt is not None and ckpt["config"] != config_yaml:
        raise RuntimeError(f"{out_dir} holds a checkpoint of a different config; use a new output dir")
    if ckpt is not None and ckpt["finished"]:
        log.info(f"already finished, nothing to do: {out_dir}")
        return pd.read_parquet(out_dir / store.SUMMARY_FILE)

    # ----------------------------------------------------------------------------------------- setup
    device = resolve_device(cfg.device.value)
    table = members(cfg)  # one row per member
    seeds = table["seed"].tolist()
    data = build_task(cfg.task, seeds, device)
    model = build_model(cfg.model, data, seeds, device)
    lr, wd = (member_tensor(table, f"optimizer.{k}", device) for k in ("lr", "weight_decay"))
    opt = build_optimizer(cfg.optimizer, model.parameters(), lr, wd)
    R, n_train = len(table), data.y_train.shape[1]
    full_batch = cfg.train.batch_size is None or cfg.train.batch_size >= n_train
    sampler = None if full_batch else MinibatchSampler(seeds, n_train, cfg.train.batch_size)
    schedule = eval_steps(cfg.train.max_steps, cfg.train.eval_every, cfg.train.eval_log_points)
    active = torch.ones(R, dtype=torch.bool, device=device)  # False once a member diverged (frozen from then on)
    diverged_step = torch.full((R,), -1, dtype=torch.long, device=device)
    recorder, step, streak = Recorder(table), 0, 0

    if ckpt is not None:  # resume exactly where the last checkpoint left off
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if sampler is not None:
            sampler.load_state_dict(ckpt["sampler"])
        active.copy_(ckpt["active"])
        diverged_step.copy_(ckpt["diverged_step"])
        recorder, step, streak = Recorder(table, [ckpt["metrics"]]), ckpt["step"], ckpt["streak"]
        log.info(f"resumed from step {step}: {out_dir / store.CHECKPOINT_FILE}")
    else:
        recorder.add(0, evaluate(model, data, cfg.loss))

    def checkpoint(finished: bool = False) -> pd.DataFrame:
        metrics = recorder.frame()
        store.write_parquet(metrics, out_dir / store.METRICS_FILE)
        store.save_checkpoint(
            {
                "config": config_yaml, "finished": finished, "step": step, "streak": streak,
                "model": model.state_dict(), "optimizer": opt.state_dict(), "metrics": metrics,
                "sampler": sampler.state_dict() if sampler else None,
                "active": active.cpu(), "diverged_step": diverged_step.cpu(),
            },
            out_dir / store.CHECKPOINT_FILE,
        )
        return metrics

    signalled = []
    previous = {s: signal.signal(s, lambda signum, _: signalled.append(signum)) for s in CHECKPOINT_SIGNALS}

    # ----------------------------------------------------------------------------------------- the loop
    last_save = time.monotonic()
    with Progress(cfg.train.max_steps, start=step) as progress:
        while step < cfg.train.max_steps:
            if signalled or time.monotonic() - last_save > cfg.train.checkpoint_every_s:
                checkpoint()
                last_save = time.monotonic()
                if signalled:  # state is safe on disk: hand the signal to whoever handled it before us
                    for s, handler in previous.items():
                        signal.signal(s, handler)
                    signal.raise_signal(signalled[0])

            if sampler is None:
                x, y = data.x_train, data.y_train
            else:
                idx = sampler.next(device)  # (R, B)
                rows = torch.arange(R, device=device)[:, None]
                x, y = data.x_train[rows, idx], data.y_train[rows, idx]
            loss = per_sample_loss(cfg.loss, model(x), y).mean(-1)  # (R,)
            # ALGO LOGIC: a member whose loss is not finite is frozen; the others' gradients never see it
            bad = active & ~torch.isfinite(loss)
            diverged_step.masked_fill_(bad, step)
            active &= ~bad
            opt.zero_grad()
            torch.where(active, loss, 0.0).sum().backward()
            opt.step(active)
            step += 1

            if step in schedule:
                values = evaluate(model, data, cfg.loss)
                recorder.add(step, values)
                progress.update(step, values)
                threshold = cfg.train.early_stop_threshold
                if threshold is not None:
                    done = bool((values["test_acc"][active] >= threshold).all()) and bool(active.any())
                    streak = streak + 1 if done else 0
                    if streak >= cfg.train.early_stop_patience:
                        log.info(f"early stop at step {step}: every live member has test_acc >= {threshold}")
                        break
            else:
                progress.update(step)

    for s, handler in previous.items():
        signal.signal(s, handler)
    metrics = recorder.frame()
    ds = diverged_step.cpu().numpy()
    summary = summarize_members(metrics, table, [None if d < 0 else int(d) for d in ds], label_noise(cfg.task))
    store.write_parquet(summary, out_dir / store.SUMMARY_FILE)
    ipr = neuron_ipr_table(model, table)  # per-neuron IPR of models with neurons over Z_p, else None
    if ipr is not None:
        store.write_parquet(ipr, out_dir / store.IPR_FILE)
    checkpoint(finished=True)
    return summary
