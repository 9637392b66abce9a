"""The README's demo: the default experiment groks on a CPU within its own step budget."""


def test_default_experiment_groks(run):
    summary, metrics, _ = run(["device=cpu"], tiny=False)
    assert len(summary) == 4
    assert summary["step_train_100"].notna().all()
    assert summary["grokked"].all(), summary[["seed", "final_test_acc"]]
    # grokking, not plain learning: test 95 % comes well after train 100 %
    assert (summary["step_test_95"] > 3 * summary["step_train_100"]).all()
    assert not summary["diverged"].any()
