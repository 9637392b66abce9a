"""population.grid over task and model keys: the members table, the tables' columns, and member k == the standalone
run of its seed and values (bitwise on one thread), also where train fractions pad the sets to different sizes."""
import io
import json

import pandas as pd
import pytest
import torch

from conftest import compose
from grokbench import store
from grokbench.population import members

GRID = ["seeds=[0,5]", "population.grid.task.train_fraction=[0.3,0.7]", "population.grid.task.corruption=[0.0,0.2]",
        "population.grid.model.init_scale=[0.5,1.0]"]
KEYS = ["task.train_fraction", "task.corruption", "model.init_scale"]


def test_members_are_the_product_in_order_seed_fastest():
    table = members(compose([*GRID, "population.grid.optimizer.weight_decay=[0,1]"]))
    assert list(table.columns) == ["member", "seed", *KEYS, "optimizer.lr", "optimizer.weight_decay"]
    assert len(table) == 2 * 2 * 2 * 2 * 2
    assert table["seed"].tolist()[:4] == [0, 5, 0, 5]  # seed fastest, then the last grid key (weight decay)
    assert table["optimizer.weight_decay"].tolist()[:4] == [0, 0, 1, 1]
    assert table["task.train_fraction"].tolist() == [0.3] * 16 + [0.7] * 16  # the first key slowest


def test_lr_wd_order_is_unchanged():
    table = members(compose(["seeds=2", "population.grid.optimizer.lr=[1e-3,1e-2]",
                             "population.grid.optimizer.weight_decay=[0,1]"]))
    expected = [(lr, wd, s) for lr in (1e-3, 1e-2) for wd in (0.0, 1.0) for s in (0, 1)]
    assert list(zip(table["optimizer.lr"], table["optimizer.weight_decay"], table["seed"])) == expected


def final_weights(out_dir, member=None):
    size = json.loads((out_dir / "chunks" / "size.json").read_text())["members_per_chunk"]
    if (out_dir / "chunks" / "0").exists():  # trained in parts: member k is row k % size of part k // size
        out_dir, member = out_dir / "chunks" / str(member // size), member % size
    model = store.load_checkpoint(out_dir / store.CHECKPOINT_FILE)["model"]
    return {k: v if member is None else v[member] for k, v in model.items()}


@pytest.mark.parametrize("padded", [False, True], ids=["per_set_size", "padded"])
@pytest.mark.parametrize("batch", [[], ["train.batch_size=16"]], ids=["full_batch", "minibatch"])
def test_member_equals_standalone_run_bitwise(run, batch, padded, monkeypatch):
    """On CPU each train fraction's members train as one part (grokbench/chunking.py); padded: all in one population
    with padded, masked sets, as on a GPU."""
    if padded:
        monkeypatch.setattr("grokbench.chunking.set_size_group", lambda cfg, table: None)
    summary, grid, grid_dir = run([*GRID, *batch], "grid")
    assert (grid_dir / "chunks" / "0").exists() != padded
    assert len(summary) == 16
    for key in KEYS:  # every grid key is a column of both tables
        assert key in summary.columns and key in grid.columns
    metric_columns = [c for c in grid.columns if c not in ("member", "seed", *KEYS, "optimizer.lr",
                                                            "optimizer.weight_decay")]
    for member in (0, 5, 10, 15):  # both fractions, both corruptions, both scales, both seeds
        row = summary.set_index("member").loc[member]
        values = [f"{k}={row[k]}" for k in KEYS]
        _, single, single_dir = run([f"seeds=[{int(row['seed'])}]", *values, *batch], f"m{member}")
        mine = grid[grid["member"] == member].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[metric_columns], single[metric_columns], check_exact=True)
        theirs = final_weights(single_dir, 0)
        for name, w in final_weights(grid_dir, member).items():
            assert torch.equal(w, theirs[name]), (member, name)


def test_padded_samples_change_nothing(run):
    """The small-fraction members of a padded population: their train set has fewer real samples than the tensor."""
    cfg = compose(GRID)
    from grokbench.population import build_data

    data = build_data(cfg, members(cfg), "cpu")
    sizes = data.train_size.tolist()
    assert data.train_mask is not None and min(sizes) < data.y_train.shape[1] == max(sizes)
    assert data.test_size.tolist() == [121 - n for n in sizes]  # p=11: 121 pairs, each member's own split


def test_init_scale_multiplies_every_initial_parameter():
    from grokbench.population import build_population

    sizes = {"mlp": "model.width=8", "transformer": "model.d_ff=8", "quadratic": "model.width=8",
             "two_layer_relu_fixed_output": "model.width=8"}
    for model, size in sizes.items():
        task = "task=xor_clusters" if model == "two_layer_relu_fixed_output" else "task.p=7"
        cfg = compose([task, f"model={model}", size, "seeds=[3]", "population.grid.model.init_scale=[1.0,0.25]"],
                      tiny=False)
        params = dict(build_population(cfg, members(cfg), "cpu").model.named_parameters())
        for name, p in params.items():
            assert torch.equal(p[1], p[0] * 0.25), (model, name)


def test_one_job_phase_diagram_plot_and_summarize(tmp_path, capsys):
    """A single run dir with a grid works as a sweep: grid keys are sweep.parquet columns, plot and summarize group
    by them, --x alone draws steps to 95 % against x."""
    from conftest import TINY, grokbench
    from grokbench.analysis.collect import collect
    from grokbench.cli import main

    out = tmp_path / "run"
    ran = grokbench("run", *TINY, "population.grid.task.train_fraction=[0.4,0.8]",
                    "population.grid.optimizer.weight_decay=[0.1,1]", f"hydra.run.dir={out}")
    assert ran.returncode == 0, ran.stderr
    sweep = collect(out, write=False)
    assert len(sweep) == 8 and {"task.train_fraction", "optimizer.weight_decay"} <= set(sweep.columns)
    assert main(["plot", str(out), "--x", "task.train_fraction", "--y", "optimizer.weight_decay"]) == 0
    assert main(["plot", str(out), "--x", "task.train_fraction"]) == 0
    assert (out / "plots" / "heatmap_step_test_95.png").stat().st_size > 0
    assert (out / "plots" / "steps_test_95.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["summarize", str(out), "--format", "csv"]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert sorted(zip(rows["task.train_fraction"], rows["optimizer.weight_decay"])) == [
        (0.4, 0.1), (0.4, 1.0), (0.8, 0.1), (0.8, 1.0)]
    assert rows["members"].tolist() == [2, 2, 2, 2]


def test_bench_times_a_grid_against_seeds_of_one_value(tmp_path):
    from grokbench import bench

    out = tmp_path / "bench.json"
    assert bench.main(["device=cpu", "task.p=7", "model.width=8", "population.grid.task.train_fraction=[0.3,0.8]",
                       "--members", "2", "--steps", "1", "--warmup", "1", "--repeats", "1", "--json", str(out),
                       "--versus", "population.grid.task.train_fraction=null", "--versus",
                       "task.train_fraction=0.8"]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["members"] == 4 and row["vs_versus"] > 0 and row["bare_single_steps_s"] is None  # no bare loop: parts
    assert row["parts"] == 2  # on CPU each fraction's members train as one part, as the run trains them


def test_bench_versus_the_same_grid_padded(tmp_path):
    """--versus population.chunk=N keeps the grid (seeds = members ÷ the versus grid's size): the padded population."""
    from grokbench import bench

    base = ["device=cpu", "task.p=7", "model.width=8", "population.grid.task.train_fraction=[0.3,0.8]", "seeds=3"]
    padded = bench.versus_config([*base, "population.chunk=6"], compose(base))
    assert len(members(padded)) == 6 and padded.population.chunk == 6
    with pytest.raises(ValueError, match="does not divide"):
        bench.versus_config([*base, "population.grid.task.train_fraction=[0.2,0.3,0.5,0.8]"], compose(base))


def test_chunk_auto_trial_pads_like_the_run():
    from grokbench.chunking import TRIAL_MEMBERS, trial_members
    from grokbench.population import build_data

    cfg = compose(["seeds=4", "population.grid.task.train_fraction=[0.2,0.5,0.9]"])
    table = members(cfg)
    trial = trial_members(table)
    assert len(trial) == TRIAL_MEMBERS and set(trial["task.train_fraction"]) == {0.2, 0.5, 0.9}
    assert build_data(cfg, trial, "cpu").x_train.shape[1:] == build_data(cfg, table, "cpu").x_train.shape[1:]


@pytest.mark.parametrize("grid", [
    ["population.grid.optimizer.beta1=[0.5,0.9]", "population.grid.optimizer.beta2=[0.9,0.98]",
     "population.grid.optimizer.warmup_steps=[0,5]"],
    ["optimizer=sgd", "optimizer.lr=0.1", "population.grid.optimizer.momentum=[0.0,0.9]",
     "population.grid.optimizer.grokfast_lambda=[0.0,2.0]"],
], ids=["adamw_betas_warmup", "sgd_momentum_grokfast"])
def test_optimizer_grid_member_equals_standalone_run(run, grid):
    summary, metrics, _ = run(["seeds=[1]", *grid], "grid")
    keys = [c for c in summary.columns if c.startswith("optimizer.") and summary[c].nunique() > 1]
    assert len(keys) == len([g for g in grid if g.startswith("population.grid")])  # every grid key is a column
    fixed = [g for g in grid if not g.startswith("population.grid")]
    for member in (0, len(summary) - 1):
        row = summary.set_index("member").loc[member]
        _, single, _ = run(["seeds=[1]", *fixed, *[f"{k}={row[k]}" for k in keys]], f"m{member}")
        mine = metrics[metrics["member"] == member].reset_index(drop=True)
        columns = [c for c in single.columns if c not in ("member", *keys)]
        pd.testing.assert_frame_equal(mine[columns], single[columns], check_exact=True)


def test_end_of_run_table_names_every_grid_key(run, tmp_path):
    """The summary printed at the end shows each member's grid values, not only lr and wd."""
    from rich.console import Console

    from grokbench.report import print_summary

    summary, _, out = run(["seeds=1", "population.grid.task.train_fraction=[0.3,0.7]",
                           "population.grid.model.init_scale=[0.5,2.0]"], "report")
    console = Console(width=200, record=True)
    print_summary(summary, out, console)
    text = console.export_text()
    assert "train_fraction" in text and "init_scale" in text and "chunks/<k>/checkpoint.pt" in text
    rows = [line for line in text.splitlines() if line.startswith("│ 3 ")]  # member 3: fraction .7, scale 2
    assert len(rows) == 1 and "0.7" in rows[0] and "│ 2 " in rows[0]
