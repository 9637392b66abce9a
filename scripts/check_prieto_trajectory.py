"""Step grokbench's ⊥SGD from the authors' exact seed-s split and initialisation, and compare with their saved run.

Prieto et al.'s script (⊥SGD command, --seed s) seeds torch's global generator, draws the split (`random_split`:
one randperm of 113²), then builds three `nn.Linear(bias=False)` layers in float32 and casts them to float64. Drawing
the same way here gives their initial weights; grokbench's population step then runs on the split file written by
`export_prieto_split.py`. Every 10 steps this prints the largest relative weight difference to the weights their
script saved (`last_run_saved_model_checkpoints.pt`, epoch e saved after e + 1 steps) and both test accuracies.

    python scripts/check_prieto_trajectory.py --run-dir AUTHORS_RUN_DIR --split-file prieto_seed42.parquet --steps 400
"""
import argparse
import glob

import pandas as pd
import torch
import torch.nn as nn

from grokbench.compose import compose_config
from grokbench.population import build_population, members
from grokbench.step import train_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="their run dir: saved checkpoints and loggs/*/metrics.csv")
    parser.add_argument("--split-file", required=True, help="export_prieto_split.py output for the same seed")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.randperm(113 * 113)  # the split's draw comes first in their script
    init = [nn.Linear(i, o, bias=False).weight.detach().double() for i, o in [(226, 200), (200, 200), (200, 113)]]
    saved = torch.load(f"{args.run_dir}/last_run_saved_model_checkpoints.pt", weights_only=True)
    log = pd.read_csv(glob.glob(f"{args.run_dir}/loggs/*/metrics.csv")[0])
    theirs = log[(log.input_type == "test") & (log.metric_name == "accuracy")].set_index("epoch")["value"]

    cfg = compose_config(["experiment=prieto2025/perp_sgd", f"seeds=[{args.seed}]", "device=cpu",
                          f"task.split_file={args.split_file}"])
    data, model, opt, _, _, active, diverged_step = build_population(cfg, members(cfg), "cpu")
    ours = [model.w_in, model.hidden[0], model.w_out]  # (1, fan_in, fan_out): nn.Linear's weight transposed
    with torch.no_grad():
        for p, w in zip(ours, init):
            p[0].copy_(w.T)
    for step in range(args.steps):
        train_step(model, opt, cfg.loss, data.x_train, data.y_train, active, diverged_step, step)
        if step % 10 == 0 and step in saved:
            with torch.no_grad():
                acc = float((model(data.x_test).argmax(-1) == data.y_test).double().mean())
                rel = max(float((p[0].T - saved[step][f"layers.{i}.weight"]).norm()
                                / saved[step][f"layers.{i}.weight"].norm()) for i, p in enumerate(ours))
            their_acc = theirs[step // 10] / (100 if theirs.max() > 1.5 else 1)  # percent in some versions
            print(f"after {step + 1} steps: max relative weight difference {rel:.2e}; "
                  f"test acc grokbench {acc:.4f}, theirs {their_acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
