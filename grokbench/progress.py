"""Progress of a run: a rich bar on a terminal, plain log lines (every ~10 %) otherwise (SLURM logs, pipes)."""
import logging
import sys
import time

import torch
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

log = logging.getLogger("grokbench")


def median_text(values: dict) -> str:
    if not values:
        return ""
    train, test = (torch.nanmedian(values[k].float()).item() for k in ("train_acc", "test_acc"))
    return f"train {train:6.1%}  test {test:6.1%}"


class Progress:
    def __init__(self, total: int, start: int = 0, bar: bool = True):
        self.total, self.start, self.fancy = total, start, bar and sys.stdout.isatty()
        self.next_log, self.t0, self.accs = start, time.monotonic(), ""

    def __enter__(self):
        if self.fancy:
            self.bar = RichProgress(
                TextColumn("step"), MofNCompleteColumn(), BarColumn(), TextColumn("{task.fields[accs]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            )
            self.bar.start()
            self.task = self.bar.add_task("train", total=self.total, completed=self.start, accs="")
        return self

    def update(self, step: int, values: dict = None) -> None:
        """Called every step; `values` (eval metrics, on the device) only at eval steps, the one time we sync."""
        if values is not None:
            self.accs = "median " + median_text(values)
        if self.fancy:
            if values is not None or step % 50 == 0 or step == self.total:
                self.bar.update(self.task, completed=step, accs=self.accs)
        elif values is not None and (step >= self.next_log or step == self.total):
            rate = (step - self.start) / max(time.monotonic() - self.t0, 1e-9)
            log.info(f"step {step}/{self.total}  {self.accs}  {rate:.0f} steps/s")
            self.next_log = step + max(1, self.total // 10)

    def __exit__(self, *exc):
        if self.fancy:
            self.bar.stop()
