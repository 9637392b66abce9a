"""The config schema. Dataclasses here are the truth; YAML files under configs/ only pick values.

Every group schema is registered in Hydra's ConfigStore as `<group>/<name>_schema`, and each YAML file of that group
names its schema in its defaults list, so Hydra rejects unknown keys and wrong types at composition time. Range checks
live in `__post_init__` and run when `validate` turns the composed config into these objects.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

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


class Device(enum.Enum):
    auto = "auto"  # cuda when available, else cpu
    cpu = "cpu"
    cuda = "cuda"


class DType(enum.Enum):
    float16 = "float16"
    bfloat16 = "bfloat16"
    float32 = "float32"
    float64 = "float64"


class Activation(enum.Enum):
    relu = "relu"
    gelu = "gelu"
    tanh = "tanh"
    silu = "silu"


class FirstLayer(enum.Enum):
    # Both compute onehot(a) ⊕ onehot(b) @ W_in; which is faster depends on device and size (scripts/bench_*.py).
    gather = "gather"  # W_in[a] + W_in[p + b]: a third fewer FLOPs, slower backward (index_add)
    onehot = "onehot"  # dense (R, N, T·V) @ (R, T·V, H) batched matmul


# --------------------------------------------------------------------------------------------------- tasks
@dataclass
class ModularTaskConfig:
    """(a ∘ b) mod p for every pair (a, b); ∘ is fixed by the file name (modadd, modsub, modmul, moddiv)."""

    name: str = MISSING  # registry key, set by the YAML file; choose with task=<name>
    p: int = 59  # modulus; must be prime for moddiv (b⁻¹ must exist)
    train_fraction: float = 0.5  # fraction of all pairs used for training, in (0, 1]; split is per seed
    corruption: float = 0.0  # fraction of TRAIN labels replaced by uniformly random labels, in [0, 1)

    def __post_init__(self) -> None:
        check(self.p >= 2, "p", self.p, "an integer >= 2")
        check(0 < self.train_fraction <= 1, "train_fraction", self.train_fraction, "a number in (0, 1]")
        check(0 <= self.corruption < 1, "corruption", self.corruption, "a number in [0, 1)")
        if self.name == "moddiv":
            check(is_prime(self.p), "p", self.p, "a prime number (moddiv needs b⁻¹ mod p)")


@dataclass
class XorClustersTaskConfig:
    """XOR cluster data (Xu et al. 2024): label +1 from ½N(±μ1, I), label -1 from ½N(±μ2, I), μ1 ⊥ μ2, ‖μ1‖ = ‖μ2‖."""

    name: str = "xor_clusters"
    p: int = 2500  # input dimension, >= 2 (the paper: 40000; benign overfitting needs p ≫ n)
    n_train: int = 50  # train samples, >= 1 (the paper: 200)
    n_test: int = 200  # clean test samples, >= 1 (the paper: 200)
    mu_norm: Optional[float] = None  # ‖μ‖, > 0; null → mu_ratio·√(p/n_train)
    mu_ratio: float = 2.5  # ‖μ‖ / √(p/n_train) when mu_norm is null, > 0 (the paper: 2.5)
    label_flip: float = 0.05  # probability η that a TRAIN label is flipped, in [0, 0.5); test stays clean
    dtype: DType = DType.float32  # features; float64 for the paper's tiny init / learning rates

    def __post_init__(self) -> None:
        check(self.p >= 2, "p", self.p, "an integer >= 2")
        check(self.n_train >= 1, "n_train", self.n_train, "an integer >= 1")
        check(self.n_test >= 1, "n_test", self.n_test, "an integer >= 1")
        check(self.mu_norm is None or self.mu_norm > 0, "mu_norm", self.mu_norm, "null or a number > 0")
        check(self.mu_ratio > 0, "mu_ratio", self.mu_ratio, "a number > 0")
        check(0 <= self.label_flip < 0.5, "label_flip", self.label_flip, "a number in [0, 0.5)")


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


# --------------------------------------------------------------------------------------------------- models
@dataclass
class MLPConfig:
    """Token inputs as concatenated one-hots, `depth` hidden layers of `width`, linear read-out."""

    name: str = "mlp"
    depth: int = 1  # number of hidden layers, >= 1
    width: int = 128  # hidden units per layer, >= 1
    activation: Activation = Activation.relu
    bias: bool = False
    init_scale: float = 1.0  # multiplies PyTorch's nn.Linear default init, U(±1/√fan_in); > 0
    first_layer: FirstLayer = FirstLayer.onehot  # same math, two speeds; see FirstLayer
    dtype: DType = DType.float32  # parameters and forward pass

    def __post_init__(self) -> None:
        check(self.depth >= 1, "depth", self.depth, "an integer >= 1")
        check(self.width >= 1, "width", self.width, "an integer >= 1")
        check(self.init_scale > 0, "init_scale", self.init_scale, "a number > 0")


@dataclass
class QuadraticConfig:
    """f(a, b) = W (U e_a + V e_b)² with an element-wise square, no bias (Doshi et al. 2024, eq. 1)."""

    name: str = "quadratic"
    width: int = 500  # N, hidden neurons, >= 1 (the paper: 500)
    init_std: Optional[float] = None  # std of the Gaussian init of U, V, W, > 0; null → (16·width)^(-1/3) (paper)
    dropout: float = 0.0  # probability of zeroing a pre-activation before the square (train only), in [0, 1)
    batch_norm: bool = False  # batch norm after the square, statistics per member over the batch
    dtype: DType = DType.float32  # parameters and forward pass

    def __post_init__(self) -> None:
        check(self.width >= 1, "width", self.width, "an integer >= 1")
        check(self.init_std is None or self.init_std > 0, "init_std", self.init_std, "null or a number > 0")
        check(0 <= self.dropout < 1, "dropout", self.dropout, "a number in [0, 1)")


@dataclass
class TwoLayerReluConfig:
    """f(x) = Σ_j a_j ReLU(<w_j, x>), a_j = ±1/√m fixed (half each), no bias; only W trains (Xu et al. 2024)."""

    name: str = "two_layer_relu_fixed_output"
    width: int = 100  # m, hidden neurons, even, >= 2 (the paper: 1000)
    init_std: float = 1e-15  # ω, std of the Gaussian init of W, > 0 (the paper: 1e-15, needs float64)
    dtype: DType = DType.float64  # parameters and forward pass; float64 keeps updates ~lr·grad of 1e-16 exact

    def __post_init__(self) -> None:
        check(self.width >= 2 and self.width % 2 == 0, "width", self.width, "an even integer >= 2")
        check(self.init_std > 0, "init_std", self.init_std, "a number > 0")


# --------------------------------------------------------------------------------------------------- optimizers
@dataclass
class AdamWConfig:
    name: str = "adamw"
    lr: float = 1e-2  # > 0; may be set per member by population.grid.optimizer.lr
    weight_decay: float = 1.0  # decoupled, >= 0; may be set per member by population.grid.optimizer.weight_decay
    beta1: float = 0.9  # in [0, 1)
    beta2: float = 0.98  # in [0, 1)
    eps: float = 1e-8  # > 0

    def __post_init__(self) -> None:
        check_lr_wd(self.lr, self.weight_decay)
        check(0 <= self.beta1 < 1, "beta1", self.beta1, "a number in [0, 1)")
        check(0 <= self.beta2 < 1, "beta2", self.beta2, "a number in [0, 1)")
        check(self.eps > 0, "eps", self.eps, "a number > 0")


@dataclass
class SGDConfig:
    name: str = "sgd"
    lr: float = 1e-2  # > 0
    weight_decay: float = 0.0  # L2 added to the gradient (PyTorch SGD semantics), >= 0
    momentum: float = 0.0  # in [0, 1)

    def __post_init__(self) -> None:
        check_lr_wd(self.lr, self.weight_decay)
        check(0 <= self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")


def check_lr_wd(lr: float, weight_decay: float) -> None:
    check(lr > 0, "lr", lr, "a number > 0")
    check(weight_decay >= 0, "weight_decay", weight_decay, "a number >= 0")


# --------------------------------------------------------------------------------------------------- losses
@dataclass
class LossConfig:
    name: str = MISSING  # softmax_ce | mse; set by the YAML file
    dtype: DType = DType.float32  # logits are cast to this dtype before normalisation and loss


# --------------------------------------------------------------------------------------------------- training
@dataclass
class TrainConfig:
    max_steps: int = 1500  # optimizer steps (full batch: epochs), >= 1
    batch_size: Optional[int] = None  # None = full batch; else samples per step, reshuffled every epoch
    eval_every: int = 20  # evaluate every this many steps, >= 1 ...
    eval_log_points: int = 40  # ... plus this many log-spaced steps in [1, max_steps], so early curves stay sharp
    early_stop_threshold: Optional[float] = None  # stop once every live member has test_acc >= this ...
    early_stop_patience: int = 3  # ... for this many consecutive evals
    checkpoint_every_s: float = 30.0  # seconds of training between checkpoints (also on SIGTERM/SIGUSR1/2)

    def __post_init__(self) -> None:
        check(self.max_steps >= 1, "max_steps", self.max_steps, "an integer >= 1")
        check(self.batch_size is None or self.batch_size >= 1, "batch_size", self.batch_size, "null or >= 1")
        check(self.eval_every >= 1, "eval_every", self.eval_every, "an integer >= 1")
        check(self.eval_log_points >= 0, "eval_log_points", self.eval_log_points, "an integer >= 0")
        ok = self.early_stop_threshold is None or 0 < self.early_stop_threshold <= 1
        check(ok, "early_stop_threshold", self.early_stop_threshold, "null or a number in (0, 1]")
        check(self.early_stop_patience >= 1, "early_stop_patience", self.early_stop_patience, "an integer >= 1")
        check(self.checkpoint_every_s > 0, "checkpoint_every_s", self.checkpoint_every_s, "a number > 0")


@dataclass
class OptimizerGrid:
    lr: Optional[List[float]] = None  # one member per (seed, lr, weight_decay) combination
    weight_decay: Optional[List[float]] = None


@dataclass
class GridConfig:
    optimizer: OptimizerGrid = field(default_factory=OptimizerGrid)


@dataclass
class PopulationConfig:
    """Members trained together as one batched model: seeds × the grid below."""

    grid: GridConfig = field(default_factory=GridConfig)

    def __post_init__(self) -> None:  # checked here, where the full key is known
        for lr in self.grid.optimizer.lr or []:
            check(lr > 0, "grid.optimizer.lr", lr, "numbers > 0")
        for wd in self.grid.optimizer.weight_decay or []:
            check(wd >= 0, "grid.optimizer.weight_decay", wd, "numbers >= 0")


@dataclass
class Config:
    task: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    loss: Any = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    seeds: Any = 4  # int N → seeds 0..N-1, or an explicit list of ints (0 is a valid seed)
    device: Device = Device.auto
    # the published outcome, for `grokbench reproduce`: a list of claims set by configs/experiment/<paper>/<fig>.yaml,
    # each {metric: <metrics.parquet or summary.parquet column>, at_step: int (metrics only), min: x and/or max: y}
    expect: Optional[List[Any]] = None


GROUP_SCHEMAS: Dict[str, Dict[str, type]] = {
    "task": {"modular": ModularTaskConfig, "xor_clusters": XorClustersTaskConfig},
    "model": {"mlp": MLPConfig, "quadratic": QuadraticConfig, "two_layer_relu_fixed_output": TwoLayerReluConfig},
    "optimizer": {"adamw": AdamWConfig, "sgd": SGDConfig},
    "loss": {"loss": LossConfig},
}


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


def validate(cfg: DictConfig) -> None:
    """Build every group's dataclass so that `__post_init__` range checks run; raise ConfigError naming the key."""
    for group in ("task", "model", "optimizer", "loss", "train", "population"):
        try:
            OmegaConf.to_object(cfg[group])
        except ConfigError as err:
            raise err.under(group) from None
    seed_list(cfg.seeds)
