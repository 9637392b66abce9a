"""Softmax-Collapse metrics: constructed batches with a known answer, per member, in the loss dtype."""
import torch

from grokbench.compose import compose_config
from grokbench.metrics import METRICS
from grokbench.metrics.collapse import logit_norm, sc_fraction, zero_loss_fraction


def loss_cfg(*overrides):
    return compose_config(list(overrides)).loss


def batch(gap: float, R=2, N=8, C=5):
    """Every sample's logit 0 leads by `gap`: (R, N, C), labels 0."""
    z = torch.zeros(R, N, C)
    z[..., 0] = gap
    return z, torch.zeros(R, N, dtype=torch.long)


def test_collapsed_batch_is_one_healthy_batch_is_zero():
    collapsed, y = batch(200.0)
    healthy, _ = batch(2.0)
    cfg = loss_cfg("loss=softmax_ce")
    assert sc_fraction(cfg, collapsed).tolist() == [1.0, 1.0]
    assert sc_fraction(cfg, healthy).tolist() == [0.0, 0.0]
    assert zero_loss_fraction(cfg, collapsed, y).tolist() == [1.0, 1.0]
    assert zero_loss_fraction(cfg, healthy, y).tolist() == [0.0, 0.0]


def test_per_member_fraction():
    z, y = batch(2.0, R=3, N=4)
    z[1, :3, 0] = 200.0  # member 1: 3 of 4 samples collapse; members 0, 2 healthy
    assert sc_fraction(loss_cfg("loss=softmax_ce"), z).tolist() == [0.0, 0.75, 0.0]


def test_collapse_depends_on_loss_dtype():
    """A gap of 20 collapses in float32 (4·e^-20 is below half an ulp of 1) but not in float64."""
    z, _ = batch(20.0)
    assert sc_fraction(loss_cfg("loss=softmax_ce", "loss.dtype=float32"), z).tolist() == [1.0, 1.0]
    assert sc_fraction(loss_cfg("loss=softmax_ce", "loss.dtype=float64"), z).tolist() == [0.0, 0.0]
    assert sc_fraction(loss_cfg("loss=softmax_ce", "loss.dtype=float16"), batch(12.0)[0]).tolist() == [1.0, 1.0]


def test_stablemax_normaliser_does_not_collapse_at_a_softmax_collapsing_gap():
    z, _ = batch(200.0)
    assert sc_fraction(loss_cfg("loss=stablemax_ce"), z).tolist() == [0.0, 0.0]
    assert sc_fraction(loss_cfg("loss=stablemax_ce"), batch(1e30)[0]).tolist() == [1.0, 1.0]


def test_mse_has_no_normaliser_and_logit_norm():
    z, _ = batch(3.0)
    assert torch.isnan(sc_fraction(loss_cfg("loss=mse"), z)).all()
    torch.testing.assert_close(logit_norm(z), torch.full((2,), 3.0))


def test_metrics_are_declared_and_logged(run):
    _, metrics, _ = run(["loss=stablemax_ce", "train.nlm_metrics=true"])
    for name in ("sc_fraction", "zero_loss_fraction", "logit_norm"):
        assert name in METRICS and metrics[name].notna().all()
    nlm = [c for c in metrics.columns if c.startswith("nlm_cosine.")]
    assert {"nlm_cosine.w_in", "nlm_cosine.w_out"} <= set(nlm)
    assert metrics[nlm].abs().le(1 + 1e-5).all().all()
    _, plain, _ = run(["loss=stablemax_ce"], "plain")  # off by default: it costs a forward+backward per eval
    assert not any(c.startswith("nlm_cosine.") for c in plain.columns)


def test_nlm_cosine_approaches_one_as_softmax_sharpens(run):
    """Plain AdamW without weight decay past 100 % train: −∇L turns towards W on the read-out (NLM)."""
    _, metrics, _ = run(["task.p=7", "task.train_fraction=0.9", "optimizer.weight_decay=0", "optimizer.lr=1e-2",
                         "train.max_steps=300", "train.eval_every=100", "seeds=1", "train.nlm_metrics=true"])
    last = metrics[metrics["step"] == 300]
    assert float(last["train_acc"].iloc[0]) == 1.0
    assert float(last["nlm_cosine.w_out"].iloc[0]) > 0.5
