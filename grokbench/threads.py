"""CPU: one intra-op thread while a population trains, so that a member is the same whoever it trains with.

With several threads ATen and MKL split an op's work by where it falls in the whole batched tensor: one member's
matmul, reduction or element-wise op is cut across threads when it is alone (R = 1) or when a thread boundary falls
inside it (R = 3 on 2 threads), and each cut changes the summation order and which elements take the vector or the
scalar code path. Measured on torch 2.14, 2 threads, 400 steps: member 1 of seeds=3 drifts from seeds=[1] (test loss
by 2e-2); the transformer and quadratic models differ from step 1 at R = 1 and at R = 3. On one thread every member
is computed by the same sequence of kernels whatever the population, and the runs were bitwise equal (R = 1, 2, 3, 8,
all three model families; tests/test_member_threads.py). The cost, numbers in docs/benchmarks.md: no intra-op
parallelism on CPU; more cores train parts of the population at the same time instead, one process each
(population.workers, grokbench/workers.py), or run parallel jobs (hydra/launcher=joblib).
train.threads=N > 1 gives each process N intra-op threads: a run stays reproducible for a fixed N (the same
population cut the same way), but member k is no longer bitwise its standalone run or its run in another population.
torch.set_num_threads is process-wide: the caller's setting is restored when train() returns or raises.
"""
from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def one_thread_per_member(device: torch.device, threads: int = 1):
    """On CPU: torch intra-op threads = `threads` (train.threads; 1 unless asked) inside, the caller's count restored
    on exit. Other devices: unchanged (their kernels are chosen per batch size, which no thread setting fixes; see
    docs/configuration.md, `seeds=N`)."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
