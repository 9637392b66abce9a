"""Model registry: key == configs/model/<key>.yaml.

SCHEMAS: each schema, stored in Hydra's ConfigStore as model/<key>_schema (the name a YAML file's defaults list
picks). Each sits in a torch-free `<module>_schema.py` beside its implementation, so composing a config (`grokbench
show`) never imports torch. MODELS (models/builders.py): each model's builder, loaded when first asked for.
A new model: its schema and builder, one entry in SCHEMAS and in MODELS, and configs/model/<name>.yaml.
"""
from grokbench.models.mlp_schema import MLPConfig
from grokbench.models.quadratic_schema import QuadraticConfig
from grokbench.models.transformer_schema import TransformerConfig
from grokbench.models.two_layer_relu_schema import TwoLayerReluConfig

SCHEMAS = {"mlp": MLPConfig, "transformer": TransformerConfig, "quadratic": QuadraticConfig,
           "two_layer_relu_fixed_output": TwoLayerReluConfig}


def __getattr__(name):
    if name in ("MODELS", "build_model"):
        from grokbench.models import builders

        return getattr(builders, name)
    raise AttributeError(f"module 'grokbench.models' has no attribute {name!r}")
