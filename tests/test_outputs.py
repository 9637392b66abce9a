"""The tables a run writes: schema, one row per member × eval step, summary semantics, dirs that never collide."""
import pandas as pd

from conftest import grokbench

METRIC_COLUMNS = ["step", "member", "seed", "train_loss", "train_acc", "test_loss", "test_acc", "train_acc_clean",
                  "train_acc_corrupted", "weight_norm"]
SUMMARY_COLUMNS = ["member", "seed", "step_train_95", "step_train_100", "step_test_95", "step_test_99",
                   "final_train_acc", "final_test_acc", "diverged", "generalized", "grokked", "phase"]


def test_metrics_schema(run):
    _, metrics, out = run(["seeds=3", "task.corruption=0.25"])
    assert set(METRIC_COLUMNS) <= set(metrics.columns)
    assert any(c.startswith("weight_norm.") for c in metrics.columns)  # per-layer norms
    steps = sorted(metrics["step"].unique())
    assert steps[0] == 0 and steps[-1] == 20
    assert len(metrics) == 3 * len(steps)  # one row per member × eval step, no duplicates
    assert not metrics.duplicated(["member", "step"]).any()
    assert metrics["train_acc_corrupted"].notna().all()
    for name in ("metrics.parquet", "summary.parquet", "checkpoint.pt"):
        assert (out / name).exists()


def test_clean_run_has_no_corrupted_accuracy(run):
    _, metrics, _ = run(["task.corruption=0"])
    assert metrics["train_acc_corrupted"].isna().all()
    assert (metrics["train_acc_clean"] == metrics["train_acc"]).all()


def test_summary_schema_and_steps(run):
    summary, metrics, _ = run(["train.max_steps=60", "optimizer.lr=1e-2", "task.train_fraction=0.8"])
    assert set(SUMMARY_COLUMNS) <= set(summary.columns)
    assert len(summary) == 2
    for row in summary.itertuples():
        curve = metrics[metrics["member"] == row.member]
        reached = curve[curve["train_acc"] >= 0.95]["step"]
        expected = reached.min() if len(reached) else None
        assert (pd.isna(row.step_train_95) and expected is None) or row.step_train_95 == expected
    assert summary["step_test_99"].isna().any() or (summary["step_test_99"] >= summary["step_test_95"]).all()


def test_run_dirs_never_collide(tmp_path):
    # four jobs started in the same second under the default output dir pattern
    import subprocess
    import sys

    args = [sys.executable, "-m", "grokbench.cli", "run", "device=cpu", "task.p=7", "model.width=4",
            "train.max_steps=2", "seeds=1"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    dirs = list((tmp_path / "outputs" / "runs").glob("*/*"))
    assert len(dirs) == 4
    assert all((d / "summary.parquet").exists() for d in dirs)


def test_hydra_run_dir_is_honoured(tmp_path):
    out = tmp_path / "here"
    r = grokbench("run", "device=cpu", "task.p=7", "model.width=4", "train.max_steps=2", "seeds=1",
                  f"hydra.run.dir={out}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (out / "metrics.parquet").exists() and (out / ".hydra" / "config.yaml").exists()
    assert "grokked" in r.stdout and str(out) in r.stdout
