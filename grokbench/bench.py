"""`grokbench bench [OVERRIDES] [--members 1,8,64,256]`: training-step throughput of a config on this device, side by
side with the same math as bare PyTorch, measured in one process.

For every population size R (seeds=R; a grid in the config multiplies it) three things train the same data from the
same initial weights, in alternating timed blocks (warm-up discarded, median of --repeats blocks):
- grokbench: the step `grokbench run` takes (grokbench/step.py; train.compile=true replays it as a CUDA graph);
- bare single: member 0 alone as nn.Linear layers + torch.optim.AdamW, eager (the way paper repos train);
- bare population: all R members as hand-written bmm + batched AdamW (grokbench/baselines.py).
Printed per R: steps/s, member-steps/s, peak device memory, achieved matmul TFLOP/s, and the ratios
grokbench member-steps/s ÷ bare single steps/s and ÷ bare population member-steps/s. train.tf32=true and
model.dtype=bfloat16 apply to every contender (the TF32 switch is process-wide; the bare loops take the model's
dtype), so they show what a precision would buy. --versus OVERRIDE times a second config with the same member count in
the same alternating blocks (a grid of G values × S seeds against S·G seeds of one value, or against the same grid
trained another way, e.g. --versus population.chunk=N). Steps only: evaluation runs on
the config's schedule in a real run, and costs what `evaluate` costs there. Bare versions exist for the MLP with
AdamW/SGD and full batch; other models are compared with grokbench's own R=1 (`vs_grokbench_1`).
"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from grokbench.errors import ArgumentParser, fail
from grokbench.threads import one_thread_per_member

log = logging.getLogger("grokbench")


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, steps: int, device) -> float:
    """Seconds per call of fn over `steps` calls, the device drained before and after."""
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / steps


def device_name(device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def build(cfg, table, device):
    """What train_members builds for the members in `table`: data, model, optimizer, and the step
    (grokbench/step.py)."""
    from grokbench.population import build_population
    from grokbench.step import Stepper

    data, model, opt, lr, wd, active, diverged = build_population(cfg, table, device)
    stepper = Stepper(cfg.train.compile, model, opt, cfg.loss, active, diverged, device, cfg.train.tf32)
    return table, data, model, opt, lr, wd, stepper


def matmul_flops(fn) -> int:
    """FLOPs of one call of fn as counted by torch's FlopCounterMode (matmuls, convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def grokbench_runner(cfg, device):
    """The parts cfg's members train in (population.chunk, and on CPU one part per set size of a train-fraction grid:
    grokbench/chunking.py), each built as train_members builds it, and a function that takes one training step of
    every part (on the CPU thread count train() trains with, grokbench/threads.py)."""
    from grokbench.chunking import chunk_size
    from grokbench.population import members

    table = members(cfg)
    size = chunk_size(cfg, table, device)
    parts = [build(cfg, table.iloc[i : i + size], device) for i in range(0, len(table), size)]
    counter = {"step": 0}

    def grokbench_step():
        with one_thread_per_member(device, cfg.train.threads):
            for _, data, *_, stepper in parts:
                stepper(counter["step"], data.x_train, data.y_train, data.train_mask)
        counter["step"] += 1

    return parts, grokbench_step


def bench_members(cfg, device, steps: int, warmup: int, repeats: int, baselines: bool, versus=None) -> dict:
    """versus: a second config with as many members, timed in the same alternating blocks (e.g. S·G seeds of one
    value against a population.grid of G values × S seeds)."""
    from grokbench.baselines import BarePopulation, BareSingle, supported

    parts, grokbench_step = grokbench_runner(cfg, device)
    (_, data, model, opt, lr, wd, stepper), R = parts[0], sum(len(part[0]) for part in parts)
    flops = matmul_flops(grokbench_step)  # one real step, outside the timed blocks
    timed(grokbench_step, warmup, device)  # includes the CUDA-graph capture when train.compile=true
    peak = None
    if device.type == "cuda":  # grokbench's own peak: measured before the baselines allocate anything
        torch.cuda.reset_peak_memory_stats(device)
        timed(grokbench_step, 1, device)
        peak = torch.cuda.max_memory_allocated(device)
    runners = {"grokbench": grokbench_step}
    if versus is not None:
        runners["versus"] = grokbench_runner(versus, device)[1]
        timed(runners["versus"], warmup, device)
    # padded sets or parts (a grid over train_fraction): the bare loops know no masks or parts
    if baselines and supported(cfg) and data.train_mask is None and len(parts) == 1:
        single = BareSingle(cfg, data, model, 0, lr[0].item(), wd[0].item())
        population = BarePopulation(cfg, data, model, lr, wd)
        runners.update({"bare_single": single.step, "bare_population": population.step})
        for fn in (single.step, population.step):
            timed(fn, warmup, device)
    seconds = {name: [] for name in runners}
    for i in range(repeats):
        order = list(runners.items()) if i % 2 == 0 else list(runners.items())[::-1]
        for name, fn in order:
            seconds[name].append(timed(fn, steps, device))
    s = {name: statistics.median(v) for name, v in seconds.items()}
    row = {
        "members": R, "steps_s": 1 / s["grokbench"], "member_steps_s": R / s["grokbench"],
        "peak_memory_bytes": peak,
        "matmul_tflops": flops / s["grokbench"] / 1e12, "compiled": stepper.graph is not None, "parts": len(parts),
        "bare_single_steps_s": None, "bare_population_member_steps_s": None,
        "vs_bare_single": None, "vs_bare_population": None,
        "versus_member_steps_s": R / s["versus"] if "versus" in s else None,
        "vs_versus": s["versus"] / s["grokbench"] if "versus" in s else None,
    }
    if "bare_single" in s:
        row["bare_single_steps_s"] = 1 / s["bare_single"]
        row["bare_population_member_steps_s"] = R / s["bare_population"]
        row["vs_bare_single"] = row["member_steps_s"] / row["bare_single_steps_s"]
        row["vs_bare_population"] = row["member_steps_s"] / row["bare_population_member_steps_s"]
    return row


def versus_config(overrides, cfg):
    """The --versus config with as many members as cfg: seeds = cfg's members ÷ the versus grid's size (so
    `--versus population.grid.task.train_fraction=null` gives seeds of one value, `--versus population.chunk=N`
    the same grid trained another way)."""
    from grokbench.compose import checked_config
    from grokbench.population import members

    n, per_seed = len(members(cfg)), len(members(checked_config([*overrides, "seeds=1"])))
    if n % per_seed:
        raise ValueError(f"--versus: its grid has {per_seed} members per seed, which does not divide the main "
                         f"config's {n} members")
    return checked_config([*overrides, f"seeds={n // per_seed}"])


def fmt(x, spec) -> str:
    return "-" if x is None else format(x, spec)


def main(argv) -> int:
    from grokbench.compose import checked_config, one_line
    from grokbench.devices import check_device, resolve_device

    ap = ArgumentParser(prog="grokbench bench", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, as for `grokbench run`")
    ap.add_argument("--members", default="1,8,64", help="comma-separated population sizes (seeds=R each)")
    ap.add_argument("--steps", type=int, default=50, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first (>= 4 so train.compile captures)")
    ap.add_argument("--repeats", type=int, default=3, help="timed blocks per contender; the median is reported")
    ap.add_argument("--no-baselines", action="store_true", help="time grokbench only")
    ap.add_argument("--versus", action="append", metavar="OVERRIDE",
                    help="also time the config with this override added (repeatable), with as many members as the "
                         "main config (seeds = its members ÷ the versus grid's), in the same alternating blocks; e.g. "
                         "--versus population.grid.task.train_fraction=null --versus task.train_fraction=0.8")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice); 1 is steadier on a "
                    "loaded machine")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    try:
        sizes = [int(m) for m in args.members.split(",")]
        assert all(m >= 1 for m in sizes)
    except (ValueError, AssertionError):
        return fail(f"--members={args.members!r} is invalid; allowed: comma-separated integers >= 1")
    for flag, value in (("--steps", args.steps), ("--warmup", args.warmup), ("--repeats", args.repeats),
                        ("--threads", args.threads)):
        if value is not None and value < 1:
            return fail(f"{flag}={value} is invalid; allowed: an integer >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        cfgs = [checked_config([*args.overrides, f"seeds={m}"]) for m in sizes]
        versus = [None] * len(cfgs)
        if args.versus:
            versus = [versus_config([*args.overrides, *args.versus], c) for c in cfgs]
        check_device(cfgs[0].device.value)  # device=cuda without a GPU: one line, not torch's traceback
    except Exception as err:  # one line, as `grokbench run` does
        return fail(one_line(err))
    device = resolve_device(cfgs[0].device.value)
    result = {"command": "grokbench bench " + " ".join(argv), "device": device_name(device),
              "torch": torch.__version__, "rows": []}
    with one_thread_per_member(device):
        result["grokbench_threads"] = torch.get_num_threads()
    print(f"{result['device']}, torch {torch.__version__}; grokbench's step on {result['grokbench_threads']} "
          f"thread(s) as train() runs it, the bare loops on {torch.get_num_threads()}")
    print(f"{'R':>6} {'steps/s':>9} {'member-steps/s':>15} {'peak MiB':>9} {'TFLOP/s':>8} {'graph':>5} | "
          f"{'bare 1 steps/s':>14} {'bare pop m-steps/s':>18} | {'×bare 1':>7} {'×bare pop':>9} {'×grokbench 1':>12}")
    for cfg, other in zip(cfgs, versus):
        row = bench_members(cfg, device, args.steps, args.warmup, args.repeats, not args.no_baselines, other)
        first = result["rows"][0] if result["rows"] and result["rows"][0]["members"] == 1 else row
        row["vs_grokbench_1"] = row["member_steps_s"] / first["steps_s"] if first["members"] == 1 else None
        result["rows"].append(row)
        mem = None if row["peak_memory_bytes"] is None else row["peak_memory_bytes"] / 2**20
        print(f"{row['members']:>6} {row['steps_s']:>9.1f} {row['member_steps_s']:>15.1f} {fmt(mem, '9.0f'):>9} "
              f"{row['matmul_tflops']:>8.3f} {'yes' if row['compiled'] else 'no':>5} | "
              f"{fmt(row['bare_single_steps_s'], '14.1f'):>14} "
              f"{fmt(row['bare_population_member_steps_s'], '18.1f'):>18} | {fmt(row['vs_bare_single'], '7.2f'):>7} {fmt(row['vs_bare_population'], '9.2f'):>9} "
              f"{fmt(row['vs_grokbench_1'], '12.2f'):>12}", flush=True)
        if other is not None:
            print(f"{'':>6} versus ({' '.join(args.versus)}), {row['members']} members: "
                  f"{row['versus_member_steps_s']:.1f} member-steps/s; this config ÷ versus = {row['vs_versus']:.2f}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
