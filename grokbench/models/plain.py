"""One member of a population as a plain nn.Module: ordinary nn.Linear / nn.Embedding / nn.LayerNorm parameters with
no member dim, copied out of the batched model, so a notebook (or any torch code) can read, hook or fine-tune one
member alone. Its forward on that member's inputs, x (N, T) token ids or (N, D) features, equals the population's
forward on (R, N, …) at [k] to float rounding (tests/test_plain_modules.py).

    member_module(model, k)                              from a live population (grokbench/models/)
    member_from_state(model_cfg, state, k, vocab_size)   from a population's state_dict (checkpoint.pt, snapshots.pt)
    plain_from_state_dict(model_cfg, state)              back from the plain module's own state_dict (an export)

Both read the population's tensors by name (not by module structure), so they hold whatever the batched forward
computes internally. The module comes back in eval mode: dropout off, batch norm on its running statistics.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

from grokbench.models.mlp import ACTIVATIONS as MLP_ACTIVATIONS


# --------------------------------------------------------------------------------------------------- the modules
class PlainMLP(nn.Module):
    """models/mlp.py for one member: logits = fc_out(act(… act(fc_in(onehot(x_1) ⊕ … ⊕ onehot(x_T))) …))."""

    def __init__(self, cfg, vocab_size: int, seq_len: int, n_classes: int):
        super().__init__()
        self.vocab_size, self.seq_len, self.act = vocab_size, seq_len, MLP_ACTIVATIONS[cfg.activation.value]
        # token t at position i is input row i·V + t; kept in the state_dict, so it alone says T and V
        self.register_buffer("offsets", torch.arange(seq_len) * vocab_size)
        self.fc_in = nn.Linear(seq_len * vocab_size, cfg.width, bias=cfg.bias)
        self.fc_hidden = nn.ModuleList(nn.Linear(cfg.width, cfg.width, bias=cfg.bias) for _ in range(cfg.depth - 1))
        self.fc_out = nn.Linear(cfg.width, n_classes, bias=cfg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, T) token ids → logits (N, C)."""
        onehot = F.one_hot(x + self.offsets, self.seq_len * self.vocab_size).sum(1)  # (N, T·V)
        h = self.act(self.fc_in(onehot.to(self.fc_in.weight.dtype)))
        for layer in self.fc_hidden:
            h = self.act(layer(h))
        return self.fc_out(h)


class PlainQuadratic(nn.Module):
    """models/quadratic.py for one member: logits = W (U e_a + V e_b)², dropout and batch norm as configured."""

    def __init__(self, cfg, p: int, n_classes: int):
        super().__init__()
        self.U, self.V = nn.Embedding(p, cfg.width), nn.Embedding(p, cfg.width)  # rows a of U, b of V
        self.W = nn.Linear(cfg.width, n_classes, bias=False)
        self.dropout = nn.Dropout(cfg.dropout)
        self.bn = nn.BatchNorm1d(cfg.width) if cfg.batch_norm else None  # eps, momentum: the population's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 2) token ids (a, b) → logits (N, C)."""
        h = self.dropout(self.U(x[:, 0]) + self.V(x[:, 1]))  # (N, width)
        z = h * h
        return self.W(z if self.bn is None else self.bn(z))


class PlainTwoLayerRelu(nn.Module):
    """models/two_layer_relu.py for one member: f(x) = Σ_j a_j ReLU(<w_j, x>), logits (-f/2, +f/2)."""

    def __init__(self, cfg, n_features: int):
        super().__init__()
        self.W = nn.Linear(n_features, cfg.width, bias=False)  # row j: w_j
        self.register_buffer("a", torch.zeros(cfg.width))  # the fixed ±1/√m output layer

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, D) → f(x): (N,)."""
        return torch.relu(self.W(x.to(self.W.weight.dtype))) @ self.a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, D) → logits (N, 2)."""
        f = self.score(x)
        return torch.stack([-f / 2, f / 2], dim=-1)


# --------------------------------------------------------------------------------------------------- name maps
# population tensor name → (plain name, transposed): batched weights are (R, fan_in, fan_out), nn.Linear's (out, in)
def _mlp_names(state: dict) -> dict:
    names = {"w_in": ("fc_in.weight", True), "b_in": ("fc_in.bias", False),
             "w_out": ("fc_out.weight", True), "b_out": ("fc_out.bias", False)}
    for name in state:
        kind, _, i = name.partition(".")
        if kind == "hidden":
            names[name] = (f"fc_hidden.{i}.weight", True)
        elif kind == "hidden_bias":
            names[name] = (f"fc_hidden.{i}.bias", False)
    return names


QUADRATIC_NAMES = {"U": ("U.weight", False), "V": ("V.weight", False), "W": ("W.weight", True),
                   "bn_weight": ("bn.weight", False), "bn_bias": ("bn.bias", False),
                   "running_mean": ("bn.running_mean", False), "running_var": ("bn.running_var", False)}
TWO_LAYER_NAMES = {"W": ("W.weight", True), "a": ("a", False)}


def _transformer_names(state: dict) -> dict:
    """The hand-written path's names (models/transformer.py Transformer) → TransformerNet's; the vmap path already
    stores TransformerNet's names under `net.`."""
    if any(name.startswith("net.") for name in state):
        return {name: (name[len("net."):], False) for name in state if name.startswith("net.")}
    names = {"tok_emb": ("tok_emb.weight", False), "pos_emb": ("pos_emb.weight", False),
             "w_out": ("unembed.weight", True), "b_out": ("unembed.bias", False)}
    parts = {"w_qkv": ("attn_in.weight", True), "b_qkv": ("attn_in.bias", False),
             "w_o": ("attn_out.weight", True), "b_o": ("attn_out.bias", False),
             "w_1": ("ff1.weight", True), "b_1": ("ff1.bias", False),
             "w_2": ("ff2.weight", True), "b_2": ("ff2.bias", False),
             "ln1_g": ("ln1.weight", False), "ln1_b": ("ln1.bias", False),
             "ln2_g": ("ln2.weight", False), "ln2_b": ("ln2.bias", False)}
    for name in state:
        prefix, _, leaf = name.rpartition(".")
        if prefix.startswith("layers.") and leaf in parts:
            plain_leaf, transposed = parts[leaf]
            names[name] = (f"{prefix}.{plain_leaf}", transposed)
    return names


NAMES = {"mlp": _mlp_names, "transformer": _transformer_names, "quadratic": lambda state: QUADRATIC_NAMES,
         "two_layer_relu_fixed_output": lambda state: TWO_LAYER_NAMES}  # model name → its name map


def _member_state(state: dict, names: dict, k: int) -> dict:
    """{plain name: member k's tensor, copied} of every population tensor in `names` (dropout generator states and
    other non-tensors are left out)."""
    out = {}
    for name, (plain_name, transposed) in names.items():
        value = state.get(name)
        if not torch.is_tensor(value):
            continue
        v = value[k]
        if name in ("b_in", "b_out", "bn_weight", "bn_bias", "running_mean", "running_var") or \
                name.startswith("hidden_bias."):
            v = v.reshape(-1)  # (1, H) per member in the MLP, (1, N) in the quadratic net's batch norm
        out[plain_name] = (v.T if transposed else v).detach().clone().contiguous()
    return out


# --------------------------------------------------------------------------------------------------- entry points
def _schema(model_cfg):
    """The model config as its schema dataclass, from a dataclass, a typed DictConfig or a checkpoint's plain YAML."""
    if dataclasses.is_dataclass(model_cfg):
        return model_cfg
    from omegaconf import OmegaConf

    from grokbench.models import SCHEMAS

    node = OmegaConf.merge(OmegaConf.structured(SCHEMAS[model_cfg["name"]]), model_cfg)
    return OmegaConf.to_object(node)


def _empty(cfg, shapes: dict) -> nn.Module:
    """The plain module of `cfg` on the meta device (no init draw touches the global RNG: the caller assigns the
    tensors), sized by `shapes` ({plain name: shape})."""
    from grokbench.models.transformer_net import TransformerNet

    with torch.device("meta"):
        if cfg.name == "mlp":
            n_in, T = shapes["fc_in.weight"][1], shapes["offsets"][0]
            return PlainMLP(cfg, n_in // T, T, shapes["fc_out.weight"][0])
        if cfg.name == "quadratic":
            return PlainQuadratic(cfg, shapes["U.weight"][0], shapes["W.weight"][0])
        if cfg.name == "two_layer_relu_fixed_output":
            return PlainTwoLayerRelu(cfg, shapes["W.weight"][1])
        if cfg.name == "transformer":
            T = shapes["pos_emb.weight"][0] if "pos_emb.weight" in shapes else 1  # T only sizes pos_emb
            return TransformerNet(cfg, shapes["tok_emb.weight"][0], T, shapes["unembed.weight"][0])
    raise ValueError(f"model={cfg.name} has no plain member module")


def plain_from_state_dict(model_cfg, state: dict) -> nn.Module:
    """The plain module whose own state_dict is `state` (as `grokbench export --to torch` writes it), in eval mode."""
    cfg = _schema(model_cfg)
    module = _empty(cfg, {n: tuple(v.shape) for n, v in state.items()})
    module.load_state_dict(state, assign=True)
    return module.eval()


def member_from_state(model_cfg, state: dict, k: int, vocab_size: int | None = None) -> nn.Module:
    """Member k of the population whose state_dict is `state` ({name: (R, …)}), as a plain module in eval mode.
    vocab_size: ids per token position, needed by the MLP only (its input layer has T·V rows)."""
    cfg = _schema(model_cfg)
    if cfg.name not in NAMES:
        raise ValueError(f"model={cfg.name} has no plain member module")
    member = _member_state(state, NAMES[cfg.name](state), k)
    if cfg.name == "mlp":
        if vocab_size is None:
            raise ValueError("member_from_state: model=mlp needs vocab_size (the task's ids per token)")
        w = member["fc_in.weight"]
        member["offsets"] = torch.arange(w.shape[1] // vocab_size, device=w.device) * vocab_size
    if cfg.name == "quadratic" and cfg.batch_norm:
        member["bn.num_batches_tracked"] = torch.tensor(0, device=member["bn.weight"].device)  # unused: momentum is fixed (0.1), as in the population
    module = _empty(cfg, {n: tuple(v.shape) for n, v in member.items()})
    module.load_state_dict(member, assign=True)  # strict: every plain tensor must come from the population
    return module.eval()


def member_module(model: nn.Module, k: int) -> nn.Module:
    """Member k of a live population model (any of grokbench/models/) as a plain module in eval mode."""
    cfg = getattr(model, "cfg", None)
    if cfg is None and hasattr(model, "net"):  # VmapTransformer: the config lives on its stacked TransformerNet
        cfg = model.net.cfg
    return member_from_state(cfg, model.state_dict(), k, getattr(model, "vocab_size", None))
