"""One training step of Nanda et al.'s transformer (nanda2023/modadd: 1 layer, no LayerNorm, d_model 128, 4 heads,
d_mlp 512, p = 113, [a, b, =], full batch of 3,830) on one CPU thread, timed side by side in one process:

- after: grokbench's step as `grokbench run` takes it (grokbench/step.py on models/transformer_net.py);
- before: the same population, optimizer and step, the model's forward as it was before the final layer's queries
  were trimmed, layer 0 projected its embedding table and attention left einsum (`BeforeNet` below, kept only here);
- plain: a straightforward single-member nn.Module (embed, attention, MLP, unembed at every position, read-out at the
  last, as the paper's code computes it) + torch.optim.AdamW, from member 0's initial weights;
- mm: torch.mm of the MLP's shape (N, 128) @ (128, 512), the machine's single-core float32 matmul rate.

Contenders alternate in timed blocks (warm-up discarded, median of --repeats). Each block is timed by the wall clock
and by the thread's CPU time: on a shared, loaded machine the wall clock counts the time other processes hold the
core, the CPU time does not (it still sees their cache traffic). FLOPs are torch's FlopCounterMode count of one step
(every matmul, forward and backward). Before the timing the logits of the three models are compared on the same
weights.

    python scripts/bench_transformer.py [--members 1,4] [--steps 5] [--repeats 5] [OVERRIDES]
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from grokbench.bench import matmul_flops
from grokbench.compose import compose_config
from grokbench.models.transformer_net import TransformerNet, member_state
from grokbench.population import build_population, members
from grokbench.step import train_step

CONFIG = ["experiment=nanda2023/modadd", "device=cpu"]


# ------------------------------------------------------------------------------------------- before: the old forward
class BeforeNet(TransformerNet):
    """TransformerNet's forward before this benchmark's changes: every layer reads (N, T, d), q/k/v projected at
    every position, attention by einsum (N·nh matmuls of (Q, dh) @ (dh, T))."""

    def attention(self, layer, h, queries):
        N, T, d = h.shape
        nh = self.cfg.n_heads
        q, k, v = layer.attn_in(h).view(N, T, 3, nh, d // nh).unbind(2)  # (N, T, nh, dh) each
        q = q[:, queries]
        scores = torch.einsum("nqhe,nshe->nhqs", q, k) / math.sqrt(d // nh)  # (N, nh, Q, T)
        if self.cfg.causal:
            rows = torch.arange(T, device=h.device)[queries]
            future = torch.arange(T, device=h.device)[None, :] > rows[:, None]  # (Q, T)
            scores = scores.masked_fill(future, float("-inf"))
        att = layer.drop(scores.softmax(-1))
        out = torch.einsum("nhqs,nshe->nqhe", att, v).flatten(-2)  # (N, Q, d)
        return layer.attn_out(out)

    def forward(self, x):
        h = self.tok_emb(x)  # (N, T, d)
        if self.pos_emb is not None:
            h = h + self.pos_emb.weight
        assert self.cfg.norm.value == "none" and self.cfg.positional.value == "learned", "Nanda et al.'s layout only"
        for i, layer in enumerate(self.layers):
            q = slice(-1, None) if i == len(self.layers) - 1 else slice(None)
            h = h[:, q] + layer.drop(self.attention(layer, h, q))
            h = h + layer.drop(self.feed_forward(layer, h))
        return self.unembed(h[:, -1])


# ------------------------------------------------------------------------------------ plain: one member, every position
class PlainNanda(nn.Module):
    """Nanda et al.'s 1-layer transformer, written straight: no LayerNorm, learned positions, causal attention, biases
    in the MLP only; every position computed, the last one read out."""

    def __init__(self, net: TransformerNet):
        super().__init__()
        d, layer = net.cfg.d_model, net.layers[0]
        self.n_heads = net.cfg.n_heads
        self.W_E = nn.Parameter(net.tok_emb.weight.detach().clone())  # (V, d)
        self.W_pos = nn.Parameter(net.pos_emb.weight.detach().clone())  # (T, d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.mlp_in, self.mlp_out = nn.Linear(d, net.cfg.d_ff), nn.Linear(net.cfg.d_ff, d)
        self.unembed = nn.Linear(d, net.unembed.weight.shape[0], bias=False)
        with torch.no_grad():
            for mine, theirs in ((self.qkv, layer.attn_in), (self.o, layer.attn_out), (self.mlp_in, layer.ff1),
                                 (self.mlp_out, layer.ff2), (self.unembed, net.unembed)):
                mine.weight.copy_(theirs.weight)
                if mine.bias is not None:
                    mine.bias.copy_(theirs.bias)

    def forward(self, x):  # x (N, T) → logits (N, C)
        N, T = x.shape
        h = self.W_E[x] + self.W_pos  # (N, T, d)
        q, k, v = self.qkv(h).view(N, T, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)  # (N, nh, T, dh) each
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (N, nh, T, T)
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(N, T, -1)  # (N, T, d)
        h = h + self.o(z)
        h = h + self.mlp_out(F.relu(self.mlp_in(h)))
        return self.unembed(h[:, -1])


# ----------------------------------------------------------------------------------------------------------- setup
def population_step(cfg, before: bool):
    pop = build_population(cfg, members(cfg), torch.device("cpu"))
    if before:
        pop.model.skeleton[0].__class__ = BeforeNet  # same weights, optimizer and step; only the forward differs
    x, y, count = pop.data.x_train, pop.data.y_train, {"step": 0}

    def step():
        train_step(pop.model, pop.opt, cfg.loss, x, y, pop.active, pop.diverged_step, count["step"])
        count["step"] += 1

    return pop, step


def plain_step(cfg, pop):
    net = TransformerNet(cfg.model, pop.data.vocab_size, pop.data.seq_len, pop.data.n_classes)
    net.load_state_dict(member_state(net, int(members(cfg)["seed"][0])))
    model, o = PlainNanda(net), cfg.optimizer
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps,
                            weight_decay=o.weight_decay)
    x, y = pop.data.x_train[0], pop.data.y_train[0]

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return model, x, step


def timed(fn, steps: int):
    """(wall, thread CPU) seconds per call over `steps` calls."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - wall) / steps, (time.thread_time() - cpu) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", default="1", help="comma-separated population sizes R (seeds=R)")
    ap.add_argument("--steps", type=int, default=5, help="steps per timed block")
    ap.add_argument("--repeats", type=int, default=5, help="timed blocks per contender (median reported)")
    ap.add_argument("overrides", nargs="*", help="extra config overrides")
    args = ap.parse_args()
    torch.set_num_threads(1)  # what train() trains with on CPU (grokbench/threads.py)
    print(f"config: {' '.join(CONFIG + args.overrides)}; torch {torch.__version__}, 1 thread")
    for R in map(int, args.members.split(",")):
        cfg = compose_config([*CONFIG, *args.overrides, f"seeds={R}"])
        after, after_step = population_step(cfg, before=False)
        before, before_step = population_step(cfg, before=True)
        plain, x0, plain_fn = plain_step(cfg, after)
        with torch.no_grad():  # the same weights: the same logits, to float rounding
            z_after, z_before, z_plain = after.model(after.data.x_train), before.model(after.data.x_train), plain(x0)
        print(f"R={R}, N={x0.shape[0]}: max |logits after - before| {(z_after - z_before).abs().max():.2e}, "
              f"|after - plain| (member 0) {(z_after[0] - z_plain).abs().max():.2e}, logits up to "
              f"{z_after.abs().max():.2f}")
        a, b = torch.randn(x0.shape[0], cfg.model.d_model), torch.randn(cfg.model.d_model, cfg.model.d_ff)
        runners = {"before": before_step, "after": after_step, "plain": plain_fn, "mm": lambda: torch.mm(a, b)}
        flops = {name: matmul_flops(fn) for name, fn in runners.items()}  # also the warm-up step
        seconds = {name: [] for name in runners}
        for i in range(args.repeats):
            order = list(runners.items()) if i % 2 == 0 else list(runners.items())[::-1]
            for name, fn in order:
                seconds[name].append(timed(fn, args.steps if name != "mm" else 20))
        wall = {n: statistics.median(w for w, _ in v) for n, v in seconds.items()}
        cpu = {n: statistics.median(c for _, c in v) for n, v in seconds.items()}
        peak_wall, peak_cpu = flops["mm"] / wall["mm"] / 1e9, flops["mm"] / cpu["mm"] / 1e9
        print(f"torch.mm {tuple(a.shape)} @ {tuple(b.shape)}: {peak_wall:.1f} GFLOP/s wall clock, "
              f"{peak_cpu:.1f} GFLOP/s CPU time (the peak below)")
        print(f"{'':>8} {'members':>7} {'GFLOP/member-step':>17} | {'member-steps/s':>14} {'GFLOP/s':>7} "
              f"{'of peak':>7} | {'CPU-time m-steps/s':>18} {'GFLOP/s':>7} {'of peak':>7}")
        for name in ("before", "after", "plain"):
            n = 1 if name == "plain" else R
            gf = flops[name] / n / 1e9
            print(f"{name:>8} {n:>7} {gf:>17.2f} | {n / wall[name]:>14.2f} {gf * n / wall[name]:>7.1f} "
                  f"{gf * n / wall[name] / peak_wall:>7.0%} | {n / cpu[name]:>18.2f} {gf * n / cpu[name]:>7.1f} "
                  f"{gf * n / cpu[name] / peak_cpu:>7.0%}")
        print(f"after ÷ before: {wall['before'] / wall['after']:.2f}x wall clock, {cpu['before'] / cpu['after']:.2f}x "
              f"CPU time; after (member-steps/s) ÷ plain (steps/s): {R * wall['plain'] / wall['after']:.2f}x wall "
              f"clock, {R * cpu['plain'] / cpu['after']:.2f}x CPU time", flush=True)


if __name__ == "__main__":
    main()
