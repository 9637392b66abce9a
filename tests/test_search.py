"""hydra/sweeper=optuna through `grokbench run -m`: each trial is a population job returning search.objective, and
the study's result lands in the sweep dir next to sweep.parquet."""
import pandas as pd
import pytest
import yaml

from conftest import TINY, grokbench
from grokbench.job import objective


def test_objectives_score_never_generalised_as_max_steps_plus_one():
    summary = pd.DataFrame({"step_test_95": pd.array([100, None, 300], dtype="Int64"),
                            "final_test_acc": [0.99, 0.2, 0.97]})
    assert objective(summary, "median_step_test_95", 1000) == 300
    assert objective(summary.iloc[1:2], "median_step_test_95", 1000) == 1001  # never: worse than any grokking run
    assert objective(summary, "fraction_generalized", 1000) == pytest.approx(2 / 3)
    assert objective(summary, "final_test_acc", 1000) == pytest.approx(0.97)


def test_optuna_study_over_weight_decay(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    sweep = tmp_path / "study"
    r = grokbench("run", "-m", *TINY, "train.plot=false", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=2",
                  "hydra.sweeper.direction=maximize", "hydra.sweeper.sampler.seed=0",
                  "optimizer.weight_decay=tag(log, interval(0.01, 3))", "search.objective=final_test_acc",
                  f"hydra.sweep.dir={sweep}")
    assert r.returncode == 0, r.stderr
    result = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    table = pd.read_parquet(sweep / "sweep.parquet")
    assert table["job"].nunique() == 2 and table["finished"].all()
    # each trial's value is its own summary's objective (20 steps groks nothing: the final test accuracy differs,
    # the step would tie): the best is the largest of them, at its weight decay
    scores = {wd: objective(g, "final_test_acc", 20) for wd, g in table.groupby("optimizer.weight_decay")}
    assert len(set(scores.values())) == 2
    best_wd = max(scores, key=scores.get)
    assert result["best_value"] == pytest.approx(scores[best_wd])
    assert result["best_params"]["optimizer.weight_decay"] == pytest.approx(best_wd)
    assert all(0.01 <= wd <= 3 for wd in scores)


def test_optuna_fixed_values_are_checked_before_the_study(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    r = grokbench("run", "-m", *TINY, "hydra/sweeper=optuna", "hydra.sweeper.n_trials=1", "seeds=0",
                  "optimizer.weight_decay=interval(0, 1)", f"hydra.sweep.dir={tmp_path / 's'}")
    assert r.returncode == 2 and "seeds=0 is invalid" in r.stderr and not (tmp_path / "s").exists()
