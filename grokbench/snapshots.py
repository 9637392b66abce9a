"""train.snapshots=N: N copies of every member's weights at eval steps, for analyses that look inside a run after the
fact (`grokbench analyze fourier`: Nanda et al. 2023's progress measures need the weights along the way, not only at
the end).

snapshots.pt holds only tensors and plain Python types (it loads with torch.load(weights_only=True)):
    steps   [S] ints, ascending            member  [R] global member ids      seed  [R] ints
    present (S, R) bool: member r has a snapshot at steps[s] (False only where chunks stopped early at other steps)
    state   {name: (S, R, ...)} every tensor of the model's state_dict, stacked over snapshots
It is rewritten (atomically) at each checkpoint, before checkpoint.pt, so a resumed run finds every snapshot up to its
checkpoint's step and takes the later ones again from the same states.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch

from grokbench import store

log = logging.getLogger("grokbench")


def snapshot_steps(schedule, n: int) -> list:
    """n of the eval steps: half near evenly spaced points (late; the last step always), half near log-spaced points
    below the first of those (sharp early). Where two points land on one step, the gap is filled by the step
    farthest (in log step) from the chosen ones. All eval steps if there are at most n."""
    steps = sorted(schedule)
    if n >= len(steps):
        return steps
    arr, n_log = np.array(steps), n // 2
    linear = np.linspace(0, steps[-1], n - n_log + 1)[1:]  # ends at the last step
    log_spaced = np.logspace(0, math.log10(linear[0]), n_log + 1)[:-1] if n_log else []  # up to the first linear one
    chosen = {int(arr[np.abs(arr - t).argmin()]) for t in linear}
    chosen |= {int(arr[np.abs(np.log1p(arr) - np.log1p(t)).argmin()]) for t in log_spaced}
    rest = [s for s in steps if s not in chosen]
    while len(chosen) < n:
        c = np.log1p(np.array(sorted(chosen)))
        far = max(rest, key=lambda s: np.abs(c - np.log1p(s)).min())
        chosen.add(far)
        rest.remove(far)
    return sorted(chosen)


def model_tensors(model) -> dict:
    """{name: (R, ...) CPU copy} of every tensor in the model's state_dict (dropout generator states are not kept)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if torch.is_tensor(v)}


class Snapshots:
    def __init__(self, steps, table, model):
        self.steps, self.taken, self.dirty = set(steps), {}, False
        self.members, self.seeds = [int(m) for m in table["member"]], [int(s) for s in table["seed"]]
        per_member = sum(v.numel() * v.element_size() for v in model_tensors(model).values()) / len(table)
        log.info(f"train.snapshots: {len(self.steps)} snapshots at eval steps {min(self.steps)}..{max(self.steps)}, "
                 f"{per_member / 1024:.1f} KiB per member and snapshot "
                 f"({per_member * len(self.steps) * len(table) / 2**20:.1f} MiB in all)")

    def take(self, step: int, model, force: bool = False) -> None:
        """Keep the weights at `step` if it is a snapshot step (force: in any case, e.g. the final step)."""
        if (force or step in self.steps) and step not in self.taken:
            self.taken[step] = model_tensors(model)
            self.dirty = True

    def state(self) -> dict:
        steps = sorted(self.taken)
        names = list(self.taken[steps[0]]) if steps else []
        return {"steps": steps, "member": self.members, "seed": self.seeds,
                "present": torch.ones(len(steps), len(self.members), dtype=torch.bool),
                "state": {n: torch.stack([self.taken[s][n] for s in steps]) for n in names}}

    def save(self, path: Path) -> None:
        if self.dirty:
            store.save_checkpoint(self.state(), path)
            self.dirty = False

    def restore(self, path: Path, up_to_step: int) -> None:
        """Take back the snapshots of a resumed run up to its checkpoint's step (later ones are taken again)."""
        if not Path(path).exists():
            return
        saved = load(path)
        for i, step in enumerate(saved["steps"]):
            if step <= up_to_step:
                self.taken[step] = {n: v[i] for n, v in saved["state"].items()}


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def merge(paths, out: Path) -> None:
    """One snapshots.pt for a chunked run: members of every chunk with their global ids, on the union of steps
    (chunks that stopped early at different steps: `present` says which member has which step)."""
    parts = [load(p) for p in paths]
    steps = sorted({s for part in parts for s in part["steps"]})
    row = {s: i for i, s in enumerate(steps)}
    members = [m for part in parts for m in part["member"]]
    present = torch.zeros(len(steps), len(members), dtype=torch.bool)
    state, col = {}, 0
    for part in parts:
        idx, R = [row[s] for s in part["steps"]], len(part["member"])
        present[idx, col : col + R] = part["present"]
        for name, v in part["state"].items():
            if name not in state:
                state[name] = torch.zeros(len(steps), len(members), *v.shape[2:], dtype=v.dtype)
            state[name][idx, col : col + R] = v
        col += R
    store.save_checkpoint({"steps": steps, "member": members, "seed": [s for p in parts for s in p["seed"]],
                           "present": present, "state": state}, out)
