"""Pruning neurons by IPR: shapes kept, nothing pruned = the trained accuracies, pruning changes them; the CLI."""
import pandas as pd
import torch

from conftest import compose, grokbench
from grokbench.analysis.prune import neuron_order, prune_curves
from grokbench.metrics import evaluate
from grokbench.models import build_model
from grokbench.population import members
from grokbench.tasks import build_task

QUAD = ["model=quadratic", "loss=mse", "task.corruption=0.3", "seeds=2", "train.max_steps=30"]


def trained(run):
    _, _, out = run(QUAD)
    cfg = compose(QUAD)
    table = members(cfg)
    data = build_task(cfg.task, table["seed"].tolist(), "cpu")
    model = build_model(cfg.model, data, table["seed"].tolist(), "cpu")
    model.load_state_dict(torch.load(out / "checkpoint.pt", weights_only=True)["model"])
    return cfg, table, data, model


def test_prune_keeps_shapes_and_changes_accuracy(run):
    cfg, table, data, model = trained(run)
    shapes = {n: p.shape for n, p in model.named_parameters()}
    before = evaluate(model, data, cfg.loss)
    curves = prune_curves(cfg, table, data, model, orders=("low_ipr", "high_ipr"), fractions=(0.0, 0.5, 0.9))
    assert {n: p.shape for n, p in model.named_parameters()} == shapes
    assert torch.equal(evaluate(model, data, cfg.loss)["test_acc"], before["test_acc"])  # model restored after
    start = curves[curves["fraction"] == 0.0].groupby("member")["train_acc"].first().to_numpy()
    torch.testing.assert_close(torch.tensor(start), before["train_acc"])
    end = curves[curves["fraction"] == 0.9]
    assert (end["train_acc"].to_numpy() != start[end["member"].to_numpy()]).any()
    assert set(curves["pruned"]) == {0, 8, 14}  # of width 16
    # each order is ranked on the trained weights, whatever order ran before it
    alone = prune_curves(cfg, table, data, model, orders=("high_ipr",), fractions=(0.0, 0.5, 0.9))
    after = curves[curves["order"] == "high_ipr"].reset_index(drop=True)
    pd.testing.assert_frame_equal(after, alone)


def test_orders_sort_by_ipr_and_random_is_per_seed(run):
    cfg, table, data, model = trained(run)
    from grokbench.metrics.ipr import neuron_ipr

    scores = neuron_ipr(model)
    low, high = neuron_order(model, table, "low_ipr"), neuron_order(model, table, "high_ipr")
    assert (scores.gather(1, low).diff(dim=1) >= 0).all() and (scores.gather(1, high).diff(dim=1) <= 0).all()
    rand = neuron_order(model, table, "random")
    assert not torch.equal(rand[0], rand[1]) and torch.equal(rand.sort(1).values, low.sort(1).values)


def test_cli_writes_table_png_parquet(tmp_path):
    out = tmp_path / "run"
    ok = grokbench("run", "device=cpu", "task.p=11", "model.width=8", *QUAD, f"hydra.run.dir={out}")
    assert ok.returncode == 0, ok.stderr
    res = grokbench("analyze", "prune", str(out), "--order", "low_ipr", "random")
    assert res.returncode == 0, res.stderr
    assert "low_ipr" in res.stdout and (out / "prune" / "prune.png").stat().st_size > 0
    curves = pd.read_parquet(out / "prune" / "prune.parquet")
    assert set(curves["order"]) == {"low_ipr", "random"} and curves["member"].nunique() == 2
    bad = grokbench("analyze", "prune", str(tmp_path / "nothing"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_chunked_run_prunes_like_the_unchunked_one(tmp_path):
    """population.chunk trains members in chunks with one checkpoint each; analyze prune reads every chunk."""
    curves = {}
    for name, extra in (("whole", []), ("chunked", ["population.chunk=1"])):
        out = tmp_path / name
        ok = grokbench("run", "device=cpu", "task.p=11", "model.width=8", *QUAD, *extra, f"hydra.run.dir={out}")
        assert ok.returncode == 0, ok.stderr
        res = grokbench("analyze", "prune", str(out), "--order", "low_ipr")
        assert res.returncode == 0, res.stderr
        curves[name] = pd.read_parquet(out / "prune" / "prune.parquet")
    assert (tmp_path / "chunked" / "chunks" / "1" / "checkpoint.pt").exists()
    pd.testing.assert_frame_equal(curves["chunked"], curves["whole"], atol=1e-6, check_dtype=False)
