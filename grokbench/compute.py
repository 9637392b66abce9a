"""How a process computes while it trains a config's members: on CPU, train.threads intra-op threads
(grokbench/threads.py) and, when asked, subnormals flushed to zero (train.flush_denormal, grokbench/denormals.py).
Both are per-process or per-thread settings, so train() and every worker process (grokbench/workers.py) enter this
same context; the caller's settings come back on exit."""
from __future__ import annotations

import contextlib

from grokbench.denormals import flush_denormal
from grokbench.devices import resolve_device
from grokbench.threads import one_thread_per_member


@contextlib.contextmanager
def training_compute(cfg):
    device = resolve_device(cfg.device.value)
    with one_thread_per_member(device, cfg.train.threads), flush_denormal(cfg.train.flush_denormal, device):
        yield
