"""summary.parquet's labels: `generalized` (test reached summary.threshold), `grokked` (and at least summary.grok_ratio
times as late as train), `phase` (Doshi et al.'s, null where it is not defined)."""
import pandas as pd
import pytest

from grokbench.config import SummaryConfig
from grokbench.summary import grokked, summarize_members

STEPS = [0, 10, 20, 40, 80]


def summary_of(train_curve, test_curve, settings=SummaryConfig(), label_noise=None):
    """One member whose train/test accuracies at STEPS are the given curves."""
    n = len(STEPS)
    metrics = pd.DataFrame({"step": STEPS, "member": 0, "train_acc": train_curve, "test_acc": test_curve,
                            "train_loss": [0.0] * n, "test_loss": [0.0] * n, "train_acc_clean": train_curve,
                            "train_acc_corrupted": [float("nan")] * n, "weight_norm": [1.0] * n})
    return summarize_members(metrics, pd.DataFrame({"member": [0], "seed": [0]}), [None], label_noise,
                             settings).iloc[0]


def test_generalising_with_train_is_generalized_not_grokked():
    s = summary_of([0.1, 1.0, 1.0, 1.0, 1.0], [0.1, 0.96, 1.0, 1.0, 1.0])  # both cross .95 at step 10
    assert s["generalized"] and not s["grokked"]


def test_generalising_long_after_train_is_grokked():
    s = summary_of([0.1, 1.0, 1.0, 1.0, 1.0], [0.0, 0.1, 0.2, 0.96, 1.0])  # train at 10, test at 40 = 4×
    assert s["generalized"] and s["grokked"]
    assert not summary_of([0.1, 1.0, 1.0, 1.0, 1.0], [0.0, 0.1, 0.2, 0.96, 1.0], SummaryConfig(grok_ratio=5))["grokked"]


def test_never_generalising_is_neither():
    s = summary_of([0.1, 1.0, 1.0, 1.0, 1.0], [0.0, 0.1, 0.2, 0.3, 0.4])
    assert not s["generalized"] and not s["grokked"]


def test_threshold_is_the_configured_one():
    curves = ([0.1, 1.0, 1.0, 1.0, 1.0], [0.0, 0.1, 0.2, 0.92, 0.93])  # test tops out at 93 %
    assert not summary_of(*curves)["generalized"]
    lower = summary_of(*curves, SummaryConfig(threshold=0.9))
    assert lower["generalized"] and lower["grokked"]


@pytest.mark.parametrize("step_train,step_test,expected", [
    (10, 20, True), (10, 19, False),  # exactly grok_ratio (2) times as late counts
    (0, 10, True),  # train fit at initialisation, test later: an infinite ratio
    (0, 0, False),  # both at initialisation: nothing was delayed
    (pd.NA, 10, False),  # train never crossed: no fit for generalisation to lag behind
    (10, pd.NA, False),
])
def test_grokked_edge_cases(step_train, step_test, expected):
    assert grokked(step_train, step_test, 2.0) is expected


def test_summary_section_is_range_checked():
    from grokbench.config import ConfigError

    for bad in ({"threshold": 0.0}, {"threshold": 1.01}, {"grok_ratio": 0.99}):
        with pytest.raises(ConfigError):
            SummaryConfig(**bad)
    assert SummaryConfig(threshold=1.0, grok_ratio=1.0).grok_ratio == 1.0


def test_phase_is_null_without_corruption_and_kept_with_it(run):
    clean, _, _ = run(["task.corruption=0.0"], name="clean")
    assert clean["phase"].isna().all()
    doshi = ["experiment=doshi2024/coexistence", "device=cpu", "task.p=11", "model.width=16", "train.max_steps=20",
             "seeds=2"]  # Doshi et al.'s setting, shrunk: ξ = .35 on modular addition
    noisy, _, _ = run(doshi, name="noisy", tiny=False)
    assert noisy["phase"].notna().all()
    assert set(noisy["phase"]) <= {"coexistence", "partial_inversion", "full_inversion", "memorization", "forgetting"}


def test_phase_is_null_on_tasks_where_it_is_not_defined(run):
    parity, _, _ = run(["task=sparse_parity", "task.n_bits=4", "task.k=2", "task.samples=20", "task.corruption=0.2",
                        "device=cpu", "model.width=8", "train.max_steps=5", "seeds=2"], tiny=False)
    assert parity["phase"].isna().all()


def test_a_run_labels_with_its_summary_config(run):
    """train.py passes summary.* through: at a 1 % threshold every member is generalized from step 0 (chance is 9 %)."""
    summary, _, _ = run(["summary.threshold=0.01", "summary.grok_ratio=1"])
    assert summary["generalized"].all()
    assert not summary["grokked"].any()  # train and test both reach 1 % at step 0: nothing was delayed


def test_a_partial_job_in_collect_is_labelled_with_its_own_summary_config(tmp_path):
    """collect summarises an unfinished job from its metrics: with the job's summary.* settings, not the defaults."""
    from conftest import grokbench
    from grokbench.analysis.collect import collect

    job = tmp_path / "sweep" / "0"
    r = grokbench("run", "device=cpu", "population.workers=1", "task.p=11", "model.width=8", "train.max_steps=5", "seeds=2",
                  "summary.threshold=0.01", "summary.grok_ratio=1", f"hydra.run.dir={job}")
    assert r.returncode == 0, r.stderr
    finished = pd.read_parquet(job / "summary.parquet")
    (job / "summary.parquet").unlink()  # as if the job were still running
    partial = collect(tmp_path / "sweep", write=False)
    assert not partial["finished"].any()
    assert partial["generalized"].tolist() == finished["generalized"].tolist() == [True, True]


def test_reproduce_claims_on_labels_bound_the_fraction_of_members():
    from grokbench.reproduce import check_claim, measured_text

    summary = pd.DataFrame({"member": [0, 1, 2], "generalized": [True, True, True], "grokked": [True, True, False]})
    metrics = pd.DataFrame(columns=["step", "member"])
    assert check_claim({"metric": "generalized", "min": 1.0}, metrics, summary)["passed"]
    half = check_claim({"metric": "grokked", "min": 0.5}, metrics, summary)
    assert half["passed"] and half["median"] == pytest.approx(2 / 3)
    assert "of n=3 members" in measured_text(half)
    assert not check_claim({"metric": "grokked", "min": 0.75}, metrics, summary)["passed"]
