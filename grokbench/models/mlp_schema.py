"""The schema of the MLP (models/mlp.py)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Tuple

from grokbench.schema import Accepts, DType, ModelSchema, check, check_init_scale


class Activation(enum.Enum):
    relu = "relu"
    gelu = "gelu"
    tanh = "tanh"
    silu = "silu"


class FirstLayer(enum.Enum):
    # All compute onehot(a) ⊕ onehot(b) @ W_in (the same forward, bit for bit); the backward sums W_in's gradient in
    # another order. Speeds measured in docs/benchmarks.md ("First layer").
    auto = "auto"  # gather on CPU, onehot on GPUs (where index_add's atomics would make a rerun differ)
    gather = "gather"  # W_in[a] + W_in[p + b]: no one-hot product (a CPU fig1a run: 1.26x faster)
    onehot = "onehot"  # dense (R, N, T·V) @ (R, T·V, H) batched matmul


@dataclass
class MLPConfig(ModelSchema):
    """Token inputs as concatenated one-hots, `depth` hidden layers of `width`, linear read-out."""

    accepts: ClassVar[Accepts] = Accepts("tokens")  # concatenated one-hots of any token layout
    name: str = "mlp"  # registry key = the YAML file's name, checked against model=<name>; not a setting
    depth: int = 1  # number of hidden layers, >= 1
    width: int = 128  # hidden units per layer, >= 1
    activation: Activation = Activation.relu
    bias: bool = False
    init_scale: float = 1.0  # α: every initial parameter × α (Omnigrok); the base init is U(±1/√fan_in); > 0
    first_layer: FirstLayer = FirstLayer.auto  # same math, other speeds; see FirstLayer
    # onehot only: build the one-hot of the constant full-batch train inputs once, not every step (R·N·T·V floats)
    onehot_cache: bool = True
    dtype: DType = DType.float32  # parameters and forward pass
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("init_scale",)  # per-member keys (population.grid.model)

    def __post_init__(self) -> None:
        check(self.depth >= 1, "depth", self.depth, "an integer >= 1")
        check(self.width >= 1, "width", self.width, "an integer >= 1")
        check_init_scale(self.init_scale)
