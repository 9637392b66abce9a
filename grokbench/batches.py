"""Minibatches: each member's own shuffles of its own train set (train.batch_size below a member's set size)."""
from __future__ import annotations

import torch

from grokbench.seeding import generator


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
        self.rows = None  # (R, 1) on the device: member k's batch indices pick its own samples

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
        if self.rows is None:
            self.rows = torch.arange(len(self.n), device=device)[:, None]
        return idx.to(device), self.device_mask

    def batch(self, data, device):
        """(x, y, mask) of this step's minibatch: (R, B, ...) inputs and labels, each member's from its own set."""
        idx, mask = self.next(device)  # (R, B) each
        return data.x_train[self.rows, idx], data.y_train[self.rows, idx], mask

    def state_dict(self):
        return {"gens": [g.get_state() for g in self.gens], "queues": [self.queues[n] for n in self.groups]}

    def load_state_dict(self, sd):
        for g, s in zip(self.gens, sd["gens"]):
            g.set_state(s)
        queues = sd["queues"] if "queues" in sd else [sd["queue"]]  # checkpoints before per-size groups: one queue
        self.queues = dict(zip(self.groups, queues))
