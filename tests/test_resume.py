"""Kill -9 a run after it checkpointed, rerun the same command: the tables equal an uninterrupted run's exactly (no
step missing, none twice), and finished jobs are skipped. Preemption and timeouts on a cluster end the same way."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from conftest import grokbench

# long enough that a kill lands mid-run, checkpointing often so one exists early
RUN = ["device=cpu", "population.workers=1",
       "task.p=11", "model.width=16", "seeds=2", "train.max_steps=1500", "train.eval_every=50",
       "train.checkpoint_every_s=0.2"]
# one thread: bitwise-reproducible CPU numerics, and no spinning threads fighting for a busy machine's cores
ENV = {"OMP_NUM_THREADS": "1"}


def start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "grokbench.cli", *args], cwd=cwd, env={**os.environ, **ENV},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after_checkpoint(proc, ckpt, timeout=300):
    """SIGKILL `proc` as soon as `ckpt` exists; return the step the checkpoint holds."""
    t0 = time.monotonic()
    while not ckpt.exists():
        assert proc.poll() is None, "the run ended before it wrote a checkpoint"
        assert time.monotonic() - t0 < timeout
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = torch.load(ckpt, weights_only=True)
    assert not state["finished"], "the run finished before the kill: make RUN longer"
    return state["step"]


def tables(out):
    return pd.read_parquet(out / "metrics.parquet"), pd.read_parquet(out / "summary.parquet")


def assert_same_run(out, reference):
    (m, s), (m_ref, s_ref) = tables(out), tables(reference)
    assert not m.duplicated(["member", "step"]).any()
    pd.testing.assert_frame_equal(m, m_ref)  # every step once, bitwise-equal values
    pd.testing.assert_frame_equal(s, s_ref)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """reference(extra overrides) → the dir of an uninterrupted run of RUN + extra (run once per module)."""
    runs = {}

    def get(*extra):
        if extra not in runs:
            out = tmp_path_factory.mktemp("reference") / "run"
            r = grokbench("run", *RUN, *extra, f"hydra.run.dir={out}", env=ENV)
            assert r.returncode == 0, r.stderr
            runs[extra] = out
        return runs[extra]

    return get


GROKFAST_MA = ("optimizer=adam", "optimizer.warmup_steps=10", "optimizer.grokfast_filter=ma",
               "optimizer.grokfast_window=5", "optimizer.grokfast_lambda=2")  # ring buffer, its counter, warmup
# a member with 12 train samples (<= the batch: full batch, masked) and one with 72 (its own shuffle queue)
PADDED_GRID = ("train.batch_size=16", "population.grid.task.train_fraction=[0.1,0.6]")


@pytest.mark.parametrize("extra", [(), ("train.batch_size=16",), pytest.param(GROKFAST_MA, marks=pytest.mark.slow),
                                   pytest.param(PADDED_GRID, marks=pytest.mark.slow)],
                         ids=["full_batch", "minibatch", "adam_warmup_grokfast_ma", "padded_grid_minibatch"])
def test_killed_run_resumes_to_the_uninterrupted_tables(tmp_path, reference, extra):
    out = tmp_path / "run"
    args = ["run", *RUN, *extra, f"hydra.run.dir={out}"]
    step = kill_after_checkpoint(start(args, tmp_path), out / "checkpoint.pt")
    assert 0 < step < 1500
    r = grokbench(*args, cwd=tmp_path, env=ENV)
    assert r.returncode == 0, r.stderr
    assert f"resumed from step {step}" in r.stdout
    assert_same_run(out, reference(*extra))  # minibatch: the shuffling streams resume mid-epoch too


def test_killed_multirun_job_resumes_and_finished_jobs_are_skipped(tmp_path, reference):
    sweep = tmp_path / "sweep"
    args = ["run", "-m", *RUN, "optimizer.weight_decay=1,0.5", f"hydra.sweep.dir={sweep}"]  # job 0 == reference
    kill_after_checkpoint(start(args, tmp_path), sweep / "0" / "checkpoint.pt")
    assert not (sweep / "1").exists()
    r = grokbench(*args, cwd=tmp_path, env=ENV)
    assert r.returncode == 0, r.stderr
    assert_same_run(sweep / "0", reference())
    m1, _ = tables(sweep / "1")
    assert sorted(m1["step"].unique())[-1] == 1500 and not m1.duplicated(["member", "step"]).any()

    mtimes = {p: p.stat().st_mtime_ns for p in sweep.glob("*/*.parquet")}
    r = grokbench(*args, cwd=tmp_path, env=ENV)  # everything finished: nothing is trained or rewritten
    assert r.returncode == 0, r.stderr
    assert (r.stdout + r.stderr).count("already finished") == 2
    assert mtimes == {p: p.stat().st_mtime_ns for p in sweep.glob("*/*.parquet")}
