"""Every population optimizer, with every hyperparameter different per member, steps member r exactly as
torch.optim (+ LambdaLR warmup) steps a plain copy of member r's parameters; Grokfast's filters equal references
written from their published algorithms."""
from collections import deque

import numpy as np
import pandas as pd
import pytest
import torch

from grokbench.compose import compose_config
from grokbench.optim import build_optimizer, member_hparams
from grokbench.optim.perp import perpendicular
from grokbench.population import optimizer_hparams

R, STEPS = 3, 12
PER_MEMBER = {  # three members that differ in everything
    "lr": [1e-3, 3e-2, 0.1], "weight_decay": [0.0, 0.1, 1.0], "warmup_steps": [0, 3, 5],
    "beta1": [0.9, 0.5, 0.0], "beta2": [0.98, 0.999, 0.9], "eps": [1e-8, 1e-6, 1e-3], "momentum": [0.0, 0.5, 0.9],
}


def torch_optimizer(name, params, h, r):
    """Member r's reference optimizer: torch.optim with its hyperparameters, warmup as a LambdaLR."""
    lr, wd, w = h["lr"][r].item(), h["weight_decay"][r].item(), int(h["warmup_steps"][r])
    if name.endswith("sgd"):
        opt = torch.optim.SGD(params, lr=lr, momentum=h["momentum"][r].item(), weight_decay=wd)
    else:
        kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        opt = kind(params, lr=lr, betas=(h["beta1"][r].item(), h["beta2"][r].item()), eps=h["eps"][r].item(),
                   weight_decay=wd)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(s / w, 1) if w > 0 else 1.0)


def population(name, dtype, extra=()):
    cfg = compose_config([f"optimizer={name}", *extra]).optimizer
    gen = torch.Generator().manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(R, 4, 5, generator=gen, dtype=dtype)),
            torch.nn.Parameter(torch.randn(R, 6, generator=gen, dtype=dtype))]
    given = {k: torch.tensor(v, dtype=torch.float64) for k, v in PER_MEMBER.items()}
    h = member_hparams(cfg, R, **given)
    return cfg, ours, h, build_optimizer(cfg, ours, h), gen


def gradients(ours, gen):
    return [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in ours]


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-6), (torch.float64, 1e-13)])
@pytest.mark.parametrize("name", ["adamw", "adam", "sgd", "perp_adamw", "perp_sgd"])
def test_optimizer_equals_torch_member_by_member(name, dtype, tol):
    cfg, ours, h, opt, gen = population(name, dtype)
    theirs = [[torch.nn.Parameter(p.detach()[r].clone()) for p in ours] for r in range(R)]
    refs = [torch_optimizer(name, theirs[r], h, r) for r in range(R)]
    for step in range(STEPS):
        grads = gradients(ours, gen)
        for p, g in zip(ours, grads):
            p.grad = g.clone()
        opt.step(torch.ones(R, dtype=torch.bool))
        for r, (ref, schedule) in enumerate(refs):
            for p, g in zip(theirs[r], grads):
                p.grad = perpendicular(p.detach()[None], g[r][None])[0] if name.startswith("perp") else g[r].clone()
            ref.step()
            schedule.step()
    for r in range(R):
        for p, q in zip(ours, theirs[r]):
            torch.testing.assert_close(p.detach()[r], q.detach(), rtol=tol, atol=tol)
    assert not torch.equal(ours[0][1], theirs[0][0])  # members really differ (the comparison is member by member)


def test_warmup_first_step_has_lr_zero():
    _, ours, h, opt, gen = population("sgd", torch.float64)
    before = ours[0].detach().clone()
    ours[0].grad = torch.ones_like(ours[0])
    opt.step(torch.ones(R, dtype=torch.bool))
    moved = (ours[0].detach() - before).flatten(1).abs().amax(1)
    assert moved[0] > 0 and moved[1] == 0 and moved[2] == 0  # warmup_steps 0, 3, 5


def grokfast_reference(name, theirs_r, h, r, filt, window):
    """Member r: torch.optim plus Grokfast's filter as published (Lee et al. 2024, Algorithms 1 and 2)."""
    opt, schedule = torch_optimizer(name, theirs_r, h, r)
    lamb, alpha = h["grokfast_lambda"][r].item(), h["grokfast_alpha"][r].item()
    past = [deque(maxlen=window) for _ in theirs_r]
    slow = [None for _ in theirs_r]

    def step(grads):
        for i, (p, g) in enumerate(zip(theirs_r, grads)):
            if filt == "ma":
                past[i].append(g)
                p.grad = g + sum(past[i]) / len(past[i]) * lamb if len(past[i]) == window else g.clone()
            else:
                slow[i] = g if slow[i] is None else slow[i] * alpha + g * (1 - alpha)
                p.grad = g + slow[i] * lamb
        opt.step()
        schedule.step()

    return step


@pytest.mark.parametrize("filt,name", [("ma", "sgd"), ("ma", "adamw"), ("ema", "sgd"), ("ema", "adam")])
def test_grokfast_equals_reference_member_by_member(filt, name):
    window = 4
    _, ours, h, _, gen = population(name, torch.float32)
    h["grokfast_lambda"] = torch.tensor([0.0, 2.0, 5.0], dtype=torch.float64)
    h["grokfast_alpha"] = torch.tensor([0.98, 0.5, 0.9], dtype=torch.float64)
    cfg = compose_config([f"optimizer={name}", f"optimizer.grokfast_filter={filt}",
                          f"optimizer.grokfast_window={window}"]).optimizer
    opt = build_optimizer(cfg, ours, h)
    assert type(opt).__name__ == {"ma": "GrokfastMA", "ema": "GrokfastEMA"}[filt]
    theirs = [[torch.nn.Parameter(p.detach()[r].clone()) for p in ours] for r in range(R)]
    refs = [grokfast_reference(name, theirs[r], h, r, filt, window) for r in range(R)]
    for step in range(STEPS):
        grads = gradients(ours, gen)
        for p, g in zip(ours, grads):
            p.grad = g.clone()
        opt.step(torch.ones(R, dtype=torch.bool))
        for r, ref in enumerate(refs):
            ref([g[r] for g in grads])
    for r in range(R):
        for p, q in zip(ours, theirs[r]):
            torch.testing.assert_close(p.detach()[r], q.detach(), rtol=1e-5, atol=1e-6)


def test_grokfast_ma_state_roundtrips_and_freezes_a_diverged_member():
    extra = ["optimizer.grokfast_filter=ma", "optimizer.grokfast_window=3", "optimizer.grokfast_lambda=5"]
    _, ours, _, opt, gen = population("sgd", torch.float32, extra)
    for _ in range(2):
        for p, g in zip(ours, gradients(ours, gen)):
            p.grad = g
        opt.step(torch.ones(R, dtype=torch.bool))
    sd = opt.state_dict()
    assert all(torch.is_tensor(t) for t in sd["history"]) and torch.is_tensor(sd["seen"])
    _, ours2, _, opt2, _ = population("sgd", torch.float32, extra)
    opt2.load_state_dict(sd)
    assert int(opt2.seen) == 2 and torch.equal(opt2.history[0], opt.history[0])
    frozen = opt.history[0][:, 1].clone()
    for p in ours:
        p.grad = torch.full_like(p, float("nan"))
    opt.step(torch.tensor([True, False, True]))
    torch.testing.assert_close(opt.history[0][:, 1], frozen)  # member 1's window keeps its last gradients
    assert torch.isfinite(ours[0][1]).all()


def test_population_takes_a_column_per_hyperparameter_else_the_config():
    cfg = compose_config(["optimizer=adamw", "optimizer.beta2=0.95"]).optimizer
    table = pd.DataFrame({"member": [0, 1], "seed": [0, 0], "optimizer.lr": [0.1, 0.2],
                          "optimizer.weight_decay": [0.0, 1.0], "optimizer.beta1": [0.5, 0.8]})
    h = optimizer_hparams(cfg, table, "cpu")
    assert set(h) == {"lr", "weight_decay", "warmup_steps", "beta1", "beta2", "eps", "grokfast_lambda",
                      "grokfast_alpha"}  # every numeric field but the window length, which sets a shape
    assert h["beta1"].tolist() == [0.5, 0.8] and h["beta2"].tolist() == [0.95, 0.95]
    assert all(t.dtype == torch.float64 and t.shape == (2,) for t in h.values())


def test_member_with_warmup_and_grokfast_ma_trains_like_its_standalone_run(run):
    extra = ["optimizer=adam", "optimizer.warmup_steps=5", "optimizer.grokfast_filter=ma", "optimizer.grokfast_window=3",
             "optimizer.grokfast_lambda=2", "optimizer.weight_decay=0.1"]
    _, pop, _ = run(["seeds=[0,1]", *extra], "pop")
    _, alone, _ = run(["seeds=[1]", *extra], "alone")
    member1 = pop[pop["member"] == 1].reset_index(drop=True)
    curves = ["train_loss", "test_loss", "weight_norm"]
    np.testing.assert_allclose(member1[curves].to_numpy(), alone[curves].to_numpy(), rtol=1e-5, atol=1e-6)
    assert member1["train_loss"].iloc[-1] < member1["train_loss"].iloc[0]
