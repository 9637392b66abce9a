"""⊥Grad and Grokfast-EMA as optimizer wrappers: per member, per tensor, on top of any base optimizer."""
import pytest
import torch

from grokbench.compose import compose_config
from grokbench.optim import build_optimizer, member_hparams
from grokbench.optim.perp import perpendicular


def make(opt_overrides, R=3, lr=None):
    cfg = compose_config(opt_overrides).optimizer
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(R, 4, 5, generator=gen)), torch.nn.Parameter(torch.randn(R, 1, 6, generator=gen))]
    given = {} if lr is None else {"lr": lr}
    return params, build_optimizer(cfg, params, member_hparams(cfg, R, **given))


def test_perpendicular_is_orthogonal_per_member_and_keeps_norm():
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(4, 3, 7, generator=gen)
    g = torch.randn(4, 3, 7, generator=gen) + 2 * w  # a large radial part
    gp = perpendicular(w, g)
    dots = (gp * w).flatten(1).sum(1) / (gp.flatten(1).norm(dim=1) * w.flatten(1).norm(dim=1))
    torch.testing.assert_close(dots, torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(gp.flatten(1).norm(dim=1), g.flatten(1).norm(dim=1))
    # a member's result depends only on that member (no reduction over the member dim)
    torch.testing.assert_close(perpendicular(w[2:3], g[2:3]), gp[2:3])


@pytest.mark.parametrize("name", ["perp_adamw", "perp_sgd"])
def test_perp_optimizer_steps_orthogonally(name):
    """The gradient the base optimizer sees is ⊥ to the weights: for SGD without momentum the step itself is."""
    params, opt = make([f"optimizer={name}", "optimizer.lr=0.1"] + (["optimizer.momentum=0"] if name == "perp_sgd" else []))
    before = [p.detach().clone() for p in params]
    grads = [torch.randn_like(p) + p.detach() for p in params]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    opt.step(torch.ones(3, dtype=torch.bool))
    for p, w, g in zip(params, before, grads):
        torch.testing.assert_close(p.grad, perpendicular(w, g))  # the wrapper replaced the gradient
        if name == "perp_sgd":
            step = (p.detach() - w).flatten(1)
            cos = (step * w.flatten(1)).sum(1) / (step.norm(dim=1) * w.flatten(1).norm(dim=1))
            torch.testing.assert_close(cos, torch.zeros(3), atol=1e-5, rtol=0)


def test_per_member_lr_still_applies_under_perp():
    lr = torch.tensor([0.0 + 1e-12, 0.1, 1.0], dtype=torch.float64)
    params, opt = make(["optimizer=perp_sgd", "optimizer.momentum=0"], lr=lr)
    before = [p.detach().clone() for p in params]
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step(torch.ones(3, dtype=torch.bool))
    moved = torch.stack([(p.detach() - w).flatten(1).norm(dim=1) for p, w in zip(params, before)]).sum(0)
    assert moved[0] < 1e-9 < moved[1] < moved[2]


def test_grokfast_adds_lambda_times_ema():
    params, opt = make(["optimizer=sgd", "optimizer.lr=1.0", "optimizer.grokfast_lambda=2.0",
                        "optimizer.grokfast_alpha=0.5"])
    p = params[0]
    w0 = p.detach().clone()
    g1, g2 = torch.full_like(p, 1.0), torch.full_like(p, 3.0)
    for g in (g1, g2):
        p.grad = g.clone()
        params[1].grad = None
        opt.step(torch.ones(3, dtype=torch.bool))
    # h1 = g1; update1 = g1 + 2 h1 = 3;  h2 = .5 h1 + .5 g2 = 2; update2 = g2 + 2 h2 = 7
    torch.testing.assert_close(p.detach(), w0 - 3.0 - 7.0)


def test_grokfast_off_by_default_and_wrapper_state_roundtrips():
    params, opt = make(["optimizer=perp_adamw", "optimizer.grokfast_lambda=2.0"])
    for p in params:
        p.grad = torch.randn_like(p)
    opt.step(torch.ones(3, dtype=torch.bool))
    params2, opt2 = make(["optimizer=perp_adamw", "optimizer.grokfast_lambda=2.0"])
    opt2.load_state_dict(opt.state_dict())
    assert opt2.started and torch.equal(opt2.ema[0], opt.ema[0])
    assert opt2.inner.inner.steps == 1
    _, plain = make(["optimizer=adamw"])
    assert type(plain).__name__ == "AdamW"


def test_inactive_member_keeps_grokfast_state():
    params, opt = make(["optimizer=adamw", "optimizer.grokfast_lambda=2.0"])
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step(torch.ones(3, dtype=torch.bool))
    ema = opt.ema[0].clone()
    for p in params:
        p.grad = torch.full_like(p, float("nan"))
    opt.step(torch.tensor([True, False, True]))
    torch.testing.assert_close(opt.ema[0][1], ema[1])
    assert torch.isfinite(params[0][1]).all()
