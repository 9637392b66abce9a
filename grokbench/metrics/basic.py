import torch


def share(flags: torch.Tensor, mask=None) -> torch.Tensor:
    """Fraction of a member's real samples where flags is True, as count / n in float64: (R, N) bool → (R,).
    mask (R, N) bool selects the samples counted (None: all; e.g. a padded set's real samples, or its clean ones).
    NaN where a member has none: "no such samples", not "0 % correct"."""
    if mask is None:
        return flags.sum(-1, dtype=torch.float64) / flags.shape[-1]
    return (flags & mask).sum(-1, dtype=torch.float64) / mask.sum(-1)


def accuracy(logits: torch.Tensor, y: torch.Tensor, mask=None) -> torch.Tensor:
    """logits (R, N, C), y (R, N) → (R,) float64 count / n over each member's real samples."""
    return share(logits.argmax(-1) == y, mask)


def sample_mean(values: torch.Tensor, mask=None) -> torch.Tensor:
    """Mean over each member's real samples, summed in float64: (R, N) → (R,) float64. float64 makes the sum exact
    enough that a zero-padded set gives the same float32 mean as the unpadded one (member k == its standalone run)."""
    values = values.double()
    if mask is None:
        return values.mean(-1)
    return torch.where(mask, values, 0.0).sum(-1) / mask.sum(-1)


def weight_norms(model) -> dict:
    """{'total': (R,), '<param name>': (R,)} — L2 norms per member, reducing every dim but the member dim."""
    squares = {name: p.detach().float().pow(2).flatten(1).sum(1) for name, p in model.named_parameters()}
    norms = {name: sq.sqrt() for name, sq in squares.items()}
    norms["total"] = torch.stack(list(squares.values())).sum(0).sqrt()
    return norms
