"""The schema of the two-layer ReLU network with a fixed output layer (models/two_layer_relu.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Tuple

from grokbench.schema import Accepts, DType, ModelSchema, check, check_init_scale


@dataclass
class TwoLayerReluConfig(ModelSchema):
    """f(x) = Σ_j a_j ReLU(<w_j, x>), a_j = ±1/√m fixed (half each), no bias; only W trains (Xu et al. 2024)."""

    accepts: ClassVar[Accepts] = Accepts("features", n_classes=2)  # f(x) on float features, sign(f) = the class
    name: str = "two_layer_relu_fixed_output"  # registry key = the YAML file's name, checked against model=<name>
    width: int = 100  # m, hidden neurons, even, >= 2 (the paper: 1000)
    init_std: float = 1e-15  # ω, std of the Gaussian init of W, > 0 (the paper: 1e-15, needs float64)
    dtype: DType = DType.float64  # parameters and forward pass; float64 keeps updates ~lr·grad of 1e-16 exact
    init_scale: float = 1.0  # α: every initial parameter × α after the init above (W only: the output signs are fixed) (Omnigrok); > 0
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("init_scale",)  # per-member keys (population.grid.model)

    def __post_init__(self) -> None:
        check(self.width >= 2 and self.width % 2 == 0, "width", self.width, "an even integer >= 2")
        check(self.init_std > 0, "init_std", self.init_std, "a number > 0")
        check_init_scale(self.init_scale)
