"""Composing configs outside a Hydra job (show, preflight checks, reproduce) and turning every config mistake into
one line that names the key and what is allowed."""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import List

from hydra import compose, initialize_config_module
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from grokbench.config import CONFIG_DIR  # noqa: F401 (re-exported: callers import it from here)
from grokbench.config import GROUPS, ConfigError, config_options, register_configs, validate

CONFIG_MODULE, CONFIG_NAME = "grokbench.configs", "config"


def register() -> None:
    """Schemas and the ${uid:} resolver; must run before Hydra composes anything."""
    register_configs()
    # pid + random bits: two jobs started in the same second (even on two hosts) get different dirs.
    # use_cache keeps one value per config, and Hydra copies the cache to every job of a sweep.
    OmegaConf.register_new_resolver("uid", lambda: f"{os.getpid()}-{secrets.token_hex(2)}", use_cache=True,
                                    replace=True)


def compose_config(overrides: List[str], return_hydra_config: bool = False):
    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
        return compose(CONFIG_NAME, overrides=list(overrides), return_hydra_config=return_hydra_config)


def checked_config(overrides: List[str]):
    """The composed config of one job, validated against the options Hydra picked (hydra.runtime.choices), without
    the hydra node: what `show` prints and `bench` runs."""
    cfg = compose_config(overrides, return_hydra_config=True)
    validate(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def sweep_combinations(overrides: List[str], multirun: bool) -> List[List[str]]:
    """The override lists of every job a (multi)run would launch, the basic sweeper's params a config sets
    (hydra.sweeper.params) included."""
    if not multirun:
        if any(o.is_sweep_override() for o in OverridesParser.create().parse_overrides(overrides)):
            raise ConfigError("overrides", overrides, "single values without -m; add -m (multirun) to sweep")
        return [list(overrides)]
    return [combo for combo, _ in _sweep_jobs(overrides)]


def job_configs(overrides: List[str], multirun: bool) -> list:
    """Every job's config, hydra node included, as Hydra's launcher composes it (its job.num set, so the job's
    output dir resolves)."""
    if not multirun:
        return [compose_config(sweep_combinations(overrides, False)[0], return_hydra_config=True)]
    return [cfg for _, cfg in _sweep_jobs(overrides)]


def _sweep_jobs(overrides: List[str]) -> list:
    """[(overrides, config)] of each job of a basic-sweeper multirun, composed the way Hydra does: the master
    config in MULTIRUN mode, the sweeper's params then the command line's task overrides split into jobs
    (BasicSweeper.sweep), each job's config from the master (BasicLauncher.launch)."""
    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration(CONFIG_NAME, list(overrides), RunMode.MULTIRUN, from_shell=False)
        params = [f"{k}={v}" for k, v in (OmegaConf.select(master, "hydra.sweeper.params") or {}).items()]
        arguments = [*params, *OmegaConf.to_container(master.hydra.overrides.task)]
        parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
        str(master.hydra.sweep.dir)  # resolved once, as the sweeper does: its ${uid:} and ${now:} cache is every job's
        jobs = []
        for num, combo in enumerate(BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]):
            cfg = loader.load_sweep_config(master, combo)
            with open_dict(cfg):
                cfg.hydra.job.id = cfg.hydra.job.num = num
            jobs.append((combo, cfg))
        return jobs


def preflight(overrides: List[str], multirun: bool) -> None:
    """Compose and validate every job's config before anything starts or is written, and refuse a run dir (or a
    sweep's job dir) that holds another config's run. A search sweeper (hydra/sweeper=optuna) picks its values as
    it goes: its search space (interval(...), tag(log, ...), choice) is the sweeper's to check, so the config is
    validated with the fixed overrides only, and each trial's job validates its own values (job.py)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    sweeper = [o.value() for o in parsed if o.key_or_group == "hydra/sweeper"]
    if multirun and sweeper and sweeper[-1] != "basic":
        validate(compose_config([o.input_line for o in parsed if not o.is_sweep_override()]))
        return
    configs = job_configs(overrides, multirun)
    for cfg in configs:
        validate(cfg)
    for cfg in configs:  # Hydra rewrites a job dir's .hydra/ (and the sweep's multirun.yaml) before the job starts
        check_rerun(cfg, multirun)


def check_rerun(cfg, multirun: bool = False) -> None:
    """A job's output dir that already holds a run must hold this config's (a resume), else store.RunDirError.
    The dir as Hydra's run_job makes it: hydra.run.dir, or hydra.sweep.dir / hydra.sweep.subdir."""
    from grokbench.chunking import check_run_dir

    run_dir = Path(cfg.hydra.sweep.dir) / str(cfg.hydra.sweep.subdir) if multirun else Path(cfg.hydra.run.dir)
    if run_dir.is_dir():
        job_cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])  # what the job trains, as train.py sees it
        check_run_dir(OmegaConf.to_yaml(job_cfg, resolve=True), run_dir)


def one_line(err: BaseException) -> str:
    """A config mistake → 'key: what is wrong; allowed: …'."""
    if isinstance(err, ConfigError):
        return str(err)
    missing = re.search(r"Could not find '([^']+)'", str(err))
    if isinstance(err, MissingConfigException) and missing:
        group, _, option = missing[1].partition("/")
        if group in (*GROUPS, "experiment"):  # our own groups: their YAML files (Hydra adds the schemas' names)
            allowed = config_options(group)
        else:  # hydra/launcher=...: Hydra knows the plugins' options too
            group, _, option = missing[1].rpartition("/")
            allowed = sorted(err.options or [])
        if allowed:
            return f"{group}={option} is invalid; allowed: {', '.join(allowed)}"
    cause = err
    while cause.__cause__ is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None) or ""
        msg = str(getattr(cause, "msg", cause)).strip().splitlines()[0]
        if re.search(r"Key '[^']+' (is )?not in", msg):
            return f"{key}: unknown key; allowed: {', '.join(allowed_keys(key))}"
        return f"{key}: {msg}" if key else msg
    return " ".join(str(err).split())


def allowed_keys(full_key: str) -> List[str]:
    parent = full_key.rpartition(".")[0]
    if parent.startswith("population.grid."):  # the keys some schema of that group lets vary per member
        from grokbench.config import GROUP_SCHEMAS

        return sorted({k for schema in GROUP_SCHEMAS[parent.rpartition(".")[2]].values() for k in schema.GRIDDABLE})
    try:
        node = OmegaConf.select(compose_config([]), parent) if parent else compose_config([])
        return sorted(node.keys())
    except (HydraException, OmegaConfBaseException):
        return []
