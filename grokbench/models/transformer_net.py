"""One member's transformer as a plain nn.Module (batch (N, T) → logits (N, C), read-out at the last position), with
the layouts of the canonical grokking papers:

    Prieto et al. 2025   post-LN, ReLU, every linear map biased, learned or no positions (nn.TransformerEncoderLayer)
    Power et al. 2022    post-LN, causal, sinusoidal positions, no linear biases at all   (openai/grok transformer.py)
    Nanda et al. 2023    no LayerNorm, learned positions, biases only in the MLP, causal
                         (progress-measures-paper transformers.py)
    Lee et al. 2024      pre-LN + final LN, GELU, causal, learned positions, biased attention/MLP, unbiased read-out
                         (ironjr/grokfast main.py; its attention sublayer adds to LN(x): norm=pre_normed_residual)

The population (models/transformer.py) runs R of these at once with torch.func (vmap over stacked weights) or with the
hand-written batched path; both are tested against this module with member k's weights.

Init (every path): each tensor is drawn from the member's own stream `init/<name>` (grokbench/seeding.py), so member k
of a population is a standalone run of seed k: nn.Linear's default U(±1/√fan_in) for weights and biases, N(0, s²)
embeddings with s = model.embedding_std (1: nn.Embedding's default; Nanda et al.: 1/√d_model), LayerNorm 1/0. The
papers' own inits differ in smaller ways (Nanda: N(0, 1/d_model) linear maps, within 2x of ours, and zero MLP biases;
Lee et al.: xavier q/k/v and zero attention biases from nn.MultiheadAttention): our choice, one init for all.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from grokbench.models.init import gaussian_init, linear_init
from grokbench.schema import plain

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def sinusoidal(T: int, d: int, dtype, device) -> torch.Tensor:
    """Vaswani et al.'s table (T, d), as Power et al.'s code: sin(t / 10000^(i/d)) at even i,
    cos(t / 10000^((i-1)/d)) at odd i."""
    pos = torch.arange(T, dtype=torch.float64, device=device)[:, None]
    i = torch.arange(d, device=device)
    angle = pos / 10000 ** ((i - i % 2).double() / d)
    return torch.where(i % 2 == 0, angle.sin(), angle.cos()).to(dtype)


class Block(nn.Module):
    def __init__(self, cfg, d: int):
        super().__init__()
        self.attn_in = nn.Linear(d, 3 * d, bias=cfg.attn_bias)  # q, k, v of every head
        self.attn_out = nn.Linear(d, d, bias=cfg.attn_bias)
        self.ff1 = nn.Linear(d, cfg.d_ff, bias=cfg.mlp_bias)
        self.ff2 = nn.Linear(cfg.d_ff, d, bias=cfg.mlp_bias)
        norm = cfg.norm.value != "none"
        self.ln1, self.ln2 = (nn.LayerNorm(d), nn.LayerNorm(d)) if norm else (None, None)
        self.drop = nn.Dropout(cfg.dropout)


class TransformerNet(nn.Module):
    def __init__(self, cfg, vocab_size: int, seq_len: int, n_classes: int):
        super().__init__()
        self.cfg = cfg = plain(cfg)
        d = cfg.d_model
        self.tok_emb = nn.Embedding(vocab_size, d)
        self.pos_emb = nn.Embedding(seq_len, d) if cfg.positional.value == "learned" else None
        self.layers = nn.ModuleList(Block(cfg, d) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d) if cfg.norm.value.startswith("pre") else None  # pre-LN ends with a final norm
        self.unembed = nn.Linear(d, n_classes, bias=cfg.unembed_bias)
        self.act = ACTIVATIONS[cfg.activation.value]

    def attention(self, layer: Block, h: torch.Tensor, queries: slice) -> torch.Tensor:
        """h (N, T, d) → attention output at the positions `queries` (N, Q, d); keys/values from every position."""
        N, T, d = h.shape
        nh = self.cfg.n_heads
        q, k, v = layer.attn_in(h).view(N, T, 3, nh, d // nh).unbind(2)  # (N, T, nh, dh) each
        q = q[:, queries]
        scores = torch.einsum("nqhe,nshe->nhqs", q, k) / math.sqrt(d // nh)  # (N, nh, Q, T)
        if self.cfg.causal:  # ALGO LOGIC: position t sees positions <= t only (decoder-only, Power/Nanda/Lee)
            rows = torch.arange(T, device=h.device)[queries]
            future = torch.arange(T, device=h.device)[None, :] > rows[:, None]  # (Q, T)
            scores = scores.masked_fill(future, float("-inf"))
        att = layer.drop(scores.softmax(-1))
        out = torch.einsum("nhqs,nshe->nqhe", att, v).flatten(-2)  # (N, Q, d)
        return layer.attn_out(out)

    def feed_forward(self, layer: Block, h: torch.Tensor) -> torch.Tensor:
        return layer.ff2(layer.drop(self.act(layer.ff1(h))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, T) token ids → logits (N, C) at the last position."""
        h = self.tok_emb(x)  # (N, T, d)
        T, d = h.shape[-2:]
        if self.pos_emb is not None:
            h = h + self.pos_emb.weight
        elif self.cfg.positional.value == "sinusoidal":
            h = h + sinusoidal(T, d, h.dtype, h.device)
        norm = self.cfg.norm.value
        for i, layer in enumerate(self.layers):
            # only the last position is read out: the final layer computes its queries, FF and norms there alone
            q = slice(-1, None) if i == len(self.layers) - 1 else slice(None)
            if norm == "post":  # x = LN(x + Drop(MHA(x))); x = LN(x + Drop(FF(x)))
                h = layer.ln1(h[:, q] + layer.drop(self.attention(layer, h, q)))
                h = layer.ln2(h + layer.drop(self.feed_forward(layer, h)))
            elif norm == "pre":  # x = x + MHA(LN(x)); x = x + FF(LN(x))
                h = h[:, q] + layer.drop(self.attention(layer, layer.ln1(h), q))
                h = h + layer.drop(self.feed_forward(layer, layer.ln2(h)))
            elif norm == "pre_normed_residual":  # Lee et al.'s Block: x = LN(x); x = x + MHA(x); x = x + FF(LN(x))
                h = layer.ln1(h)
                h = h[:, q] + layer.drop(self.attention(layer, h, q))
                h = h + layer.drop(self.feed_forward(layer, layer.ln2(h)))
            else:  # none (Nanda et al.): x = x + MHA(x); x = x + FF(x)
                h = h[:, q] + layer.drop(self.attention(layer, h, q))
                h = h + layer.drop(self.feed_forward(layer, h))
        last = h[:, -1]  # (N, d)
        if self.ln_f is not None:
            last = self.ln_f(last)
        return self.unembed(last)


# ----------------------------------------------------------------------------------------------- per-member init
def stream_names(cfg, n_layers: int):
    """linear parameter name → its init stream: the batched path's names (models/transformer.py), which draws
    (fan_in, fan_out) tensors, so that both paths give seed k the same weights."""
    names = {}
    for i in range(n_layers):
        for part, stream in (("attn_in", "qkv"), ("attn_out", "o"), ("ff1", "ff1"), ("ff2", "ff2")):
            names[f"layers.{i}.{part}.weight"] = f"l{i}.{stream}"
            names[f"layers.{i}.{part}.bias"] = f"l{i}.{stream}_b"
    names["unembed.weight"], names["unembed.bias"] = "w_out", "w_out_b"
    return names


def member_state(net: TransformerNet, seed: int) -> dict:
    """The parameters of seed `seed`'s member, by name, drawn from its own streams."""
    names = stream_names(net.cfg, len(net.layers))
    state = {}
    for name, p in net.named_parameters():
        dtype = p.dtype
        if name in ("tok_emb.weight", "pos_emb.weight"):
            std = net.cfg.embedding_std
            state[name] = gaussian_init([seed], name.split(".")[0], tuple(p.shape), std, dtype)[0]
        elif name.endswith(".weight") and ("ln" in name.split(".")[-2]):
            state[name] = torch.ones_like(p)
        elif name.endswith(".bias") and ("ln" in name.split(".")[-2]):
            state[name] = torch.zeros_like(p)
        elif name.endswith(".weight"):  # nn.Linear (out, in): drawn as (in, out) like the batched path, transposed
            fan_out, fan_in = p.shape
            state[name] = linear_init([seed], names[name], fan_in, (fan_in, fan_out), dtype=dtype)[0].T.contiguous()
        else:  # a linear bias, fan_in of its weight
            fan_in = net.get_parameter(name[: -len("bias")] + "weight").shape[1]
            state[name] = linear_init([seed], names[name], fan_in, tuple(p.shape), dtype=dtype)[0]
    return state
