"""A population of MLPs on token inputs: member r computes
    h = act(onehot(x_1) ⊕ … ⊕ onehot(x_T) @ W_in[r] (+ b)),  then depth-1 more hidden layers,  logits = h @ W_out[r].
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from grokbench.models.init import linear_init
from grokbench.schema import plain

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}


class MLP(nn.Module):
    def __init__(self, cfg, data, seeds):
        super().__init__()
        self.cfg = cfg = plain(cfg)
        self.vocab_size, self.seq_len = data.vocab_size, data.seq_len
        self.operand_positions = data.operand_positions
        self.act = ACTIVATIONS[cfg.activation.value]
        dtype, width = cfg.dtype.torch, cfg.width  # init_scale: applied to every model in population.scale_init
        n_in = self.seq_len * self.vocab_size  # the concatenated one-hot input width, e.g. 2p

        def weight(name, fan_in, fan_out):
            return nn.Parameter(linear_init(seeds, name, fan_in, (fan_in, fan_out), dtype=dtype))

        def bias(name, fan_in, fan_out):
            return nn.Parameter(linear_init(seeds, name, fan_in, (1, fan_out), dtype=dtype)) if cfg.bias else None

        # (R, fan_in, fan_out) so that x @ W needs no transpose in the batched matmul
        self.w_in, self.b_in = weight("w_in", n_in, width), bias("b_in", n_in, width)
        self.hidden = nn.ParameterList(weight(f"w_h{i}", width, width) for i in range(cfg.depth - 1))
        self.hidden_bias = nn.ParameterList(
            bias(f"b_h{i}", width, width) for i in range(cfg.depth - 1) if cfg.bias
        )
        self.w_out, self.b_out = weight("w_out", width, data.n_classes), bias("b_out", width, data.n_classes)
        # token t at position i is row i·V + t of W_in: the flat index of its one-hot entry
        self.register_buffer("offsets", torch.arange(self.seq_len) * self.vocab_size, persistent=False)
        self.cached = None  # (x, onehot(x)) of the last training input, reused while the same tensor comes back

    def onehot(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, N, T) token ids → (R, N, T·V) concatenated one-hots. A full-batch run feeds the same train tensor
        every step, so with model.onehot_cache it is built once (R·N·T·V floats of memory) instead of every step."""
        if self.cached is not None and self.cached[0] is x:
            return self.cached[1]
        idx = x + self.offsets  # (R, N, T)
        onehot = torch.zeros(*idx.shape[:2], self.w_in.shape[1], dtype=self.w_in.dtype, device=idx.device)
        onehot.scatter_(2, idx, 1.0)  # (R, N, T·V)
        if self.cfg.onehot_cache and self.training:
            self.cached = (x, onehot)
        return onehot

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, N, T) token ids → (R, N, H) pre-activations."""
        mode = self.cfg.first_layer.value
        if mode == "gather" or (mode == "auto" and x.device.type == "cpu"):
            # one embedding lookup over all members' rows: member r's token row j is row r·T·V + j of the (R·T·V, H)
            # stack, so each member's rows (and in backward its gradient sums, in sample order) stay its own
            R, N, T = x.shape
            n_in, width = self.w_in.shape[1:]
            idx = x + self.offsets + (torch.arange(R, device=x.device) * n_in)[:, None, None]
            rows = torch.index_select(self.w_in.reshape(R * n_in, width), 0, idx.reshape(-1))  # (R·N·T, H)
            h = rows.view(R, N, T, width).sum(2)  # (R, N, H): the sum of T rows, as the one-hot product's
        else:
            h = torch.bmm(self.onehot(x), self.w_in)  # (R, N, H)
        return h if self.b_in is None else h + self.b_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (R, N, T) → logits (R, N, C)."""
        h = self.act(self.first_layer(x))
        for i, w in enumerate(self.hidden):
            h = torch.bmm(h, w)
            h = self.act(h if not self.cfg.bias else h + self.hidden_bias[i])
        out = torch.bmm(h, self.w_out)
        return out if self.b_out is None else out + self.b_out

    def operand_embeddings(self):
        """The input layer's rows of the operands a, b over Z_p: [(R, p, H)] × 2 (metrics/fourier.py).
        Position i's block: rows i·V … i·V + p of W_in (V = vocab, p = classes; "=" is token p); a and b sit at
        positions 0 and 1, or 0 and 2 in [a, op, b, =]."""
        V, p = self.vocab_size, self.w_out.shape[-1]
        return [self.w_in[:, i * V : i * V + p] for i in self.operand_positions]
