"""Every reader of a run sees the data and settings each member trained on: `grokbench data`, `analyze fourier` and
summary.parquet's phase, for every gridable task/model/optimizer key, all at once and in chunks.

The truth is what training itself built: build_population is wrapped to record each part's Dataset as train() made
it, and every reader is compared against that recording (and against metrics.parquet, which training wrote)."""
import pandas as pd
import pytest
import torch

import grokbench.loop as loop_module
from grokbench.analysis.fourier import analyze
from grokbench.cli import main
from grokbench.metrics.phases import phase
from grokbench.tasks.modular import operands
from conftest import TINY, compose

BASE = [*TINY, "train.snapshots=3", "task.corruption=0.3"]
GRIDS = {  # one two-valued grid per gridable key of the modular task, every model and each optimizer's own keys
    "train_fraction": ["population.grid.task.train_fraction=[0.3,0.7]"],
    "corruption": ["population.grid.task.corruption=[0,0.5]"],
    "init_scale": ["population.grid.model.init_scale=[0.5,2]"],
    "lr": ["population.grid.optimizer.lr=[0.001,0.03]"],
    "weight_decay": ["population.grid.optimizer.weight_decay=[0,2]"],
    "warmup_steps": ["population.grid.optimizer.warmup_steps=[0,7]"],
    "beta1": ["population.grid.optimizer.beta1=[0.5,0.9]"],
    "beta2": ["population.grid.optimizer.beta2=[0.9,0.99]"],
    "eps": ["population.grid.optimizer.eps=[1e-8,1e-3]"],
    "grokfast_lambda": ["population.grid.optimizer.grokfast_lambda=[0,2]"],
    "grokfast_alpha": ["optimizer.grokfast_lambda=1", "population.grid.optimizer.grokfast_alpha=[0.5,0.9]"],
    "momentum": ["optimizer=sgd", "optimizer.lr=0.1", "population.grid.optimizer.momentum=[0,0.9]"],
    "op_equals": ["task.encoding=op_equals", "population.grid.task.train_fraction=[0.3,0.7]"],  # [a, op, b, =]
}
CHUNKS = {"all_at_once": [], "chunks_of_3": ["population.chunk=3"]}  # 4 members: chunks of 3 and 1


@pytest.fixture
def recorded(monkeypatch):
    """[(members table, Dataset)] of every part as train() built it."""
    parts = []
    real = loop_module.build_population

    def recording(cfg, table, device):
        population = real(cfg, table, device)
        parts.append((table.reset_index(drop=True), population.data.to("cpu")))
        return population

    monkeypatch.setattr(loop_module, "build_population", recording)
    return parts


def trained_on(parts, member: int):
    """member → (train x, train y, corrupted, test x, test y) as training had them, padding dropped."""
    for table, data in parts:
        hits = table.index[table["member"] == member].tolist()
        if hits:
            r = hits[0]
            nt, ne = int(data.train_size[r]), int(data.test_size[r])
            return (data.x_train[r, :nt], data.y_train[r, :nt], data.corrupted[r, :nt], data.x_test[r, :ne],
                    data.y_test[r, :ne])
    raise AssertionError(f"member {member} was never built")


@pytest.mark.parametrize("chunking", CHUNKS)
@pytest.mark.parametrize("grid", GRIDS)
def test_data_fourier_and_phase_see_what_each_member_trained_on(run, recorded, tmp_path, grid, chunking):
    overrides = [*BASE, *GRIDS[grid], *CHUNKS[chunking]]
    summary, metrics, out = run(overrides)
    encoding = compose(overrides, tiny=False).task.encoding.value
    members = summary.sort_values("member", ignore_index=True)
    assert len(members) == 4

    # grokbench data: the rows of every member are the samples and labels it trained and tested on
    export = tmp_path / "data.parquet"
    assert main(["data", *overrides, f"--out={export}"]) == 0
    rows = pd.read_parquet(export)
    for member in range(4):
        x_tr, y_tr, corrupted, x_te, y_te = trained_on(recorded, member)
        mine = rows[rows["member"] == member]
        train, test = mine[mine["split"] == "train"], mine[mine["split"] == "test"]
        assert torch.equal(torch.tensor(train[["a", "b"]].to_numpy()), operands(x_tr, encoding))
        assert torch.equal(torch.tensor(train["label"].to_numpy()), y_tr)
        assert torch.equal(torch.tensor(train["corrupted"].to_numpy()), corrupted)
        assert torch.equal(torch.tensor(test[["a", "b"]].to_numpy()), operands(x_te, encoding))
        assert torch.equal(torch.tensor(test["label"].to_numpy()), y_te)

    # analyze fourier: the train loss it recomputes from each member's final snapshot is the one training logged
    table, keys = analyze(out)
    final = table.sort_values("step").groupby("member").tail(1).set_index("member")
    logged = metrics.sort_values("step").groupby("member").tail(1).set_index("member")
    assert (final["step"] == logged["step"]).all()
    torch.testing.assert_close(torch.tensor(final["full_train_loss"].to_numpy()),
                               torch.tensor(logged["train_loss"].to_numpy(), dtype=torch.float64),
                               rtol=1e-5, atol=1e-6)
    assert (keys.groupby("member")["norm"].max() > 0).all()

    # summary.parquet's phase: Doshi et al.'s label at the member's own ξ (null where ξ = 0)
    for member, row in members.iterrows():
        xi = row["task.corruption"] if "task.corruption" in members else 0.3
        assert int(trained_on(recorded, member)[2].sum()) == round(xi * len(trained_on(recorded, member)[1]))
        expected = None if xi == 0 else phase(row["final_train_acc"], row["final_test_acc"], xi)
        assert (None if pd.isna(row["phase"]) else row["phase"]) == expected, (member, xi)


def test_phase_thresholds_use_each_members_own_xi():
    """Train accuracy 0.6 with test high: full inversion below 1.05 − ξ, partial inversion at or above it."""
    from grokbench.summary import summarize_members

    metrics = pd.DataFrame({"step": [5, 5], "member": [0, 1], "train_acc": [0.6, 0.6], "test_acc": [1.0, 1.0],
                            "train_loss": 0.0, "test_loss": 0.0, "train_acc_clean": 1.0, "weight_norm": 1.0,
                            "train_acc_corrupted": 0.0})
    table = pd.DataFrame({"member": [0, 1], "seed": [0, 0], "task.corruption": [0.2, 0.5]})
    labels = summarize_members(metrics, table, [None, None], [0.2, 0.5])["phase"].tolist()
    assert labels == ["full_inversion", "partial_inversion"]


def write_member_split(path, p: int, n_members: int, n_train: int):
    """A split file keyed by member: member m trains on the pairs m·n_train … (mod p²) of a fixed order."""
    pairs = [(a, b) for a in range(p) for b in range(p)]
    rows = []
    for m in range(n_members):
        train = {(m * 7 + i) % len(pairs) for i in range(n_train)}
        rows += [{"member": m, "a": a, "b": b, "split": "train" if i in train else "test"}
                 for i, (a, b) in enumerate(pairs)]
    pd.DataFrame(rows).to_parquet(path)


def test_a_member_keyed_split_file_gives_each_member_its_rows_in_any_chunk(run, recorded, tmp_path):
    path = tmp_path / "split.parquet"
    write_member_split(path, 11, 4, 60)
    common = [f"task.split_file={path}", "seeds=[0,1,2,3]"]
    _, whole, _ = run(common, name="whole")
    by_member = pd.read_parquet(path)
    for member in range(4):
        x_tr = trained_on(recorded, member)[0]
        mine = by_member[(by_member["member"] == member) & (by_member["split"] == "train")]
        assert sorted(map(tuple, operands(x_tr, "onehot_concat").tolist())) == sorted(zip(mine["a"], mine["b"]))
    recorded.clear()
    _, chunked, _ = run([*common, "population.chunk=3"], name="chunked")
    for member in range(4):
        x_tr = trained_on(recorded, member)[0]
        mine = by_member[(by_member["member"] == member) & (by_member["split"] == "train")]
        assert sorted(map(tuple, operands(x_tr, "onehot_concat").tolist())) == sorted(zip(mine["a"], mine["b"]))
    # the weights and every train-side column are bitwise those of the unchunked run; the lone member of the second
    # chunk evaluates its 61 test rows (file order) 1 float32 ulp off at one step on this CPU (the eval's R=1 matmul)
    pd.testing.assert_frame_equal(whole.drop(columns="test_loss"), chunked.drop(columns="test_loss"), check_exact=True)
    torch.testing.assert_close(torch.tensor(whole["test_loss"].to_numpy()), torch.tensor(chunked["test_loss"].to_numpy()),
                               rtol=0, atol=2.4e-7)


@pytest.mark.parametrize("overrides, allowed", [
    (["population.grid.optimizer.warmup_steps=[0.5,0.7]"], "integers"),
    (["population.grid.optimizer.grokfast_alpha=[0.5,0.9]"], "grokfast_lambda > 0"),
    (["population.grid.task.train_fraction=[0.2,0.8]", "task.split_file={split}"], "split_file"),
])
def test_grids_that_change_nothing_are_refused_in_one_line(tmp_path, overrides, allowed, capsys):
    split = tmp_path / "split.parquet"
    write_member_split(split, 11, 1, 60)
    pd.read_parquet(split).drop(columns="member").to_parquet(split)  # one split for every member
    out = tmp_path / "data.parquet"
    args = [o.format(split=split) for o in overrides]
    assert main(["data", *TINY, *args, f"--out={out}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and allowed in err and "population.grid" in err and not out.exists()


def test_gini_embed_of_the_mlp_reads_the_operand_blocks_of_a_op_b_equals():
    """[a, op, b, =]: b's block is position 2 of W_in, not the op token's position 1."""
    from grokbench.models import build_model
    from grokbench.population import build_data, members

    cfg = compose(["task.encoding=op_equals"])
    data = build_data(cfg, members(cfg), "cpu")
    model = build_model(cfg.model, data, [0, 1], "cpu")
    V, p = data.vocab_size, cfg.task.p
    a_block, b_block = model.operand_embeddings()
    assert torch.equal(a_block, model.w_in[:, :p]) and torch.equal(b_block, model.w_in[:, 2 * V : 2 * V + p])


def test_chunks_that_stop_early_at_different_steps_are_analysed_at_their_own_last_step(run, tmp_path, capsys):
    """Member 0's chunk early-stops at step 1, member 1's runs to 200: each member's key frequencies come from its own
    last snapshot (not a zero-filled one), and the analysis prints its table instead of failing after writing it."""
    _, metrics, out = run(["train.max_steps=200", "train.snapshots=4", "population.chunk=1", "seeds=1",
                           "train.early_stop_threshold=0.12", "train.early_stop_patience=1",
                           "population.grid.optimizer.lr=[0.001,0.1]"])
    logged = metrics.sort_values("step").groupby("member").tail(1).set_index("member")
    assert logged["step"].tolist() == [1, 200]  # the premise: the chunks stopped at different steps
    table, keys = analyze(out)
    final = table.sort_values("step").groupby("member").tail(1).set_index("member")
    assert final["step"].tolist() == [1, 200]
    torch.testing.assert_close(torch.tensor(final["full_train_loss"].to_numpy()),
                               torch.tensor(logged["train_loss"].to_numpy(), dtype=torch.float64), rtol=1e-5, atol=1e-6)
    assert (keys.groupby("member")["norm"].max() > 0).all() and set(keys["member"]) == {0, 1}
    capsys.readouterr()
    assert main(["analyze", "fourier", str(out)]) == 0
    assert "step 1–200" in capsys.readouterr().out
