"""`grokbench export`: one member of a trained run as a file a notebook loads (plain torch or TransformerLens), whose
logits equal the population's logits for that member; bad arguments stop with one line and exit code 2.

Tolerances (torch.testing.assert_close, float32): rtol=1e-5, atol=1e-5 against the population (a different order of
the same multiply-adds); exact (0, 0) where the same plain module runs twice."""
import sys

import pytest
import torch

from conftest import compose, grokbench
from grokbench import snapshots, store
from grokbench.export import main
from grokbench.models import build_model
from grokbench.models.plain import plain_from_state_dict
from grokbench.population import build_data, members
from grokbench.train import train

F32 = {"rtol": 1e-5, "atol": 1e-5}
BASE = ["device=cpu", "population.workers=1", "task.p=11", "train.max_steps=20", "train.eval_every=5"]
SMALL_TRANSFORMER = ["model.d_model=16", "model.n_heads=2", "model.d_ff=32"]
RUNS = {
    "nanda": [*BASE, "experiment=nanda2023/modadd", *SMALL_TRANSFORMER, "seeds=3", "train.snapshots=3"],
    # two chunks of two members, each chunk its own train fraction: a member's config has its own value
    "mlp_chunked": [*BASE, "model.width=16", "task.encoding=equals_token", "seeds=2", "population.chunk=2",
                    "population.grid.task.train_fraction=[0.3,0.6]", "train.snapshots=3"],
    "prieto": [*BASE, "model=transformer", *SMALL_TRANSFORMER, "seeds=2"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, overrides in RUNS.items():
        train(compose(overrides, tiny=False), root / name)
    return root


def population_logits(name, rows: slice, state) -> tuple:
    """The population of the run's members `rows` with weights `state`: (logits (R, N, C), inputs (R, N, T))."""
    cfg = compose(RUNS[name], tiny=False)
    table = members(cfg).iloc[rows]
    data = build_data(cfg, table, "cpu")
    model = build_model(cfg.model, data, table["seed"].tolist(), "cpu")
    model.load_state_dict(state, strict=False)  # snapshots leave out the dropout generator states
    x = torch.cat([data.x_train, data.x_test], 1)
    with torch.no_grad():
        return model.eval()(x), x


def export(*args) -> int:
    return main([str(a) for a in args])


def loaded(path):
    blob = torch.load(path, weights_only=True)  # tensors and plain types only
    return blob, plain_from_state_dict(blob["config"]["model"], blob["state_dict"])


def test_torch_export_of_the_final_weights_equals_the_member(runs, tmp_path):
    assert export(runs / "nanda", "--member", 1, "--to", "torch", "--out", tmp_path / "m1.pt") == 0
    blob, module = loaded(tmp_path / "m1.pt")
    assert set(blob) == {"state_dict", "config", "member", "seed", "step"}
    assert (blob["member"], blob["seed"], blob["step"]) == (1, 1, 20)
    assert blob["config"]["model"]["norm"] == "none" and blob["config"]["task"]["encoding"] == "equals_token"
    logits, x = population_logits("nanda", slice(None), store.load_checkpoint(runs / "nanda" / "checkpoint.pt")["model"])
    with torch.no_grad():
        torch.testing.assert_close(module(x[1]), logits[1], **F32)


def test_torch_export_of_a_snapshot_step(runs, tmp_path):
    snaps = snapshots.load(runs / "nanda" / store.SNAPSHOTS_FILE)
    i, step = 1, snaps["steps"][1]
    assert step != 20  # an earlier step than the final weights
    assert export(runs / "nanda", "--member", 2, "--step", step, "--to", "torch", "--out", tmp_path / "s.pt") == 0
    blob, module = loaded(tmp_path / "s.pt")
    assert (blob["member"], blob["step"]) == (2, step)
    logits, x = population_logits("nanda", slice(None), {n: v[i] for n, v in snaps["state"].items()})
    with torch.no_grad():
        torch.testing.assert_close(module(x[2]), logits[2], **F32)


@pytest.mark.parametrize("use_step", [False, True], ids=["final", "snapshot"])
def test_torch_export_from_a_chunked_run(runs, tmp_path, use_step):
    run = runs / "mlp_chunked"
    assert (run / "chunks" / "1" / store.CHECKPOINT_FILE).exists()  # member 3 trained in the second chunk
    snaps = snapshots.load(run / store.SNAPSHOTS_FILE)
    step = snaps["steps"][-2] if use_step else None
    args = ["--step", step] if use_step else []
    assert export(run, "--member", 3, *args, "--to", "torch", "--out", tmp_path / "m3.pt") == 0
    blob, module = loaded(tmp_path / "m3.pt")
    assert blob["config"]["task"]["train_fraction"] == 0.6 and blob["seed"] == 1
    if use_step:
        state = {n: v[snaps["steps"].index(step), 2:4] for n, v in snaps["state"].items()}
    else:
        state = store.load_checkpoint(run / "chunks" / "1" / store.CHECKPOINT_FILE)["model"]
    logits, x = population_logits("mlp_chunked", slice(2, 4), state)
    with torch.no_grad():
        torch.testing.assert_close(module(x[1]), logits[1], **F32)
        assert not torch.allclose(module(x[1]), logits[0], **F32)  # the other member of the chunk differs


@pytest.mark.filterwarnings("ignore:HookedTransformer is deprecated:DeprecationWarning")  # the pinned 3.x says so
def test_transformer_lens_export_gives_the_member_logits(runs, tmp_path):
    transformer_lens = pytest.importorskip("transformer_lens")
    out = tmp_path / "tl.pt"
    assert export(runs / "nanda", "--member", 1, "--to", "transformer_lens", "--out", out) == 0
    blob = torch.load(out, weights_only=True)  # the way docs/notebook.md loads it
    model = transformer_lens.HookedTransformer(transformer_lens.HookedTransformerConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    assert (blob["member"], blob["seed"]) == (1, 1) and blob["grokbench_config"]["model"]["norm"] == "none"
    logits, x = population_logits("nanda", slice(None), store.load_checkpoint(runs / "nanda" / "checkpoint.pt")["model"])
    with torch.no_grad():
        tl_logits, cache = model.run_with_cache(x[1])  # (N, 3, p): grokbench reads position "=", the last
    torch.testing.assert_close(tl_logits[:, -1], logits[1], **F32)
    assert cache["blocks.0.attn.hook_pattern"].shape == (x.shape[1], 2, 3, 3)  # (N, heads, query, key)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("grokbench: error: ") and len(err.rstrip("\n")) <= 200, err
    return err


@pytest.mark.parametrize("name,expected", [("prieto", "this run has norm=post causal=False"),
                                           ("mlp_chunked", "this run has model=mlp")])
def test_transformer_lens_refuses_other_layouts(runs, tmp_path, capsys, name, expected):
    out = tmp_path / "tl.pt"
    assert export(runs / name, "--member", 0, "--to", "transformer_lens", "--out", out) == 2
    err = one_line_error(capsys)
    assert "supports the Nanda layout only" in err and expected in err
    assert not out.exists()


def test_transformer_lens_missing_is_one_line(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformer_lens", None)  # `import transformer_lens` raises ImportError
    assert export(runs / "nanda", "--member", 0, "--to", "transformer_lens", "--out", tmp_path / "tl.pt") == 2
    assert "pip install 'grokbench[transformer_lens]'" in one_line_error(capsys)
    assert not (tmp_path / "tl.pt").exists()


BAD = {  # arguments after RUN_DIR's name → a phrase of the one-line error
    "missing run dir": (["nowhere", "--member", 0, "--to", "torch"], "run dir"),
    "member out of range": (["nanda", "--member", 3, "--to", "torch"], "member 3 is out of range; allowed: 0..2"),
    "negative member": (["nanda", "--member", -1, "--to", "torch"], "member -1 is out of range"),
    "step not a snapshot": (["nanda", "--member", 0, "--step", 7, "--to", "torch"],
                            "step 7 is not among member 0's snapshots; available: "),
    "step without snapshots": (["prieto", "--member", 0, "--step", 20, "--to", "torch"], "train.snapshots=N"),
    "unknown --to": (["nanda", "--member", 0, "--to", "onnx"], "--to onnx is invalid; allowed: torch, transformer_lens"),
    "member not a number": (["nanda", "--member", "x", "--to", "torch"], "invalid int value: 'x'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_stop_with_one_line(runs, tmp_path, capsys, case):
    (run, *args), phrase = BAD[case]
    assert export(runs / run, *args, "--out", tmp_path / "m.pt") == 2
    assert phrase in one_line_error(capsys)
    assert not (tmp_path / "m.pt").exists()


def test_the_command_line_refuses_without_a_traceback(runs, tmp_path):
    result = grokbench("export", str(runs / "nanda"), "--member", "9", "--to", "torch", "--out", str(tmp_path / "m"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["grokbench: error: member 9 is out of range; allowed: 0..2 "
                                                  "(the run has 3 members)"]
