"""Per-sample losses on a population: logits (R, N, C), labels (R, N) → loss (R, N) in the loss dtype.

The loss dtype is where logits get normalised, the place where float precision decides whether a softmax collapses
(Prieto et al. 2025), so the cast happens here and nowhere else.
"""
import torch
import torch.nn.functional as F


def stablemax_log_s(z: torch.Tensor) -> torch.Tensor:
    """log s(z) for StableMax's s(x) = x+1 (x >= 0), 1/(1-x) (x < 0)  (Prieto et al. 2025, eq. 6), elementwise.

    log s(z) = sign(z)·log1p(|z|), so StableMax(z) = softmax(log s(z)): same values, and the normaliser never divides.
    Written as a `where` whose two branches are each finite for EVERY input, because `where` evaluates both (and
    backpropagates 0·grad into the branch not taken): the paper's 1/(1-x) branch is inf at x == 1 and its backward
    gives 0·inf = NaN there. So each branch gets its own argument, selected with `where` on the input: the branch not
    taken sees 0 (log1p(0) = 0, slope 1, finite). The selection is a `where`, not a clamp: clamp's gradient at exactly
    0 is a kernel's subgradient choice (1 before torch 2.14, 0 since), whereas `where(z >= 0, z, 0)` passes z's
    gradient through at z == 0, so log s has its true slope 1 there on every torch. Not sign(z)·log1p(|z|)
    literally: autograd gives that a zero gradient at z == 0 too.
    """
    positive = z >= 0
    z_pos, z_neg = torch.where(positive, z, 0.0), torch.where(positive, 0.0, z)  # each branch's own argument
    return torch.where(positive, torch.log1p(z_pos), -torch.log1p(-z_neg))  # ALGO LOGIC


def softmax_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(logits, dim=-1)  # (R, N, C)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)


def stablemax_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of StableMax probabilities: −log(s(z_y) / Σ_j s(z_j)), computed as a log-softmax of log s(z)."""
    return softmax_ce(stablemax_log_s(logits), y)  # ALGO LOGIC


def mse(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    target = F.one_hot(y, logits.shape[-1]).to(logits.dtype)  # (R, N, C)
    return (logits - target).pow(2).mean(-1)  # nn.MSELoss averages over classes too


LOSSES = {"softmax_ce": softmax_ce, "stablemax_ce": stablemax_ce, "mse": mse}
# the logits a normalising loss feeds to its softmax (SC metrics inspect that softmax's normaliser); mse has none
NORMALISED_LOGITS = {"softmax_ce": lambda z: z, "stablemax_ce": stablemax_log_s}


def per_sample_loss(cfg, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return LOSSES[cfg.name](logits.to(cfg.dtype.torch), y)


def mean_loss(loss: torch.Tensor, mask=None) -> torch.Tensor:
    """(R, N) per-sample losses → (R,) mean over each member's own samples, the loss a member trains on. mask (R, N)
    marks the real samples of a padded set (population.grid over set sizes); a padded sample gets exactly zero
    gradient (the where), a real one exactly 1/n_k, as the unpadded mean gives it."""
    if mask is None:
        return loss.mean(-1)
    return torch.where(mask, loss, 0.0).sum(-1) / mask.sum(-1)
