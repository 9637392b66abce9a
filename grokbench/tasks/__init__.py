"""Task registry: key == configs/task/<key>.yaml. Each builder returns a `Dataset` with one split per seed."""
from grokbench.tasks.dataset import Dataset
from grokbench.tasks.modular import build_modular
from grokbench.tasks.parity import build_sparse_parity
from grokbench.tasks.xor_clusters import build_xor_clusters

TASKS = {
    "modadd": build_modular,
    "modsub": build_modular,
    "modmul": build_modular,
    "moddiv": build_modular,
    "sparse_parity": build_sparse_parity,
    "xor_clusters": build_xor_clusters,
}


def build_task(cfg, seeds, device) -> Dataset:
    return TASKS[cfg.name](cfg, seeds).to(device)
