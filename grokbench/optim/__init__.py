"""Optimizer registry: key == configs/optimizer/<key>.yaml.

SCHEMAS: each schema, stored in Hydra's ConfigStore as optimizer/<key>_schema (the name a YAML file's defaults list
picks). Each sits in a torch-free `<module>_schema.py` beside its implementation, so composing a config (`grokbench
show`) never imports torch. OPTIMIZERS (optim/builders.py): each optimizer's builder, loaded when first asked for.
A new optimizer: its schema and builder, one entry in SCHEMAS and in OPTIMIZERS, and configs/optimizer/<name>.yaml.
"""
from grokbench.optim.adamw_schema import AdamConfig, AdamWConfig
from grokbench.optim.perp_schema import PerpAdamWConfig, PerpSGDConfig
from grokbench.optim.sgd_schema import SGDConfig

SCHEMAS = {"adamw": AdamWConfig, "adam": AdamConfig, "sgd": SGDConfig, "perp_adamw": PerpAdamWConfig,
           "perp_sgd": PerpSGDConfig}


def __getattr__(name):
    if name in ("OPTIMIZERS", "build_optimizer", "member_hparams"):
        from grokbench.optim import builders

        return getattr(builders, name)
    raise AttributeError(f"module 'grokbench.optim' has no attribute {name!r}")
