"""A population of transformers on token inputs, read out at the last position: two paths to the same numbers.

`VmapTransformer` (every layout option, dropout 0): one plain nn.Module (models/transformer_net.py) whose parameters
are stacked over members (R, …) and run with torch.func (functional_call under vmap over the member dim).
`Transformer`, the hand-written batched path below: Prieto et al.'s layout only (post-LN, ReLU, biases everywhere,
learned or no positions, no causal mask). It stays for two reasons: dropout > 0 (vmap draws dropout masks from one
global stream, so member k would not equal a standalone run of seed k; this path draws them from each member's own
generator; config validation refuses the other layouts with dropout > 0), and speed (on CPU the vmap path ran at
0.67-0.82x its member-steps/s for R = 1-64, docs/benchmarks.md), so model.impl=auto uses it wherever it has the layout.

The hand-written path:

Member r, per layer (torch.nn.TransformerEncoderLayer's defaults, the layer Prieto et al. 2025 use: post-LN, ReLU
feed-forward, dropout after attention weights, attention output, FF activation and FF output):
    x = LN(x + Drop(MHA(x)));  x = LN(x + Drop(W2 Drop(relu(W1 x))))
Every weight has a leading member dim R and every op is a batched einsum, so R members are one model. No causal mask
(an encoder); the last token (b, or "=" with task.encoding=equals_token) carries the read-out, so the final layer
computes only that position, and layer 0 projects the table of its T·V possible inputs instead of every sample (the
logits are the same to float rounding; the equality test covers it).
Init: nn.Linear's default U(±1/√fan_in) for every linear map and bias, N(0, 1) embeddings (nn.Embedding), LN 1/0;
torch's MultiheadAttention would use xavier for q, k, v and zero attention biases instead — a small difference.
With equal weights and dropout off, a member equals nn.TransformerEncoderLayer exactly (tested).
Dropout masks: models/member_dropout.py (member i draws exactly the masks a standalone run of seed i draws).
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, vmap

from grokbench.models.init import gaussian_init, linear_init
from grokbench.models.member_dropout import MemberDropout, adopt_legacy_state
from grokbench.models.transformer_net import TransformerNet, member_state


class Transformer(nn.Module):
    def __init__(self, cfg, data, seeds):
        super().__init__()
        self.cfg, self.seeds = cfg, list(seeds)
        dtype = cfg.dtype.torch
        d, ff, V, T = cfg.d_model, cfg.d_ff, data.vocab_size, data.seq_len

        def param(tensor):
            return nn.Parameter(tensor)

        def linear(name, fan_in, fan_out):  # nn.Linear's default init, weight (R, fan_in, fan_out), bias (R, fan_out)
            return (param(linear_init(seeds, name, fan_in, (fan_in, fan_out), dtype)),
                    param(linear_init(seeds, name + "_b", fan_in, (fan_out,), dtype)))

        self.tok_emb = param(gaussian_init(seeds, "tok_emb", (V, d), cfg.embedding_std, dtype))  # (R, V, d)
        # positional=none (Prieto et al.'s code, tokens [a, b]): the read-out token b is told apart by its own query
        learned = cfg.positional.value == "learned"
        self.pos_emb = param(gaussian_init(seeds, "pos_emb", (T, d), cfg.embedding_std, dtype)) if learned else None
        self.layers = nn.ModuleList()
        for i in range(cfg.n_layers):
            layer = nn.Module()
            layer.w_qkv, layer.b_qkv = linear(f"l{i}.qkv", d, 3 * d)
            layer.w_o, layer.b_o = linear(f"l{i}.o", d, d)
            layer.w_1, layer.b_1 = linear(f"l{i}.ff1", d, ff)
            layer.w_2, layer.b_2 = linear(f"l{i}.ff2", ff, d)
            layer.ln1_g, layer.ln1_b = param(torch.ones(len(seeds), d, dtype=dtype)), param(torch.zeros(len(seeds), d, dtype=dtype))
            layer.ln2_g, layer.ln2_b = param(torch.ones(len(seeds), d, dtype=dtype)), param(torch.zeros(len(seeds), d, dtype=dtype))
            self.layers.append(layer)
        self.w_out, self.b_out = linear("w_out", d, data.n_classes)
        self.drop = MemberDropout(seeds, cfg.dropout)  # one module: one mask stream per member
        adopt_legacy_state(self, "drop")

    # ------------------------------------------------------------------------------------------ forward
    @staticmethod
    def layer_norm(x, g, b):  # x (R, N, T, d); g, b (R, d)
        return F.layer_norm(x, x.shape[-1:], eps=1e-5) * g[:, None, None] + b[:, None, None]

    def attention(self, layer, a, queries: slice, rows=None):
        """Self-attention output at the positions `queries` (R, N, Q, d); keys and values from every position.
        a: the attention input (R, N, T, d), or with rows (R, N, T) a table (R, M, d) of input vectors, sample n's at
        position t being row rows[r, n, t] (layer 0 projects its T·V-row embedding table and gathers, as
        models/transformer_net.py does)."""
        d, h = a.shape[-1], self.cfg.n_heads
        members = torch.arange(a.shape[0], device=a.device)[:, None, None]

        def project(part: int, positions: slice) -> torch.Tensor:  # (R, N, Q or T, h, dh)
            w, b = layer.w_qkv[..., part * d : (part + 1) * d], layer.b_qkv[:, part * d : (part + 1) * d]
            if rows is None:  # queries only where they are read
                out = torch.einsum("rntd,rde->rnte", a[:, :, positions], w) + b[:, None, None]
            else:
                out = (torch.einsum("rmd,rde->rme", a, w) + b[:, None])[members, rows[:, :, positions]]
            return out.unflatten(-1, (h, d // h))

        q, k, v = project(0, queries), project(1, slice(None)), project(2, slice(None))
        # products summed over dh, not R·N·h tiny matmuls (models/transformer_net.py)
        scores = (q[:, :, :, None] * k[:, :, None]).sum(-1) / math.sqrt(d // h)  # (R, N, Q, T, h)
        att = self.drop(scores.permute(0, 1, 4, 2, 3).softmax(-1))  # (R, N, h, Q, T): the dropout masks' layout
        out = (att.permute(0, 1, 3, 4, 2)[..., None] * v[:, :, None]).sum(3).flatten(-2)  # (R, N, Q, d)
        return torch.einsum("rnqd,rde->rnqe", out, layer.w_o) + layer.b_o[:, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, N, T) token ids → logits (R, N, C)."""
        R, N, T = x.shape
        members = torch.arange(R, device=x.device)[:, None, None]
        V = self.tok_emb.shape[1]
        # layer 0's stream: the table of every (position t, token v) at row t·V + v (R, T·V, d) and each sample's
        # rows in it; later layers' is (R, N, T, d)
        h = self.tok_emb[:, None].expand(R, T, V, -1)
        if self.pos_emb is not None:
            h = h + self.pos_emb[:, :, None]
        h, rows = h.flatten(1, 2), x + V * torch.arange(T, device=x.device)
        for i, layer in enumerate(self.layers):  # post-LN: normalise after each residual sum
            # Only the last position is read out, so the final layer computes its queries, feed-forward and norms
            # there alone: the same logits for about half the final layer's work (its FF dominates the step).
            queries = slice(-1, None) if i == len(self.layers) - 1 else slice(None)
            residual = h[:, :, queries] if rows is None else h[members, rows[:, :, queries]]
            h = residual + self.drop(self.attention(layer, h, queries, rows))
            h = self.layer_norm(h, layer.ln1_g, layer.ln1_b)
            f = self.drop(F.relu(torch.einsum("rntd,rdf->rntf", h, layer.w_1) + layer.b_1[:, None, None]))
            f = torch.einsum("rntf,rfd->rntd", f, layer.w_2) + layer.b_2[:, None, None]
            h = self.layer_norm(h + self.drop(f), layer.ln2_g, layer.ln2_b)
            rows = None  # h is (R, N, Q, d) from here on
        last = h[:, :, -1]  # (R, N, d): read-out at the last position (the only one the final layer kept)
        return torch.einsum("rnd,rdc->rnc", last, self.w_out) + self.b_out[:, None]

    def operand_embeddings(self):
        """[W_E]: the token embedding of 0..p-1 (R, p, d), shared by a and b; "=" left out (metrics/fourier.py)."""
        return [self.tok_emb[:, : self.w_out.shape[-1]]]

class VmapTransformer(nn.Module):
    """R members of TransformerNet as one module: `net` holds the stacked parameters (R, …) under the plain module's
    names (weight_norm.<name> columns read them), and forward runs an unregistered weightless copy of the module
    once per member with torch.func.vmap."""

    def __init__(self, cfg, data, seeds):
        super().__init__()
        dtype = cfg.dtype.torch
        self.net = TransformerNet(cfg, data.vocab_size, data.seq_len, data.n_classes).to(dtype)
        states = [member_state(self.net, s) for s in seeds]  # each from the member's own streams
        for name, _ in list(self.net.named_parameters()):
            module, _, leaf = name.rpartition(".")
            stacked = torch.stack([state[name] for state in states])  # (R, …)
            setattr(self.net.get_submodule(module), leaf, nn.Parameter(stacked))
        # weightless: functional_call supplies every parameter, so the copy holds only shapes
        self.skeleton = (copy.deepcopy(self.net).to("meta"),)  # a tuple: not a submodule, no parameters of its own

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, N, T) token ids → logits (R, N, C); member r runs the plain module with its own weights on x[r]."""
        skeleton = self.skeleton[0]
        params = dict(self.net.named_parameters())

        def one_member(p, xr):
            return functional_call(skeleton, p, (xr,))

        return vmap(one_member)(params, x)

    def operand_embeddings(self):
        """[W_E]: the token embedding of 0..p-1 (R, p, d), shared by a and b; "=" and op left out (metrics/fourier.py)."""
        return [self.net.tok_emb.weight[:, : self.net.unembed.weight.shape[1]]]


def batched_layout(cfg) -> bool:
    """True when the hand-written path computes this layout (Prieto et al.'s: post-LN, ReLU, biases everywhere,
    learned or no positions, no causal mask)."""
    return (cfg.norm.value == "post" and cfg.activation.value == "relu" and not cfg.causal and cfg.attn_bias
            and cfg.mlp_bias and cfg.unembed_bias and cfg.positional.value != "sinusoidal")


def build_transformer(cfg, data, seeds) -> nn.Module:
    """model.impl: batched (hand-written), vmap (torch.func) or auto: batched wherever it has the layout (it is the
    faster of the two on CPU: vmap ran at 0.67-0.82x its member-steps/s, docs/benchmarks.md; and dropout > 0 needs
    it), vmap for every other layout."""
    impl = cfg.impl.value
    if impl == "batched" or (impl == "auto" and batched_layout(cfg)):
        return Transformer(cfg, data, seeds)
    return VmapTransformer(cfg, data, seeds)
