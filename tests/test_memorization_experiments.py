"""Smoke runs of the Doshi et al. 2024 and Xu et al. 2024 published configs (shrunk), their expect: keys, and the
slow reproductions (pytest -m slow)."""
import json

import pandas as pd
import pytest

from conftest import grokbench

from grokbench.compose import CONFIG_DIR, compose_config
from grokbench.train import train

SHRINK = {
    "doshi2024": ["task.p=11", "model.width=8", "train.max_steps=3", "seeds=1"],
    "xu2024": ["task.p=40", "task.n_train=10", "task.n_test=10", "model.width=4", "train.max_steps=3", "seeds=1"],
}
SHRINK_MODEL = {"doshi2024/transformer": ["model.d_model=8", "model.n_heads=2", "model.d_ff=8"]}
EXPERIMENTS = sorted(str(p.relative_to(CONFIG_DIR / "experiment").with_suffix(""))
                     for paper in SHRINK for p in (CONFIG_DIR / "experiment" / paper).glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_runs_and_its_claims_name_columns(name, tmp_path):
    shrink = SHRINK[name.split("/")[0]]
    if name in SHRINK_MODEL:
        shrink = [o for o in shrink if not o.startswith("model.")] + SHRINK_MODEL[name]
    cfg = compose_config([f"experiment={name}", "device=cpu", *shrink])
    assert cfg.expect is not None, "every published config carries an expect: list"
    summary = train(cfg, tmp_path)
    columns = set(pd.read_parquet(tmp_path / "metrics.parquet").columns) | set(summary.columns)
    for claim in cfg.expect:
        assert claim.metric in columns, claim
        if claim.metric in pd.read_parquet(tmp_path / "metrics.parquet").columns and claim.metric not in summary:
            assert "at_step" in claim, claim


def test_doshi_phase_configs_differ_only_in_weight_decay():
    wds = {n: compose_config([f"experiment=doshi2024/{n}"]).optimizer.weight_decay
           for n in ("coexistence", "partial_inversion", "full_inversion", "forgetting")}
    assert wds == {"coexistence": 0, "partial_inversion": 5, "full_inversion": 15, "forgetting": 20}
    cfg = compose_config(["experiment=doshi2024/full_inversion"])
    assert (cfg.task.p, cfg.task.train_fraction, cfg.task.corruption, cfg.model.width) == (97, 0.5, 0.35, 500)
    assert (cfg.optimizer.lr, cfg.optimizer.beta2, cfg.train.max_steps, cfg.loss.name) == (0.01, 0.98, 2000, "mse")


def test_reproduce_phase_diagram_takes_a_narrower_sweep_and_checks_its_cells(tmp_path):
    """The sweep's own ξ list is replaced from the command line; claims on ξ = .35 cells read one member each."""
    r = grokbench("reproduce", "doshi2024/phase_diagram", *SHRINK["doshi2024"], "device=cpu",
                  "task.corruption=0.1,0.35", "population.grid.optimizer.weight_decay=[0,15,20]",
                  f"hydra.sweep.dir={tmp_path}", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr[-2000:]  # 1: a 3-step run need not land in the published phases
    claims = json.loads((tmp_path / "reproduce.json").read_text())["claims"]
    assert sorted({c["job"] for c in claims}) == [str(tmp_path / "0"), str(tmp_path / "1")]
    cells = [c for c in claims if c["where"]]
    assert len(cells) == 5 and all(c["n"] == 1 and c["job"] == str(tmp_path / "1") for c in cells)


# ----------------------------------------------------------------------------------------- reproductions (slow)
def median_at(metrics: pd.DataFrame, metric: str, step: int) -> float:
    at = metrics[metrics["step"] == metrics.loc[metrics["step"] <= step, "step"].max()]
    return float(at[metric].median())


@pytest.mark.slow
def test_xu_fast_lr_small_reproduces(run):
    """~1-3 min on 2 CPU cores: train 100 % by step 2 while test is at chance, then test ≥ 95 % (docs)."""
    _, metrics, _ = run(["experiment=xu2024/fast_lr_small", "device=cpu"], tiny=False)
    assert metrics["member"].nunique() == 20
    assert median_at(metrics, "train_acc", 2) >= 0.99
    assert median_at(metrics, "test_acc", 1) <= 0.6
    assert median_at(metrics, "test_acc", 20) >= 0.95


@pytest.mark.slow
def test_doshi_full_inversion_reproduces(run):
    """~20-60 min on 2 CPU cores: wd 15 fits only the clean labels, train ≈ (1-ξ)+ξ/p = 65.4 %, test ≈ 100 %."""
    summary, _, _ = run(["experiment=doshi2024/full_inversion", "device=cpu", "seeds=1"], tiny=False)
    assert summary["final_test_acc"].median() >= 0.99
    assert 0.63 <= summary["final_train_acc"].median() <= 0.68
    assert (summary["phase"] == "full_inversion").all()
