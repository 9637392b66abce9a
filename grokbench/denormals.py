"""train.flush_denormal: on CPU, float subnormals (|x| < 1.2e-38 in float32) flushed to zero while a run trains.

Late in runs trained far past 100 % train accuracy (Prieto et al.'s fig1c and fig2 with a float64 softmax and a float32
model, the Grokfast baseline transformer) the gradients reaching the float32 weights hold subnormal values, and this
CPU's sgemm is ~150x slower on them (scripts/bench_subnormal.py, docs/benchmarks.md). Flushing them (the x86 FTZ/DAZ
flags, torch.set_flush_denormal) removes that slowdown but changes the numerics: a value that would have been
subnormal is 0, so the run no longer matches an unflushed run, nor a GPU's. Hence opt-in, never a default.
The flags belong to the calling thread, which is where a one-thread CPU run computes (grokbench/threads.py: forward,
backward and optimizer); the caller's setting is restored when train() returns or raises.
"""
from __future__ import annotations

import contextlib
import warnings

import torch


def flushing() -> bool:
    """Whether this thread flushes float subnormals now: the smallest normal float32 halved is subnormal, or 0."""
    return bool((torch.full((1,), 2.0**-126) / 2).item() == 0)


@contextlib.contextmanager
def flush_denormal(enabled: bool, device: torch.device):
    """Inside: subnormals flushed to zero on CPU when enabled; the caller's setting restored on exit."""
    if not enabled:
        yield
        return
    if device.type != "cpu":  # GPU kernels do not read the CPU's flags
        warnings.warn(f"train.flush_denormal=true applies to CPU computation; {device.type} is unchanged")
        yield
        return
    before = flushing()
    if not torch.set_flush_denormal(True):
        warnings.warn("train.flush_denormal=true: this CPU cannot flush subnormals (needs SSE3); training without")
    try:
        yield
    finally:
        torch.set_flush_denormal(before)
