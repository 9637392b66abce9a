"""The config schema. Dataclasses here are the truth; YAML files under configs/ only pick values.

Every group schema is registered in Hydra's ConfigStore as `<group>/<name>_schema`, and each YAML file of that group
names its schema in its defaults list, so Hydra rejects unknown keys and wrong types at composition time. Range checks
live in `__post_init__` and run when `validate` turns the composed config into these objects.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf


class ConfigError(ValueError):
    """A config value out of range. `str(err)` is the one line shown to the user."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is invalid; allowed: {allowed}")

    def under(self, prefix: str) -> "ConfigError":
        return ConfigError(f"{prefix}.{self.key}", self.value, self.allowed)


def check(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(key, value, allowed)


CONFIG_DIR = Path(__file__).parent / "configs"


def config_options(group: str) -> List[str]:
    """The options of a config group: its YAML files, relative to configs/<group>/ (experiment: `paper/figure`)."""
    root = CONFIG_DIR / group
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


class Device(enum.Enum):
    auto = "auto"  # cuda when available, else cpu
    cpu = "cpu"
    cuda = "cuda"


class DType(enum.Enum):
    float16 = "float16"
    bfloat16 = "bfloat16"
    float32 = "float32"
    float64 = "float64"

    @property
    def torch(self):
        """The torch.dtype of the same name (torch imported here, not at config import: `grokbench show` stays fast)."""
        import torch

        return getattr(torch, self.value)


class Activation(enum.Enum):
    relu = "relu"
    gelu = "gelu"
    tanh = "tanh"
    silu = "silu"


class TransformerActivation(enum.Enum):
    relu = "relu"
    gelu = "gelu"


class FirstLayer(enum.Enum):
    # Both compute onehot(a) ⊕ onehot(b) @ W_in; which is faster depends on device and size (scripts/bench_*.py).
    gather = "gather"  # W_in[a] + W_in[p + b]: a third fewer FLOPs, slower backward (index_add)
    onehot = "onehot"  # dense (R, N, T·V) @ (R, T·V, H) batched matmul


class Encoding(enum.Enum):
    # what a sample of a modular task looks like as tokens; the MLP sees the concatenated one-hots of those tokens
    onehot_concat = "onehot_concat"  # [a, b], vocab p: one-hot(a) ⊕ one-hot(b), the 2p-dim input (226 for p=113)
    equals_token = "equals_token"  # [a, b, =], vocab p+1 ("=" is id p; Nanda et al. 2023): read-out at "="
    # [a, op, b, =], vocab p+2 ("=" is id p, op is id p+1, as Lee et al.'s Grokfast code), read-out at "=": Power et
    # al.'s `<eos> a op b = c <eos>` with the loss only on c, which their decoder predicts at "="
    op_equals = "op_equals"


# --------------------------------------------------------------------------------------------------- data shapes
# Each task schema declares the data it produces (`data_shape()`, from its config alone, no data built) and each
# model schema the data it can train on (`accepts`); `validate` refuses a pair that does not fit before anything runs.
@dataclass(frozen=True)
class DataShape:
    """One member's data as a task builds it (tasks/dataset.py holds the tensors)."""

    inputs: str  # "tokens": x (R, N, T) ids in [0, vocab); "features": x (R, N, D) floats
    width: int  # T tokens or D features per sample
    vocab: int  # ids per token position; 0 for features
    n_classes: int  # labels in [0, n_classes)
    n_train: int  # train samples per member
    n_test: int  # test samples per member

    def __str__(self) -> str:
        x = f"{self.width} tokens over {self.vocab} ids" if self.inputs == "tokens" else f"{self.width} features"
        return f"{x}, {self.n_classes} classes"


@dataclass(frozen=True)
class Accepts:
    """The data a model can train on: a DataShape outside these bounds is refused, naming the model."""

    inputs: str  # "tokens" or "features"
    width: Optional[int] = None  # exactly this many tokens/features per sample; None = any
    n_classes: Optional[int] = None  # exactly this many classes; None = any
    vocab_is_classes: bool = False  # token ids and labels range over the same Z_p (neurons over Z_p)

    def check(self, shape: DataShape, model: str, task: str) -> None:
        fits = shape.inputs == self.inputs and self.width in (None, shape.width)
        fits = fits and self.n_classes in (None, shape.n_classes)
        fits = fits and (not self.vocab_is_classes or shape.vocab == shape.n_classes)
        check(fits, "model", model, f"a task with {self}; task={task} gives {shape}")

    def __str__(self) -> str:
        what = "tokens" if self.inputs == "tokens" else "float features (not tokens)"
        text = f"{self.width} {what}" if self.width is not None else what
        text += " over Z_p (ids and labels both in [0, p))" if self.vocab_is_classes else ""
        return text + (f", {self.n_classes} classes" if self.n_classes is not None else "")


class TaskSchema:
    """Base of every task schema: a task says what data it builds, from its config alone."""

    def data_shape(self) -> DataShape:
        raise NotImplementedError


class ModelSchema:
    """Base of every model schema: `accepts` bounds the data it trains on; `check_data` may add config-dependent
    rules (raising ConfigError with the full key)."""

    accepts: ClassVar[Accepts]

    def check_data(self, shape: DataShape, task: str) -> None:
        self.accepts.check(shape, self.name, task)


def split_sizes(n: int, train_fraction: float, rounding=int) -> tuple:
    """(n_train, n_test) of n samples; refuses a train_fraction that leaves either split empty (NaN accuracies).
    rounding: how train_fraction·n becomes a count (int = floor: 40 % of 113² = 5107, as Prieto et al.)."""
    n_train = rounding(train_fraction * n)
    check(0 < train_fraction < 1 and 1 <= n_train <= n - 1, "train_fraction", train_fraction,
          f"a number in (0, 1) leaving >= 1 train and >= 1 test sample of the {n}")
    return n_train, n - n_train


# --------------------------------------------------------------------------------------------------- tasks
@dataclass
class ModularTaskConfig(TaskSchema):
    """(a ∘ b) mod p for every pair (a, b); ∘ is fixed by the file name (tasks/modular.py OPS)."""

    name: str = MISSING  # registry key = the YAML file's name, checked against task=<name>; not a setting
    p: int = 59  # modulus, >= 2; prime for moddiv (b⁻¹ must exist); + − × and the polynomials take any p
    # fraction of all pairs used for training (floor of fraction·pairs), in (0, 1) and leaving both splits non-empty;
    # the split is per seed
    train_fraction: float = 0.5
    corruption: float = 0.0  # fraction of TRAIN labels replaced by uniformly random labels, in [0, 1)
    encoding: Encoding = Encoding.onehot_concat  # token layout the model sees; see Encoding
    # Parquet file of a, b, split (+ optional seed or member) fixing each member's train/test split (see
    # tasks/split_file.py); when set it decides the split and train_fraction is ignored (job.log records the fraction
    # the file gives). None: a random split of train_fraction per seed.
    split_file: Optional[str] = None
    # leave out the pairs with b = 0 (moddiv always does): Lee et al.'s Grokfast x·y data has y in 1..p-1 (9,312 at 97)
    nonzero_b: bool = False
    # keys population.grid.task.<key> may vary per member (the others change shapes or what is built: Hydra job axes)
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("train_fraction", "corruption")

    def __post_init__(self) -> None:
        check(self.p >= 2, "p", self.p, "an integer >= 2")
        if self.name in NEEDS_PRIME:
            check(is_prime(self.p), "p", self.p, f"a prime number ({self.name} needs b⁻¹ mod p)")
        self.data_shape()  # refuses an empty split
        check(0 <= self.corruption < 1, "corruption", self.corruption, "a number in [0, 1)")

    def data_shape(self) -> DataShape:
        nonzero_b = self.name in NEEDS_PRIME or self.nonzero_b  # moddiv and nonzero_b: b ≠ 0
        n_train, n_test = split_sizes(self.p * (self.p - 1) if nonzero_b else self.p**2, self.train_fraction)
        width, vocab = encoded_width_vocab(self.encoding, self.p)
        return DataShape("tokens", width, vocab, self.p, n_train, n_test)


def encoded_width_vocab(encoding: "Encoding", n: int) -> tuple:
    """(tokens per sample, ids) of an operand pair with ids in [0, n) in `encoding` (tasks/modular.py encode)."""
    return {Encoding.onehot_concat: (2, n), Encoding.equals_token: (3, n + 1), Encoding.op_equals: (4, n + 2)}[encoding]


@dataclass
class S5TaskConfig(TaskSchema):
    """a ∘ b over all pairs of the 120 permutations of 5 elements; ∘ is fixed by the file name (tasks/permutations)."""

    name: str = MISSING  # registry key = the YAML file's name (s5_compose, s5_conj, s5_aba); not a setting
    # fraction of the 14,400 pairs used for training (floor), in (0, 1) leaving both splits non-empty; per seed
    train_fraction: float = 0.5
    corruption: float = 0.0  # fraction of TRAIN labels replaced by uniformly random labels, in [0, 1)
    encoding: Encoding = Encoding.onehot_concat  # token layout the model sees (vocab 120, 121, 122); see Encoding
    # S5 has no modulus: the key exists only so that task.p=… (e.g. left over from a modular run) is refused with this
    # reason instead of a list of the default task's keys
    p: Optional[int] = None
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("train_fraction", "corruption")  # per-member keys (population.grid.task)

    def __post_init__(self) -> None:
        check(self.p is None, "p", self.p, "unset (S5 has 120 elements and no modulus)")
        self.data_shape()  # refuses an empty split
        check(0 <= self.corruption < 1, "corruption", self.corruption, "a number in [0, 1)")

    def data_shape(self) -> DataShape:
        n_train, n_test = split_sizes(120 * 120, self.train_fraction)
        width, vocab = encoded_width_vocab(self.encoding, 120)
        return DataShape("tokens", width, vocab, 120, n_train, n_test)


@dataclass
class SparseParityConfig(TaskSchema):
    """Label = parity of k fixed relevant bits among n random bits (Barak et al. 2022; Prieto et al. 2025 §4)."""

    name: str = "sparse_parity"  # registry key = the YAML file's name, checked against task=<name>; not a setting
    n_bits: int = 40  # bits per sample (relevant + noise), tokens of vocab 2 so the one-hot MLP input is 2·n_bits
    k: int = 3  # relevant bits: positions 0..k-1 (which k is immaterial: the models treat positions symmetrically)
    samples: int = 2000  # samples drawn per member (train + test), from the member's own stream
    # fraction of the samples used for training (rounded), in (0, 1) and leaving both splits non-empty
    train_fraction: float = 0.5
    corruption: float = 0.0  # fraction of TRAIN labels replaced by uniformly random labels, in [0, 1)
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("train_fraction", "corruption")  # per-member keys (population.grid.task)

    def __post_init__(self) -> None:
        check(self.n_bits >= 1, "n_bits", self.n_bits, "an integer >= 1")
        check(1 <= self.k <= self.n_bits, "k", self.k, f"an integer in [1, n_bits={self.n_bits}]")
        check(self.samples >= 2, "samples", self.samples, "an integer >= 2")
        self.data_shape()  # refuses an empty split
        check(0 <= self.corruption < 1, "corruption", self.corruption, "a number in [0, 1)")

    def data_shape(self) -> DataShape:
        return DataShape("tokens", self.n_bits, 2, 2, *split_sizes(self.samples, self.train_fraction, rounding=round))


@dataclass
class XorClustersTaskConfig(TaskSchema):
    """XOR cluster data (Xu et al. 2024): label +1 from ½N(±μ1, I), label -1 from ½N(±μ2, I), μ1 ⊥ μ2, ‖μ1‖ = ‖μ2‖."""

    name: str = "xor_clusters"  # registry key = the YAML file's name, checked against task=<name>; not a setting
    p: int = 2500  # input dimension, >= 2 (the paper: 40000; benign overfitting needs p ≫ n)
    n_train: int = 50  # train samples, >= 1 (the paper: 200)
    n_test: int = 200  # clean test samples, >= 1 (the paper: 200)
    mu_norm: Optional[float] = None  # ‖μ‖, > 0; null → mu_ratio·√(p/n_train)
    mu_ratio: float = 2.5  # ‖μ‖ / √(p/n_train) when mu_norm is null, > 0 (the paper: 2.5)
    label_flip: float = 0.05  # probability η that a TRAIN label is flipped, in [0, 0.5); test stays clean
    dtype: DType = DType.float32  # features; float64 for the paper's tiny init / learning rates
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("label_flip", "mu_ratio")  # per-member keys (population.grid.task)

    def __post_init__(self) -> None:
        check(self.p >= 2, "p", self.p, "an integer >= 2")
        check(self.n_train >= 1, "n_train", self.n_train, "an integer >= 1")
        check(self.n_test >= 1, "n_test", self.n_test, "an integer >= 1")
        check(self.mu_norm is None or self.mu_norm > 0, "mu_norm", self.mu_norm, "null or a number > 0")
        check(self.mu_ratio > 0, "mu_ratio", self.mu_ratio, "a number > 0")
        check(0 <= self.label_flip < 0.5, "label_flip", self.label_flip, "a number in [0, 0.5)")

    def data_shape(self) -> DataShape:
        return DataShape("features", self.p, 0, 2, self.n_train, self.n_test)


# tasks whose label is (a ± b) mod p, and models with a token embedding over Z_p (`operand_embeddings()`): what
# train.fourier_metrics and `grokbench analyze fourier` (Nanda et al. 2023's progress measures) are defined for
FOURIER_TASKS = ("modadd", "modsub")
FOURIER_MODELS = ("mlp", "quadratic", "transformer")
# operations that divide: b⁻¹ mod p exists for every b ≠ 0 only when p is prime. Every other operation uses only
# + − ×, which are well defined mod any p >= 2, so a composite p is refused only here.
NEEDS_PRIME = {"moddiv"}


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


# --------------------------------------------------------------------------------------------------- models
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
    first_layer: FirstLayer = FirstLayer.onehot  # same math, two speeds; see FirstLayer
    # onehot only: build the one-hot of the constant full-batch train inputs once, not every step (R·N·T·V floats)
    onehot_cache: bool = True
    dtype: DType = DType.float32  # parameters and forward pass
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ("init_scale",)  # per-member keys (population.grid.model)

    def __post_init__(self) -> None:
        check(self.depth >= 1, "depth", self.depth, "an integer >= 1")
        check(self.width >= 1, "width", self.width, "an integer >= 1")
        check_init_scale(self.init_scale)


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


def check_init_scale(init_scale: float) -> None:
    check(init_scale > 0, "init_scale", init_scale, "a number > 0")


# --------------------------------------------------------------------------------------------------- optimizers
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


@dataclass
class SGDConfig(OptimizerConfig):
    name: str = "sgd"
    weight_decay: float = 0.0  # L2 added to the gradient (PyTorch SGD semantics), >= 0
    momentum: float = 0.0  # heavy ball, no dampening, in [0, 1)
    GRIDDABLE: ClassVar[Tuple[str, ...]] = (*OptimizerConfig.GRIDDABLE, "momentum")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 <= self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")


@dataclass
class PerpAdamWConfig(AdamWConfig):
    """⊥AdamW (Prieto et al. 2025): AdamW stepping on the gradient's part orthogonal to each weight tensor."""

    name: str = "perp_adamw"


@dataclass
class PerpSGDConfig(SGDConfig):
    """⊥SGD (Prieto et al. 2025): SGD (with momentum) on the gradient's part orthogonal to each weight tensor."""

    name: str = "perp_sgd"


# --------------------------------------------------------------------------------------------------- losses
@dataclass
class LossConfig:
    name: str = MISSING  # registry key = the YAML file's name (softmax_ce | stablemax_ce | mse), checked vs loss=<name>
    dtype: DType = DType.float32  # logits are cast to this dtype before normalisation and loss; SC metrics use it too
    GRIDDABLE: ClassVar[Tuple[str, ...]] = ()  # the loss has no per-member keys


# --------------------------------------------------------------------------------------------------- training
@dataclass
class TrainConfig:
    max_steps: int = 1500  # optimizer steps (full batch: epochs), >= 1
    batch_size: Optional[int] = None  # None = full batch; else samples per step, reshuffled every epoch
    # evaluate every this many steps, >= 1; null = max_steps/100 (≈100 evals whatever the run length, so a 10^5-step
    # run with 256 members writes a few MB of metrics, not hundreds) ...
    eval_every: Optional[int] = None
    eval_log_points: int = 40  # ... plus this many log-spaced steps in [1, max_steps], so early curves stay sharp
    early_stop_threshold: Optional[float] = None  # stop once every live member has test_acc >= this ...
    early_stop_patience: int = 3  # ... for this many consecutive evals
    checkpoint_every_s: float = 30.0  # seconds of training between checkpoints (also on SIGTERM/SIGUSR1/2)
    # CUDA: capture the whole training step as one CUDA graph after 3 eager steps and replay it (removes the host
    # overhead that bounds small runs; same numbers); falls back to eager with a warning if capture fails.
    # CPU: warns and trains eagerly.
    compile: bool = False
    # CUDA: TF32 matmuls (10-bit mantissa inputs; ~1.8× fp32 throughput on H100/H200). It changes the numerics, so it is
    # a research variable and off unless asked for. CPU: warns and does nothing (no TF32 there).
    tf32: bool = False
    # CPU: flush float subnormals (|x| < 1.2e-38 in float32) to zero while training (torch.set_flush_denormal; the
    # caller's setting is restored after). Cures the ~150x slower sgemm on subnormal gradients late in long runs
    # (fig1c, fig2, the Grokfast baseline: docs/benchmarks.md), but changes the numerics: results no longer match an
    # unflushed run's or a GPU's. Opt-in. CUDA: warns and does nothing
    flush_denormal: bool = False
    # NLM cosine(W, −∇L) per layer at each eval (Prieto et al. 2025 §4): one extra forward+backward on the train set
    # per eval, so off unless a study asks for it
    nlm_metrics: bool = False
    # gini_embed at every eval: sparsity of the token embedding's Fourier norms (Nanda et al. 2023 §5.1); a few
    # small FFTs per eval, no snapshots needed. Modular addition/subtraction with an MLP, quadratic or transformer only
    fourier_metrics: bool = False
    # keep this many snapshots of every member's weights (0 = off, >= 0) at eval steps, log-spaced early and evenly
    # spaced late, the last step always among them, in snapshots.pt (for `grokbench analyze fourier`)
    snapshots: int = 0
    # `grokbench run` draws <run dir>/plots/curves.png at the end (accuracy and loss vs step, median + IQR over
    # members); about 1 s of matplotlib, measured in docs/benchmarks.md
    plot: bool = True

    def __post_init__(self) -> None:
        check(self.snapshots >= 0, "snapshots", self.snapshots, "an integer >= 0 (0 = off)")
        check(self.max_steps >= 1, "max_steps", self.max_steps, "an integer >= 1")
        check(self.batch_size is None or self.batch_size >= 1, "batch_size", self.batch_size, "null or >= 1")
        check(self.eval_every is None or self.eval_every >= 1, "eval_every", self.eval_every, "null or an integer >= 1")
        check(self.eval_log_points >= 0, "eval_log_points", self.eval_log_points, "an integer >= 0")
        ok = self.early_stop_threshold is None or 0 < self.early_stop_threshold <= 1
        check(ok, "early_stop_threshold", self.early_stop_threshold, "null or a number in (0, 1]")
        check(self.early_stop_patience >= 1, "early_stop_patience", self.early_stop_patience, "an integer >= 1")
        check(self.checkpoint_every_s > 0, "checkpoint_every_s", self.checkpoint_every_s, "a number > 0")


GROUP_SCHEMAS: Dict[str, Dict[str, type]] = {
    "task": {"modular": ModularTaskConfig, "s5": S5TaskConfig, "sparse_parity": SparseParityConfig,
             "xor_clusters": XorClustersTaskConfig},
    "model": {"mlp": MLPConfig, "transformer": TransformerConfig, "quadratic": QuadraticConfig,
              "two_layer_relu_fixed_output": TwoLayerReluConfig},
    "optimizer": {"adamw": AdamWConfig, "adam": AdamConfig, "sgd": SGDConfig, "perp_adamw": PerpAdamWConfig,
                  "perp_sgd": PerpSGDConfig},
    "loss": {"loss": LossConfig},
}


# --------------------------------------------------------------------------------------------------- population
GRID_GROUPS = ("task", "model", "optimizer")  # the groups with per-member keys, in the members table's product order


def grid_schema(group: str) -> type:
    """population.grid.<group>: one optional list per key of any of the group's schemas (first-seen order), so Hydra
    rejects a key no schema has (listing these) and `check_grid` explains why a key of the chosen schema is refused
    (not gridable: it changes shapes) or out of range. A list of values makes one member per value (× seeds × the
    other lists); null = the group's own scalar value for every member."""
    names = dict.fromkeys(f.name for schema in GROUP_SCHEMAS[group].values() for f in fields(schema) if f.name != "name")
    return make_dataclass(f"{group.title()}Grid", [(n, Optional[List[Any]], None) for n in names])


GRID_SCHEMAS = {g: grid_schema(g) for g in GRID_GROUPS}
GridConfig = make_dataclass("GridConfig", [(g, node, field(default_factory=node)) for g, node in GRID_SCHEMAS.items()])


@dataclass
class PopulationConfig:
    """Members trained together as one batched model: seeds × the product of the grid's lists."""

    grid: GridConfig = field(default_factory=GridConfig)  # population.grid.<group>.<key>=[v1, v2, ...]; see grid_schema
    # members trained at once: null = all; an integer N >= 1 = chunks of N trained one after another (same outputs);
    # auto = as many as fit in free device memory (measured on a trial step). On CPU null and auto train a grid's
    # members of each train/test set size in turn, unpadded (faster there: docs/benchmarks.md)
    chunk: Any = None

    def __post_init__(self) -> None:  # checked here, where the full key is known
        ok = self.chunk is None or self.chunk == "auto" or (isinstance(self.chunk, int) and self.chunk >= 1)
        check(ok and not isinstance(self.chunk, bool), "chunk", self.chunk, "null, auto or an integer >= 1")


# --------------------------------------------------------------------------------------------------- watching
@dataclass
class TensorboardLoggerConfig:
    enabled: bool = False  # logger=[tensorboard]: event files under <run dir>/tensorboard (pip install grokbench[tensorboard])


@dataclass
class MlflowLoggerConfig:
    enabled: bool = False  # logger=[mlflow] (pip install grokbench[mlflow])
    # null: a file store at <sweep dir>/mlruns for a multirun job (every job of a sweep in one experiment, comparable
    # in `mlflow ui`), <run dir>/mlruns for a single run; or any URI MLflow takes (http://host:5000, sqlite:///x.db)
    tracking_uri: Optional[str] = None
    experiment: str = "grokbench"  # MLflow experiment name


@dataclass
class WandbLoggerConfig:
    enabled: bool = False  # logger=[wandb] (pip install grokbench[wandb])
    mode: str = "offline"  # offline (files under <run dir>/wandb, `wandb sync` uploads them later) | online | disabled
    project: str = "grokbench"  # W&B project
    entity: Optional[str] = None  # W&B team or user; null: your default

    def __post_init__(self) -> None:
        check(self.mode in ("offline", "online", "disabled"), "wandb.mode", self.mode, "offline, online, disabled")


@dataclass
class LoggerConfig:
    """Experiment trackers, fed at every checkpoint with the eval rows metrics.parquet got since the last one."""

    # per-member series (`test_acc/member_3`) only up to this many members; population median and quartiles always
    max_members: int = 16
    tensorboard: TensorboardLoggerConfig = field(default_factory=TensorboardLoggerConfig)
    mlflow: MlflowLoggerConfig = field(default_factory=MlflowLoggerConfig)
    wandb: WandbLoggerConfig = field(default_factory=WandbLoggerConfig)

    def __post_init__(self) -> None:
        check(self.max_members >= 0, "max_members", self.max_members, "an integer >= 0")


class Objective(enum.Enum):
    # what a job returns to a Hydra sweeper (hydra/sweeper=optuna); "never generalised" counts as max_steps + 1 steps
    median_step_test_95 = "median_step_test_95"  # median over members of the first step with test acc >= threshold
    fraction_generalized = "fraction_generalized"  # fraction of members whose test acc reached the threshold
    final_test_acc = "final_test_acc"  # median over members of the last test accuracy


@dataclass
class SearchConfig:
    # the value a job returns to the sweeper; set hydra.sweeper.direction to match (minimize the step, maximize the
    # others)
    objective: Objective = Objective.final_test_acc


@dataclass
class SummaryConfig:
    """How summary.parquet labels each member (grokbench/summary.py). Steps are evaluated steps (train.eval_*)."""

    # `generalized`: test accuracy reached this at some evaluated step, in (0, 1]
    threshold: float = 0.95
    # `grokked`: generalized, and test reached `threshold` at a step >= grok_ratio × the step where train accuracy
    # reached it (train at step 0, test later: grokked; train never: not grokked), a number >= 1
    grok_ratio: float = 2.0

    def __post_init__(self) -> None:
        check(0 < self.threshold <= 1, "threshold", self.threshold, "a number in (0, 1]")
        check(self.grok_ratio >= 1, "grok_ratio", self.grok_ratio, "a number >= 1")


@dataclass
class Config:
    task: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    loss: Any = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    seeds: Any = 4  # int N → seeds 0..N-1, or an explicit list of ints (0 is a valid seed)
    device: Device = Device.auto
    logger: LoggerConfig = field(default_factory=LoggerConfig)  # trackers: logger=[tensorboard,mlflow,wandb]
    search: SearchConfig = field(default_factory=SearchConfig)  # what a job returns to a hyperparameter search
    # the published outcome, for `grokbench reproduce`: a list of claims set by configs/experiment/<paper>/<fig>.yaml,
    # each {metric: <metrics.parquet or summary.parquet column>, at_step: int (metrics only), min: x and/or max: y},
    # bounding the median over members (the fraction of members for generalized, grokked, diverged)
    # and optionally where: {<config key>: value}, which restricts a claim to the matching jobs of a multirun
    expect: Optional[List[Any]] = None


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    for group, schemas in GROUP_SCHEMAS.items():
        for name, node in schemas.items():
            cs.store(group=group, name=f"{name}_schema", node=node)


# --------------------------------------------------------------------------------------------------- validation
def seed_list(seeds: Any) -> List[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        check(seeds >= 1, "seeds", seeds, "an integer N >= 1 (seeds 0..N-1) or a list of integers")
        return list(range(seeds))
    ok = OmegaConf.is_list(seeds) or isinstance(seeds, (list, tuple))
    ok = ok and len(seeds) > 0 and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    check(ok, "seeds", seeds, "an integer N >= 1 (seeds 0..N-1) or a non-empty list of integers")
    check(len(set(seeds)) == len(seeds), "seeds", list(seeds), "distinct integers")
    return list(seeds)


def plain(node: Any) -> Any:
    """A group's config as its dataclass: attribute reads in the per-step code cost ~50 µs on a DictConfig."""
    return OmegaConf.to_object(node) if OmegaConf.is_config(node) else node


# optimizer fields that set a tensor's shape, so one value holds for the whole run (not per member)
RUN_ONLY_OPTIMIZER_KEYS = ("grokfast_window",)


def member_hparam_names(optimizer: Any) -> List[str]:
    """The optimizer config's numeric fields (int/float, not bool/enum/str): each reaches the optimizer per member,
    as an (R,) tensor, so a population may vary any of them."""
    node = plain(optimizer)
    return [f.name for f in fields(node)
            if type(getattr(node, f.name)) in (int, float) and f.name not in RUN_ONLY_OPTIMIZER_KEYS]


GROUPS = ("task", "model", "optimizer", "loss")  # config groups whose option is a registry key (== YAML name)


def validate(cfg: DictConfig, choices: Optional[Mapping] = None) -> None:
    """Refuse every config that cannot run as written, raising ConfigError naming the key: build every section's
    dataclass (its `__post_init__` range checks run), check each group's `name` against the option chosen
    (`choices`: Hydra's runtime.choices; read from cfg.hydra when composed with the Hydra config), and check that
    the model accepts the data the task declares (no data is built)."""
    if choices is None:
        choices = OmegaConf.select(cfg, "hydra.runtime.choices")
    for section in (*GROUPS, "train", "population", "summary", "logger"):
        try:
            OmegaConf.to_object(cfg[section])
        except ConfigError as err:
            raise err.under(section) from None
    seed_list(cfg.seeds)
    for group in GROUPS:  # the registry key comes from the group's choice: `task.name=x` cannot retarget a run
        name, chosen = cfg[group].name, (choices or {}).get(group)
        if chosen is not None:
            check(name == chosen, f"{group}.name", name, f"{chosen!r}, the option picked by {group}={chosen} "
                  f"(the name is not a setting: pick another {group} with {group}=<name>)")
        check(name in config_options(group), f"{group}.name", name, ", ".join(config_options(group)))
    task, model = plain(cfg.task), plain(cfg.model)
    shape = task.data_shape()
    check(shape.n_train >= 1 and shape.n_test >= 1, "task", task.name, "a task whose train and test sets are not empty")
    model.check_data(shape, task.name)
    if cfg.train.fourier_metrics:  # the Fourier basis over Z_p is the one of (a ± b) mod p, over a token embedding
        check(cfg.task.name in FOURIER_TASKS, "train.fourier_metrics", True,
              f"false unless task is one of {', '.join(FOURIER_TASKS)} (task={cfg.task.name})")
        check(cfg.model.name in FOURIER_MODELS, "train.fourier_metrics", True,
              f"false unless model is one of {', '.join(FOURIER_MODELS)} (model={cfg.model.name})")
    if OmegaConf.select(cfg, "task.split_file") is not None:  # read it now: a bad file is refused before any run dir
        from grokbench.population import members
        from grokbench.tasks.modular import all_pairs
        from grokbench.tasks.split_file import split_from_file

        try:
            pairs = all_pairs(cfg.task.name, cfg.task.p, cfg.task.nonzero_b)[0]
            split_from_file(cfg.task.split_file, members(cfg)["seed"].tolist(), pairs, cfg.task.p)
        except ConfigError as err:
            raise err.under("task") from None
    check_grid(cfg)


def grid_values(cfg) -> Dict[str, list]:
    """{'<group>.<key>': [values]} of every grid list that is set, in the members table's product order: groups as in
    GRID_GROUPS, keys in grid_schema order. Works on a saved .hydra/config.yaml (plain DictConfig) too."""
    out = {}
    for group in GRID_GROUPS:
        node = OmegaConf.select(cfg, f"population.grid.{group}")
        for key, values in (node.items() if node is not None else ()):
            if values is not None:
                out[f"{group}.{key}"] = list(values)
    return out


def grokfast_ema_on(cfg) -> bool:
    """Grokfast-EMA runs for some member: filter ema and λ > 0 in the config or in a λ grid."""
    lambdas = OmegaConf.select(cfg, "population.grid.optimizer.grokfast_lambda") or [cfg.optimizer.grokfast_lambda]
    return cfg.optimizer.grokfast_filter.value == "ema" and any(v > 0 for v in lambdas)


def check_grid(cfg) -> None:
    """Every population.grid list: a key the chosen schema lets vary per member (its GRIDDABLE allow-list), not empty,
    distinct numbers, each value accepted by the schema's own __post_init__ range checks."""
    for name, values in grid_values(cfg).items():
        group, key = name.split(".")
        full, base = f"population.grid.{name}", OmegaConf.to_object(cfg[group])
        gridable = type(base).GRIDDABLE
        allowed = ", ".join(gridable) or "none"
        if key not in {f.name for f in fields(base)}:
            raise ConfigError(full, values, f"keys of {group}={cfg[group].name}: {allowed}")
        if key not in gridable:
            raise ConfigError(full, values, f"per-member keys of {group}={cfg[group].name}: {allowed}; {group}.{key} "
                                            f"changes tensor shapes or what is built: sweep it as a Hydra job axis, "
                                            f"-m {group}.{key}=<a>,<b>")
        check(len(values) > 0, full, values, "a non-empty list of numbers (or null: the config's own value)")
        integer = type(getattr(base, key)) is int  # a step count: 0.5 would be truncated to a copy of 0
        for v in values:
            check(isinstance(v, (int, float)) and not isinstance(v, bool), full, v, "numbers")
            check(not integer or float(v).is_integer(), full, v, f"integers ({group}.{key} counts steps)")
            try:
                one = replace(base, **{key: v})  # the schema's own range checks, value by value
                if group == "task":
                    one.data_shape()  # e.g. a train fraction that leaves a split empty
            except ConfigError as err:
                raise ConfigError(full, v, err.allowed) from None
        check(len(set(values)) == len(values), full, values, "distinct numbers")
        if key == "train_fraction" and OmegaConf.select(cfg, "task.split_file") is not None:
            raise ConfigError(full, values, "no train_fraction grid with task.split_file (the file decides every "
                                            "member's split, so the members would be copies)")
        if key == "grokfast_alpha" and not grokfast_ema_on(cfg):
            raise ConfigError(full, values, "a grid only with optimizer.grokfast_filter=ema and grokfast_lambda > 0 "
                                            "(else α is never read, so the members would be copies)")
        if key == "train_fraction" and OmegaConf.select(cfg, "model.batch_norm") is True:
            # the sets would be padded to the longest, and padded samples would enter the batch statistics
            raise ConfigError(full, values, "a Hydra job axis with model.batch_norm=true (padded samples would enter "
                                            f"the batch statistics): -m {name}=<a>,<b>")
