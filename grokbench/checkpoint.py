"""A part's checkpoint: checkpoint.pt and the tables and snapshots it points into, saved so that a kill at any moment
leaves a state a rerun resumes exactly (every step, RNG stream and optimizer moment as if never stopped), and
restored. `part` is grokbench/loop.py's Part: the population as it trains."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch
from omegaconf import OmegaConf

from grokbench import store

log = logging.getLogger("grokbench")


def rng_state() -> dict:
    """Global torch RNG streams (CPU, every CUDA device), for anything that draws from them (e.g. dropout)."""
    return {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class PartCheckpoint:
    """The checkpoint in out_dir, read once: `saved` (None before the first save); refused when it is another
    config's, since resuming it would mix two runs."""

    def __init__(self, cfg, out_dir: Path):
        self.dir, self.path = Path(out_dir), Path(out_dir) / store.CHECKPOINT_FILE
        self.config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
        self.saved = store.load_checkpoint(self.path)
        if self.saved is not None and self.saved["config"] != self.config_yaml:
            raise store.RunDirError(f"{self.dir} holds a checkpoint of a different config; use a new output dir")

    @property
    def finished(self) -> bool:
        return self.saved is not None and self.saved["finished"]

    def save(self, part, finished: bool = False) -> pd.DataFrame:
        """Write the part's state; returns its metrics table as written."""
        # metrics first: a checkpoint never points past the rows on disk (a resume drops rows past its step)
        metrics = part.recorder.frame()
        store.write_parquet(metrics, self.dir / store.METRICS_FILE)
        if part.snaps is not None:  # before checkpoint.pt: a resume must find every snapshot up to its step
            part.snaps.save(self.dir / store.SNAPSHOTS_FILE)
        store.save_checkpoint(  # tensors and plain types only: loaded with weights_only=True
            {
                "config": self.config_yaml, "finished": finished, "step": part.step, "streak": part.streak,
                "model": part.model.state_dict(), "optimizer": part.opt.state_dict(),
                "sampler": part.sampler.state_dict() if part.sampler else None,
                "active": part.active.cpu(), "diverged_step": part.diverged_step.cpu(), "rng": rng_state(),
            },
            self.path,
        )
        return metrics

    def restore(self, part) -> bool:
        """Put the part back exactly where the checkpoint left off; False when there is none (a fresh start)."""
        ckpt = self.saved
        if ckpt is None:
            return False
        part.model.load_state_dict(ckpt["model"])
        part.opt.load_state_dict(ckpt["optimizer"])
        if part.sampler is not None:
            part.sampler.load_state_dict(ckpt["sampler"])
        part.active.copy_(ckpt["active"])
        part.diverged_step.copy_(ckpt["diverged_step"])
        part.step, part.streak = ckpt["step"], ckpt["streak"]
        metrics = pd.read_parquet(self.dir / store.METRICS_FILE)
        # rows past the checkpoint's step (killed between writing metrics.parquet and checkpoint.pt) are recomputed
        part.recorder.restore(metrics[metrics["step"] <= part.step].reset_index(drop=True))
        set_rng_state(ckpt["rng"])
        if part.snaps is not None:
            part.snaps.restore(self.dir / store.SNAPSHOTS_FILE, up_to_step=part.step)
        log.info(f"resumed from step {part.step}: {self.path}")
        return True
