import math

import torch

from grokbench.seeding import generator


def linear_init(seeds, name: str, fan_in: int, shape, dtype=torch.float32) -> torch.Tensor:
    """PyTorch's nn.Linear default, U(±1/√fan_in), drawn per member from its own stream → (R, *shape)."""
    bound = 1 / math.sqrt(fan_in)  # model.init_scale multiplies it later, for every model (population.scale_init)
    draws = [torch.rand(shape, generator=generator(s, f"init/{name}"), dtype=torch.float64) for s in seeds]
    return ((torch.stack(draws) * 2 - 1) * bound).to(dtype)


def gaussian_init(seeds, name: str, shape, std: float, dtype) -> torch.Tensor:
    """N(0, std²) drawn per member from its own stream → (R, *shape)."""
    draws = [torch.randn(shape, generator=generator(s, f"init/{name}"), dtype=torch.float64) for s in seeds]
    return (torch.stack(draws) * std).to(dtype)
