"""The quadratic network of Doshi et al. 2024: population == standalone seeds (dropout and batch norm included),
per-neuron IPR written at the end, phase column in the summary, resume keeps the dropout streams."""
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import compose
from grokbench.models import build_model
from grokbench.tasks import build_task

QUAD = ["model=quadratic", "loss=mse", "task.corruption=0.3", "optimizer.lr=0.01"]
CURVES = ["train_loss", "test_loss", "train_acc", "test_acc", "weight_norm", "ipr_mean"]


@pytest.mark.parametrize("extra", [[], ["model.dropout=0.3", "model.batch_norm=true"]], ids=["plain", "dropout_bn"])
def test_member_matches_standalone_seed(run, extra):
    _, population, _ = run([*QUAD, *extra, "seeds=[0,5]", "population.grid.optimizer.weight_decay=[0.0,1.0]"], "pop")
    assert population["member"].nunique() == 4
    for member, curve in population.groupby("member"):
        seed, wd = int(curve["seed"].iloc[0]), float(curve["optimizer.weight_decay"].iloc[0])
        _, single, _ = run([*QUAD, *extra, f"seeds=[{seed}]", f"optimizer.weight_decay={wd}"], f"m{member}")
        np.testing.assert_allclose(curve[CURVES].to_numpy(), single[CURVES].to_numpy(), rtol=1e-5, atol=1e-5)


def test_dropout_changes_training_and_is_off_in_eval():
    cfg = compose([*QUAD, "model.dropout=0.5", "seeds=2"])
    data = build_task(cfg.task, [0, 1], "cpu")
    model = build_model(cfg.model, data, [0, 1], "cpu")
    a, b = model(data.x_train), model(data.x_train)  # train mode: fresh masks each call
    assert not torch.equal(a, b)
    model.eval()
    assert torch.equal(model(data.x_train), model(data.x_train))


def test_batch_norm_statistics_are_per_member():
    cfg = compose([*QUAD, "model.batch_norm=true", "seeds=2"])
    data = build_task(cfg.task, [0, 1], "cpu")
    model = build_model(cfg.model, data, [0, 1], "cpu")
    with torch.no_grad():
        model.U[1] *= 10  # member 1's activations 100× larger; member 0's normalised output must not change
        alone = build_model(cfg.model, data, [0, 1], "cpu")
        assert torch.allclose(model(data.x_train)[0], alone(data.x_train)[0], atol=1e-5)


def test_ipr_table_phase_and_metrics(run):
    summary, metrics, out = run([*QUAD, "seeds=2"])
    ipr = pd.read_parquet(out / "ipr.parquet")
    assert list(ipr.columns) == ["member", "seed", "neuron", "ipr"]
    assert len(ipr) == 2 * 16 and ipr["ipr"].between(0, 1).all()
    assert {"ipr_mean", "ipr_frac_above_0.5"} <= set(metrics.columns)
    assert metrics["ipr_mean"].between(0, 1).all()
    assert set(summary["phase"]) <= {"coexistence", "partial_inversion", "full_inversion", "memorization",
                                     "forgetting"}


def test_mlp_run_with_corrupted_labels_has_a_phase_but_no_ipr(run):
    summary, metrics, out = run(["task.corruption=0.2"])
    assert "ipr_mean" not in metrics.columns and not (out / "ipr.parquet").exists()
    assert summary["phase"].notna().all()  # Doshi et al.'s label is about the data (ξ > 0), not the model


def test_resume_continues_dropout_streams(run, tmp_path):
    args = [*QUAD, "model.dropout=0.3", "seeds=2"]
    _, straight, _ = run([*args, "train.max_steps=20"], "straight")
    run([*args, "train.max_steps=20"], "resumed")  # finish once, then rewind the checkpoint and resume from 10
    _, half, half_dir = run([*args, "train.max_steps=10"], "half")
    ckpt = torch.load(half_dir / "checkpoint.pt", weights_only=False)
    resumed_dir = tmp_path / "resumed"
    full = torch.load(resumed_dir / "checkpoint.pt", weights_only=False)
    ckpt.update(config=full["config"], finished=False)
    torch.save(ckpt, resumed_dir / "checkpoint.pt")
    _, resumed, _ = run([*args, "train.max_steps=20"], "resumed")
    last = lambda m: m[m["step"] == 20].sort_values("member")["train_loss"].to_numpy()  # noqa: E731
    np.testing.assert_allclose(last(resumed), last(straight), rtol=1e-5)
