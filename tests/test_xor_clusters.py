"""XOR cluster data and the fixed-output two-layer ReLU network of Xu et al. 2024."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from conftest import compose
from grokbench.models import build_model
from grokbench.tasks import build_task

XOR = ["task=xor_clusters", "model=two_layer_relu_fixed_output", "optimizer=sgd", "optimizer.momentum=0",
       "optimizer.weight_decay=0", "task.dtype=float64", "loss.dtype=float64"]


def xor_data(overrides=(), seeds=(0, 1)):
    cfg = compose([*XOR, *overrides, f"seeds=[{','.join(map(str, seeds))}]"])
    return cfg, build_task(cfg.task, list(seeds), "cpu")


def test_data_statistics():
    p, n, flip = 400, 2000, 0.2
    cfg, data = xor_data([f"task.p={p}", f"task.n_train={n}", "task.n_test=2000", f"task.label_flip={flip}"])
    assert data.x_train.shape == (2, n, p) and data.x_train.dtype == torch.float64
    assert not torch.equal(data.x_train[0], data.x_train[1])  # seed-dependent
    norm = 2.5 * math.sqrt(p / n)
    for r in range(2):
        # each class is two clusters ±μ that cancel in the mean: recover the μ axis as the top singular vector
        x, y = data.x_test[r], data.y_test[r]
        mus = []
        for label in (1, 0):
            pts = x[y == label]
            mus.append(torch.linalg.svd(pts, full_matrices=False).Vh[0])  # the ±μ axis: top direction
        assert abs(float(mus[0] @ mus[1])) < 0.15  # orthogonal means (up to sampling noise)
        # flip rate ≈ η, and only train labels are flipped
        assert abs(data.corrupted[r].double().mean().item() - flip) < 0.03
        proj = x @ mus[0]  # class-1 points sit at ±‖μ‖ along μ1, class-0 points near 0
        assert (proj[y == 1].abs().mean() - norm).abs() < 0.5
        assert proj[y == 0].abs().mean() < 1.5
    # the test set is clean: labels follow the cluster geometry exactly as the clean train labels do
    assert data.y_test.dtype == torch.long and set(data.y_test.unique().tolist()) == {0, 1}


def test_flipped_train_labels_are_exactly_the_mask():
    _, clean = xor_data(["task.label_flip=0.0", "task.n_train=500"], seeds=(3,))
    _, noisy = xor_data(["task.label_flip=0.3", "task.n_train=500"], seeds=(3,))
    assert torch.equal(clean.x_train, noisy.x_train)  # same points, only labels differ
    assert torch.equal(noisy.y_train != clean.y_train, noisy.corrupted)
    assert torch.equal(clean.y_test, noisy.y_test)


def test_two_logits_give_the_logistic_loss():
    cfg, data = xor_data(["task.p=50", "task.n_train=20", "model.width=10", "model.init_std=0.1"])
    model = build_model(cfg.model, data, [0, 1], "cpu")
    f = model.score(data.x_train)  # (R, N)
    y_pm = 2.0 * data.y_train - 1  # ±1
    ce = F.cross_entropy(model(data.x_train).flatten(0, 1), data.y_train.flatten(), reduction="none")
    torch.testing.assert_close(ce.view_as(f), torch.log1p(torch.exp(-y_pm * f)))
    assert torch.equal(model(data.x_train).argmax(-1) == 1, f > 0)
    torch.testing.assert_close(model.a.abs(), torch.full_like(model.a, 1 / math.sqrt(10)))
    assert (model.a > 0).sum().item() == 2 * 5  # half +1/√m in each member
    assert [n for n, _ in model.named_parameters()] == ["W"]  # a is fixed


def test_float64_keeps_tiny_updates():
    """ω = 1e-15, lr = 1e-16 (the paper's slow run): one GD step must move W by exactly lr·grad, not be rounded away."""
    cfg, data = xor_data(["task.p=200", "task.n_train=20", "model.width=10"], seeds=(0,))
    model = build_model(cfg.model, data, [0], "cpu")
    assert model.W.dtype == torch.float64 and model.W.abs().max() < 1e-13
    loss = F.cross_entropy(model(data.x_train)[0], data.y_train[0])
    loss.backward()
    before = model.W.detach().clone()
    with torch.no_grad():
        model.W -= 1e-16 * model.W.grad
    change = model.W.detach() - before
    moved = model.W.grad != 0
    assert moved.float().mean() > 0.3  # ~half the neurons are active on any point
    ratio = (change[moved] / (-1e-16 * model.W.grad[moved]))
    assert (ratio - 1).abs().max() < 1e-6  # relative rounding ~1e-16/1e-3: exact for the dynamics


def test_member_matches_standalone_seed(run):
    args = [*XOR, "task.p=100", "task.n_train=20", "task.n_test=50", "model.width=8", "optimizer.lr=1e-13"]
    _, population, _ = run([*args, "seeds=[0,4]"], "pop")
    for member, curve in population.groupby("member"):
        _, single, _ = run([*args, f"seeds=[{int(curve['seed'].iloc[0])}]"], f"m{member}")
        cols = ["train_loss", "test_loss", "train_acc", "test_acc", "train_acc_corrupted", "weight_norm"]
        np.testing.assert_allclose(curve[cols].to_numpy(), single[cols].to_numpy(), rtol=1e-9, equal_nan=True)


def test_fast_lr_overfits_then_generalises(run):
    """The fast regime at a small size: train 100 % within two steps while test is near chance, then test climbs
    (median of 4 seeds; at this tiny size it levels off near 80 %, see docs/reproductions.md)."""
    args = [*XOR, "task.p=900", "task.n_train=30", "task.n_test=200", "model.width=40", "optimizer.lr=1e-12",
            "train.max_steps=20", "train.eval_every=1", "seeds=4"]
    summary, metrics, _ = run(args, tiny=True)
    med = metrics.groupby("step")[["train_acc", "test_acc"]].median()
    assert med.loc[2, "train_acc"] == 1.0 and med.loc[1, "test_acc"] < 0.6
    assert med.loc[20, "test_acc"] >= 0.7 and med.loc[20, "test_acc"] > med.loc[1, "test_acc"] + 0.15
