"""Member i of a population trains exactly like a standalone run of its seed and hyperparameters."""
import numpy as np
import pandas as pd
import torch

from conftest import compose
from grokbench.population import build_population, members
from grokbench.step import train_step

TOL = 1e-5  # float32 batched vs single matmuls: same kernels, differences stay at rounding level over 20 steps
CURVES = ["train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"]


def test_member_matches_standalone_seed(run):
    grid = ["seeds=[0,3,7]", "population.grid.optimizer.weight_decay=[0.0,1.0]", "task.corruption=0.2"]
    _, population, _ = run(grid, "population")
    assert population["member"].nunique() == 6
    for member, curve in population.groupby("member"):
        seed, wd = int(curve["seed"].iloc[0]), float(curve["optimizer.weight_decay"].iloc[0])
        _, single, _ = run([f"seeds=[{seed}]", f"optimizer.weight_decay={wd}", "task.corruption=0.2"], f"m{member}")
        np.testing.assert_allclose(curve[CURVES].to_numpy(), single[CURVES].to_numpy(), rtol=TOL, atol=TOL)


def test_seeds_differ_in_split_init_and_corruption(run):
    _, metrics, _ = run(["seeds=2", "task.corruption=0.3"])
    first = metrics[metrics["step"] == 0].set_index("member")
    assert first.loc[0, "train_loss"] != first.loc[1, "train_loss"]


def test_seed_zero_is_a_seed(run):
    _, metrics, _ = run(["seeds=[0]"])
    assert metrics["seed"].unique().tolist() == [0]


def test_grid_members_are_seeds_times_grid(run):
    summary, _, _ = run(["seeds=2", "population.grid.optimizer.lr=[1e-3,1e-2]",
                         "population.grid.optimizer.weight_decay=[0,1]"])
    combos = summary[["seed", "optimizer.lr", "optimizer.weight_decay"]].drop_duplicates()
    assert len(summary) == len(combos) == 8


def test_nan_member_is_frozen_and_others_unaffected(run):
    # lr 1e30 makes member 1's weights overflow within a couple of steps; member 0 must not notice
    summary, metrics, _ = run(["seeds=[0]", "optimizer=sgd", "population.grid.optimizer.lr=[0.1,1e30]"], "pop")
    assert summary["diverged"].tolist() == [False, True]
    assert summary.loc[1, "diverged_step"] < 20
    _, alone, _ = run(["seeds=[0]", "optimizer=sgd", "optimizer.lr=0.1"], "alone")
    healthy = metrics[metrics["member"] == 0].reset_index(drop=True)
    pd.testing.assert_series_equal(healthy["train_loss"], alone["train_loss"], check_exact=False, rtol=1e-6)


def test_diverged_members_weights_stay_as_they_were_at_divergence():
    """The parameters themselves (a diverged member's weight_norm is inf at every step, whatever its weights do)."""
    # weight decay: an update that reached the frozen member would move (or NaN) its weights even with a zero gradient
    cfg = compose(["seeds=[0]", "optimizer=sgd", "optimizer.weight_decay=0.01",
                   "population.grid.optimizer.lr=[0.1,1e30]"])
    data, model, opt, _, _, active, diverged_step = build_population(cfg, members(cfg), torch.device("cpu"))
    step = 0
    while bool(active[1]):
        assert step < 20, "member 1 never diverged"
        train_step(model, opt, cfg.loss, data.x_train, data.y_train, active, diverged_step, step)
        step += 1
    at_divergence = {name: p.detach()[1].clone() for name, p in model.named_parameters()}
    healthy = {name: p.detach()[0].clone() for name, p in model.named_parameters()}
    for later in range(step, step + 5):
        train_step(model, opt, cfg.loss, data.x_train, data.y_train, active, diverged_step, later)
    assert bool(active[0]) and int(diverged_step[1]) == step - 1
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.detach()[1], at_divergence[name], rtol=0, atol=0, equal_nan=True, msg=name)
    assert any(not torch.equal(p.detach()[0], healthy[name]) for name, p in model.named_parameters())
