import torch


def hit_fraction(hits: torch.Tensor, mask: torch.Tensor = None) -> torch.Tensor:
    """Fraction of True in hits (R, N) per member, over the samples where mask (R, N) is True (all if None) → (R,)
    float64; NaN where a member has no such samples ("no such samples", not "0 % correct").

    Exact by construction, so that thresholds (summary's 95 %, early stopping) hold at exactly 95 %: the count and n
    are integers and IEEE division is correctly rounded, so count / n in float64 is the double nearest k/n, and a
    threshold a/b written as a Python float (0.95 = 95/100) is the double nearest a/b. Equal ratios round to the same
    double; unequal ones differ by at least 1/(n·b), more than the two roundings (each < 2^-53 relative) can close
    while n·b < 2^52, so `count / n >= 0.95` is exact for any n below ~2^26. A float32 mean is not: 1653/1740 = 95 %
    exactly becomes 0.94999999 and never counts.
    """
    if mask is not None:
        hits = hits & mask
    n = hits.shape[-1] if mask is None else mask.sum(-1).double()  # (R,)
    return hits.sum(-1).double() / n


def accuracy(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor = None) -> torch.Tensor:
    """logits (R, N, C), y (R, N), mask (R, N) of the samples to count (all if None) → (R,) float64, exact."""
    return hit_fraction(logits.argmax(-1) == y, mask)


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
    # a Python sum of (R,) tensors, one addition per parameter in a fixed order: torch.stack(...).sum(0) reduces a
    # (P, R) tensor, whose summation order changes with R (R = 1 becomes one vectorised reduction of P numbers), so a
    # member's total would depend on the population it trains in
    norms["total"] = sum(squares.values()).sqrt()
    return norms
