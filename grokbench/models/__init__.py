"""Model registry: key == configs/model/<key>.yaml. Every parameter has a leading member dim R."""
from grokbench.models.mlp import MLP
from grokbench.models.transformer import Transformer

MODELS = {"mlp": MLP, "transformer": Transformer}


def build_model(cfg, data, seeds, device):
    return MODELS[cfg.name](cfg, data, seeds).to(device)
