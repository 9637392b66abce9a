"""scripts/compare_prieto_seeds.py: reading the authors' metrics.csv and a grokbench run, per seed, and the test."""
import importlib.util

import numpy as np
import pandas as pd

from conftest import REPO

spec = importlib.util.spec_from_file_location("compare_prieto_seeds", REPO / "scripts" / "compare_prieto_seeds.py")
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)


def their_log(path, seed, accs):
    """Their format: one row per (epoch/10, split, metric); `epoch` 40 is epoch 400."""
    rows = [{"epoch": e, "input_type": split, "metric_name": "accuracy", "layer": "", "value": acc}
            for e, acc in enumerate(accs) for split in ("test", "train")]
    rows += [{"epoch": 0, "input_type": "test", "metric_name": "loss", "layer": "", "value": 9.0}]
    d = path / f"add_mod|lr-10.0|seed-{seed}"
    d.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(d / "metrics.csv", index=False)


def test_per_seed_reads_their_epochs_and_our_steps(tmp_path):
    their_log(tmp_path, 0, [0.1, 0.5, 0.96, 0.9])  # epochs 0, 10, 20, 30
    their_log(tmp_path, 7, [0.1, 0.2, 0.3, 0.4])
    theirs = compare.per_seed(compare.theirs([str(tmp_path / "*" / "metrics.csv")]), at=25)
    assert theirs["seed"].tolist() == [0, 7]
    assert theirs["test_at"].tolist() == [0.96, 0.3]  # the last logged value at or before 25 (epoch 20)
    assert theirs["step_95"].iloc[0] == 20 and np.isnan(theirs["step_95"].iloc[1])  # a later dip does not undo it

    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame({"step": [0, 0, 30, 30], "member": [0, 1, 0, 1], "test_acc": [0.0, 0.0, 0.95, 0.5]}).to_parquet(
        run / "metrics.parquet")
    ours = compare.per_seed(compare.ours(str(run)), at=30)
    assert ours["test_at"].tolist() == [0.95, 0.5] and ours["step_95"].iloc[0] == 30
    text = compare.describe("x", ours, 30, 30)
    assert "n = 2" in text and ">= 95 % by 30: 1/2" in text


def test_permutation_p_separates_disjoint_draws_and_not_equal_ones():
    rng = np.random.default_rng(1)
    same = compare.permutation_p(rng.normal(0, 1, 16), rng.normal(0, 1, 16), draws=2000)
    apart = compare.permutation_p(rng.normal(0, 1, 16), rng.normal(5, 1, 16), draws=2000)
    assert apart < 0.01 < same
