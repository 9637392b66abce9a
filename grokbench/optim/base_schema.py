"""What every optimizer's schema has (optim/base.py steps it): lr, weight decay, warmup and Grokfast's filter."""
from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any, ClassVar, List, Tuple

from omegaconf import MISSING

from grokbench.schema import check, plain


class GrokfastFilter(enum.Enum):
    # Grokfast (Lee et al. 2024) low-pass filters the gradient and adds λ × the slow part to it
    ema = "ema"  # Algorithm 2: h ← α h + (1 − α) g from the first step on
    ma = "ma"  # Algorithm 1: the mean of the last grokfast_window gradients, once that many have been seen


@dataclass
class OptimizerConfig:
    """What every optimizer has. Every int/float field may differ per member (population.grid.optimizer.<key>)
    except grokfast_window, which sets a buffer's length."""

    name: str = MISSING  # registry key = the YAML file's name, checked against optimizer=<name>; not a setting
    lr: float = 1e-2  # > 0; the peak learning rate when warming up
    weight_decay: float = 0.0  # >= 0; coupled (L2 on the gradient) or decoupled as the optimizer says
    # linear warmup over this many steps, >= 0 (0 = off): step t+1 uses lr·min(1, t/warmup_steps), t = steps already
    # taken, so the first step has lr 0 — torch LambdaLR(lambda s: min(s/w, 1)) stepped after every optimizer step, as
    # Nanda et al.'s (w=10) and Grokfast's (w=10) code. Power et al.'s openai/grok LambdaLR `_scheduler_lr` gives the
    # same lr·step/w for step <= w (w=10 by default), except that its w=0 still gives the first step lr 0.
    warmup_steps: int = 0
    grokfast_filter: GrokfastFilter = GrokfastFilter.ema  # Grokfast's filter, see GrokfastFilter; read when λ > 0
    # Grokfast amplification λ of the slow gradient, >= 0, 0 = off (Lee et al. 2024: 2 for EMA, 5 for MA)
    grokfast_lambda: float = 0.0
    grokfast_alpha: float = 0.98  # Grokfast-EMA momentum α of the slow gradient, in [0, 1)
    # Grokfast-MA window w, >= 1 (their default 100): keeps w gradient copies (w × the parameters' memory)
    grokfast_window: int = 100
    # keys population.grid.optimizer.<key> may vary per member: every number but grokfast_window (a buffer's length)
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("lr", "weight_decay", "warmup_steps", "grokfast_lambda", "grokfast_alpha")

    def __post_init__(self) -> None:
        check(self.lr > 0, "lr", self.lr, "a number > 0")
        check(self.weight_decay >= 0, "weight_decay", self.weight_decay, "a number >= 0")
        check(self.warmup_steps >= 0, "warmup_steps", self.warmup_steps, "an integer >= 0 (0 = no warmup)")
        check(self.grokfast_lambda >= 0, "grokfast_lambda", self.grokfast_lambda, "a number >= 0 (0 = Grokfast off)")
        check(0 <= self.grokfast_alpha < 1, "grokfast_alpha", self.grokfast_alpha, "a number in [0, 1)")
        check(self.grokfast_window >= 1, "grokfast_window", self.grokfast_window, "an integer >= 1")


# optimizer fields that set a tensor's shape, so one value holds for the whole run (not per member)
RUN_ONLY_OPTIMIZER_KEYS = ("grokfast_window",)


def member_hparam_names(optimizer: Any) -> List[str]:
    """The optimizer config's numeric fields (int/float, not bool/enum/str): each reaches the optimizer per member,
    as an (R,) tensor, so a population may vary any of them."""
    node = plain(optimizer)
    return [f.name for f in fields(node)
            if type(getattr(node, f.name)) in (int, float) and f.name not in RUN_ONLY_OPTIMIZER_KEYS]
