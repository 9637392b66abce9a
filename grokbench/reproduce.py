"""`grokbench reproduce PAPER/FIGURE [OVERRIDES]`: run a published config through the normal Hydra job path, then
check every claim of its `expect:` list against what the run measured.

A claim is {metric, min and/or max, at_step (metrics.parquet columns only), where (optional)}:
- a metrics.parquet column is read at each member's own last evaluated step <= at_step, one value per member. The
  chunks of a chunked run (population.chunk) early-stop on their own, so a member whose chunk stopped before at_step
  is read where it stopped, as every member of an early-stopped unchunked run is: that is the model the run ended
  with, one that had passed train.early_stop_threshold (a claim about at_step itself needs a run without early stop);
- a summary.parquet column is read per member, a null step meaning "never" (+inf);
- the claim holds when the MEDIAN over members lies within [min, max]; the table also shows min-max and n;
- a yes/no column (`generalized`, `grokked`, `diverged`) is claimed as the FRACTION of members where it holds:
  `{metric: grokked, min: 0.75}` = at least 3 of 4 members grokked, `{metric: diverged, max: 0}` = none diverged;
- `where: {loss.dtype: float16}` restricts a claim to the job(s) of a multirun whose config has those values (an
  experiment that sets hydra.sweeper.params is run as a multirun, every other one as a single run); a key that is a
  member column of summary.parquet (`optimizer.weight_decay`, `seed`) restricts it to those members of each job.
Prints the table, writes reproduce.md and reproduce.json next to the outputs; exit 0 if every claim holds, else 1.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import sys
import time
from enum import Enum
from pathlib import Path
from typing import List

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from grokbench import store
from grokbench.summary import THRESHOLDS

FRACTIONS = ("generalized", "grokked", "diverged")  # yes/no summary columns: claims bound the fraction of members

USAGE = """usage: grokbench reproduce PAPER/FIGURE [OVERRIDES...]   (e.g. prieto2025/fig1a_perp_adamw seeds=8)
       grokbench reproduce PAPER/FIGURE --check RUN_DIR        (re-check the claims on a finished run, no training)"""


def experiments() -> List[str]:
    from grokbench.config import config_options

    return config_options("experiment")


def member_values(claim: dict, metrics: pd.DataFrame, summary: pd.DataFrame):
    """(values per member (np.ndarray), the steps read (np.ndarray, empty for summary columns)) for one claim on one
    job's tables."""
    metric = claim["metric"]
    if metric in metrics.columns and metric not in summary.columns:
        if claim.get("at_step") is None:
            raise ValueError(f"claim on metrics column {metric!r} needs at_step")
        upto = metrics[metrics["step"] <= claim["at_step"]]  # each member at its own last eval
        upto = upto.sort_values("step", kind="stable").drop_duplicates("member", keep="last")
        return upto[metric].to_numpy(dtype=float), upto["step"].to_numpy(dtype=int)
    if metric in summary.columns:
        values = pd.to_numeric(summary[metric], errors="coerce").astype(float)
        if metric in THRESHOLDS or metric == "grok_delay":  # a null step means "never reached": +inf
            values = values.fillna(math.inf)
        return values.to_numpy(), np.array([], dtype=int)  # any other NaN stays NaN, so a claim on it fails
    raise ValueError(f"claim metric {metric!r} is neither a metrics.parquet nor a summary.parquet column")


def check_claim(claim: dict, metrics: pd.DataFrame, summary: pd.DataFrame) -> dict:
    values, steps = member_values(claim, metrics, summary)
    # step_read: the latest step read; step_read_min: the earliest (lower where a chunk early-stopped before at_step)
    step, first = (int(steps.max()), int(steps.min())) if len(steps) else (None, None)
    lo, hi = claim.get("min"), claim.get("max")
    statistic = np.mean if claim["metric"] in FRACTIONS else np.median
    center = float(statistic(values)) if len(values) else math.nan  # reported as "median" (a fraction for FRACTIONS)
    ok = len(values) > 0 and not math.isnan(center)
    ok = ok and (lo is None or center >= lo) and (hi is None or center <= hi)
    return {
        "metric": claim["metric"], "at_step": claim.get("at_step"), "step_read": step, "step_read_min": first,
        "where": claim.get("where"), "min": lo, "max": hi, "n": len(values), "median": center,
        "lo": float(np.min(values)) if len(values) else math.nan,
        "hi": float(np.max(values)) if len(values) else math.nan, "passed": bool(ok),
    }


def split_where(where: dict, summary: pd.DataFrame):
    """`where` keys that are member columns of summary.parquet (seed, optimizer.weight_decay, …) select members;
    the others are config keys that select jobs of a multirun."""
    where = where or {}
    members = {k: v for k, v in where.items() if k in summary.columns}
    return {k: v for k, v in where.items() if k not in members}, members


def job_matches(job_dir: Path, where: dict) -> bool:
    if not where:
        return True
    from grokbench.runs import run_config

    cfg = run_config(job_dir)  # the config the job trained (not a .hydra/ written over since)
    return all(same(config_value(cfg, key), value) for key, value in where.items())


def config_value(cfg, key: str):
    """A key's value as the YAML writes it: an enum (loss.dtype) by its name."""
    value = OmegaConf.select(cfg, key)
    return value.name if isinstance(value, Enum) else value


def same(a, b) -> bool:
    """Numbers compare as numbers (0 == 0.0; 1e-12 != 1e-16), anything else as text."""
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)
    return x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0)


def select_members(metrics: pd.DataFrame, summary: pd.DataFrame, where: dict):
    keep = np.ones(len(summary), dtype=bool)
    for key, value in where.items():
        keep &= np.array([same(v, value) for v in summary[key]], dtype=bool)
    summary = summary[keep]
    return metrics[metrics["member"].isin(summary["member"])], summary


def check_all(expect, job_dirs: List[Path]) -> List[dict]:
    rows = []
    for claim in expect or []:
        claim = dict(claim)
        matched = False
        for job in job_dirs:
            metrics = pd.read_parquet(job / store.METRICS_FILE)
            summary = pd.read_parquet(job / store.SUMMARY_FILE)
            job_where, member_where = split_where(claim.get("where"), summary)
            if not job_matches(job, job_where):
                continue
            matched = True
            metrics, summary = select_members(metrics, summary, member_where)
            rows.append({**check_claim(claim, metrics, summary), "job": str(job)})
        if not matched:  # a crashed or missing job must not make its claims disappear
            empty = pd.DataFrame(columns=["step", "member", claim["metric"]])
            rows.append({**check_claim(claim, empty, pd.DataFrame(columns=[claim["metric"]])), "job": None})
    return rows


# --------------------------------------------------------------------------------------------------- presentation
def claim_text(r: dict) -> str:
    bound = " and ".join(s for s in (r["min"] is not None and f">= {r['min']:g}", r["max"] is not None
                                     and f"<= {r['max']:g}") if s)
    at = f" at step {r['at_step']}" if r["at_step"] is not None else ""
    where = "".join(f" [{k}={v}]" for k, v in (r["where"] or {}).items())
    return f"{r['metric']}{at} {bound}{where}"


def fmt(x: float) -> str:
    return "never" if x == math.inf else f"{x:.4g}"


def measured_text(r: dict) -> str:
    if r["metric"] in FRACTIONS:
        return f"{fmt(r['median'])} of n={r['n']} members" if r["n"] else "no members"
    first, last = r["step_read_min"], r["step_read"]
    read = "" if last is None else f" (step {last})" if first == last else f" (steps {first}–{last})"
    return f"{fmt(r['median'])} [{fmt(r['lo'])}–{fmt(r['hi'])}], n={r['n']}{read}"


def markdown(name: str, rows: List[dict], overrides: List[str], note: str) -> str:
    lines = [f"# grokbench reproduce {name}", "", f"overrides: `{' '.join(overrides) or '(none)'}`  ", note, "", "| claim | measured: median [min–max], n members | result |",
             "|---|---|---|"]
    lines += [f"| {claim_text(r)} | {measured_text(r)} | {'PASS' if r['passed'] else 'FAIL'} |" for r in rows]
    return "\n".join(lines) + "\n"


def print_table(name: str, rows: List[dict]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("claim", escape("measured: median [min–max], n"), "result", title=f"reproduce {name}", title_justify="left")
    for r in rows:
        table.add_row(escape(claim_text(r)), escape(measured_text(r)), "[green]PASS[/green]" if r["passed"] else "[red]FAIL[/red]")
    Console(width=130).print(table)


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------- command
def main(argv) -> int:
    from grokbench.errors import fail

    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if not argv or argv[0].startswith("-"):
        return fail(f"reproduce needs PAPER/FIGURE first, got {argv[0] if argv else 'nothing'}; see --help")
    name, overrides = argv[0], list(argv[1:])
    check_dir = None
    if "--check" in overrides:
        i = overrides.index("--check")
        if i + 1 >= len(overrides):
            return fail("--check needs a run (or sweep) dir")
        check_dir = Path(overrides.pop(i + 1))
        overrides.pop(i)
    from grokbench.compose import compose_config, invalid_choice, one_line, preflight, sweep_combinations

    if name not in experiments():
        return fail(invalid_choice(f"experiment {name!r} is invalid", name, experiments()))

    composed = [f"experiment={name}", *overrides]
    try:  # an experiment that sets hydra.sweeper.params runs as a multirun: its overrides may sweep too
        sweep = bool(OmegaConf.select(compose_config(composed[:1], return_hydra_config=True), "hydra.sweeper.params"))
        preflight(composed, multirun=sweep)
        cfg = compose_config(sweep_combinations(composed, sweep)[0], return_hydra_config=True)
    except Exception as err:
        return fail(one_line(err))
    dir_key = "hydra.sweep.dir" if sweep else "hydra.run.dir"
    given = [o.split("=", 1)[1] for o in overrides if o.startswith(dir_key + "=")]
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    out = Path(given[0]) if given else Path("outputs/reproduce") / name / f"{stamp}-{os.getpid()}-{secrets.token_hex(2)}"
    hydra_args = [*composed, *([] if given else [f"{dir_key}={out}"])]

    t0 = time.monotonic()
    if check_dir is None:
        from grokbench import job

        sys.argv = ["grokbench", *(["-m"] if sweep else []), *hydra_args]
        job.hydra_main()
    else:  # the claims as they are in the config now, on outputs that already exist
        out = check_dir
        if not any(out.glob("**/" + store.SUMMARY_FILE)):
            return fail(f"--check {out}: no {store.SUMMARY_FILE} there")
        sweep = not (out / store.SUMMARY_FILE).exists()
    wall = time.monotonic() - t0
    job_dirs = sorted(p.parent for p in out.glob("*/" + store.SUMMARY_FILE)) if sweep else [out]
    rows = check_all(cfg.expect, job_dirs)
    print_table(name, rows)
    note = f"claims re-checked on {out} (no training)" if check_dir is not None else f"wall time: {wall:.0f} s"
    write_text(out / "reproduce.md", markdown(name, rows, overrides, note))
    write_text(out / "reproduce.json", json.dumps({"experiment": name, "overrides": overrides, "wall_s": wall,
                                                   "claims": rows}, indent=1, default=str))
    passed = bool(rows) and all(r["passed"] for r in rows)
    print(f"{sum(r['passed'] for r in rows)}/{len(rows)} claims hold; written: {out / 'reproduce.md'}")
    return 0 if passed else 1
