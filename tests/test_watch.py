"""status.json and `grokbench watch`: each state as a real job reaches it (trained, killed, signalled, failed), the
table a sweep shows, and trackers that stay exact across a resume."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import TINY, compose, grokbench, interrupted_train
from grokbench.store import RunDirError
from grokbench.status import read_status
from grokbench.train import train

LONG = ["device=cpu", "population.workers=1",
        "task.p=11", "model.width=16", "seeds=2", "train.max_steps=8000", "train.eval_every=400",
        "train.checkpoint_every_s=0.2", "train.plot=false"]


def start(args):
    return subprocess.Popen([sys.executable, "-m", "grokbench.cli", "run", *args], env=os.environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(condition, proc, timeout=300):
    t0 = time.monotonic()
    while not condition():
        assert proc.poll() is None, "the run ended too early: make LONG longer"
        assert time.monotonic() - t0 < timeout
        time.sleep(0.05)


def watch_once(path):
    r = grokbench("watch", str(path), "--once")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_failed_job_says_so(monkeypatch, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    interrupted_train(monkeypatch, compose(["train.checkpoint_every_s=1e-9"]), out, at_step=10)  # raises mid-run
    status = read_status(out)
    assert status["state"] == "failed" and "Interrupted" in status["error"]
    assert "failed" in watch_once(out)


def test_a_refused_rerun_leaves_the_finished_status(run):
    _, _, out = run()
    assert read_status(out)["state"] == "finished" and read_status(out)["step"] == 20
    with pytest.raises(RunDirError, match="different config"):
        train(compose(["seeds=3"]), out)  # another config into a finished run's dir: refused before training
    assert read_status(out)["state"] == "finished"  # that run did finish; the refusal is not its failure


def test_running_stopped_preempted_finished_and_trackers_resume(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    args = [*LONG, "logger=[tensorboard]", f"hydra.run.dir={out}"]
    proc = start(args)
    wait_for(lambda: (read_status(out) or {}).get("step", 0) > 0, proc)
    table = watch_once(out)
    assert "running" in table and "/8000" in table
    proc.send_signal(signal.SIGKILL)  # no handler runs: status.json still says running, the process is gone
    proc.wait()
    assert read_status(out)["state"] == "running"
    assert "stopped" in watch_once(out)

    proc = start(args)  # resumes from the checkpoint
    resumed = lambda s: s["pid"] == proc.pid and s["updated"] > s["started"]  # noqa: E731
    wait_for(lambda: resumed(read_status(out)), proc)  # a checkpoint of this process: its signal handlers are set
    proc.send_signal(signal.SIGTERM)  # checkpoint, then the default action ends the process
    proc.wait()
    status = read_status(out)
    assert status["state"] == "preempted" and 0 < status["step"] < 8000
    assert "preempted" in watch_once(out)

    assert grokbench("run", *args).returncode == 0
    status = read_status(out)
    assert status["state"] == "finished" and status["step"] == 8000 and status["steps_per_s"] > 0
    metrics = pd.read_parquet(out / "metrics.parquet")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    steps = [e.step for e in acc.Scalars("test_acc/median")]
    assert steps == sorted(metrics["step"].unique()) and len(steps) == len(set(steps))  # no step twice, none lost
    assert "curves" not in os.listdir(out)  # train.plot=false


def test_sweep_table_and_end_of_run_plots(tmp_path):
    sweep = tmp_path / "sweep"
    r = grokbench("run", "-m", *TINY, "optimizer.weight_decay=0,1", f"hydra.sweep.dir={sweep}")
    assert r.returncode == 0, r.stderr
    for job in ("0", "1"):
        png = sweep / job / "plots" / "curves.png"
        assert png.stat().st_size > 10_000 and f"curves: {png}" in r.stdout
    table = watch_once(sweep)
    assert "weight_decay=0" in table and "weight_decay=1" in table
    assert "2 of 2 jobs" in table and "2 finished" in table
    import shutil

    shutil.rmtree(sweep / "1")  # as a SLURM job not started yet: no dir, but multirun.yaml counts it
    table = watch_once(sweep)
    assert "1 of 2 jobs" in table and "1 not started" in table
    shutil.copytree(sweep / "0" / ".hydra", sweep / "1" / ".hydra")  # as Hydra leaves a job that has just started
    table = watch_once(sweep)
    assert "2 of 2 jobs" in table and "1 finished, 1 waiting" in table


def test_a_status_written_after_the_table_began_is_updated_now(run):
    """A job rewrites status.json while watch builds its table: that status is newer than the table's clock."""
    from io import StringIO

    from rich.console import Console

    from grokbench.watch import MetricsCache, build_table

    _, _, out = run()
    console = Console(file=StringIO(), width=200)
    console.print(build_table(out, MetricsCache(), now=read_status(out)["updated"] - 1.0)[0])
    text = console.file.getvalue()
    assert "0m00s ago" in text and "-1m" not in text
