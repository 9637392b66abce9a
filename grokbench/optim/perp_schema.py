"""The schemas of ⊥AdamW and ⊥SGD (optim/perp.py)."""
from dataclasses import dataclass

from grokbench.optim.adamw_schema import AdamWConfig
from grokbench.optim.sgd_schema import SGDConfig


@dataclass
class PerpAdamWConfig(AdamWConfig):
    """⊥AdamW (Prieto et al. 2025): AdamW stepping on the gradient's part orthogonal to each weight tensor."""

    name: str = "perp_adamw"


@dataclass
class PerpSGDConfig(SGDConfig):
    """⊥SGD (Prieto et al. 2025): SGD (with momentum) on the gradient's part orthogonal to each weight tensor."""

    name: str = "perp_sgd"
