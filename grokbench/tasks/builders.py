"""The task builders: key == configs/task/<key>.yaml. Each builder returns a `Dataset` with one split per seed."""
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


def build_task(cfg, seeds, device, member_ids=None) -> Dataset:
    """The split of each member (seeds[k]; member_ids[k] its global member id, default 0..R-1: a split file keyed by
    member gives member_ids[k] the file's rows of that member, whatever part of the population is built)."""
    ids = list(range(len(seeds))) if member_ids is None else [int(m) for m in member_ids]
    return TASKS[cfg.name](cfg, seeds, ids).to(device)
