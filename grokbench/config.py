"""The whole config: every group's schema gathered (each lives beside its implementation: tasks/*_schema.py,
models/*_schema.py, optim/*_schema.py), the sections no group owns (train, population, summary, logger, search), their
registration in Hydra's ConfigStore, and the checks that span groups. Dataclasses are the truth; YAML files under
configs/ only pick values.

Every group schema is registered in Hydra's ConfigStore as `<group>/<name>_schema`, and each YAML file of that group
names its schema in its defaults list, so Hydra rejects unknown keys and wrong types at composition time. Range checks
live in `__post_init__` and run when `validate` turns the composed config into these objects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from grokbench import models, optim, tasks
# the shared words of every schema (grokbench/schema.py), importable from here as well
from grokbench.schema import (Accepts, ConfigError, DataShape, Device, DType, ModelSchema, TaskSchema,  # noqa: F401
                              check, plain)
from grokbench.summary_schema import SearchConfig, SummaryConfig
from grokbench.tasks.modular_schema import Encoding  # noqa: F401 (imported from here too)
from grokbench.trackers_schema import LoggerConfig

CONFIG_DIR = Path(__file__).parent / "configs"


def config_options(group: str) -> List[str]:
    """The options of a config group: its YAML files, relative to configs/<group>/ (experiment: `paper/figure`)."""
    root = CONFIG_DIR / group
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


# tasks whose label is (a ± b) mod p, and models with a token embedding over Z_p (`operand_embeddings()`): what
# train.fourier_metrics and `grokbench analyze fourier` (Nanda et al. 2023's progress measures) are defined for
FOURIER_TASKS = ("modadd", "modsub")
FOURIER_MODELS = ("mlp", "quadratic", "transformer")


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
    # CPU intra-op threads of each process that trains (each worker of population.workers), >= 1. 1: member k equals
    # its standalone run bit for bit whatever the population; more: reproducible for a fixed thread count, but a
    # member's numbers depend on the population's size (grokbench/threads.py)
    threads: int = 1

    def __post_init__(self) -> None:
        check(self.threads >= 1, "threads", self.threads, "an integer >= 1")
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
    "task": tasks.SCHEMAS,  # grokbench/tasks/__init__.py
    "model": models.SCHEMAS,  # grokbench/models/__init__.py
    "optimizer": optim.SCHEMAS,  # grokbench/optim/__init__.py
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
for _schema in (*GRID_SCHEMAS.values(), GridConfig):  # found by name here, so a config pickles (worker processes)
    _schema.__module__ = __name__
    globals()[_schema.__name__] = _schema


@dataclass
class PopulationConfig:
    """Members trained together as one batched model: seeds × the product of the grid's lists."""

    grid: GridConfig = field(default_factory=GridConfig)  # population.grid.<group>.<key>=[v1, v2, ...]; see grid_schema
    # members trained at once: null = all; an integer N >= 1 = chunks of N trained one after another (same outputs);
    # auto = as many as fit in free device memory (measured on a trial step). On CPU null and auto train a grid's
    # members of each train/test set size in turn, unpadded (faster there: docs/benchmarks.md)
    chunk: Any = None
    # processes that train parts of the population at the same time, each on train.threads CPU threads: auto = on
    # CPU min(physical cores free to this job ÷ train.threads, number of parts), on a GPU 1; or an integer N >= 1.
    # With chunk null or auto, N > 1 splits the members into N contiguous parts (chunks/<k>/, decided at the first
    # start); the tables, snapshots and weights equal workers=1's bit for bit (grokbench/workers.py)
    workers: Any = "auto"

    def __post_init__(self) -> None:  # checked here, where the full key is known
        ok = self.chunk is None or self.chunk == "auto" or (isinstance(self.chunk, int) and self.chunk >= 1)
        check(ok and not isinstance(self.chunk, bool), "chunk", self.chunk, "null, auto or an integer >= 1")
        ok = self.workers == "auto" or (isinstance(self.workers, int) and self.workers >= 1)
        check(ok and not isinstance(self.workers, bool), "workers", self.workers, "auto or an integer >= 1")


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


def member_seeds(cfg) -> List[int]:
    """Each member's seed, in member order (population.members: the grid's product, seed fastest)."""
    return seed_list(cfg.seeds) * math.prod(len(values) for values in grid_values(cfg).values())


GROUPS = ("task", "model", "optimizer", "loss")  # config groups whose option is a registry key (== YAML name)


def validate(cfg: DictConfig, choices: Optional[Mapping] = None) -> None:
    """Refuse every config that cannot run as written, raising ConfigError naming the key: build every section's
    dataclass (its `__post_init__` range checks run), check each group's `name` against the option chosen
    (`choices`: Hydra's runtime.choices; read from cfg.hydra when composed with the Hydra config), and check that
    the model accepts the data the task declares (no data is built; a file the task names is read)."""
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
    try:  # files the task names (task.split_file) are read now: a bad one is refused before any run dir
        task.check_files(member_seeds(cfg))
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
