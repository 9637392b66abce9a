"""`grokbench data [OVERRIDES] --out FILE.parquet`: the exact dataset each member of a run trains and tests on.

One row per member × sample, the columns `member`, `seed`, `split` ("train" / "test"), the member's per-member
hyperparameters (as in metrics.parquet), `label` (as trained on: a corrupted train label is the replaced one),
`corrupted` (bool; always False on test rows) and the inputs:
  two-operand tasks (modular, S5)  `a`, `b`: the operands (S5: element indices 0..119, tasks/permutations.py),
                                   whatever the encoding (its op / "=" tokens are constants and are left out)
  sparse_parity                    `bits`: the sample's n_bits bits as a string of 0/1, position 0 first
  xor_clusters                     `x`: the feature vector (a list of p floats: p is in the thousands, too many
                                   columns)
The rows come from the same builder the training calls (population.build_data through grokbench/runs.py: each
member's own train fraction, label noise and split file rows), so they are the training's own data. A bad override or a missing --out stops with one line, exit code 2.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from grokbench.errors import ArgumentParser, fail


def input_columns(task_name: str, encoding, x) -> dict:
    """x (N, T) or (N, D) of one member → the documented input columns."""
    if task_name == "sparse_parity":
        return {"bits": ["".join(map(str, row)) for row in x.tolist()]}
    if task_name == "xor_clusters":
        return {"x": list(x.double().numpy())}
    from grokbench.tasks.modular import operands

    pairs = operands(x, encoding)
    return {"a": pairs[:, 0].numpy(), "b": pairs[:, 1].numpy()}


def member_rows(cfg, table: pd.DataFrame) -> pd.DataFrame:
    from grokbench.runs import member_data

    data = member_data(cfg, table)  # the training's own builder: each member's train fraction, ξ, split file rows
    n_train, n_test = data.train_size.tolist(), data.test_size.tolist()  # a padded set's real samples come first
    encoding = getattr(cfg.task, "encoding", None)
    encoding = getattr(encoding, "value", encoding)
    frames = []
    for r, member in enumerate(table.to_dict("records")):  # records keep each column's dtype (iterrows: floats)
        nt, ne = n_train[r], n_test[r]
        for split, x, y, corrupted in (("train", data.x_train[r, :nt], data.y_train[r, :nt], data.corrupted[r, :nt]),
                                       ("test", data.x_test[r, :ne], data.y_test[r, :ne], None)):
            frame = pd.DataFrame({**input_columns(cfg.task.name, encoding, x), "label": y.numpy(),
                                  "corrupted": corrupted.numpy() if corrupted is not None else False})
            for column in reversed(table.columns):  # member, seed, hyperparameters first
                frame.insert(0, column, member[column])
            frame.insert(2, "split", split)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def main(argv) -> int:
    parser = ArgumentParser(prog="grokbench data", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="the Parquet file to write")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for grokbench run")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        return fail(f"unknown option(s) {' '.join(unknown)}; allowed: --out FILE.parquet and KEY=VALUE overrides")
    if args.out is None or not args.out.endswith(".parquet"):
        return fail(f"--out={args.out!r} is invalid; allowed: a path ending in .parquet")
    from grokbench.compose import compose_config, one_line
    from grokbench.config import validate

    try:
        cfg = compose_config(args.overrides)
        validate(cfg)
    except Exception as err:  # every config mistake: one line, nothing written
        return fail(one_line(err))
    from grokbench.population import members
    from grokbench.store import write_parquet

    table = members(cfg)
    rows = member_rows(cfg, table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(rows, out)
    print(f"{out}: {len(rows)} rows ({len(table)} members)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
