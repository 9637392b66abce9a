"""Write the train/test split of Prieto et al. (2025)'s modular-arithmetic script as a `task.split_file` Parquet file.

Their script seeds torch's global generator (`torch.manual_seed(seed)`), builds every pair (x, y) in 0..p-1, x major
and y minor (item i = (i // p, i % p)), and splits it with `torch.utils.data.random_split(dataset, [n_train, N -
n_train])`, n_train = int(train_fraction · N), before anything else draws from that generator. random_split's
documented semantics: one `randperm(N)` from the generator; the first n_train entries are the train indices, the rest
the test indices. We draw that permutation from a fresh CPU generator seeded the same way (the same Mersenne-Twister
state as the global one right after manual_seed).

    python scripts/export_prieto_split.py --seed 42 --p 113 --train-fraction 0.4 --out prieto_seed42.parquet
    grokbench run experiment=prieto2025/perp_sgd task.split_file=prieto_seed42.parquet seeds=1

The file has no seed column, so every member of a population trains on this one split.
"""
import argparse

import pandas as pd
import torch


def prieto_split(seed: int, p: int, train_fraction: float) -> pd.DataFrame:
    n = p * p
    n_train = int(train_fraction * n)  # their split_dataset: int(), i.e. floor
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))  # what random_split draws
    split = pd.Series("test", index=range(n))
    split[perm[:n_train].numpy()] = "train"
    index = torch.arange(n)
    return pd.DataFrame({"a": (index // p).numpy(), "b": (index % p).numpy(), "split": split.to_numpy()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=42, help="their --seed (torch.manual_seed before the split)")
    parser.add_argument("--p", type=int, default=113, help="modulus; all p² pairs")
    parser.add_argument("--train-fraction", type=float, default=0.4, help="their --train_fraction")
    parser.add_argument("--out", required=True, help="Parquet file to write (a, b, split)")
    args = parser.parse_args()
    table = prieto_split(args.seed, args.p, args.train_fraction)
    table.to_parquet(args.out, index=False)
    print(f"{args.out}: {int((table.split == 'train').sum())} train / {len(table)} pairs (seed {args.seed})")


if __name__ == "__main__":
    main()
