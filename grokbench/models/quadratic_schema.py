"""The schema of the quadratic-activation network (models/quadratic.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Tuple

from grokbench.schema import Accepts, DType, ModelSchema, check, check_init_scale


@dataclass
class QuadraticConfig(ModelSchema):
    """f(a, b) = W (U e_a + V e_b)² with an element-wise square, no bias (Doshi et al. 2024, eq. 1)."""

    # U e_a + V e_b: exactly two operands over Z_p (a third token or a wider vocab would be silently ignored)
    accepts: ClassVar[Accepts] = Accepts("tokens", width=2, vocab_is_classes=True)
    name: str = "quadratic"  # registry key = the YAML file's name, checked against model=<name>; not a setting
    width: int = 500  # N, hidden neurons, >= 1 (the paper: 500)
    init_std: Optional[float] = None  # std of the Gaussian init of U, V, W, > 0; null → (16·width)^(-1/3) (paper)
    dropout: float = 0.0  # probability of zeroing a pre-activation before the square (train only), in [0, 1)
    batch_norm: bool = False  # batch norm after the square, statistics per member over the batch
    dtype: DType = DType.float32  # parameters and forward pass
    init_scale: float = 1.0  # α: every initial parameter × α after the init above (Omnigrok); > 0
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("init_scale",)  # per-member keys (population.grid.model)

    def __post_init__(self) -> None:
        check(self.width >= 1, "width", self.width, "an integer >= 1")
        check(self.init_std is None or self.init_std > 0, "init_std", self.init_std, "null or a number > 0")
        check(0 <= self.dropout < 1, "dropout", self.dropout, "a number in [0, 1)")
        check_init_scale(self.init_scale)
