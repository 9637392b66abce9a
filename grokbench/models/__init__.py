"""Model registry: key == configs/model/<key>.yaml. Every parameter has a leading member dim R."""
from grokbench.models.mlp import MLP

MODELS = {"mlp": MLP}


def build_model(cfg, data, seeds, device):
    return MODELS[cfg.name](cfg, data, seeds).to(device)
