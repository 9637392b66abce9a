"""`grokbench watch DIR [--once] [--every S]`: a live table of a run or a sweep, refreshed as checkpoints land.

Reads only what jobs write (status.json, metrics.parquet or, while a chunked job trains, each chunk's, .hydra/, the
sweep's multirun.yaml and .submitit/), never writes or locks anything, so it can run on a login node over a shared file
system while jobs train elsewhere.
States: running, preempted, finished, failed (written by the job, see grokbench/status.py), plus
- waiting: a job dir (or a .submitit/ entry) without status.json yet; a job the sweep will launch but that has no
  dir yet counts in the "not started" total (from multirun.yaml: the overrides' combinations, or an optuna study's
  n_trials; other sweepers: "n jobs seen")
- stopped: status.json says running, the job ran on this host and its process is gone (kill -9, out of memory)
"""
from __future__ import annotations

import math
import os
import socket
import sys
import time
from pathlib import Path
from typing import List, Optional

import pandas as pd
from omegaconf import OmegaConf
from rich.console import Console
from rich.table import Table

from grokbench import store
from grokbench.errors import ArgumentParser
from grokbench.status import STATUS_FILE, hydra_of, read_status

DONE = ("finished", "failed")
COLOURS = {"running": "green", "finished": "blue", "failed": "red", "preempted": "yellow", "waiting": "dim",
           "stopped": "red"}


def job_dirs(root: Path) -> List[Path]:
    """The run itself, or every job dir of a sweep (those Hydra has started or that wrote a status)."""
    from grokbench.analysis.collect import job_dirs as hydra_jobs
    from grokbench.analysis.collect import natural

    if (root / ".hydra").is_dir() or (root / STATUS_FILE).exists():
        return [root]
    return sorted(set(hydra_jobs(root)) | {p.parent for p in root.glob(f"*/{STATUS_FILE}")}, key=natural)


def expected_jobs(root: Path) -> Optional[int]:
    """How many jobs the sweep launches, from Hydra's multirun.yaml; None when it cannot be known."""
    try:  # multirun.yaml: what the basic sweeper saves; the optuna sweeper saves none, its jobs' hydra.yaml tell
        jobs = job_dirs(root)
        hydra = OmegaConf.load(root / "multirun.yaml").hydra if (root / "multirun.yaml").exists() else \
            hydra_of(jobs[0]) if jobs else None
        if hydra is None:
            return None
        sweeper = str(OmegaConf.select(hydra, "sweeper._target_", default=""))
        if "optuna" in sweeper.lower():
            return int(hydra.sweeper.n_trials)
        if not sweeper.endswith("BasicSweeper"):
            return None
        from grokbench.compose import sweep_combinations

        return len(sweep_combinations(list(hydra.overrides.task), multirun=True))
    except Exception:  # a multirun.yaml of another layout: say what is seen instead
        return None


def process_gone(status: dict) -> bool:
    """True only when we can know: the job ran on this host and its pid is not alive."""
    if status.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(status["pid"]), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError, KeyError):
        return False
    return False


class MetricsCache:
    """Metrics files read again only when their mtime changes (a sweep of many jobs refreshes cheaply)."""

    def __init__(self):
        self.seen = {}  # path → (mtime, threshold, per-member frame)

    def members(self, path: Path, threshold: float) -> Optional[pd.DataFrame]:
        """Per member: train and test acc at its own last eval (chunks can stop at different steps), and whether
        test acc reached `threshold`; None before the file is first written."""
        try:
            mtime = path.stat().st_mtime
            if self.seen.get(path, (None, None))[:2] != (mtime, threshold):
                m = pd.read_parquet(path, columns=["step", "member", "train_acc", "test_acc"])
                last = m.sort_values("step", kind="stable").drop_duplicates("member", keep="last").set_index("member")
                per = pd.DataFrame({"train": last["train_acc"], "test": last["test_acc"],
                                    "reached": m.groupby("member")["test_acc"].max() >= threshold})
                self.seen[path] = (mtime, threshold, per)
        except (OSError, ValueError, KeyError):  # not written yet, or being replaced right now: keep what we had
            pass
        return self.seen.get(path, (None, None, None))[2]

    def last(self, job: Path, threshold: float):
        """(median train acc, median test acc, members generalised so far, members with rows), each member at its
        last eval written; None before any. A chunked job in training: its chunks' members so far."""
        frames = [f for f in (self.members(p, threshold) for p in metrics_files(job)) if f is not None]
        if not frames:
            return None
        per = pd.concat(frames)
        return per["train"].median(), per["test"].median(), int(per["reached"].sum()), len(per)


def metrics_files(job: Path) -> List[Path]:
    """The job's metrics.parquet; for a job in chunks (population.chunk) that has not written it yet, each chunk's."""
    if (job / store.METRICS_FILE).exists():
        return [job / store.METRICS_FILE]
    from grokbench.analysis.collect import natural

    return sorted(job.glob(f"chunks/*/{store.METRICS_FILE}"), key=natural)


def threshold_of(job: Path) -> float:
    try:
        return float(OmegaConf.select(OmegaConf.load(job / ".hydra" / "config.yaml"), "summary.threshold",
                                      default=0.95))
    except OSError:
        return 0.95


def job_overrides(job: Path) -> dict:
    try:
        items = [str(o) for o in OmegaConf.load(job / ".hydra" / "overrides.yaml") if not str(o).startswith("hydra")]
    except OSError:
        return {}
    return dict(o.split("=", 1) if "=" in o else (o, "") for o in items)


def overrides_text(overrides: dict, shown) -> str:
    """`wd=0.3 lr=0.01`: a sweep's jobs show the overrides that differ between them (short names), a run all."""
    return " ".join(f"{k.rpartition('.')[2]}={v}" for k, v in overrides.items() if shown is None or k in shown)


def duration(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def job_row(job: Path, cache: MetricsCache, now: float) -> dict:
    status = read_status(job)
    row = {"job": job, "state": "waiting", "step": None, "max_steps": None, "members": None, "rate": None,
           "eta": None, "train": None, "test": None, "generalized": None, "seen": None, "age": None, "chunk": ""}
    if status is None:
        return row
    state = status["state"]
    if state == "running" and process_gone(status):
        state = "stopped"
    step, total, rate = status["step"], status["max_steps"], status.get("steps_per_s") or 0.0
    chunks, chunk = status.get("chunks", 1), status.get("chunk", 0)
    age = max(0.0, now - status["updated"])  # the job may rewrite its status after this table's clock was read
    row.update(state=state, step=step, max_steps=total, members=status["members"], age=age,
               chunk=f" (chunk {chunk + 1}/{chunks})" if chunks > 1 else "")
    if state == "running":
        row["rate"] = rate
        left = (total - step) + (chunks - chunk - 1) * total  # later chunks train max_steps each
        row["eta"] = left / rate if rate > 0 else None
    last = cache.last(job, threshold_of(job))
    if last is not None:
        row["train"], row["test"], row["generalized"], row["seen"] = last
    return row


def members_text(r: dict) -> str:
    """`4`, or `2 of 4` while the accuracies cover only some members (a chunked job: later chunks not started)."""
    if r["members"] is None:
        return "-"
    return f"{r['seen']} of {r['members']}" if r["seen"] is not None and r["seen"] < r["members"] else str(r["members"])


def rate_text(rate) -> str:
    return "-" if rate is None else f"{rate:.1f}" if rate < 10 else f"{rate:.0f}"


def pct(x) -> str:
    return "-" if x is None or pd.isna(x) else f"{x:.1%}"


def build_table(root: Path, cache: MetricsCache, now: float = None):
    """(the rich table, True when every job the sweep will launch has finished or failed)."""
    now = time.time() if now is None else now
    jobs = job_dirs(root)
    rows = [job_row(j, cache, now) for j in jobs]
    given = [job_overrides(j) for j in jobs]
    keys = {k for o in given for k in o}
    shown = None if len(jobs) < 2 else {k for k in keys if len({o.get(k) for o in given}) > 1}
    submitit = root / ".submitit"
    queued = len([p for p in submitit.iterdir() if p.is_dir()]) - len(rows) if submitit.is_dir() else 0
    expected = expected_jobs(root) if root not in jobs else 1
    single = jobs == [root]
    table = Table(title=f"{root}  ({time.strftime('%H:%M:%S', time.localtime(now))})", title_justify="left")
    for name, justify in (("job", "left"), ("overrides", "left"), ("state", "left"), ("step", "right"),
                          ("members", "right"), ("train acc", "right"), ("test acc", "right"),
                          ("generalised", "right"), ("steps/s", "right"), ("ETA", "right"), ("updated", "right")):
        table.add_column(name, justify=justify, no_wrap=name != "overrides")
    for r, o in zip(rows, given):
        state = r["state"]
        table.add_row(
            "." if single else str(r["job"].relative_to(root)), overrides_text(o, shown),
            f"[{COLOURS[state]}]{state}[/]", "-" if r["step"] is None else f"{r['step']}/{r['max_steps']}{r['chunk']}",
            members_text(r), pct(r["train"]), pct(r["test"]),
            "-" if r["generalized"] is None else f"{r['generalized']}/{r['members']}",
            rate_text(r["rate"]), duration(r["eta"]),
            "-" if r["age"] is None else f"{duration(r['age'])} ago",
        )
    counts = {s: sum(r["state"] == s for r in rows) for s in COLOURS}
    not_started = max(expected - len(rows), 0) if expected is not None else max(queued, 0)
    if not single:
        members = sum(r["members"] or 0 for r in rows)
        generalized = sum(r["generalized"] or 0 for r in rows)
        states = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        of = f"{len(rows)} of {expected} jobs" if expected is not None else f"{len(rows)} jobs seen"
        etas = [r["eta"] for r in rows if r["eta"] is not None]
        table.add_section()
        table.add_row(
            "total", of, states + (f", {not_started} not started" if not_started else ""), "", str(members), "", "",
            f"{generalized}/{members}", rate_text(sum(r["rate"] or 0 for r in rows)), duration(max(etas)) if etas else "-",
            "",
        )
    done = all(r["state"] in DONE for r in rows) and bool(rows) and not_started == 0 and \
        (expected is None or len(rows) >= expected)
    return table, done


def main(argv) -> int:
    parser = ArgumentParser(prog="grokbench watch", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a run dir or a sweep dir (hydra.run.dir / hydra.sweep.dir)")
    parser.add_argument("--once", action="store_true", help="print the table once and exit (scripts, tests)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between refreshes (default 2)")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        print(f"grokbench: error: {args.dir} is not a directory", file=sys.stderr)
        return 2
    if args.every <= 0:
        print(f"grokbench: error: --every={args.every} is invalid; allowed: a number of seconds > 0", file=sys.stderr)
        return 2
    cache = MetricsCache()
    console = Console() if sys.stdout.isatty() else Console(width=160)  # a pipe or a file: no wrapped columns
    if args.once:
        console.print(build_table(args.dir, cache)[0])
        return 0
    from rich.live import Live

    try:
        with Live(console=console, auto_refresh=False) as live:
            while True:
                table, done = build_table(args.dir, cache)
                live.update(table, refresh=True)
                if done:  # every job has finished or failed: nothing will change any more
                    return 0
                time.sleep(args.every)
    except KeyboardInterrupt:
        return 0
