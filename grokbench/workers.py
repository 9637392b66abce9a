"""population.workers: parts of a population trained at the same time, one process each, for CPUs with many cores.

A run on CPU trains on one intra-op thread (grokbench/threads.py), so one population uses one core. With N workers
the members are cut into contiguous parts as population.chunk cuts them (chunks/<k>/, each with its own checkpoint;
the cut is decided at the first start and recorded in chunks/size.json, so a resume on another machine cuts the same
way), and N processes train them at once, each part exactly as train_members trains a chunk. So every table,
snapshot and weight equals workers=1's bit for bit: with chunk null/auto the parts of one population are pieces of it
and stop together (below); with an explicit chunk size the chunks are the parts, and each stops on its own members as
chunks always do.

The parent process alone writes status.json, run.json, the trackers and the merged tables; workers tell it what
happens over a pipe: starting, begin/checkpoint at step s, their log records, and how they ended (finished,
preempted, error). Pieces of one population that stop early (train.early_stop_threshold) vote at every eval: the
parent answers once every piece has voted (done = every live member of every piece is done), writing each answer to
chunks/early_stop.json before sending it, so a resumed piece gets the same answers even if its siblings have finished.

Signals (SIGTERM, SIGUSR1, SIGUSR2: signals.CHECKPOINT_SIGNALS) sent to the parent, or to any worker (SLURM signals every
process of the job), make every worker checkpoint and exit; then the parent hands the signal on as a one-process run
does (a handler that returns: training goes on, workers start again from their checkpoints). Pieces that vote take a
signal at their next eval, all at the same one (at most train.eval_every steps later), since a checkpoint between two
evals would miss that eval's answer. A parent killed outright (kill -9) takes its workers with it (Linux
PR_SET_PDEATHSIG), so a rerun never finds an old worker still writing; every part resumes from its own checkpoint.

Workers are forked from a fork server (multiprocessing's 'forkserver', 'spawn' where there is none) that imported torch
and the training code once (grokbench/worker_server.py); `grokbench run` starts it before it composes the config, so
its imports overlap the run's own. A worker gets the run's environment and working directory at its start, as a
spawned process does.
"""
from __future__ import annotations

import ctypes
import json
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from multiprocessing.connection import wait
from pathlib import Path

import pandas as pd

from grokbench import store
from grokbench.cores import worker_count
from grokbench.config import ConfigError
from grokbench.forking import SERVER_MODULE, process_context
from grokbench.signals import CHECKPOINT_SIGNALS, CaughtSignals

log = logging.getLogger("grokbench")
EARLY_STOP_FILE = Path("chunks") / "early_stop.json"  # the parent's answers to the pieces' early-stop votes
POLL_S = 0.5  # how often the parent looks at signals while no worker has anything to say


def check_workers(cfg, device) -> None:
    """population.workers > 1 on a GPU: one line. A GPU trains the whole population as one batch already."""
    if device.type != "cpu" and cfg.population.workers not in ("auto", 1):
        raise ConfigError("population.workers", cfg.population.workers,
                          f"auto or 1 on device {device.type} (parts run in processes on CPU cores only)")


def concurrent_workers(cfg, device, n_parts: int, pieces: int) -> int:
    """Processes training at once: every part when chunks were cut into pieces (a chunk's pieces stop together, so
    all of them run, on a resume with fewer cores too), else population.workers over the chunks."""
    return n_parts if pieces > 1 else worker_count(cfg, device, n_parts)


def train_concurrently(cfg, parts, pieces: int, out_dir: Path, record, live, workers: int) -> pd.DataFrame:
    """Train `parts` [(members, dir)] in `workers` processes at a time, then merge their tables (loop.merge_parts)."""
    from grokbench.loop import merge_parts

    with CaughtSignals() as signals:
        pool = Pool(cfg, parts, pieces, Path(out_dir), record, live, workers, signals.caught)
        while not pool.run():  # stopped by a signal: every part that trained is on disk
            signals.hand_on()  # to the handlers before ours; one that returns (submitit logs SIGTERM): train on
    summaries = [pd.read_parquet(part_dir / store.SUMMARY_FILE) for _, part_dir in parts]
    summary = merge_parts(cfg, parts, summaries, Path(out_dir))
    record.end()
    return summary


# ------------------------------------------------------------------------------------------------------ the parent
class Pool:
    def __init__(self, cfg, parts, pieces, out_dir, record, live, workers, signals: list):
        self.cfg, self.parts, self.pieces, self.record, self.live = cfg, parts, pieces, record, live
        self.workers, self.finished, self.ended = workers, set(), set()
        self.signals = signals  # caught by the parent (signals.CaughtSignals) or reported by a worker
        self.steps, self.saved = {}, {}  # part → its last step reported / checkpointed
        self.together = pieces > 1 and cfg.train.early_stop_threshold is not None  # pieces vote on early stop
        self.stops_path = out_dir / EARLY_STOP_FILE
        saved = json.loads(self.stops_path.read_text()) if self.stops_path.exists() else {}
        self.answers = {int(g): {int(s): d for s, d in a.items()} for g, a in saved.items()}  # group → step → done
        self.votes = {}  # (group, step) → {part: (all done, any active)}
        self.one_population = pieces == len(parts)  # one chunk cut in pieces: trackers get its rows as they come
        self.logged_step = -1

    def run(self) -> bool:
        """Train every unfinished part; True when all have finished, False when a signal stopped them."""
        todo = [k for k in range(len(self.parts)) if k not in self.finished]
        self.running, self.failure, sent = {}, None, []
        try:
            while todo or self.running:
                while todo and len(self.running) < self.workers and not self.signals and self.failure is None:
                    self.start(todo.pop(0))
                if not self.running:
                    break
                for s in dict.fromkeys(self.signals):  # every signal goes to every worker, once
                    if s not in sent:
                        sent.append(s)
                        self.forward(s)
                wait([c for _, c in self.running.values()] + [p.sentinel for p, _ in self.running.values()], POLL_S)
                for k, (process, conn) in list(self.running.items()):
                    self.read(k, conn)
                    if not process.is_alive():
                        self.read(k, conn)  # what it said before it exited
                        process.join()
                        conn.close()
                        del self.running[k]
                        if k not in self.ended:
                            self.fail(RuntimeError(f"the worker of part {k} ({self.parts[k][1]}) died "
                                                   f"(exit code {process.exitcode}); rerun to resume it"))
        finally:
            for process, _ in self.running.values():  # an exception here: nothing may go on writing
                process.kill()
                process.join()
        if self.failure is not None:
            raise self.failure
        if self.signals and len(self.finished) < len(self.parts):
            self.live.preempted(self.status_step())
            return False
        return True

    def start(self, k: int) -> None:
        rows, part_dir = self.parts[k]
        ctx = process_context()
        conn, child = ctx.Pipe()
        level = log.getEffectiveLevel()
        process = ctx.Process(target=work, args=(k, self.cfg, rows, part_dir, child, self.together, os.getpid(), level,
                                                 dict(os.environ)), name=f"grokbench-part-{k}", daemon=True)
        process.start()
        child.close()
        self.running[k] = (process, conn)
        self.ended.discard(k)

    def forward(self, s: int) -> None:
        """A signal to the parent or to one worker: every worker checkpoints and exits. Voting pieces get it with
        their next answer; the others as a signal now."""
        if self.together:
            return
        for process, _ in self.running.values():
            try:
                os.kill(process.pid, s)
            except ProcessLookupError:
                pass

    def fail(self, err: Exception) -> None:
        if self.failure is None:
            self.failure = err
            for process, _ in self.running.values():  # state on disk is whole (atomic writes): a rerun resumes it
                process.kill()

    def read(self, k: int, conn) -> None:
        try:
            while conn.poll():
                self.handle(k, conn, conn.recv())
        except (EOFError, OSError):
            pass

    def handle(self, k: int, conn, msg) -> None:
        kind = msg[0]
        if kind == "log":
            _, name, level, text = msg
            logging.getLogger(name).log(level, f"part {k}: {text}")
        elif kind == "starting":  # this dir's run is ours from here (run.json, and a failure is ours)
            self.record.start()
            self.live.started = True
        elif kind in ("begin", "checkpoint"):
            self.steps[k] = msg[1]
            if self.live.trackers is None:
                self.live.begin(0, msg[1])  # opens the trackers
            if kind == "checkpoint":
                self.saved[k] = msg[1]
                self.log_trackers()
            self.write_status()
        elif kind == "vote":
            self.vote(k, conn, *msg[1:])
        elif kind == "end":
            self.ended.add(k)
            _, how, payload = msg
            if how == "finished":
                self.finished.add(k)
            elif how == "preempted":
                self.signals.extend(payload)
            else:
                err, text = payload
                if not isinstance(err, store.RunDirError):  # that one is a line for the user, not a bug
                    log.error(f"part {k} failed:\n{text}")
                self.fail(err)

    def write_status(self) -> None:
        """status.json as for one process: the slowest part's step; with more parts than workers, `chunk` counts the
        rounds of `workers` parts (what `grokbench watch` reads as chunks trained one after another)."""
        status = self.live.status
        chunk = min(len(self.finished) // self.workers, status.chunks - 1)
        if chunk != status.chunk:
            status.chunk, status.start_step = chunk, None  # steps/s counts from the new round's start
        status.write("preempted" if self.signals else "running", self.status_step())

    def status_step(self) -> int:
        """The population's step: the slowest part in training (the last step when all have finished)."""
        live = [s for k, s in self.steps.items() if k not in self.finished]
        return min(live) if live else max(self.steps.values(), default=0)

    def log_trackers(self) -> None:
        """One population cut in pieces: its rows up to the step every piece has checkpointed, as one run logs them."""
        trackers = self.live.trackers
        if not self.one_population or trackers is None or not trackers.active or len(self.saved) < len(self.parts):
            return
        step = min(self.saved.values())
        if step <= self.logged_step:
            return
        frames = [pd.read_parquet(part_dir / store.METRICS_FILE) for _, part_dir in self.parts]
        rows = pd.concat([f[f["step"] <= step] for f in frames], ignore_index=True)
        trackers.log(rows.sort_values(["step", "member"], kind="stable", ignore_index=True))
        self.logged_step = step

    def vote(self, k: int, conn, step: int, all_done: bool, any_active: bool, signals: list) -> None:
        """A piece's early-stop vote at eval `step`: answered once every piece of its chunk has voted, or at once if
        that eval was answered before (a resumed piece)."""
        self.signals.extend(s for s in signals if s not in self.signals)
        group = k // self.pieces
        answers = self.answers.setdefault(group, {})
        if step not in answers:
            votes = self.votes.setdefault((group, step), {})
            votes[k] = (all_done, any_active)
            if len(votes) < self.pieces:
                return
            # ALGO LOGIC: the uncut chunk's rule, over all its members: every live one done, and some member live
            answers[step] = all(d for d, _ in votes.values()) and any(a for _, a in votes.values())
            store.write_json({str(g): {str(s): d for s, d in a.items()} for g, a in self.answers.items()},
                             self.stops_path)  # on disk before any piece acts on it
            del self.votes[(group, step)]
            waiting = [j for j in votes if j != k and j in self.running]
            for j in waiting:
                self.running[j][1].send(("answer", answers[step], list(self.signals)))
        conn.send(("answer", answers[step], list(self.signals)))


# ------------------------------------------------------------------------------------------------------ a worker
class Preempted(Exception):
    """A checkpoint signal reached a worker's own handler: its part is on disk, the worker exits."""


class PartLive:
    """What train_members reports to (grokbench/live.py's Live in one process): here, messages to the parent."""

    bar = False  # several parts at once: log lines, not bars fighting over one terminal

    def __init__(self, send, conn, together: bool):
        self.send, self.conn, self.signals_at_evals = send, conn, together
        self.early = []  # checkpoint signals that reached this worker outside train_members' loop (work's handler)
        self.voted = False

    def holds_signals(self) -> bool:
        """A piece that stops with its siblings keeps a signal that came before its first vote (in its setup) for
        that vote, where they all take it: leaving at once would leave its siblings waiting for its vote for ever."""
        return self.signals_at_evals and not self.voted

    def begin(self, chunk: int, step: int) -> None:
        self.send(("begin", step))

    def checkpoint(self, metrics, step: int, signalled: list) -> None:
        self.send(("checkpoint", step))

    def preempted(self, step: int) -> None:
        pass  # the parent writes status.json once every worker has stopped

    def all_done(self, step: int, all_done: bool, any_active: bool, signalled: list) -> bool:
        if not self.signals_at_evals:  # a chunk of its own: it stops on its own members
            return all_done and any_active
        self.voted = True
        self.send(("vote", step, all_done, any_active, list(dict.fromkeys([*self.early, *signalled]))))
        _, done, signals = self.conn.recv()
        signalled.extend(s for s in signals if s not in signalled)  # the parent's or a sibling's: stop here too
        return done


class PipeHandler(logging.Handler):
    def __init__(self, send):
        super().__init__()
        self.send = send

    def emit(self, record) -> None:
        try:
            self.send(("log", record.name, record.levelno, record.getMessage()))
        except Exception:
            self.handleError(record)


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent dies (Linux), so a killed run leaves no worker writing into its dir. The
    parent is the run's process, or the fork server, which dies with the run (grokbench/worker_server.py)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's exit still ends daemon workers
        pass
    if os.getppid() != parent and not alive(parent):  # the run died before prctl
        os._exit(1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:  # none, or another user's that took the pid
        return False
    return True


def signals_before_handlers() -> list:
    """Checkpoint signals that reached this worker between its fork and its handlers (kept by the fork server's)."""
    server = sys.modules.get(SERVER_MODULE)
    return list(dict.fromkeys(server.EARLY)) if server is not None else []


def work(k: int, cfg, rows: pd.DataFrame, part_dir: Path, conn, together: bool, parent: int, level: int,
         environ: dict) -> None:
    """A worker process: train part k (loop.train_members) in training_compute (train.threads, train.flush_denormal),
    then say how it ended."""
    die_with_parent(parent)
    os.environ.clear()  # the run's environment now, not the fork server's from its start
    os.environ.update(environ)
    lock = threading.Lock()

    def send(msg) -> None:
        with lock:
            conn.send(msg)

    logging.getLogger().handlers[:] = [PipeHandler(send)]
    logging.getLogger().setLevel(level)
    live = PartLive(send, conn, together)
    caught, leaving = live.early, []

    def stop(signum, _) -> None:  # the handler train_members hands a signal on to, after its checkpoint
        caught.append(signum)
        if not live.holds_signals() and not leaving:  # a second signal while leaving: recorded, not raised again
            leaving.append(signum)
            raise Preempted

    from grokbench.compute import training_compute
    from grokbench.loop import train_members

    for s in CHECKPOINT_SIGNALS:
        signal.signal(s, stop)
    code = 0
    try:
        caught.extend(signals_before_handlers())
        if caught and not live.holds_signals():
            raise Preempted
        with training_compute(cfg):  # as train() does: the process's threads and subnormal flags are its own
            train_members(cfg, rows, Path(part_dir), live, k, lambda: send(("starting",)))
        send(("end", "finished", None))
    except Preempted:
        send(("end", "preempted", list(dict.fromkeys(caught))))
    except BaseException as err:
        try:
            pickle.dumps(err)
        except Exception:
            err = RuntimeError(f"{type(err).__name__}: {err}")
        send(("end", "error", (err, traceback.format_exc())))
        code = 1
    # What this worker wrote is closed and renamed into place (store's atomic writes) and its last message is in the
    # pipe: leave without the interpreter's teardown, which takes ~0.9 s with torch loaded, time the run waits for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
