"""The signals a cluster sends before it stops a job, caught while training so that its state is saved first, then
handed to whoever handled them before: submitit's SIGUSR2 handler (timeout/preemption) requeues and exits, its SIGTERM
handler only logs; without submitit the default action ends the process."""
from __future__ import annotations

import signal
import threading

CHECKPOINT_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)


class CaughtSignals:
    """Inside `with CaughtSignals() as signals:` a checkpoint signal only lands in `signals.caught` (in order); the
    handlers from before come back on exit, also on an exception, so nothing goes on swallowing SIGTERM for a dead
    loop. Handlers can only be set from the main thread: in another (joblib's threads) nothing is caught."""

    def __init__(self):
        self.caught, self.previous = [], {}

    def __enter__(self) -> CaughtSignals:
        self.catch()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def catch(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, lambda signum, _: self.caught.append(signum))
                             for s in CHECKPOINT_SIGNALS}

    def release(self) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        self.previous = {}

    def hand_on(self) -> None:
        """The state is safe on disk: raise each caught signal (once, in order: e.g. SIGTERM then SIGUSR2 on a SLURM
        preemption) with the handlers from before in place. If they return (submitit logs SIGTERM), catch again."""
        pending = list(dict.fromkeys(self.caught))
        self.caught.clear()
        self.release()
        for s in pending:
            signal.raise_signal(s)
        self.catch()
