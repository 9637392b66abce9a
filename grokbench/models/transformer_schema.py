"""The schema of the transformer (models/transformer.py, models/transformer_net.py)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Tuple

from grokbench.schema import Accepts, DataShape, DType, ModelSchema, check, check_init_scale


class TransformerActivation(enum.Enum):
    relu = "relu"
    gelu = "gelu"


class Norm(enum.Enum):
    post = "post"  # x = LN(x + sublayer(x)) (Prieto et al.'s nn.TransformerEncoderLayer, Power et al.)
    pre = "pre"  # x = x + sublayer(LN(x)), final LN before the read-out
    pre_normed_residual = "pre_normed_residual"  # as pre, but attention adds to LN(x) (Lee et al.'s Grokfast Block)
    none = "none"  # no LayerNorm (Nanda et al. 2023)


class Positional(enum.Enum):
    learned = "learned"  # a trained (T, d) table added to the token embeddings (Nanda et al., Lee et al.)
    sinusoidal = "sinusoidal"  # Vaswani et al.'s fixed sin/cos table (Power et al.)
    none = "none"  # token embeddings only (Prieto et al.'s code, tokens [a, b])


class TransformerImpl(enum.Enum):
    auto = "auto"  # batched where it has the layout (faster on CPU, docs/benchmarks.md), vmap for the others
    vmap = "vmap"  # the plain module run per member with torch.func.vmap; every option, dropout 0 only
    batched = "batched"  # hand-written batched einsums; per-member dropout generators; Prieto et al.'s layout only


@dataclass
class TransformerConfig(ModelSchema):
    """A transformer read out at the last position (models/transformer_net.py). The defaults are Prieto et al.'s
    layout: post-LN encoder, ReLU, biases everywhere, learned positions."""

    accepts: ClassVar[Accepts] = Accepts("tokens")  # any sequence length (positional=none: see check_data)
    name: str = "transformer"  # registry key = the YAML file's name, checked against model=<name>; not a setting
    n_layers: int = 1  # layers, >= 1
    d_model: int = 128  # residual width; must be divisible by n_heads
    n_heads: int = 4  # attention heads, >= 1
    d_ff: int = 2048  # feed-forward width, >= 1 (2048: TransformerEncoderLayer's default, which the paper's code keeps)
    dropout: float = 0.1  # on attention weights, attention output, FF hidden and FF output, in [0, 1)
    norm: Norm = Norm.post  # where LayerNorm sits; see Norm
    activation: TransformerActivation = TransformerActivation.relu  # of the feed-forward hidden layer
    causal: bool = False  # causal attention mask (decoder-only: Power, Nanda, Lee et al.); false = encoder
    # position information; none needs a task of 2 tokens such as [a, b], where the read-out token b tells itself
    # apart from a by its own query
    positional: Positional = Positional.learned
    attn_bias: bool = True  # biases of the q/k/v and output projections (Power: false; Nanda: false)
    mlp_bias: bool = True  # biases of the two feed-forward maps (Power: false)
    unembed_bias: bool = True  # bias of the read-out map (Power, Nanda, Lee et al.: false)
    # std of the N(0, std²) token and position embeddings, > 0: 1 = nn.Embedding's default (Prieto, Power, Lee et al.);
    # Nanda et al. draw N(0, 1/d_model), an 11x smaller embedding at d_model 128 (a larger init delays grokking)
    embedding_std: float = 1.0
    impl: TransformerImpl = TransformerImpl.auto  # which population path computes it (same numbers); see TransformerImpl
    dtype: DType = DType.float32  # parameters and forward pass
    init_scale: float = 1.0  # α: every initial parameter × α after the init above (Omnigrok); > 0
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("init_scale",)  # per-member keys (population.grid.model)

    def check_data(self, shape: DataShape, task: str) -> None:
        super().check_data(shape, task)
        # without position embeddings attention is blind to order: only the read-out query is told apart, so
        # [a, b, =] cannot tell a - b from b - a, and parity cannot tell its relevant bits from the others
        positional = self.positional.value
        check(positional != "none" or shape.width == 2, "model.positional", positional,
              f"learned or sinusoidal unless the task has 2 tokens (task={task} gives {shape}; equals_token and "
              f"op_equals add more)")

    def __post_init__(self) -> None:
        check(self.n_layers >= 1, "n_layers", self.n_layers, "an integer >= 1")
        check(self.n_heads >= 1, "n_heads", self.n_heads, "an integer >= 1")
        check(self.d_model >= 1 and self.d_model % self.n_heads == 0, "d_model", self.d_model,
              f"an integer >= 1 divisible by n_heads={self.n_heads}")
        check(self.d_ff >= 1, "d_ff", self.d_ff, "an integer >= 1")
        check(0 <= self.dropout < 1, "dropout", self.dropout, "a number in [0, 1)")
        check(self.embedding_std > 0, "embedding_std", self.embedding_std, "a number > 0")
        check(not (self.impl == TransformerImpl.vmap and self.dropout > 0), "impl", self.impl.value,
              "auto or batched with dropout > 0 (vmap cannot draw each member's masks from its own generator)")
        needs_batched = self.impl == TransformerImpl.batched or self.dropout > 0
        if needs_batched:  # the hand-written path has Prieto et al.'s layout only
            for key, value, ok in (("norm", self.norm.value, "post"), ("activation", self.activation.value, "relu"),
                                   ("causal", self.causal, False), ("attn_bias", self.attn_bias, True),
                                   ("mlp_bias", self.mlp_bias, True), ("unembed_bias", self.unembed_bias, True)):
                check(value == ok, key, value, f"{ok} with dropout > 0 or impl=batched (the per-member dropout path "
                                               f"has Prieto et al.'s layout only)")
            check(self.positional != Positional.sinusoidal, "positional", self.positional.value,
                  "learned or none with dropout > 0 or impl=batched")
        check_init_scale(self.init_scale)
