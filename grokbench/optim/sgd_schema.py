"""The schema of SGD (optim/sgd.py)."""
from dataclasses import dataclass
from typing import ClassVar, Tuple

from grokbench.optim.base_schema import OptimizerConfig
from grokbench.schema import check


@dataclass
class SGDConfig(OptimizerConfig):
    name: str = "sgd"
    weight_decay: float = 0.0  # L2 added to the gradient (PyTorch SGD semantics), >= 0
    momentum: float = 0.0  # heavy ball, no dampening, in [0, 1)
    GRIDDABLE: ClassVar[Tuple[str, ...]] = (*OptimizerConfig.GRIDDABLE, "momentum")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 <= self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
