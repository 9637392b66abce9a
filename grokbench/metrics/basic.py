import torch


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """logits (R, N, C), y (R, N) → (R,); NaN for an empty set."""
    return (logits.argmax(-1) == y).float().mean(-1)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the samples where mask is True, per member: (R, N), (R, N) → (R,); NaN where none are."""
    return (values * mask).sum(-1) / mask.sum(-1)  # 0/0 = NaN on purpose: "no such samples", not "0 % correct"


def weight_norms(model) -> dict:
    """{'total': (R,), '<param name>': (R,)} — L2 norms per member, reducing every dim but the member dim."""
    squares = {name: p.detach().float().pow(2).flatten(1).sum(1) for name, p in model.named_parameters()}
    norms = {name: sq.sqrt() for name, sq in squares.items()}
    # a Python sum of (R,) tensors, one addition per parameter in a fixed order: torch.stack(...).sum(0) reduces a
    # (P, R) tensor, whose summation order changes with R (R = 1 becomes one vectorised reduction of P numbers), so a
    # member's total would depend on the population it trains in
    norms["total"] = sum(squares.values()).sqrt()
    return norms
