import torch


def corrupt_labels(y: torch.Tensor, fraction: float, n_classes: int, gen: torch.Generator):
    """Replace round(fraction·N) train labels by uniformly random labels (Doshi et al. 2024).

    A replaced label equals the true one with probability 1/n_classes, as in the paper; `mask` marks every replaced
    sample so metrics can split clean from corrupted. y: (N,) → (y', mask), both (N,).
    """
    n = y.shape[0]
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.randperm(n, generator=gen)[: round(fraction * n)]] = True
    random_labels = torch.randint(n_classes, (n,), generator=gen)
    return torch.where(mask, random_labels, y), mask
