"""How population.workers' processes start: forked from a fork server that imported torch and the training code
once (grokbench/worker_server.py), so each is ready in milliseconds; 'spawn' (each imports everything) where there
is no fork server (Windows). Kept free of heavy imports: `grokbench run` starts the server before anything else."""
from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver

SERVER_MODULE = "grokbench.worker_server"  # what the fork server imports (a run's own process never does)


def process_context():
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([SERVER_MODULE])  # not '__main__': a worker needs only grokbench's modules
    return ctx


def start_server() -> None:
    """Start the fork server now, so its imports run beside the run's own start-up (on another core); a no-op when
    it runs already. A run that trains in one process leaves it idle; it ends with the run."""
    if process_context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()
