"""The schemas of AdamW and Adam (optim/adamw.py)."""
from dataclasses import dataclass
from typing import ClassVar, Tuple

from grokbench.optim.base_schema import OptimizerConfig
from grokbench.schema import check


@dataclass
class AdamWConfig(OptimizerConfig):
    name: str = "adamw"
    weight_decay: float = 1.0  # decoupled: p ← p(1 − lr·wd) every step, >= 0
    beta1: float = 0.9  # in [0, 1)
    beta2: float = 0.98  # in [0, 1)
    eps: float = 1e-8  # > 0
    GRIDDABLE: ClassVar[Tuple[str, ...]] = (*OptimizerConfig.GRIDDABLE, "beta1", "beta2", "eps")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 <= self.beta1 < 1, "beta1", self.beta1, "a number in [0, 1)")
        check(0 <= self.beta2 < 1, "beta2", self.beta2, "a number in [0, 1)")
        check(self.eps > 0, "eps", self.eps, "a number > 0")


@dataclass
class AdamConfig(AdamWConfig):
    """torch.optim.Adam: weight decay is L2 added to the gradient before the moments (so Adam rescales it)."""

    name: str = "adam"
    lr: float = 1e-3  # > 0 (torch's default)
    weight_decay: float = 0.0  # coupled: g ← g + wd·p before the moments, >= 0
    beta2: float = 0.999  # in [0, 1) (torch's default)
