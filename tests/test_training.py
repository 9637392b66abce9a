"""Training semantics: data, optimizers equal PyTorch's, minibatches, early stop, determinism, model options."""
import numpy as np
import pytest
import torch

from conftest import compose
from grokbench.optim import build_optimizer, member_hparams
from grokbench.tasks import build_task


@pytest.mark.parametrize("name,check", [
    ("modadd", lambda a, b, y, p: (a + b) % p == y),
    ("modsub", lambda a, b, y, p: (a - b) % p == y),
    ("modmul", lambda a, b, y, p: (a * b) % p == y),
    ("moddiv", lambda a, b, y, p: (y * b) % p == a),  # y = a·b⁻¹  ⇔  y·b = a
])
def test_modular_labels_and_split(name, check):
    cfg = compose([f"task={name}", "task.p=13", "task.train_fraction=0.5"])
    data = build_task(cfg.task, [0, 1], "cpu")
    x = torch.cat([data.x_train, data.x_test], 1)  # (R, N, 2)
    y = torch.cat([data.y_train, data.y_test], 1)
    n_pairs = 13 * 12 if name == "moddiv" else 13 * 13
    assert x.shape[1] == n_pairs
    assert bool(check(x[..., 0], x[..., 1], y, 13).all())
    assert len({tuple(r) for r in x[0].tolist()}) == n_pairs  # train and test partition all pairs
    assert not torch.equal(data.x_train[0], data.x_train[1])  # the split depends on the seed


def test_corruption_fraction_and_test_stays_clean():
    cfg = compose(["task.p=31", "task.corruption=0.3"])
    data = build_task(cfg.task, [0], "cpu")
    assert abs(data.corrupted.float().mean().item() - 0.3) < 0.01
    a, b = data.x_test[..., 0], data.x_test[..., 1]
    assert torch.equal((a + b) % 31, data.y_test)


@pytest.mark.parametrize("name,reference", [
    ("adamw", lambda ps, c: torch.optim.AdamW(ps, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps,
                                              weight_decay=c.weight_decay)),
    ("sgd", lambda ps, c: torch.optim.SGD(ps, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)),
])
def test_population_optimizer_equals_pytorch_per_member(name, reference):
    cfg = compose([f"optimizer={name}", "optimizer.weight_decay=0.1"] + (["optimizer.momentum=0.9"] * (name == "sgd")))
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64)  # (R, fan_in, fan_out)
    lrs = torch.tensor([1e-3, 1e-2, 1e-1], dtype=torch.float64)
    ours = torch.nn.Parameter(w.clone())
    opt = build_optimizer(cfg.optimizer, [ours], member_hparams(cfg.optimizer, 3, lr=lrs))
    theirs = [torch.nn.Parameter(w[r].clone()) for r in range(3)]
    ref = [reference([p], cfg.optimizer) for p in theirs]
    for r, o in enumerate(ref):
        o.param_groups[0]["lr"] = lrs[r].item()
    for _ in range(5):
        g = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64)
        ours.grad = g.clone()
        opt.step(torch.ones(3, dtype=torch.bool))
        for r in range(3):
            theirs[r].grad = g[r].clone()
            ref[r].step()
    for r in range(3):
        torch.testing.assert_close(ours.data[r], theirs[r].data, rtol=1e-12, atol=1e-12)


def test_minibatch_trains_and_members_match_standalone(run):
    _, pop, _ = run(["seeds=[0,1]", "train.batch_size=32"], "pop")
    _, alone, _ = run(["seeds=[1]", "train.batch_size=32"], "alone")
    member1 = pop[pop["member"] == 1].reset_index(drop=True)
    np.testing.assert_allclose(member1["train_loss"], alone["train_loss"], rtol=1e-5)
    _, full, _ = run(["seeds=[1]"], "full")
    assert not np.allclose(full["train_loss"].iloc[-1], alone["train_loss"].iloc[-1])


def test_early_stop_when_every_member_is_above_threshold(run):
    summary, metrics, _ = run(["train.max_steps=400", "task.p=23", "model.width=64", "optimizer.lr=0.01",
                               "task.train_fraction=0.8", "train.early_stop_threshold=0.1",
                               "train.early_stop_patience=2"])
    assert metrics["step"].max() < 400
    last_two = metrics[metrics["step"] >= sorted(metrics["step"].unique())[-2]]
    assert (last_two["test_acc"] >= 0.1).all()
    assert (summary["final_step"] == metrics["step"].max()).all()


def test_same_seed_same_numbers(run):
    _, a, _ = run(["seeds=[5]"], "a")
    _, b, _ = run(["seeds=[5]"], "b")
    assert a.equals(b)


@pytest.mark.parametrize("overrides", [
    ["model.bias=true", "model.activation=gelu", "model.depth=3"],
    ["model.first_layer=gather"],
    ["loss=mse"],
    ["optimizer=sgd", "optimizer.momentum=0.9", "optimizer.lr=0.5"],
    ["task=moddiv", "task.corruption=0.2"],
])
def test_model_and_loss_options_train(run, overrides):
    summary, metrics, _ = run(overrides + ["train.max_steps=40"])
    assert metrics["train_loss"].notna().all()
    first, last = (metrics[metrics["step"] == s]["train_loss"].mean() for s in (0, 40))
    assert last < first  # it learns


def test_gather_and_onehot_first_layers_are_the_same_math(run):
    _, onehot, _ = run(["model.first_layer=onehot"], "onehot")
    _, gather, _ = run(["model.first_layer=gather"], "gather")
    np.testing.assert_allclose(onehot["train_loss"], gather["train_loss"], rtol=1e-4, atol=1e-6)
