"""grokbench's overhead over a bare hand-written PyTorch loop, on one member, timed side by side in one process.

    PYTHONPATH=. python scripts/bench_overhead.py [--repeats 5] [OVERRIDES ...]

What is compared (both end to end, from a composed config to finished results, one member):
- grokbench: `grokbench.train.train(cfg, tmp_dir)` — what `grokbench run` executes after Hydra: builds data, model,
  optimizer, trains full batch, evaluates on the config's eval schedule (all metrics, per-layer norms), writes
  metrics.parquet, summary.parquet and checkpoint.pt.
- bare: the paper-repo loop (grokbench/baselines.py BareSingle): nn.Linear layers + torch.optim.AdamW on one-hot inputs
  built once, starting from the same initial weights, evaluating train/test loss and accuracy (.item()) at the SAME
  eval steps. It builds the same data split (grokbench.tasks) and the same init (so the final losses must agree,
  printed as a check that the math is the same) but writes nothing.
The two alternate `--repeats` times after one discarded warm-up pair; medians are reported. Target: ratio <= 1.05.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from grokbench.baselines import BareSingle
from grokbench.compose import compose_config
from grokbench.models import build_model
from grokbench.tasks import build_task
from grokbench.threads import one_thread_per_member
from grokbench.devices import resolve_device
from grokbench.recording import eval_steps
from grokbench.train import train

DEFAULT = ["seeds=1"]  # the default demo (1,500 steps) as one member


def run_grokbench(cfg) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = train(cfg, Path(tmp))
        return time.perf_counter() - t0, float(summary["final_train_loss"].iloc[0])


def run_bare(cfg) -> tuple[float, float]:
    t0 = time.perf_counter()
    device = resolve_device(cfg.device.value)
    seeds = [int(s) for s in (cfg.seeds if not isinstance(cfg.seeds, int) else range(cfg.seeds))][:1]
    data = build_task(cfg.task, seeds, device)
    bare = BareSingle(cfg, data, build_model(cfg.model, data, seeds, device))
    schedule = eval_steps(cfg.train.max_steps, cfg.train.eval_every, cfg.train.eval_log_points)
    log = [{"step": 0, **bare.evaluate()}]
    for step in range(1, cfg.train.max_steps + 1):
        bare.step()
        if step in schedule:
            log.append({"step": step, **bare.evaluate()})
    return time.perf_counter() - t0, log[-1]["train_loss"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="timed pairs after one warm-up pair")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice); 1 is steadier on a "
                    "loaded machine")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides; default: " + " ".join(DEFAULT))
    args = ap.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    logging.getLogger("grokbench").setLevel(logging.WARNING)
    cfg = compose_config(["device=cpu", *DEFAULT, *args.overrides])
    steps = cfg.train.max_steps
    with one_thread_per_member(resolve_device(cfg.device.value)):
        train_threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, bare loop on {torch.get_num_threads()} threads, grokbench's train() on "
          f"{train_threads} (grokbench/threads.py), device {cfg.device.value}; "
          f"overrides: {' '.join(['device=cpu', *DEFAULT, *args.overrides])}")
    times = {"grokbench": [], "bare": []}
    for i in range(args.repeats + 1):
        for name, fn in (("grokbench", run_grokbench), ("bare", run_bare)) if i % 2 == 0 else \
                (("bare", run_bare), ("grokbench", run_grokbench)):
            seconds, final_loss = fn(cfg)
            if i > 0:  # the first pair is the warm-up
                times[name].append(seconds)
            losses = locals().setdefault("losses", {})
            losses[name] = final_loss
    med = {k: statistics.median(v) for k, v in times.items()}
    for name in ("bare", "grokbench"):
        spread = ", ".join(f"{t / steps * 1e3:.3f}" for t in times[name])
        print(f"{name:10s} {med[name] / steps * 1e3:8.3f} ms/step (median of {args.repeats}; runs: {spread})")
    ratio = med["grokbench"] / med["bare"]
    print(f"final train loss: grokbench {losses['grokbench']:.6g}  bare {losses['bare']:.6g}  (same math check)")
    print(f"ratio grokbench / bare = {ratio:.3f}  (target <= 1.05: {'PASS' if ratio <= 1.05 else 'FAIL'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
