"""The transformer's two population paths side by side: torch.func (vmap over stacked weights of the plain module)
vs the hand-written batched einsums, same config (dropout 0, Prieto et al.'s layout), one training step each
(forward, backward, AdamW), R members at once. Prints member-steps/s per path and their ratio, repeated and
interleaved so a busy machine hits both paths alike; the spread over repeats is the min-max of the ratio.

    python scripts/bench_transformer_paths.py --members 1,8,64 --repeats 3 --steps 20
"""
import argparse
import statistics
import time

import torch

from grokbench.compose import compose_config
from grokbench.population import build_population, members
from grokbench.step import train_step

CONFIG = ["device=cpu", "model=transformer", "model.dropout=0", "task.p=31", "task.train_fraction=0.4",
          "task.encoding=equals_token", "model.d_model=64", "model.n_heads=4", "model.d_ff=256"]


def steps_per_second(impl: str, R: int, steps: int, extra) -> float:
    cfg = compose_config([*CONFIG, *extra, f"model.impl={impl}", f"seeds={R}"])
    pop = build_population(cfg, members(cfg), torch.device("cpu"))
    x, y = pop.data.x_train, pop.data.y_train
    for step in range(3):  # warm-up
        train_step(pop.model, pop.opt, cfg.loss, x, y, pop.active, pop.diverged_step, step)
    start = time.perf_counter()
    for step in range(steps):
        train_step(pop.model, pop.opt, cfg.loss, x, y, pop.active, pop.diverged_step, step)
    return steps / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", default="1,8,64")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("overrides", nargs="*", help="extra config overrides, e.g. model.n_layers=2")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"config: {' '.join(CONFIG + args.overrides)}; torch {torch.__version__}, 1 thread")
    print(f"{'R':>4} {'batched steps/s':>16} {'vmap steps/s':>13} {'vmap/batched':>13} {'ratio min-max':>15}")
    for R in map(int, args.members.split(",")):
        runs = {"batched": [], "vmap": []}
        for _ in range(args.repeats):
            for impl in runs:
                runs[impl].append(steps_per_second(impl, R, args.steps, args.overrides))
        ratios = [v / b for v, b in zip(runs["vmap"], runs["batched"])]
        b, v = statistics.median(runs["batched"]), statistics.median(runs["vmap"])
        print(f"{R:>4} {b:>16.2f} {v:>13.2f} {statistics.median(ratios):>13.2f} "
              f"{min(ratios):>7.2f}-{max(ratios):<7.2f}", flush=True)


if __name__ == "__main__":
    main()
