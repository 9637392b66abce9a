"""Composing configs outside a Hydra job (show, preflight checks, reproduce) and turning every config mistake into
one line that names the key and what is allowed."""
from __future__ import annotations

import difflib
import os
import re
import secrets
from pathlib import Path
from typing import List

from hydra import compose, initialize_config_module
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import MissingConfigException, OverrideParseException
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


LINE = 200  # characters an error line may take; a longer list of options gives way to the closest ones


def one_line(err: BaseException) -> str:
    """A config mistake → 'key: what is wrong; allowed: …'."""
    if isinstance(err, ConfigError):
        return str(err)
    if isinstance(err, OverrideParseException):  # Hydra's message without the caret line, after the override
        if err.override.startswith("-"):
            return f"unknown option {err.override}; allowed: KEY=VALUE overrides"
        first, last = err.message.splitlines()[0], err.message.splitlines()[-1]  # last: 'See <grammar URL> ...'
        return f"{err.override}: {first}" + (f"; {last[:1].lower()}{last[1:]}" if last != first else "")
    missing = getattr(err, "missing_cfg_file", None)  # Hydra's 'Could not find/load GROUP/OPTION'
    if isinstance(err, MissingConfigException) and missing:
        group, _, option = missing.partition("/")
        if group in (*GROUPS, "logger", "experiment"):  # our own groups: their YAML files (Hydra adds the schemas')
            if (CONFIG_DIR / missing).is_dir():  # experiment=doshi2024: a folder of experiments, not one
                return f"{group}={option} is a folder; allowed: {braced(option, config_options(missing))}"
            allowed = config_options(group)
        else:  # hydra/launcher=...: Hydra knows the plugins' options too
            group, _, option = missing.rpartition("/")
            allowed = sorted(err.options or [])
        if allowed:
            return invalid_choice(f"{group}={option} is invalid", option, allowed)
    cause = err
    while cause.__cause__ is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None) or ""
        msg = str(getattr(cause, "msg", cause)).strip().splitlines()[0]
        if re.search(r"Key '[^']+' (is )?not in", msg):
            return invalid_choice(f"{key}: unknown key", key.rpartition(".")[2], allowed_keys(cause),
                                  "`grokbench show` prints them")
        return f"{key}: {msg}" if key else msg
    return " ".join(str(err).split())


def invalid_choice(head: str, given: str, allowed: List[str], more: str = "`grokbench list` shows them") -> str:
    """'HEAD; did you mean X? allowed: A, B, …' (head: 'task=modadx is invalid'): the closest options by difflib.
    Where every option would make the line longer than LINE: the given folder's options, else every folder
    (experiment: `paper/…`), else how many there are."""
    folder, _, name = given.rpartition("/")  # experiment=paper/figure: figures compared, within the paper if known
    near = [a for a in allowed if folder and a.startswith(folder + "/")]
    score = {a: difflib.SequenceMatcher(None, name, a.rpartition("/")[2]).ratio() for a in near or allowed}
    best = max(score.values(), default=0)  # the clear favourite alone, or a near tie; as get_close_matches' cutoff
    close = sorted((a for a in score if score[a] >= max(0.6, best - 0.1)), key=score.get, reverse=True)[:3]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    if near and not close:  # a folder's options (a paper's figures) are few: all of them, however long
        return f"{head}; allowed: {braced(folder, near)}"
    for listing in (", ".join(allowed), ", ".join(sorted({a.partition("/")[0] + ("/…" if "/" in a else "")
                                                         for a in allowed})) + f" ({more})"):
        line = f"{head}{hint or ';'} allowed: {listing}"
        if len("grokbench: error: " + line) <= LINE:
            return line
    return f"{head}{hint} (allowed: one of {len(allowed)}; {more})"


def braced(folder: str, options: List[str]) -> str:
    """doshi2024/{coexistence,forgetting}: a folder's options (paths under configs/<group>/) in few characters."""
    return f"{folder}/{{{','.join(o.rpartition('/')[2] for o in options)}}}"


def allowed_keys(cause: OmegaConfBaseException) -> List[str]:
    """The keys the node that refused an unknown key has: the chosen option's schema (optimizer=sgd: SGD's)."""
    parent = (cause.full_key or "").rpartition(".")[0]
    if parent.startswith("population.grid."):  # the keys some schema of that group lets vary per member
        from grokbench.config import GROUP_SCHEMAS

        return sorted({k for schema in GROUP_SCHEMAS[parent.rpartition(".")[2]].values() for k in schema.GRIDDABLE})
    node = getattr(cause, "parent_node", None)
    return sorted(k for k in node.keys() if k != "hydra") if node is not None else []
