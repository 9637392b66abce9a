"""Member i == a standalone run of seed i, for everything that trains and was added for Prieto et al. 2025:
⊥AdamW, ⊥SGD, Grokfast, StableMax, the transformer (dropout ON: per-member masks) and sparse parity."""
import json

import numpy as np
import pytest

from grokbench.compose import compose_config
from grokbench.train import train

TOL = 1e-5
CURVES = ["train_loss", "test_loss", "train_acc", "test_acc", "weight_norm", "sc_fraction", "logit_norm"]
BASE = ["device=cpu", "population.workers=1",
        "train.max_steps=20", "train.eval_every=5", "train.eval_log_points=0"]  # evals at 0, 5, …, 20
SMALL_MLP = ["task.p=11", "model.width=16"]
SMALL_TRANSFORMER = ["task.p=11", "model=transformer", "model.d_model=16", "model.n_heads=2", "model.d_ff=32"]
CASES = {
    "perp_adamw": SMALL_MLP + ["optimizer=perp_adamw"],
    "perp_sgd_stablemax_fp64": SMALL_MLP + ["optimizer=perp_sgd", "optimizer.lr=1", "loss=stablemax_ce",
                                            "loss.dtype=float64"],
    "grokfast_adamw": SMALL_MLP + ["optimizer.grokfast_lambda=2", "task.corruption=0.2"],
    "transformer_dropout": SMALL_TRANSFORMER + ["model.dropout=0.1", "optimizer.lr=1e-3"],
    # the torch.func path (a layout only it has): init from each member's own streams, per-member AdamW
    "transformer_vmap_causal": SMALL_TRANSFORMER + ["model.dropout=0", "model.norm=none", "model.causal=true",
                                                    "task.encoding=op_equals", "optimizer.lr=1e-3"],
    "sparse_parity": ["task=sparse_parity", "task.n_bits=12", "task.samples=200", "model.width=16"],
}


def run_dir(tmp_path, overrides, name):
    import pandas as pd

    out = tmp_path / name
    out.mkdir()
    train(compose_config([*BASE, *overrides]), out)
    return pd.read_parquet(out / "metrics.parquet")


@pytest.mark.parametrize("case", CASES)
def test_member_matches_standalone_seed(case, tmp_path):
    overrides = CASES[case]
    population = run_dir(tmp_path, [*overrides, "seeds=[0,3]"], "population")
    for member, curve in population.groupby("member"):
        seed = int(curve["seed"].iloc[0])
        single = run_dir(tmp_path, [*overrides, f"seeds=[{seed}]"], f"seed{seed}")
        np.testing.assert_allclose(curve[CURVES].to_numpy(), single[CURVES].to_numpy(), rtol=TOL, atol=TOL)
    first = population[population["step"] == 0].set_index("member")
    assert first.loc[0, "train_loss"] != first.loc[1, "train_loss"]  # the seeds really differ


def test_transformer_resumes_its_dropout_stream(tmp_path):
    """A killed-and-resumed transformer run continues with the same dropout masks as an uninterrupted one."""
    import pandas as pd

    overrides = [*BASE, *SMALL_TRANSFORMER, "seeds=1"]
    whole = run_dir(tmp_path, overrides, "whole")
    out = tmp_path / "resumed"
    out.mkdir()
    train(compose_config([*overrides, "train.max_steps=10"]), out)
    import torch

    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    ckpt["finished"] = False
    ckpt["config"] = ckpt["config"].replace("max_steps: 10", "max_steps: 20")
    torch.save(ckpt, out / "checkpoint.pt")
    decision = json.loads((out / "chunks" / "size.json").read_text())  # the chunk decision names its config too
    decision["config"] = decision["config"].replace("max_steps: 10", "max_steps: 20")
    (out / "chunks" / "size.json").write_text(json.dumps(decision))
    train(compose_config(overrides), out)
    resumed = pd.read_parquet(out / "metrics.parquet")
    np.testing.assert_allclose(resumed["train_loss"].to_numpy(), whole["train_loss"].to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("n_layers, positional", [(1, "learned"), (2, "learned"), (1, "none")])
def test_transformer_layer_equals_torch_encoder_layer(n_layers, positional):
    """With the same weights and dropout off, one member computes what a stack of nn.TransformerEncoderLayer (post-LN,
    ReLU) does: also when its final layer only computes the read-out position."""
    import torch

    from grokbench.models import build_model
    from grokbench.tasks import build_task

    encoding = "equals_token" if positional != "none" else "onehot_concat"
    cfg = compose_config([*SMALL_TRANSFORMER, f"model.n_layers={n_layers}", f"model.positional={positional}",
                          f"task.encoding={encoding}", "model.impl=batched", "seeds=[5]", "device=cpu"])
    data = build_task(cfg.task, [5], "cpu")
    model = build_model(cfg.model, data, [5], "cpu").eval()
    refs = []
    for L in model.layers:
        ref = torch.nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, batch_first=True).eval()
        with torch.no_grad():
            ref.self_attn.in_proj_weight.copy_(L.w_qkv[0].T)
            ref.self_attn.in_proj_bias.copy_(L.b_qkv[0])
            ref.self_attn.out_proj.weight.copy_(L.w_o[0].T)
            ref.self_attn.out_proj.bias.copy_(L.b_o[0])
            ref.linear1.weight.copy_(L.w_1[0].T), ref.linear1.bias.copy_(L.b_1[0])
            ref.linear2.weight.copy_(L.w_2[0].T), ref.linear2.bias.copy_(L.b_2[0])
            ref.norm1.weight.copy_(L.ln1_g[0]), ref.norm1.bias.copy_(L.ln1_b[0])
            ref.norm2.weight.copy_(L.ln2_g[0]), ref.norm2.bias.copy_(L.ln2_b[0])
        refs.append(ref)
    with torch.no_grad():
        x = data.x_test[0]  # (N, T)
        hidden = model.tok_emb[0][x] + (model.pos_emb[0] if positional == "learned" else 0)  # (N, T, d)
        for ref in refs:
            hidden = ref(hidden)
        expected = hidden[:, -1] @ model.w_out[0] + model.b_out[0]
        torch.testing.assert_close(model(data.x_test)[0], expected, rtol=1e-4, atol=1e-5)
