"""Task registry: key == configs/task/<key>.yaml. Each builder returns a `Dataset` with one split per seed."""
from grokbench.tasks.dataset import Dataset
from grokbench.tasks.modular import OPS as MODULAR_OPS, build_modular
from grokbench.tasks.parity import build_sparse_parity
from grokbench.tasks.permutations import OPS as S5_OPS, build_s5
from grokbench.tasks.xor_clusters import build_xor_clusters

TASKS = {
    **{name: build_modular for name in MODULAR_OPS},  # + − × ÷ and Power et al.'s polynomials, mod p
    **{name: build_s5 for name in S5_OPS},  # Power et al.'s S5 operations
    "sparse_parity": build_sparse_parity,
    "xor_clusters": build_xor_clusters,
}


def build_task(cfg, seeds, device) -> Dataset:
    return TASKS[cfg.name](cfg, seeds).to(device)
