"""Every population path of the transformer against the plain nn.Module: member k of a population computes what
TransformerNet with member k's weights computes (forward and gradients), and those weights are seed k's."""
import math

import pytest
import torch
import torch.nn.functional as F

from grokbench.compose import compose_config
from grokbench.models import build_model
from grokbench.models.transformer_net import TransformerNet, member_state, sinusoidal
from grokbench.tasks import build_task

SMALL = ["task.p=11", "model=transformer", "model.d_model=16", "model.n_heads=2", "model.d_ff=32", "model.dropout=0",
         "model.n_layers=2", "device=cpu"]
LAYOUTS = {  # the papers' layouts (models/transformer_net.py)
    "prieto": ["task.encoding=equals_token", "model.embedding_std=0.5"],
    "power": ["task.encoding=op_equals", "model.causal=true", "model.positional=sinusoidal", "model.attn_bias=false",
              "model.mlp_bias=false", "model.unembed_bias=false"],
    "nanda": ["task.encoding=equals_token", "model.embedding_std=0.0884", "model.norm=none", "model.causal=true",
              "model.attn_bias=false", "model.unembed_bias=false"],
    "lee": ["task.encoding=op_equals", "model.norm=pre_normed_residual", "model.activation=gelu", "model.causal=true",
            "model.unembed_bias=false"],
    "pre_no_positions": ["model.norm=pre", "model.positional=none"],
    "prieto_no_positions": ["model.positional=none"],
}
SEEDS = [0, 3]
# the hand-written path's names and (R, fan_in, fan_out) layout → the plain module's names, (out, in) layout
BATCHED_NAMES = {"tok_emb": "tok_emb.weight", "pos_emb": "pos_emb.weight", "w_out": "unembed.weight",
                 "b_out": "unembed.bias"}
for i in range(2):
    for old, new in (("w_qkv", "attn_in.weight"), ("b_qkv", "attn_in.bias"), ("w_o", "attn_out.weight"),
                     ("b_o", "attn_out.bias"), ("w_1", "ff1.weight"), ("b_1", "ff1.bias"), ("w_2", "ff2.weight"),
                     ("b_2", "ff2.bias"), ("ln1_g", "ln1.weight"), ("ln1_b", "ln1.bias"), ("ln2_g", "ln2.weight"),
                     ("ln2_b", "ln2.bias")):
        BATCHED_NAMES[f"layers.{i}.{old}"] = f"layers.{i}.{new}"


def plain_name_and_grad(name, grad):
    """A population parameter's name and member gradient in the plain module's terms."""
    if name.startswith("net."):  # vmap path: the plain module's own names
        return name[len("net."):], grad
    plain = BATCHED_NAMES[name]
    embedding = plain in ("tok_emb.weight", "pos_emb.weight")
    return plain, grad.T if grad.dim() == 2 and not embedding else grad


CASES = [(layout, "vmap") for layout in LAYOUTS] + [("prieto", "batched"), ("prieto", "auto"),
                                                    ("prieto_no_positions", "batched"), ("pre_no_positions", "auto")]


@pytest.mark.parametrize("layout,impl", CASES, ids=[f"{l}-{i}" for l, i in CASES])
def test_member_equals_plain_module(layout, impl):
    cfg = compose_config([*SMALL, *LAYOUTS[layout], f"model.impl={impl}", f"seeds={SEEDS}"])
    data = build_task(cfg.task, SEEDS, "cpu")
    pop = build_model(cfg.model, data, SEEDS, "cpu")
    x, y = data.x_train, data.y_train
    logits = pop(x)  # (R, N, C)
    F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").backward()
    grads = {name: p.grad for name, p in pop.named_parameters()}
    for k, seed in enumerate(SEEDS):
        net = TransformerNet(cfg.model, data.vocab_size, data.seq_len, data.n_classes)
        net.load_state_dict(member_state(net, seed))  # seed k's weights from its own streams
        ref = net(x[k])
        torch.testing.assert_close(logits[k], ref, rtol=1e-5, atol=1e-5)
        F.cross_entropy(ref, y[k], reduction="sum").backward()
        ref_grads = dict(net.named_parameters())
        for name, g in grads.items():
            plain, member_grad = plain_name_and_grad(name, g[k])
            torch.testing.assert_close(member_grad, ref_grads[plain].grad, rtol=1e-4, atol=1e-5)
    assert not torch.equal(logits[0], logits[1])  # the members really differ


def reference_forward(net, x):
    """TransformerNet's math written straight: every layer at every position, q/k/v projected per sample, einsum
    attention, the last position read out (the module computes only what that read-out needs)."""
    cfg, (N, T) = net.cfg, x.shape
    nh, dh = cfg.n_heads, cfg.d_model // cfg.n_heads
    h = net.tok_emb(x)  # (N, T, d)
    if net.pos_emb is not None:
        h = h + net.pos_emb.weight
    elif cfg.positional.value == "sinusoidal":
        h = h + sinusoidal(T, cfg.d_model, h.dtype, h.device)
    for layer in net.layers:
        def attn(a):
            q, k, v = layer.attn_in(a).view(N, T, 3, nh, dh).unbind(2)
            scores = torch.einsum("nqhe,nshe->nhqs", q, k) / math.sqrt(dh)
            if cfg.causal:
                scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            return layer.attn_out(torch.einsum("nhqs,nshe->nqhe", scores.softmax(-1), v).flatten(-2))

        def ff(a):
            return layer.ff2(net.act(layer.ff1(a)))

        if cfg.norm.value == "post":
            h = layer.ln1(h + attn(h))
            h = layer.ln2(h + ff(h))
        elif cfg.norm.value == "pre":
            h = h + attn(layer.ln1(h))
            h = h + ff(layer.ln2(h))
        elif cfg.norm.value == "pre_normed_residual":
            h = layer.ln1(h)
            h = h + attn(h)
            h = h + ff(layer.ln2(h))
        else:
            h = h + attn(h)
            h = h + ff(h)
    last = h[:, -1] if net.ln_f is None else net.ln_f(h[:, -1])
    return net.unembed(last)


@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_plain_module_equals_every_position_computed(layout, n_layers):
    """The module's shortcuts (layer 0 projects its T·V-row embedding table and gathers; the final layer computes the
    read-out position alone; attention as sums over dh) give the logits and gradients of the straight computation,
    to float rounding."""
    cfg = compose_config([*SMALL, *LAYOUTS[layout], f"model.n_layers={n_layers}"])
    data = build_task(cfg.task, [0], "cpu")
    x, y = data.x_train[0], data.y_train[0]
    nets = []
    for forward in (TransformerNet.forward, reference_forward):
        net = TransformerNet(cfg.model, data.vocab_size, data.seq_len, data.n_classes)
        net.load_state_dict(member_state(net, 0))
        logits = forward(net, x)
        F.cross_entropy(logits, y, reduction="sum").backward()
        nets.append((net, logits))
    (fast, fast_logits), (ref, ref_logits) = nets
    torch.testing.assert_close(fast_logits, ref_logits, rtol=1e-5, atol=1e-5)
    for (name, p), q in zip(fast.named_parameters(), ref.parameters()):
        assert q.grad is not None and q.grad.abs().sum() > 0, name  # every parameter is trained
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_auto_picks_the_batched_path_where_it_has_the_layout():
    data = build_task(compose_config(SMALL).task, [0], "cpu")
    prieto = build_model(compose_config([*SMALL, "model.dropout=0.1"]).model, data, [0], "cpu")
    prieto_no_dropout = build_model(compose_config(SMALL).model, data, [0], "cpu")
    power = build_model(compose_config([*SMALL, *LAYOUTS["power"]]).model, data, [0], "cpu")
    assert [type(m).__name__ for m in (prieto, prieto_no_dropout, power)] == ["Transformer", "Transformer",
                                                                             "VmapTransformer"]


def test_causal_mask_hides_later_tokens():
    """With causal attention the read-out at "=" is the last position, which sees every token; an earlier position
    would not see later ones: changing b leaves position 0's output alone."""
    cfg = compose_config([*SMALL, *LAYOUTS["power"], "model.n_layers=1"])
    net = TransformerNet(cfg.model, 13, 4, 11)
    net.load_state_dict(member_state(net, 0))
    h = net.tok_emb(torch.tensor([[1, 12, 2, 11], [1, 12, 5, 11]]))
    layer = net.layers[0]
    out = net.attention(layer, h, slice(None))
    torch.testing.assert_close(out[0, :2], out[1, :2])  # positions 0, 1 do not see b
    assert not torch.allclose(out[0, 2:], out[1, 2:])
