"""One member's transformer as a plain nn.Module (batch (N, T) → logits (N, C), read-out at the last position), with
the layouts of the canonical grokking papers:

    Prieto et al. 2025   post-LN, ReLU, every linear map biased, learned or no positions (nn.TransformerEncoderLayer)
    Power et al. 2022    post-LN, causal, sinusoidal positions, no linear biases at all   (openai/grok transformer.py)
    Nanda et al. 2023    no LayerNorm, learned positions, biases only in the MLP, causal
                         (progress-measures-paper transformers.py)
    Lee et al. 2024      pre-LN + final LN, GELU, causal, learned positions, biased attention/MLP, unbiased read-out
                         (ironjr/grokfast main.py; its attention sublayer adds to LN(x): norm=pre_normed_residual)

The forward computes only what the read-out needs, the same logits and gradients to float rounding (tested against
every position computed straight, tests/test_transformer_paths.py): layer 0 reads embeddings, one of T·V vectors per
position, so it projects that T·V-row table and gathers each sample's rows (Nanda et al.'s p = 113: 342 rows instead of
11,490); the final layer computes its queries, feed-forward and norms at the last position alone; attention over the
2-40 tokens is products summed over the head dim, not N·nh tiny matmuls. One step of nanda2023/modadd: 3.8 GFLOP
instead of 7.1, ~2x the member-steps/s on one CPU thread (scripts/bench_transformer.py, docs/benchmarks.md).

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

from grokbench.config import plain
from grokbench.models.init import gaussian_init, linear_init

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

    def embedding_table(self, T: int) -> torch.Tensor:
        """(T·V, d): the residual stream before layer 0 for every (position t, token v), row t·V + v."""
        table = self.tok_emb.weight.expand(T, -1, -1)  # (T, V, d)
        if self.pos_emb is not None:
            table = table + self.pos_emb.weight[:, None]
        elif self.cfg.positional.value == "sinusoidal":
            table = table + sinusoidal(T, table.shape[-1], table.dtype, table.device)[:, None]
        return table.flatten(0, 1)

    @staticmethod
    def at(h: torch.Tensor, rows, positions: slice) -> torch.Tensor:
        """The stream at `positions` (N, Q, d): h (N, T, d) itself, or with rows (N, T) the table h (M, d) gathered."""
        return h[:, positions] if rows is None else F.embedding(rows[:, positions], h)

    def attention(self, layer: Block, a: torch.Tensor, queries: slice, rows=None) -> torch.Tensor:
        """The attention output at the positions `queries` (N, Q, d); keys and values from every position.
        a: the attention input (N, T, d), or with rows (N, T) a table (M, d) of input vectors, sample n's at position
        t being row rows[n, t]: layer 0 reads embeddings, one of T·V vectors, so it projects the table and gathers (for
        p = 113 at 30 % train fraction T·V = 342 rows instead of N·T = 11,490; same numbers to float rounding)."""
        d, nh = a.shape[-1], self.cfg.n_heads
        w, b = layer.attn_in.weight, layer.attn_in.bias  # (3d, d): the rows of q, then k, then v

        def project(part: int, positions: slice) -> torch.Tensor:  # (N, Q or T, nh, dh)
            w_part, b_part = w[part * d : (part + 1) * d], None if b is None else b[part * d : (part + 1) * d]
            if rows is None:
                out = F.linear(a[:, positions], w_part, b_part)  # queries only where they are read
            else:
                out = F.embedding(rows[:, positions], F.linear(a, w_part, b_part))
            return out.unflatten(-1, (nh, d // nh))

        q, k, v = project(0, queries), project(1, slice(None)), project(2, slice(None))
        # T is 2-40 tokens: products summed over dh, in the linear maps' (…, nh, dh) layout, instead of N·nh matmuls
        # of (Q, dh) @ (dh, T) (2x faster forward + backward on CPU for Nanda et al.'s model)
        scores = (q[:, :, None] * k[:, None]).sum(-1) / math.sqrt(d // nh)  # (N, Q, T, nh)
        if self.cfg.causal:  # ALGO LOGIC: position t sees positions <= t only (decoder-only, Power/Nanda/Lee)
            T = k.shape[1]
            seen = torch.arange(T, device=a.device)[queries]
            future = torch.arange(T, device=a.device)[None, :] > seen[:, None]  # (Q, T)
            scores = scores.masked_fill(future[..., None], float("-inf"))
        att = layer.drop(scores.softmax(2))  # over the keys
        out = (att[..., None] * v[:, None]).sum(2)  # (N, Q, nh, dh)
        return layer.attn_out(out.flatten(-2))  # (N, Q, d)

    def feed_forward(self, layer: Block, h: torch.Tensor) -> torch.Tensor:
        return layer.ff2(layer.drop(self.act(layer.ff1(h))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, T) token ids → logits (N, C) at the last position."""
        T, V = x.shape[-1], self.tok_emb.num_embeddings
        # layer 0's stream is a table of T·V rows and each sample's rows in it (see attention); later layers' is
        # (N, T, d)
        h, rows = self.embedding_table(T), x + V * torch.arange(T, device=x.device)
        norm = self.cfg.norm.value
        for i, layer in enumerate(self.layers):
            # only the last position is read out: the final layer computes its queries, FF and norms there alone
            q = slice(-1, None) if i == len(self.layers) - 1 else slice(None)
            if norm == "post":  # x = LN(x + Drop(MHA(x))); x = LN(x + Drop(FF(x)))
                h = layer.ln1(self.at(h, rows, q) + layer.drop(self.attention(layer, h, q, rows)))
                h = layer.ln2(h + layer.drop(self.feed_forward(layer, h)))
            elif norm == "pre":  # x = x + MHA(LN(x)); x = x + FF(LN(x))
                h = self.at(h, rows, q) + layer.drop(self.attention(layer, layer.ln1(h), q, rows))
                h = h + layer.drop(self.feed_forward(layer, layer.ln2(h)))
            elif norm == "pre_normed_residual":  # Lee et al.'s Block: x = LN(x); x = x + MHA(x); x = x + FF(LN(x))
                h = layer.ln1(h)
                h = self.at(h, rows, q) + layer.drop(self.attention(layer, h, q, rows))
                h = h + layer.drop(self.feed_forward(layer, layer.ln2(h)))
            else:  # none (Nanda et al.): x = x + MHA(x); x = x + FF(x)
                h = self.at(h, rows, q) + layer.drop(self.attention(layer, h, q, rows))
                h = h + layer.drop(self.feed_forward(layer, h))
            rows = None  # h is (N, Q, d) from here on
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
