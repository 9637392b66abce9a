"""Every fast path gives the plain path's numbers; the bare loops `grokbench bench` times against do the same math."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import compose, grokbench, interrupted_train
from grokbench.train import train
from grokbench import bench
from grokbench.baselines import BarePopulation, BareSingle
from grokbench.metrics import evaluate
from grokbench.models import build_model
from grokbench.optim import build_optimizer
from grokbench.population import members, optimizer_hparams
from grokbench.step import train_step
from grokbench.tasks import build_task
from grokbench.recording import Recorder, eval_steps

CURVES = ["train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"]


def curves(metrics):
    return metrics.sort_values(["step", "member"])[["step", "member", *CURVES]].to_numpy(dtype=float)


def test_onehot_cache_gives_the_same_numbers(run):
    _, cached, _ = run(["model.first_layer=onehot", "model.onehot_cache=true"], "cached")
    _, fresh, _ = run(["model.first_layer=onehot", "model.onehot_cache=false"], "fresh")
    np.testing.assert_array_equal(curves(cached), curves(fresh))


def test_first_layer_auto_is_gather_on_cpu_and_its_forward_is_the_onehot_product():
    import torch

    from conftest import compose
    from grokbench.population import build_population, members

    cfg = compose(["task.encoding=equals_token"])  # three token positions: a sum of three rows
    data, model, *_ = build_population(cfg, members(cfg), torch.device("cpu"))
    calls = []
    model.onehot = lambda x: calls.append(x) or type(model).onehot(model, x)
    auto = model(data.x_test)
    assert calls == []  # auto on CPU never built the one-hot input
    model.cfg.first_layer = type(model.cfg.first_layer)("onehot")
    assert torch.equal(model(data.x_test), auto) and len(calls) == 1  # exactly the one-hot product's logits


def test_chunks_give_one_table_with_global_members(run):
    summary, chunked, out = run(["seeds=[0,3,7]", "population.chunk=2"], "chunked")
    _, whole, _ = run(["seeds=[0,3,7]"], "whole")
    assert (out / "chunks" / "1" / "checkpoint.pt").exists()  # each chunk resumes on its own
    assert chunked["member"].tolist() == whole["member"].tolist()  # same rows in the same order
    assert summary["member"].tolist() == [0, 1, 2] and summary["seed"].tolist() == [0, 3, 7]
    np.testing.assert_allclose(curves(chunked), curves(whole), rtol=1e-5, atol=1e-6)


def test_chunked_run_writes_the_unchunked_tables(run):
    """metrics, summary and ipr.parquet of a chunked run equal the unchunked run's (global member ids, every seed)."""
    quadratic = ["model=quadratic", "loss=mse", "seeds=[0,3,7]"]
    _, _, chunked = run([*quadratic, "population.chunk=2"], "chunked")
    _, _, whole = run(quadratic, "whole")
    for name in ("metrics.parquet", "summary.parquet", "ipr.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(chunked / name), pd.read_parquet(whole / name),
                                      rtol=1e-5, atol=1e-6, obj=name)


def test_resume_keeps_the_first_starts_chunk_decision(tmp_path, monkeypatch, caplog):
    """chunk=auto trained all members at once at the first start; a resume whose measurement says 1 member per
    chunk (less free memory) still continues that population from its checkpoint, not from step 0 in chunks."""
    from grokbench import chunking

    cfg = compose(["seeds=[0,3,7]", "population.chunk=auto", "train.checkpoint_every_s=1e-9"])
    interrupted_train(monkeypatch, cfg, tmp_path / "run", at_step=10)
    monkeypatch.setattr(chunking, "chunk_size", lambda cfg, n_members, device: 1)
    with caplog.at_level("INFO", logger="grokbench"):
        train(cfg, tmp_path / "run")
    assert "resumed from step 10" in caplog.text
    assert not (tmp_path / "run" / "chunks" / "0").exists()
    train(compose(["seeds=[0,3,7]"]), tmp_path / "whole")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "run" / "metrics.parquet"),
                                  pd.read_parquet(tmp_path / "whole" / "metrics.parquet"))


def test_compile_on_cpu_warns_and_trains_eagerly(run):
    with pytest.warns(UserWarning, match="train.compile"):
        _, compiled, _ = run(["train.compile=true"], "compiled")
    _, eager, _ = run([], "eager")
    np.testing.assert_array_equal(curves(compiled), curves(eager))


def setup(overrides):
    cfg = compose(overrides)
    table = members(cfg)
    seeds, device = table["seed"].tolist(), torch.device("cpu")
    data = build_task(cfg.task, seeds, device)
    model = build_model(cfg.model, data, seeds, device)
    hparams = optimizer_hparams(cfg.optimizer, table, device)
    opt = build_optimizer(cfg.optimizer, model.parameters(), hparams)
    return cfg, data, model, opt, hparams["lr"], hparams["weight_decay"]


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_bare_baselines_do_grokbenchs_math(optimizer):
    overrides = ["seeds=[0,5]", f"optimizer={optimizer}", "model.depth=2", "optimizer.lr=3e-3",
                 "population.grid.optimizer.weight_decay=[0.1,1.0]"]
    cfg, data, model, opt, lr, wd = setup(overrides)
    single = BareSingle(cfg, data, model, 0, lr[0].item(), wd[0].item())
    population = BarePopulation(cfg, data, model, lr, wd)
    R = lr.shape[0]
    active, diverged = torch.ones(R, dtype=torch.bool), torch.full((R,), -1)
    for step in range(15):
        train_step(model, opt, cfg.loss, data.x_train, data.y_train, active, diverged, step)
        single.step()
        population.step()
    ours = evaluate(model, data, cfg.loss)["train_loss"]
    theirs = population.forward(population.x_train).log_softmax(-1).gather(-1, data.y_train[..., None]).mean((1, 2))
    np.testing.assert_allclose(ours.numpy(), -theirs.detach().numpy(), rtol=1e-4)
    np.testing.assert_allclose(ours[0].item(), single.evaluate()["train_loss"], rtol=1e-4)  # member 0 = seed 0, wd 0.1


def test_metrics_of_a_long_wide_run_stay_small(tmp_path):
    """10^5 steps × 256 members on the default schedule (eval_every=null): the real Recorder and columns, ≤ 50 MB."""
    cfg = compose(["seeds=256", "train.max_steps=100000", "train.eval_every=null"])
    assert cfg.train.eval_every is None
    table = members(cfg)
    _, data, model, _, _, _ = setup(["seeds=256"])
    values = evaluate(model, data, cfg.loss)  # the real metric names, (R,) float tensors
    schedule = sorted(eval_steps(cfg.train.max_steps, cfg.train.eval_every, cfg.train.eval_log_points))
    assert 100 <= len(schedule) <= 200
    recorder, gen = Recorder(table), torch.Generator().manual_seed(0)
    for step in schedule:  # incompressible values: the size bound must not rely on constant columns
        recorder.add(step, {k: torch.rand(v.shape, generator=gen) for k, v in values.items()})
    path = tmp_path / "metrics.parquet"
    recorder.frame().to_parquet(path, index=False)
    assert len(pd.read_parquet(path)) == 256 * len(schedule)
    assert path.stat().st_size <= 50e6


def test_bench_smoke(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["device=cpu", "task.p=7", "model.width=8", "--members", "1,3", "--steps", "2", "--warmup", "1",
            "--repeats", "1", "--json", str(out)]
    assert bench.main(argv) == 0
    result = json.loads(out.read_text())
    assert [r["members"] for r in result["rows"]] == [1, 3]
    for row in result["rows"]:
        assert row["steps_s"] > 0 and row["vs_bare_single"] > 0 and row["vs_bare_population"] > 0
    assert "×bare 1" in capsys.readouterr().out


@pytest.mark.parametrize("flag, value", [("--members", "0,2"), ("--warmup", "0"), ("--steps", "0")])
def test_bench_bad_flag_is_one_line(flag, value):
    res = grokbench("bench", "device=cpu", flag, value)
    assert res.returncode == 2 and flag in res.stderr and "Traceback" not in res.stderr


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_graph_step_matches_eager(run):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed capture warns: that is a failure here
        _, graph, _ = run(["device=cuda", "train.compile=true"], "graph")
    _, eager, _ = run(["device=cuda"], "eager")
    np.testing.assert_allclose(curves(graph), curves(eager), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("value", ["0", "-3", "many", "true"])
def test_bad_chunk_is_one_line(value):
    res = grokbench("show", f"population.chunk={value}")
    assert res.returncode == 2 and "population.chunk=" in res.stderr and "Traceback" not in res.stderr


def test_chunk_auto_on_cpu_trains_all_members_at_once():
    from grokbench.chunking import chunk_size

    cfg = compose(["seeds=5", "population.chunk=auto"])
    assert chunk_size(cfg, members(cfg), torch.device("cpu")) == 5
    cfg = compose(["seeds=5", "population.chunk=2"])
    assert chunk_size(cfg, members(cfg), torch.device("cpu")) == 2


@pytest.mark.parametrize("chunk", [[], ["population.chunk=auto"]], ids=["null", "auto"])
def test_cpu_trains_each_set_size_in_turn(chunk):
    """On CPU a grid over train fraction trains each fraction's members as one unpadded part; keys that keep the set
    sizes (corruption, weight decay) stay in one population; an explicit chunk size is the user's."""
    from grokbench.chunking import chunk_size

    cpu = torch.device("cpu")
    cfg = compose([*chunk, "seeds=3", "population.grid.task.train_fraction=[0.3,0.5,0.7]",
                   "population.grid.task.corruption=[0.0,0.1]", "population.grid.optimizer.weight_decay=[0,1]"])
    table = members(cfg)
    size = chunk_size(cfg, table, cpu)
    assert size == 12
    for start in range(0, len(table), size):  # every part one fraction, so nothing is padded
        assert table["task.train_fraction"].iloc[start : start + size].nunique() == 1
    cfg = compose([*chunk, "seeds=3", "population.grid.task.corruption=[0.0,0.1]"])
    assert chunk_size(cfg, members(cfg), cpu) == 6
    cfg = compose(["seeds=3", "population.grid.task.train_fraction=[0.3,0.5]", "population.chunk=4"])
    assert chunk_size(cfg, members(cfg), cpu) == 4


def test_tf32_on_cpu_is_not_silent(run):
    with pytest.warns(UserWarning, match="train.tf32"):
        run(["train.tf32=true", "train.max_steps=2"])
