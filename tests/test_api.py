"""`from grokbench import load_run, load_sweep`: a run's tables, config, members, and each member's data and model as
a plain torch.nn.Module, checked against the numbers training itself wrote (metrics.parquet), all at once and in
chunks."""
import pandas as pd
import pytest
import torch

from conftest import grokbench
from grokbench import load_run, load_sweep
from grokbench.losses import per_sample_loss


def logged_at(metrics: pd.DataFrame, member: int, step=None) -> pd.Series:
    mine = metrics[metrics["member"] == member].sort_values("step")
    return mine.iloc[-1] if step is None else mine[mine["step"] == step].iloc[0]


@pytest.mark.parametrize("chunk", [[], ["population.chunk=3"]])
def test_a_members_model_and_data_give_the_numbers_training_logged(run, chunk):
    _, metrics, out = run(["seeds=2", "population.grid.task.train_fraction=[0.3,0.7]", "task.corruption=0.2",
                           "train.snapshots=3", *chunk])
    loaded = load_run(out)
    pd.testing.assert_frame_equal(loaded.metrics, metrics)
    assert list(loaded.members["member"]) == [0, 1, 2, 3] and loaded.config.task.corruption == 0.2
    snap_step = int(sorted(metrics["step"].unique())[1])  # a snapshot step before the last (train.snapshots=3)
    for member in range(4):
        d = loaded.data(member)
        fraction = loaded.members.loc[member, "task.train_fraction"]
        assert len(d.y_train) == int(fraction * 121) and len(d.y_test) == 121 - len(d.y_train)
        for step in (None, snap_step):
            if step is not None and step not in torch.load(out / "snapshots.pt", weights_only=True)["steps"]:
                continue
            net = loaded.model(member, step=step)
            assert isinstance(net, torch.nn.Module)
            row = logged_at(metrics, member, step)
            with torch.no_grad():
                train_logits, test_logits = net(d.x_train), net(d.x_test)
            acc = (test_logits.argmax(-1) == d.y_test).double().mean().item()
            assert acc == row["test_acc"]
            loss = per_sample_loss(loaded.config.loss, train_logits, d.y_train).double().mean().item()
            assert loss == pytest.approx(row["train_loss"], rel=1e-5)


def test_unknown_member_and_step_are_one_line_errors(run):
    _, _, out = run(["train.snapshots=2"])
    loaded = load_run(out)
    with pytest.raises(ValueError, match=r"member 9 is out of range; allowed: 0\.\.1"):
        loaded.data(9)
    with pytest.raises(ValueError, match=r"step 7 is not among member 0's snapshots; available: "):
        loaded.model(0, step=7)


def test_load_sweep_gives_the_table_and_every_run(tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = grokbench("run", "-m", "device=cpu", "task.p=11", "model.width=8", "train.max_steps=5", "seeds=2",
                       "optimizer.weight_decay=0,1", f"hydra.sweep.dir={sweep_dir}", "train.plot=false")
    assert result.returncode == 0, result.stderr
    sweep = load_sweep(sweep_dir)
    assert sorted(sweep.runs) == ["0", "1"] and len(sweep.table) == 4
    assert sweep.runs["1"].config.optimizer.weight_decay == 1
    assert set(sweep.table["optimizer.weight_decay"]) == {0.0, 1.0}
