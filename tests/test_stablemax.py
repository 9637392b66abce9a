"""StableMax cross-entropy: values against the paper's definition, gradients, and the dtype edge cases."""
import pytest
import torch

from grokbench.compose import compose_config
from grokbench.losses import per_sample_loss, stablemax_ce, stablemax_log_s

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def reference_stablemax(z: torch.Tensor) -> torch.Tensor:
    """The definition, evaluated only where each branch is valid (float64, no autograd)."""
    s = torch.empty_like(z)
    pos = z >= 0
    s[pos] = z[pos] + 1
    s[~pos] = 1 / (1 - z[~pos])
    return s / s.sum(-1, keepdim=True)


EDGE = [0.0, -0.0, 1.0, -1.0, 1e-7, -1e-7, 0.5, -0.5, 2.0, -2.0, 30.0, -30.0]


def test_values_match_definition_float64():
    z = torch.tensor([EDGE, [1e30, -1e30, 1e5, -1e5, 0, 1, -1, 3, 7, -7, 0.1, 100]], dtype=torch.float64)
    y = torch.tensor([3, 1])
    expected = -reference_stablemax(z)[torch.arange(2), y].log()
    torch.testing.assert_close(stablemax_ce(z[None], y[None])[0], expected, rtol=1e-12, atol=1e-12)


def test_log_s_matches_sign_log1p_abs():
    z = torch.tensor(EDGE + [1e30, -1e30], dtype=torch.float64)
    torch.testing.assert_close(stablemax_log_s(z), torch.sign(z) * torch.log1p(z.abs()))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gradient_finite_at_branch_points(dtype):
    """0 and ±1 are where a two-branch `where` form breaks (NaN in backward); large |z| must stay finite too."""
    big = 6e4 if dtype == torch.float16 else 1e30  # float16 tops out at 65504
    z = torch.tensor([[EDGE + [big, -big]]], dtype=dtype, requires_grad=True)
    for label in range(z.shape[-1]):
        z.grad = None
        loss = stablemax_ce(z, torch.tensor([[label]]))
        loss.sum().backward()
        assert torch.isfinite(loss).all() and torch.isfinite(z.grad).all(), (dtype, label, z.grad)


def test_gradient_matches_finite_differences():
    z = torch.tensor([[EDGE]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[4]])
    assert torch.autograd.gradcheck(lambda t: stablemax_ce(t, y), (z,))


def test_slope_of_log_s_at_zero_is_one():
    z = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    stablemax_log_s(z).sum().backward()
    torch.testing.assert_close(z.grad, torch.ones(3, dtype=torch.float64))  # sign(z)·log1p(|z|) would give 0


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_loss_dtype_is_where_logits_are_normalised(name):
    cfg = compose_config(["loss=stablemax_ce", f"loss.dtype={name}"]).loss
    logits = torch.randn(2, 5, 7, dtype=torch.float32)
    loss = per_sample_loss(cfg, logits, torch.randint(7, (2, 5)))
    assert loss.dtype == getattr(torch, name) and loss.shape == (2, 5)
    assert torch.isfinite(loss).all()


def test_stablemax_does_not_collapse_where_softmax_does():
    """A logit gap of 200: float32 softmax gives loss exactly 0, StableMax a small positive loss."""
    z = torch.tensor([[[200.0, 0.0, -3.0]]])
    y = torch.tensor([[0]])
    assert per_sample_loss(compose_config(["loss=softmax_ce"]).loss, z, y).item() == 0.0
    assert per_sample_loss(compose_config(["loss=stablemax_ce"]).loss, z, y).item() > 0.0
