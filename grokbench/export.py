"""`grokbench export RUN_DIR --member k [--step S] --to torch|transformer_lens --out FILE`: one member of a trained
population as a file a notebook loads without grokbench's population machinery (docs/notebook.md).

--to torch             {"state_dict", "config", "member", "seed", "step"}: the plain module's state_dict
                       (models/plain.py) and the member's model and task config as plain dicts; loads with
                       torch.load(weights_only=True) and models.plain.plain_from_state_dict.
--to transformer_lens  {"config", "state_dict", "member", "seed", "step", "grokbench_config"}: a TransformerLens
                       HookedTransformer's state_dict and the HookedTransformerConfig arguments, for Nanda et al.'s
                       layout (1 layer, no LayerNorm, inputs [a, b, =]). Its logits at the last position are the
                       member's logits.

Without --step the run's final weights (checkpoint.pt) are exported; --step S takes the train.snapshots=N snapshot
at step S (snapshots.pt). A bad argument stops with one line and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grokbench.errors import fail

FORMATS = ("torch", "transformer_lens")
# Nanda et al. 2023's layout: the one a HookedTransformer (no post-LN, final read-out at "=") computes exactly
NANDA = {"n_layers": 1, "norm": "none", "causal": True, "positional": "learned", "activation": "relu"}
NANDA_TEXT = "the Nanda layout only (1 layer, norm=none, causal, learned positions, relu, [a, b, =])"
USAGE = "grokbench export RUN_DIR --member K [--step S] --to torch|transformer_lens --out FILE"
MAX_LINE = 200  # characters of an error line, "grokbench: error: " included


class ExportError(Exception):
    """A bad argument or run dir; the message is one line for the user (exit code 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own: usage and message on two lines; ours: one
        raise ExportError(f"{message}; usage: {USAGE}")


# --------------------------------------------------------------------------------------------------- run weights
def _member_weights(run_dir: Path, k: int, step: int | None):
    """→ (config DictConfig, state {name: (R, …)}, r: member k's index in state, seed, step), read through the API's
    Run (grokbench/runs.py: the config training recorded, the member's chunk)."""
    from grokbench.runs import Run

    if not run_dir.is_dir():
        raise ExportError(f"run dir {run_dir} not found")
    try:
        run = Run(run_dir)
        state, r, step = run.weights(k, step)
    except (ValueError, FileNotFoundError) as err:
        raise ExportError(str(err)) from None
    return run.config, state, r, int(run.members["seed"].iloc[k]), step


def member_config(cfg, table_row: dict) -> dict:
    """{"model": …, "task": …} as plain dicts, with the member's own values of gridded keys (population.grid)."""
    from omegaconf import OmegaConf

    config = {g: OmegaConf.to_container(cfg[g], resolve=True, enum_to_str=True) for g in ("model", "task")}
    for name, value in table_row.items():
        group, _, key = name.partition(".")
        if group in config and key in config[group]:
            config[group][key] = value
    return config


def task_vocab(task_cfg) -> int:
    """Ids per token position of a task (0 for float features), from its schema alone: no data is built."""
    from omegaconf import OmegaConf

    from grokbench.config import GROUP_SCHEMAS
    from grokbench.runs import schema_name

    schema = GROUP_SCHEMAS["task"][schema_name("task", task_cfg["name"])]
    typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), task_cfg))
    return typed.data_shape().vocab


def nanda_mismatch(config: dict) -> list:
    """The keys by which a member's config differs from the Nanda layout (empty: TransformerLens can hold it)."""
    model, task = config["model"], config["task"]
    if model["name"] != "transformer":
        return [f"model={model['name']}"]
    wrong = [f"{key}={model[key]}" for key, want in NANDA.items() if model[key] != want]
    if task.get("encoding") != "equals_token":
        wrong.append(f"task.encoding={task.get('encoding')}")
    return wrong


def hooked_transformer(net, n_ctx: int):
    """(HookedTransformerConfig arguments, HookedTransformer state_dict) computing what the plain TransformerNet
    `net` computes, at every position; grokbench reads the logits at the last one."""
    import warnings

    import torch
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    d, nh = net.tok_emb.weight.shape[1], net.cfg.n_heads
    dh, block = d // nh, net.layers[0]
    args = {"n_layers": 1, "d_model": d, "n_ctx": n_ctx, "d_head": dh, "n_heads": nh, "d_mlp": net.cfg.d_ff,
            "d_vocab": net.tok_emb.weight.shape[0], "d_vocab_out": net.unembed.weight.shape[0], "act_fn": "relu",
            "normalization_type": None, "positional_embedding_type": "standard", "attention_dir": "causal",
            "default_prepend_bos": False, "dtype": net.tok_emb.weight.dtype}
    with warnings.catch_warnings():  # 3.x deprecates HookedTransformer for 4.x's TransformerBridge (pyproject.toml)
        warnings.simplefilter("ignore", DeprecationWarning)
        model = HookedTransformer(HookedTransformerConfig(**args, device="cpu"))  # the file leaves the device open
    state = model.state_dict()

    def zeros_or(tensor, shape):
        return torch.zeros(shape, dtype=args["dtype"]) if tensor is None else tensor.detach()

    w_qkv = block.attn_in.weight.detach().view(3, nh, dh, d)  # rows: q, k, v, each head after head
    b_qkv = zeros_or(block.attn_in.bias, (3 * d,)).view(3, nh, dh)
    new = {"embed.W_E": net.tok_emb.weight.detach(), "pos_embed.W_pos": net.pos_emb.weight.detach(),
           "blocks.0.attn.W_O": block.attn_out.weight.detach().view(d, nh, dh).permute(1, 2, 0),
           "blocks.0.attn.b_O": zeros_or(block.attn_out.bias, (d,)),
           "blocks.0.mlp.W_in": block.ff1.weight.detach().T,
           "blocks.0.mlp.b_in": zeros_or(block.ff1.bias, (net.cfg.d_ff,)),
           "blocks.0.mlp.W_out": block.ff2.weight.detach().T, "blocks.0.mlp.b_out": zeros_or(block.ff2.bias, (d,)),
           "unembed.W_U": net.unembed.weight.detach().T,
           "unembed.b_U": zeros_or(net.unembed.bias, (net.unembed.weight.shape[0],))}
    for i, part in enumerate("QKV"):  # TransformerLens: W_Q (heads, d_model, d_head), b_Q (heads, d_head)
        new[f"blocks.0.attn.W_{part}"] = w_qkv[i].transpose(1, 2)
        new[f"blocks.0.attn.b_{part}"] = b_qkv[i]
    for name, value in new.items():
        if tuple(state[name].shape) != tuple(value.shape):
            raise ValueError(f"{name}: shape {tuple(value.shape)}, TransformerLens expects {tuple(state[name].shape)}")
        state[name] = value.contiguous().clone()
    model.load_state_dict(state)  # strict: every TransformerLens tensor is accounted for
    # a check that costs one forward: every [a, b, =] through both ("=" is the last id), read out at "="
    ids = torch.arange(args["d_vocab"] - 1)
    x = torch.stack([ids.repeat_interleave(len(ids)), ids.repeat(len(ids)), torch.full((len(ids) ** 2,), len(ids))], 1)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[:, -1], net(x), rtol=1e-4, atol=1e-4)  # else a bug: raise, do not write
    return args, {k: v.detach().cpu() for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------------------------------- command
def export(run_dir: Path, k: int, to: str, out: Path, step: int | None = None) -> dict:
    """Write member k of the run in `run_dir` to `out`; returns what was written."""
    from grokbench import store
    from grokbench.models.plain import member_from_state
    from grokbench.population import members

    if to not in FORMATS:
        raise ExportError(f"--to {to} is invalid; allowed: {', '.join(FORMATS)}")
    cfg, state, r, seed, step = _member_weights(run_dir, k, step)
    row = members(cfg).iloc[k].to_dict()
    config = member_config(cfg, {n: v for n, v in row.items() if n not in ("member", "seed")})
    if to == "transformer_lens" and nanda_mismatch(config):
        wrong = " ".join(nanda_mismatch(config)[:3])
        raise ExportError(f"--to transformer_lens supports {NANDA_TEXT}; this run has {wrong}")
    vocab = task_vocab(config["task"]) if config["model"]["name"] == "mlp" else None
    plain = member_from_state(config["model"], state, r, vocab_size=vocab)
    meta = {"member": k, "seed": seed, "step": step}
    if to == "torch":
        payload = {"state_dict": plain.state_dict(), "config": config, **meta}
    else:
        try:
            args, tl_state = hooked_transformer(plain, n_ctx=3)
        except ImportError:
            need = "--to transformer_lens needs TransformerLens: pip install 'grokbench[transformer_lens]'"
            raise ExportError(need) from None
        payload = {"config": args, "state_dict": tl_state, **meta, "grokbench_config": config}
    out.parent.mkdir(parents=True, exist_ok=True)
    store.save_checkpoint(payload, out)  # atomic: temp file, then rename
    return payload


def main(argv) -> int:
    parser = Parser(prog="grokbench export", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a run dir written by grokbench run")
    parser.add_argument("--member", type=int, required=True, help="the member index k (metrics.parquet's member)")
    parser.add_argument("--step", type=int, help="a snapshot step (train.snapshots=N); default: the final weights")
    parser.add_argument("--to", required=True, help="torch | transformer_lens")
    parser.add_argument("--out", required=True, help="the file to write (torch.save format)")
    from grokbench.store import RunDirError

    try:
        args = parser.parse_args(argv)
        payload = export(Path(args.run_dir), args.member, args.to, Path(args.out), args.step)
    except (ExportError, RunDirError) as err:  # RunDirError: a checkpoint holding pickled objects
        line = " ".join(str(err).split())
        return fail(line if len(line) <= MAX_LINE - 18 else line[: MAX_LINE - 19] + "…")
    print(f"{args.out}: member {payload['member']} (seed {payload['seed']}) at step {payload['step']}, "
          f"--to {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
