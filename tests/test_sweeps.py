"""Sweeps: a local multirun → sweep.parquet (one row per member of every job, overrides as columns), collect,
summarize and plot on it and on a half-finished copy; the submitit launcher path without a cluster."""
import io
import json
import shutil

import pandas as pd
import pytest

from conftest import grokbench, run_main
from grokbench import __version__ as grokbench_version
from grokbench.analysis import collect, plots, summarize

TINY = ["device=cpu", "population.workers=1", "task.p=11", "model.width=16", "train.max_steps=20", "train.eval_every=5"]
GRID = ["optimizer.weight_decay=0,1", "optimizer.lr=1e-2,3e-2", "seeds=4"]  # 2 × 2 jobs × 4 seeds
ENV = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "grid"
    r = grokbench("run", "-m", *TINY, *GRID, f"hydra.sweep.dir={out}", env=ENV)
    assert r.returncode == 0, r.stderr
    return out


def test_multirun_writes_the_sweep_table(sweep):
    df = pd.read_parquet(sweep / "sweep.parquet")  # written by the Hydra callback, nobody ran collect
    assert len(df) == 16 and df["finished"].all()
    assert sorted(df["job"].unique()) == ["0", "1", "2", "3"]
    assert (df["grokbench_version"] == grokbench_version).all()  # from each job's run.json
    run_json = json.loads((sweep / "0" / "run.json").read_text())
    assert run_json["command"][:3] == ["grokbench", "run", "-m"] and run_json["members"] == 4, run_json
    assert {"optimizer.lr", "optimizer.weight_decay", "seed", "member", "seeds", "task.p"} <= set(df.columns)
    assert sorted(df.groupby(["optimizer.lr", "optimizer.weight_decay"]).size()) == [4, 4, 4, 4]
    for job, rows in df.groupby("job"):  # every row is its job's summary, with the job's overrides beside it
        summary = pd.read_parquet(sweep / job / "summary.parquet")
        pd.testing.assert_frame_equal(rows[summary.columns].reset_index(drop=True), summary, check_dtype=False)
        assert (rows["task.p"] == 11).all() and (rows["seeds"] == 4).all()
    code, out = run_main(collect, sweep)  # rebuilding gives the same table
    assert code == 0 and "16 members from 4 jobs: 4 finished" in out
    pd.testing.assert_frame_equal(pd.read_parquet(sweep / "sweep.parquet"), df)


def test_summarize_groups_by_the_swept_values(sweep):
    code, out = run_main(summarize, sweep, "--format", "csv")
    assert code == 0
    keys = ["optimizer.lr", "optimizer.weight_decay"]
    table = pd.read_csv(io.StringIO(out)).set_index(keys)
    assert len(table) == 4 and (table["members"] == 4).all() and (table["done"] == 4).all()
    df = pd.read_parquet(sweep / "sweep.parquet")
    for label in ("generalized", "grokked"):  # fractions of members
        pd.testing.assert_series_equal(table[label], df.groupby(keys)[label].mean(), check_names=False)
    expected = df.groupby("optimizer.lr")["final_test_acc"].median()
    code, out = run_main(summarize, sweep, "--by", "optimizer.lr", "--format", "csv")
    by_lr = pd.read_csv(io.StringIO(out)).set_index("optimizer.lr")["final_test_acc"]
    pd.testing.assert_series_equal(by_lr, expected, check_names=False)
    code, out = run_main(summarize, sweep, "--format", "markdown")
    assert code == 0 and len(out.strip().splitlines()) == 2 + 4 and out.splitlines()[1].startswith("|---|")
    assert run_main(summarize, sweep, "--by", "nope")[0] == 2


def test_plot_writes_curves_and_heatmap(sweep, tmp_path):
    code, out = run_main(plots, sweep, "--out", tmp_path)
    assert code == 0, out
    for name in ("curves.png", "heatmap_step_test_95.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    code, _ = run_main(plots, sweep / "0", "--out", tmp_path / "one")  # a single run dir: curves only
    assert code == 0 and (tmp_path / "one" / "curves.png").exists()


def test_half_finished_sweep(sweep, tmp_path):
    half = tmp_path / "half"
    shutil.copytree(sweep, half)
    (half / "sweep.parquet").unlink()
    (half / "1" / "summary.parquet").unlink()  # killed mid-run: metrics so far, no summary
    for name in ("summary.parquet", "metrics.parquet", "checkpoint.pt"):
        (half / "3" / name).unlink()  # not started yet
    code, out = run_main(collect, half)
    assert code == 0 and "12 members from 4 jobs: 2 finished, 1 unfinished with partial results, 1 not started" in out
    df = pd.read_parquet(half / "sweep.parquet")
    assert df.groupby("job")["finished"].all().to_dict() == {"0": True, "1": False, "2": True}
    code, out = run_main(summarize, half, "--format", "csv")
    table = pd.read_csv(io.StringIO(out))
    assert code == 0 and table["members"].sum() == 12 and table["done"].sum() == 8
    summary = pd.read_parquet(half / "0" / "summary.parquet")
    summary.assign(phase="memorization").to_parquet(half / "0" / "summary.parquet")  # a phase label, in one job
    assert run_main(plots, half, "--out", tmp_path / "plots")[0] == 0
    for name in ("curves.png", "heatmap_step_test_95.png", "heatmap_phase.png"):
        assert (tmp_path / "plots" / name).exists()


def test_collect_of_an_empty_dir(tmp_path):
    code, out = run_main(collect, tmp_path)
    assert code == 0 and "0 members from 0 jobs" in out
    assert run_main(summarize, tmp_path)[0] == 2  # nothing to summarize: an error line, not a traceback


def test_submitit_launcher_runs_the_sweep(tmp_path):
    """The SLURM code path (submitit pickles the job, runs it in another process) without a cluster."""
    out = tmp_path / "sweep"
    r = grokbench("run", "-m", "hydra/launcher=submitit_local", *TINY, "seeds=2", "optimizer.weight_decay=0,1",
                  f"hydra.sweep.dir={out}", env=ENV)
    assert r.returncode == 0, r.stderr
    assert (out / ".submitit").is_dir()
    df = pd.read_parquet(out / "sweep.parquet")
    assert len(df) == 4 and df["finished"].all()
    assert sorted(df["optimizer.weight_decay"].unique()) == [0.0, 1.0]


def test_sweep_table_is_written_once_all_jobs_are_back(sweep, tmp_path):
    """Not as each job ends (on every compute node, quadratic in jobs): only at multirun end, on the submitting host."""
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from grokbench.analysis.callbacks import SweepTable

    copy = tmp_path / "copy"
    shutil.copytree(sweep, copy, ignore=shutil.ignore_patterns("sweep.parquet"))
    config = OmegaConf.create({"hydra": {"mode": RunMode.MULTIRUN, "sweep": {"dir": str(copy)}}})
    callback = SweepTable()
    callback.on_job_end(config, job_return=None)
    assert not (copy / "sweep.parquet").exists()
    callback.on_multirun_end(config)
    pd.testing.assert_frame_equal(pd.read_parquet(copy / "sweep.parquet"), pd.read_parquet(sweep / "sweep.parquet"))


def test_temp_names_are_unique_across_writers(tmp_path, monkeypatch):
    """Two writers of one file (two nodes whose pids may be equal) never share a temp file."""
    import os
    import socket

    from grokbench import store

    temps, replace = [], os.replace
    monkeypatch.setattr(store.os, "replace", lambda tmp, path: (temps.append(tmp.name), replace(tmp, path)))
    store.write_json({"a": 1}, tmp_path / "x.json")
    store.write_json({"a": 2}, tmp_path / "x.json")
    assert temps[0] != temps[1] and all(socket.gethostname() in t and str(os.getpid()) in t for t in temps)
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 2} and len(list(tmp_path.iterdir())) == 1

