"""Task registry: key == configs/task/<key>.yaml.

SCHEMAS: each schema, stored in Hydra's ConfigStore as task/<key>_schema (the name a YAML file's defaults list
picks). Each sits in a torch-free `<module>_schema.py` beside its implementation, so composing a config (`grokbench
show`) never imports torch. TASKS (tasks/builders.py): each option's builder, loaded when first asked for.
A new task: its schema and builder, one entry in SCHEMAS and in TASKS, and configs/task/<name>.yaml.
"""
from grokbench.tasks.modular_schema import ModularTaskConfig
from grokbench.tasks.parity_schema import SparseParityConfig
from grokbench.tasks.permutations_schema import S5TaskConfig
from grokbench.tasks.xor_clusters_schema import XorClustersTaskConfig

SCHEMAS = {"modular": ModularTaskConfig, "s5": S5TaskConfig, "sparse_parity": SparseParityConfig,
           "xor_clusters": XorClustersTaskConfig}


def __getattr__(name):
    if name in ("TASKS", "build_task", "MODULAR_OPS", "S5_OPS", "Dataset"):
        from grokbench.tasks import builders

        return getattr(builders, name)
    raise AttributeError(f"module 'grokbench.tasks' has no attribute {name!r}")
