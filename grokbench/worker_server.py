"""What the fork server of population.workers imports once, at its start (grokbench/workers.py): torch, pandas and the
training code, so that each worker forked from it is ready in milliseconds instead of importing them again (~2 s a
worker here; far more for many workers reading one shared file system). Never imported by a run's own process.

Forking is safe from a process with one thread only (a lock held by another thread stays held in the child), so the
libraries are told not to start threads of their own at import: OpenBLAS's pool (numpy) and the jemalloc background
thread (pyarrow). A worker trains on its own threads (grokbench/threads.py), set after the fork.
"""
import ctypes
import os
import signal

from grokbench.signals import CHECKPOINT_SIGNALS

# Before anything forks from this process it must die with the run that started it (a kill -9 of the run takes the
# server, and with it every worker, whose own PR_SET_PDEATHSIG points here).
try:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):  # not Linux: the server still leaves when the run's end closes its pipe
    pass

# A checkpoint signal (SLURM signals every process of a job) must not end the server under its workers, and one that
# reaches a worker before it set its own handlers is kept for it (grokbench/workers.py: signals_before_handlers).
EARLY = []


def keep(signum, _) -> None:
    EARLY.append(signum)


for _s in CHECKPOINT_SIGNALS:
    signal.signal(_s, keep)
os.register_at_fork(after_in_child=EARLY.clear)  # a worker starts with none of the server's own

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["JE_ARROW_MALLOC_CONF"] = "background_thread:false"

import pandas  # noqa: E402,F401  (the imports this module is for)
import torch  # noqa: E402,F401

import grokbench.compute  # noqa: E402,F401
import grokbench.loop  # noqa: E402,F401
