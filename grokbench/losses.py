"""Per-sample losses on a population: logits (R, N, C), labels (R, N) → loss (R, N) in the loss dtype.

The loss dtype is where logits get normalised, the place where float precision decides whether a softmax collapses
(Prieto et al. 2025), so the cast happens here and nowhere else.
"""
import torch
import torch.nn.functional as F


def softmax_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(logits, dim=-1)  # (R, N, C)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)


def mse(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    target = F.one_hot(y, logits.shape[-1]).to(logits.dtype)  # (R, N, C)
    return (logits - target).pow(2).mean(-1)  # nn.MSELoss averages over classes too


LOSSES = {"softmax_ce": softmax_ce, "mse": mse}


def per_sample_loss(cfg, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return LOSSES[cfg.name](logits.to(getattr(torch, cfg.dtype.value)), y)
