"""Softmax Collapse and naive loss minimisation (Prieto et al. 2025, §3-4), per member → (R,) each.

Softmax Collapse (SC): in floating point, once one logit dominates, Σ_j exp(z_j − max z) rounds to exactly 1, the
correct-class probability to exactly 1, and the sample's gradient to exactly 0 — learning stops on it. These metrics
look at the same normaliser the loss uses, in the loss dtype (StableMax's normaliser for stablemax_ce).
Naive loss minimisation (NLM): past 100 % train accuracy the loss keeps falling by scaling the weights up, so the
descent direction −∇L lines up with the weights W.
"""
import torch

from grokbench.losses import NORMALISED_LOGITS, mean_loss, per_sample_loss
from grokbench.metrics.basic import hit_fraction, sample_mean

COLLAPSE_METRICS = {
    "sc_fraction": "fraction of train samples whose normaliser Σ_j exp(z_j − max z) equals exactly 1 in the loss dtype "
                   "(StableMax: the same sum over log s(z)); NaN for losses without a softmax (mse)",
    "zero_loss_fraction": "fraction of train samples whose loss is exactly 0 in the loss dtype (zero gradient)",
    "logit_norm": "mean over train samples of the L2 norm of the logit vector",
}
# with train.nlm_metrics=true, one `nlm_cosine.<parameter>` column per parameter tensor: cos(W, −∇_W L_train); → 1 means the descent
# direction only scales the weights up (NLM; the paper sees ~0.9 on the output layer before SC)


def sc_fraction(loss_cfg, logits: torch.Tensor, mask=None) -> torch.Tensor:
    """logits (R, N, C) → (R,): share of samples whose normaliser is exactly 1 in the loss dtype (mask (R, N): the
    real samples of a padded set, None = all)."""
    R = logits.shape[0]
    if loss_cfg.name not in NORMALISED_LOGITS:
        return torch.full((R,), float("nan"), device=logits.device)
    g = NORMALISED_LOGITS[loss_cfg.name](logits.to(loss_cfg.dtype.torch))  # (R, N, C) in the loss dtype
    normaliser = torch.exp(g - g.amax(-1, keepdim=True)).sum(-1)  # (R, N); same sum log_softmax takes
    return hit_fraction(normaliser == 1, mask).float()  # ALGO LOGIC: exactly 1, no tolerance: that is the collapse


def zero_loss_fraction(loss_cfg, logits: torch.Tensor, y: torch.Tensor, mask=None) -> torch.Tensor:
    return hit_fraction(per_sample_loss(loss_cfg, logits, y) == 0, mask).float()  # (R,)


def logit_norm(logits: torch.Tensor, mask=None) -> torch.Tensor:
    return sample_mean(logits.float().norm(dim=-1), mask).float()  # (R, N, C) → (R,)


def nlm_cosines(model, data, loss_cfg) -> dict:
    """{'nlm_cosine.<param>': (R,)}: cos(W, −∇_W L) per member and parameter tensor, gradient of the mean train loss.

    One extra forward/backward on the train set, only at eval steps; dropout off (eval mode) so the value is the
    gradient of the loss itself, not of one dropout draw. Uses autograd.grad, so the optimizer's .grad is untouched.
    """
    params = dict(model.named_parameters())
    was_training = model.training
    model.eval()
    with torch.enable_grad():
        loss = mean_loss(per_sample_loss(loss_cfg, model(data.x_train), data.y_train), data.train_mask)  # (R,)
        grads = torch.autograd.grad(loss.sum(), list(params.values()), allow_unused=True)  # members don't mix
    model.train(was_training)
    out = {}
    for (name, w), g in zip(params.items(), grads):
        if g is None:
            continue
        w, g = w.detach().flatten(1).double(), -g.flatten(1).double()  # (R, P): reduce every dim but the member dim
        out[f"nlm_cosine.{name}"] = ((w * g).sum(1) / (w.norm(dim=1) * g.norm(dim=1))).float()
    return out


def collapse_metrics(model, data, loss_cfg, train_logits: torch.Tensor, nlm: bool) -> dict:
    """Everything above for the current parameters → {name: (R,)}; NLM cosines only when `nlm` (train.nlm_metrics)."""
    out = {
        "sc_fraction": sc_fraction(loss_cfg, train_logits, data.train_mask),
        "zero_loss_fraction": zero_loss_fraction(loss_cfg, train_logits, data.y_train, data.train_mask),
        "logit_norm": logit_norm(train_logits, data.train_mask),
    }
    if nlm:
        out.update(nlm_cosines(model, data, loss_cfg))
    return out
