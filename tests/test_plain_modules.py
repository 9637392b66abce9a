"""models/plain.py: member k of a population as a plain nn.Module computes what the population computes for member k,
for every model config, every MLP input mode and every transformer layout the project runs; the plain module holds
ordinary parameters with no member dim.

Tolerances (torch.testing.assert_close): float32 models rtol=1e-5, atol=1e-5 (the plain module multiplies in a
different order: addmm against bmm/einsum, one-hot against a row gather); the float64 two-layer ReLU net
rtol=1e-10, atol=1e-12 (its logits are ~1e-3 after a few steps from a 1e-15 init)."""
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import compose
from grokbench.config import CONFIG_DIR
from grokbench.models.plain import member_from_state, member_module, plain_from_state_dict
from grokbench.population import build_population, members
from grokbench.step import train_step

STEPS = 3  # enough that every weight (LayerNorm gains, batch-norm statistics) has left its init
F32 = {"rtol": 1e-5, "atol": 1e-5}
F64 = {"rtol": 1e-10, "atol": 1e-12}
SMALL_TRANSFORMER = ["model=transformer", "model.d_model=16", "model.n_heads=2", "model.d_ff=32"]
LAYOUTS = {  # the papers' layouts (models/transformer_net.py docstring); 2 layers so a full-width layer runs too
    "prieto_batched_dropout": ["task.encoding=equals_token", "model.n_layers=2", "model.dropout=0.1"],
    "prieto_vmap": ["task.encoding=equals_token", "model.n_layers=2", "model.dropout=0", "model.impl=vmap"],
    "prieto_no_positions": ["model.positional=none", "model.dropout=0.1"],
    "power": ["task.encoding=op_equals", "model.n_layers=2", "model.dropout=0", "model.causal=true",
              "model.positional=sinusoidal", "model.attn_bias=false", "model.mlp_bias=false",
              "model.unembed_bias=false"],
    "nanda": ["task.encoding=equals_token", "model.dropout=0", "model.embedding_std=0.0884", "model.norm=none",
              "model.causal=true", "model.attn_bias=false", "model.unembed_bias=false"],
    "lee": ["task.encoding=op_equals", "model.n_layers=2", "model.dropout=0", "model.norm=pre_normed_residual",
            "model.activation=gelu", "model.causal=true", "model.unembed_bias=false"],
    "pre_ln": ["task.encoding=equals_token", "model.dropout=0", "model.norm=pre"],
}
CASES = {
    # every configs/model/*.yaml as it ships (on the tiny task)
    "mlp": ["model=mlp"],
    "quadratic": ["model=quadratic"],
    "transformer": ["model=transformer", "model.d_model=16", "model.n_heads=2", "model.d_ff=32"],
    # init_std 0.1, not the paper's 1e-15: logits far from 0, so float64 rounding is what the tolerance measures
    "two_layer_relu_fixed_output": ["model=two_layer_relu_fixed_output", "task=xor_clusters", "task.p=20",
                                    "task.n_train=16", "task.n_test=16", "optimizer=sgd", "optimizer.lr=0.1",
                                    "model.init_std=0.1"],
    # the MLP's input modes: token layouts, the gather first layer, biases and depth, other tasks
    "mlp_equals_token_gather": ["task.encoding=equals_token", "model.first_layer=gather"],
    "mlp_op_equals_bias_depth3_gelu": ["task.encoding=op_equals", "model.bias=true", "model.depth=3",
                                       "model.activation=gelu"],
    "mlp_sparse_parity_tanh": ["task=sparse_parity", "task.n_bits=6", "task.samples=64", "model.activation=tanh",
                               "model.bias=true"],
    "mlp_s5_silu_float64": ["task=s5_compose", "task.train_fraction=0.02", "model.activation=silu",
                            "model.dtype=float64"],
    # the quadratic net's options (dropout off and batch norm on its running statistics in eval mode)
    "quadratic_dropout_batch_norm": ["model=quadratic", "model.dropout=0.3", "model.batch_norm=true"],
    **{f"transformer_{name}": [*SMALL_TRANSFORMER, *extra] for name, extra in LAYOUTS.items()},
}


def tiny(overrides) -> list:
    """The tiny run of conftest.TINY, with the keys each task and model has."""
    task = next((o.split("=")[1] for o in overrides if o.startswith("task=")), "modadd")
    model = next((o.split("=")[1] for o in overrides if o.startswith("model=")), "mlp")
    p = ["task.p=11"] if task not in ("s5_compose", "sparse_parity", "xor_clusters") else []
    width = ["model.width=16"] if model != "transformer" else []
    return ["device=cpu", *p, *width, *overrides]


def trained_population(overrides):
    """A population of R=3 members (one with init_scale 2) after a few real training steps, in eval mode."""
    cfg = compose([*tiny(overrides), "seeds=[0,5]", "population.grid.model.init_scale=[1.0,2.0]"], tiny=False)
    table = members(cfg).iloc[:3]
    pop = build_population(cfg, table, "cpu")
    data, model = pop.data, pop.model
    for step in range(STEPS):
        train_step(model, pop.opt, cfg.loss, data.x_train, data.y_train, pop.active, pop.diverged_step, step,
                   data.train_mask)
    return cfg, data, model.eval()


@pytest.mark.parametrize("case", list(CASES))
def test_member_module_equals_the_population(case):
    cfg, data, model = trained_population(CASES[case])
    x = torch.cat([data.x_train, data.x_test], 1)  # (R, N, …): each member's own inputs
    with torch.no_grad():
        logits = model(x)  # (R, N, C)
    tol = F64 if logits.dtype == torch.float64 else F32
    assert len(x) == 3
    for k in range(3):
        plain = member_module(model, k)
        assert not plain.training
        with torch.no_grad():
            torch.testing.assert_close(plain(x[k]), logits[k], **tol)
        state = plain.state_dict()
        assert not any(n.startswith("net.") or "_extra_state" in n for n in state)
        # copied, not views: a population's own tensors are untouched by edits of the plain module
        p = next(plain.parameters())
        assert all(p.data_ptr() != q.data_ptr() for q in model.state_dict().values() if torch.is_tensor(q))
    # the members really differ, so the test would see a wrong k
    assert not torch.allclose(member_module(model, 0)(x[0]), member_module(model, 1)(x[0]))


@pytest.mark.parametrize("case", ["mlp_op_equals_bias_depth3_gelu", "quadratic_dropout_batch_norm",
                                  "transformer_prieto_batched_dropout", "transformer_power"])
def test_member_from_a_state_dict_and_the_checkpoint_config(case):
    """From a saved state_dict and the config as checkpoint.pt holds it (plain YAML, enums as strings)."""
    cfg, data, model = trained_population(CASES[case])
    saved = OmegaConf.create(OmegaConf.to_yaml(cfg, resolve=True))
    state = {k: v.clone() if torch.is_tensor(v) else v for k, v in model.state_dict().items()}
    plain = member_from_state(saved.model, state, 2, vocab_size=data.vocab_size)
    with torch.no_grad():
        torch.testing.assert_close(plain(data.x_test[2]), model(data.x_test)[2], **F32)


@pytest.mark.parametrize("case", ["mlp_sparse_parity_tanh", "quadratic_dropout_batch_norm",
                                  "two_layer_relu_fixed_output", "transformer_lee", "transformer_prieto_no_positions"])
def test_a_plain_state_dict_and_its_config_rebuild_the_module(case):
    """What `grokbench export --to torch` writes (a plain state_dict and a plain config dict) loads back."""
    cfg, data, model = trained_population(CASES[case])
    plain = member_module(model, 1)
    state = {k: v.clone() for k, v in plain.state_dict().items()}
    again = plain_from_state_dict(OmegaConf.to_container(cfg.model, resolve=True), state)
    assert type(again) is type(plain) and not again.training
    with torch.no_grad():
        torch.testing.assert_close(again(data.x_test[1]), plain(data.x_test[1]), rtol=0, atol=0)


def test_plain_modules_hold_ordinary_layers_with_no_member_dim():
    _, _, model = trained_population(CASES["mlp_op_equals_bias_depth3_gelu"])
    shapes = {n: tuple(v.shape) for n, v in member_module(model, 1).state_dict().items()}
    H, C, TV = 16, 11, 4 * 13  # width, classes, 4 tokens over p + 2 ids
    assert shapes == {"offsets": (4,), "fc_in.weight": (H, TV), "fc_in.bias": (H,), "fc_hidden.0.weight": (H, H),
                      "fc_hidden.0.bias": (H,), "fc_hidden.1.weight": (H, H), "fc_hidden.1.bias": (H,),
                      "fc_out.weight": (C, H), "fc_out.bias": (C,)}
    _, _, model = trained_population(CASES["transformer_prieto_batched_dropout"])
    plain = member_module(model, 0)
    assert isinstance(plain.layers[0].attn_in, torch.nn.Linear) and isinstance(plain.tok_emb, torch.nn.Embedding)
    assert tuple(plain.state_dict()["layers.0.attn_in.weight"].shape) == (48, 16)


def transformer_layout(model_cfg: dict) -> tuple:
    schema = OmegaConf.load(CONFIG_DIR / "model" / "transformer.yaml")
    m = {**schema, **model_cfg}
    return (m["norm"], m["activation"], m["causal"], m["positional"], m["attn_bias"], m["mlp_bias"],
            m["unembed_bias"])


def test_every_published_transformer_layout_is_tested():
    """The layouts of configs/experiment/*/*.yaml that train a transformer are among the cases above."""
    tested = set()
    for overrides in CASES.values():
        if "model=transformer" in overrides:
            keys = dict(o.split("=", 1) for o in overrides if o.startswith("model.") and "=" in o)
            parsed = {k[len("model."):]: OmegaConf.create(f"v: {v}").v for k, v in keys.items()}
            tested.add(transformer_layout(parsed))
    published = set()
    for path in Path(CONFIG_DIR, "experiment").rglob("*.yaml"):
        exp = OmegaConf.load(path)
        if any("transformer" in str(d) for d in exp.get("defaults", [])) or exp.get("model", {}).get("n_heads"):
            published.add(transformer_layout(OmegaConf.to_container(exp.get("model", {}))))
    assert len(published) >= 4  # Prieto, Power, Nanda (and Omnigrok's copy of it), Lee
    assert published <= tested, published - tested
