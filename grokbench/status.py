"""`status.json` in a run dir: where a job stands, for `grokbench watch` (and anyone with `cat`).

train.py rewrites it atomically at every checkpoint and once at the end, so a reader on another host (a login node
over a shared file system) sees either the previous or the new file, never half of one. States written by the job:

- running:   training; the file is as fresh as the last checkpoint (train.checkpoint_every_s)
- preempted: the checkpoint was written because of SIGTERM/SIGUSR1/SIGUSR2 (SLURM time limit, preemption, kill);
             a requeued or rerun job continues from it and writes running again
- finished:  summary.parquet is written; rerunning into the dir does nothing
- failed:    training raised an exception (`error` holds its one-line text)

The reader adds two (see grokbench/watch.py): waiting (a job dir without status.json yet) and stopped (running on
this host, but that process is gone: killed without a signal it could catch, e.g. kill -9 or out of memory).
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from grokbench import store

STATUS_FILE = "status.json"
STATES = ("running", "preempted", "finished", "failed")


class Status:
    """One per training process: remembers where this process started so steps/s is this process's own speed."""

    def __init__(self, run_dir: Path, max_steps: int, members: int, chunks: int = 1):
        self.path, self.max_steps, self.members, self.chunks = Path(run_dir) / STATUS_FILE, max_steps, members, chunks
        self.started, self.start_step, self.last_step, self.chunk = time.time(), None, None, 0

    def write(self, state: str, step: int, error: str = None) -> None:
        now = time.time()
        if self.start_step is None:  # the first write of this process: its speed counts from here
            self.start_step, self.started = step, now
        self.last_step = step
        rate = (step - self.start_step) / (now - self.started) if now > self.started else 0.0
        status = {
            "state": state, "step": step, "max_steps": self.max_steps, "members": self.members,
            "chunk": self.chunk, "chunks": self.chunks,  # population.chunk: step counts within chunk k of n
            "steps_per_s": rate, "started": self.started, "updated": now,  # unix seconds
            "host": socket.gethostname(), "pid": os.getpid(), "error": error,
        }
        store.write_json(status, self.path)


def hydra_of(run_dir: Path):
    """The `hydra` node Hydra saved in the job's .hydra/hydra.yaml (mode, sweep dir, sweeper), or None."""
    from omegaconf import OmegaConf

    try:
        return OmegaConf.load(Path(run_dir) / ".hydra" / "hydra.yaml").hydra
    except (OSError, ValueError):
        return None


def read_status(run_dir: Path):
    """The job's status dict, or None when it has written none yet (or the file cannot be read right now)."""
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
