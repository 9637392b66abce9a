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
    """The override lists of every job a (multi)run would launch."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    if not multirun:
        if any(o.is_sweep_override() for o in parsed):
            raise ConfigError("overrides", overrides, "single values without -m; add -m (multirun) to sweep")
        return [overrides]
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


def preflight(overrides: List[str], multirun: bool) -> None:
    """Compose and validate every job's config before anything starts or is written. A search sweeper
    (hydra/sweeper=optuna) picks its values as it goes: its search space (interval(...), tag(log, ...), choice) is
    the sweeper's to check, so the config is validated with the fixed overrides only, and each trial's job validates
    its own values (job.py)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    sweeper = [o.value() for o in parsed if o.key_or_group == "hydra/sweeper"]
    if multirun and sweeper and sweeper[-1] != "basic":
        validate(compose_config([o.input_line for o in parsed if not o.is_sweep_override()]))
        return
    for combo in sweep_combinations(overrides, multirun):
        cfg = compose_config(combo, return_hydra_config=True)
        validate(cfg)
        if not multirun:  # rerun into an explicit hydra.run.dir: refused before Hydra rewrites its .hydra/ files
            check_rerun(cfg)


def check_rerun(cfg) -> None:
    """A run dir that already holds a run must hold this config's (a resume), else store.RunDirError."""
    from grokbench.chunking import check_run_dir

    run_dir = Path(cfg.hydra.run.dir)
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
