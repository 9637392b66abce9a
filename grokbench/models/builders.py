"""The model builders: key == configs/model/<key>.yaml. Every parameter has a leading member dim R."""
from grokbench.models.mlp import MLP
from grokbench.models.quadratic import Quadratic
from grokbench.models.transformer import build_transformer
from grokbench.models.two_layer_relu import TwoLayerReluFixedOutput

MODELS = {
    "mlp": MLP,
    "transformer": build_transformer,  # the torch.func or the hand-written population path
    "quadratic": Quadratic,
    "two_layer_relu_fixed_output": TwoLayerReluFixedOutput,
}


def build_model(cfg, data, seeds, device):
    return MODELS[cfg.name](cfg, data, seeds).to(device)
