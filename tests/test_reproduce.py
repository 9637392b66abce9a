"""`grokbench reproduce`: claim checking, every published experiment smoke-run shrunk, the command end to end."""
import json
import math

import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import compose, grokbench
from grokbench.compose import compose_config
from grokbench.metrics import METRICS
from grokbench.reproduce import check_claim, experiments
from grokbench.train import train

PER_PARAMETER = ("weight_norm", "nlm_cosine")
PRIETO = [e for e in experiments() if e.startswith("prieto2025/")]
CANONICAL = [e for e in experiments() if e.split("/")[0] in ("power2022", "nanda2023", "grokfast2024", "omnigrok2022",
                                                             "lyu2023")]
SHRINK = {  # per group: overrides that make any experiment a few-second CPU run
    "modular": ["task.p=11"], "sparse_parity": ["task.n_bits=8", "task.samples=40"], "s5": ["task.train_fraction=0.01"],
    "mlp": ["model.width=8"], "transformer": ["model.d_model=8", "model.n_heads=2", "model.d_ff=16"],
}


def shrunk(name):
    cfg = compose_config([f"experiment={name}"])
    task = cfg.task.name if cfg.task.name == "sparse_parity" else "s5" if cfg.task.name.startswith("s5") else "modular"
    # population.workers=1: the claims' columns are the same either way, and two worker processes cost ~2 s a run
    return [f"experiment={name}", "device=cpu", "seeds=2", "train.max_steps=3", "train.eval_every=1",
            "population.workers=1", *SHRINK[task], *SHRINK[cfg.model.name]]


def test_the_published_names_exist():
    for name in ("fig1a_perp_adamw", "fig1b_stablemax", "fig1c_softmax_fp64", "fig6b_adamw_collapse", "perp_sgd",
                 "transformer_wd", "tuned_baseline", "sparse_parity", "fig2_precision"):
        assert f"prieto2025/{name}" in PRIETO


def test_the_canonical_experiments_exist():
    for name in ("power2022/div", "power2022/x3_xy2_y", "power2022/s5_compose", "nanda2023/modadd",
                 "lyu2023/modadd_large_init_sgd", "omnigrok2022/modadd_large_init", "grokfast2024/modmul_baseline", "grokfast2024/modmul_ema",
                 "grokfast2024/modmul_ma"):
        assert name in CANONICAL


@pytest.mark.parametrize("name", PRIETO + CANONICAL)  # doshi2024/xu2024: tests/test_memorization_experiments.py
def test_every_experiment_runs_shrunk_and_its_claims_are_real_columns(name, tmp_path):
    cfg = compose_config(shrunk(name))
    assert cfg.expect, f"{name} states no published outcome"
    summary = train(cfg, tmp_path)
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    for claim in OmegaConf.to_container(cfg.expect):
        assert claim["metric"] in set(metrics.columns) | set(summary.columns), claim
        family = claim["metric"].split(".")[0]  # per-parameter columns: weight_norm.<param>, nlm_cosine.<param>
        declared = claim["metric"] in METRICS or family in PER_PARAMETER or claim["metric"] in summary.columns
        assert declared, claim
        assert "min" in claim or "max" in claim, claim
        if claim["metric"] in metrics.columns:
            assert isinstance(claim.get("at_step"), int), claim
        for key in (claim.get("where") or {}):
            assert OmegaConf.select(cfg, key) is not None, claim
        claim.pop("where", None)
        assert check_claim(claim, metrics, summary)["n"] == len(summary)  # seeds=2 × the config's own grid


def tables():
    metrics = pd.DataFrame({"step": [0, 0, 10, 10, 20, 20], "member": [0, 1] * 3,
                            "test_acc": [0.0, 0.0, 0.5, 0.7, 0.9, 1.0]})
    summary = pd.DataFrame({"member": [0, 1, 2], "step_test_95": pd.array([120, None, 100], dtype="Int64")})
    return metrics, summary


def test_claim_reads_last_eval_at_or_before_step():
    metrics, summary = tables()
    r = check_claim({"metric": "test_acc", "at_step": 15, "min": 0.55}, metrics, summary)
    assert r["step_read"] == 10 and r["median"] == pytest.approx(0.6) and r["passed"]
    assert (r["lo"], r["hi"], r["n"]) == (0.5, 0.7, 2)
    assert not check_claim({"metric": "test_acc", "at_step": 15, "min": 0.65}, metrics, summary)["passed"]
    assert not check_claim({"metric": "test_acc", "at_step": 20, "max": 0.9}, metrics, summary)["passed"]


def test_null_summary_step_counts_as_never():
    metrics, summary = tables()
    r = check_claim({"metric": "step_test_95", "max": 130}, metrics, summary)
    assert r["median"] == 120 and r["hi"] == math.inf and r["passed"]
    assert not check_claim({"metric": "step_test_95", "max": 110}, metrics, summary)["passed"]


def test_unknown_metric_or_missing_step_is_an_error():
    metrics, summary = tables()
    with pytest.raises(ValueError, match="neither"):
        check_claim({"metric": "nope", "max": 1}, metrics, summary)
    with pytest.raises(ValueError, match="at_step"):
        check_claim({"metric": "test_acc", "max": 1}, metrics, summary)


def test_reproduce_command_writes_table_and_exit_code(tmp_path):
    out = tmp_path / "fig1a"
    args = ["reproduce", "prieto2025/fig1a_perp_adamw", *shrunk("prieto2025/fig1a_perp_adamw")[1:],
            f"hydra.run.dir={out}"]
    r = grokbench(*args, cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # 3 steps cannot grok: the published claims fail, and say so
    assert "FAIL" in r.stdout and "step_test_95" in r.stdout
    report = json.loads((out / "reproduce.json").read_text())
    assert len(report["claims"]) == 2 and not any(c["passed"] for c in report["claims"])
    assert "| claim |" in (out / "reproduce.md").read_text() and (out / "metrics.parquet").exists()
    from grokbench.cli import main

    assert main(["reproduce", "prieto2025/fig1a_perp_adamw", "--check", str(out),
                 "expect=[{metric:step_train_95,max:1e9},{metric:test_acc,at_step:3,min:0.0}]"]) == 1  # never reached = +inf
    assert main(["reproduce", "prieto2025/fig1a_perp_adamw", "--check", str(out),
                 "expect=[{metric:test_acc,at_step:3,min:0.0}]"]) == 0
    assert "no training" in (out / "reproduce.md").read_text()
    easy = grokbench(*args[:-1], f"hydra.run.dir={tmp_path / 'easy'}", "expect=[{metric:train_acc,at_step:3,min:0.0}]",
                     cwd=tmp_path)
    assert easy.returncode == 0, easy.stdout + easy.stderr
    assert "PASS" in easy.stdout


def test_reproduce_runs_a_multirun_experiment_and_filters_claims(tmp_path):
    out = tmp_path / "fig2"
    r = grokbench("reproduce", "prieto2025/fig2_precision", *shrunk("prieto2025/fig2_precision")[1:],
                  "seeds=1", f"hydra.sweep.dir={out}", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr
    claims = json.loads((out / "reproduce.json").read_text())["claims"]
    assert len(claims) == 3 and len({c["job"] for c in claims}) == 3  # one job per loss.dtype, one claim each
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["0", "1", "2"]


def test_unknown_experiment_or_bad_override_is_one_line(capsys):
    from grokbench.cli import main

    assert main(["reproduce", "prieto2025/nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "prieto2025/{fig1a_perp_adamw," in err and "doshi2024" not in err and len(err.splitlines()) == 1
    assert main(["reproduce", "prieto2025/fig1a_perp_adamw", "optimizer.lr=-1"]) == 2
    assert "optimizer.lr" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fig1a_perp_adamw", "fig6b_adamw_collapse", "tuned_baseline", "sparse_parity",
                                  "perp_sgd"])
def test_published_claims_hold_on_cpu(name, tmp_path):
    """Minutes (fig1a, fig6b, tuned_baseline) to a quarter hour (sparse_parity) and half an hour (perp_sgd: 16 float64
    members, the seed distribution its claims state) on 2 CPU cores."""
    r = grokbench("reproduce", f"prieto2025/{name}", "device=cpu", f"hydra.run.dir={tmp_path / name}",
                  cwd=tmp_path, timeout=3600)
    assert r.returncode == 0, r.stdout[-3000:]


def test_a_claim_whose_job_is_missing_fails_instead_of_vanishing():
    from grokbench.reproduce import check_all

    rows = check_all([{"metric": "final_test_acc", "min": 0.5, "where": {"loss.dtype": "float16"}}], [])
    assert len(rows) == 1 and rows[0]["n"] == 0 and not rows[0]["passed"]


def test_where_on_a_member_column_selects_members_and_a_config_key_selects_jobs(tmp_path):
    """phase_diagram-style claims: one job per ξ, the weight decays are members of each job's population."""
    from grokbench.reproduce import check_all

    for xi, train_accs in ((0.0, [1.0, 0.9]), (0.35, [0.98, 0.65])):
        job = tmp_path / f"xi{xi}"
        (job / ".hydra").mkdir(parents=True)
        OmegaConf.save(compose([f"task.corruption={xi}"]), job / ".hydra" / "config.yaml")
        pd.DataFrame({"step": [10, 10], "member": [0, 1], "train_acc": train_accs}).to_parquet(job / "metrics.parquet")
        pd.DataFrame({"member": [0, 1], "optimizer.weight_decay": [0.0, 15.0],
                      "final_train_acc": train_accs}).to_parquet(job / "summary.parquet")
    jobs = sorted(tmp_path.iterdir())
    claim = {"metric": "final_train_acc", "max": 0.7, "where": {"task.corruption": 0.35, "optimizer.weight_decay": 15}}
    rows = check_all([claim], jobs)
    assert [(r["n"], r["median"], r["passed"]) for r in rows] == [(1, 0.65, True)]
    rows = check_all([{**claim, "metric": "train_acc", "at_step": 10, "where": {"optimizer.weight_decay": 0.0}}], jobs)
    assert [(r["n"], r["median"], r["passed"]) for r in rows] == [(1, 1.0, False), (1, 0.98, False)]


def test_where_reads_the_config_the_job_trained_with_enums_by_name(run):
    """A job's .hydra/ written over after training (say, by a later launch into the same dir) does not move it
    between claims: `where` reads the config training recorded."""
    from grokbench.reproduce import job_matches

    *_, job = run(["loss.dtype=float64"])
    (job / ".hydra").mkdir()
    OmegaConf.save(compose(["loss.dtype=float16"]), job / ".hydra" / "config.yaml")
    assert job_matches(job, {"loss.dtype": "float64"}) and not job_matches(job, {"loss.dtype": "float16"})


def test_where_values_match_exactly_as_numbers_or_text():
    from grokbench.reproduce import same

    assert same(0, 0.0) and same("0.35", 0.35) and same(15, "15.0") and same("float16", "float16")
    assert not same(1e-12, 1e-16) and not same(0, 1e-9) and not same(100000, 100001) and not same("a", "b")
    assert not same(float("nan"), float("nan")) and not same(None, 0)


def test_nan_final_value_fails_a_min_claim_but_never_reached_step_is_infinite():
    metrics, _ = tables()
    summary = pd.DataFrame({"member": [0, 1, 2], "final_test_acc": [0.5, math.nan, math.nan],
                            "step_test_95": pd.array([100, None, None], dtype="Int64")})
    assert not check_claim({"metric": "final_test_acc", "min": 0.4}, metrics, summary)["passed"]
    assert check_claim({"metric": "step_test_95", "min": 1000}, metrics, summary)["median"] == math.inf
