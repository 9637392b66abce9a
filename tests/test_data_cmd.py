"""`grokbench data`: the rows it writes are the Dataset the training builds for the same members."""
import pandas as pd
import pytest
import torch

from grokbench.cli import main
from grokbench.compose import compose_config
from grokbench.tasks import build_task


@pytest.mark.parametrize("overrides", [
    ["task=modsub", "task.p=7", "task.encoding=op_equals", "task.corruption=0.3"],
    ["task=s5_aba", "task.train_fraction=0.1"],
])
def test_rows_are_the_training_dataset(tmp_path, overrides, capsys):
    out = tmp_path / "data.parquet"
    assert main(["data", *overrides, "seeds=[0,4]", "population.grid.optimizer.lr=[0.1,0.01]", f"--out={out}"]) == 0
    rows = pd.read_parquet(out)
    assert list(rows.columns[:3]) == ["member", "seed", "split"] and rows["member"].dtype == "int64"
    assert sorted(rows["member"].unique()) == [0, 1, 2, 3]  # seeds × grid
    data = build_task(compose_config(overrides).task, [0, 4], "cpu")  # what build_population gives the training
    encoding = compose_config(overrides).task.encoding.value
    b_token = 2 if encoding == "op_equals" else 1
    for member in (0, 1):  # members 0, 1 are seeds 0, 4 at the first lr
        train = rows[(rows["member"] == member) & (rows["split"] == "train")]
        assert (train["seed"] == [0, 4][member]).all()
        assert torch.equal(torch.tensor(train["a"].to_numpy()), data.x_train[member, :, 0])
        assert torch.equal(torch.tensor(train["b"].to_numpy()), data.x_train[member, :, b_token])
        assert torch.equal(torch.tensor(train["label"].to_numpy()), data.y_train[member])
        assert torch.equal(torch.tensor(train["corrupted"].to_numpy()), data.corrupted[member])
        test = rows[(rows["member"] == member) & (rows["split"] == "test")]
        assert torch.equal(torch.tensor(test["label"].to_numpy()), data.y_test[member]) and not test["corrupted"].any()


def test_bad_override_writes_nothing(tmp_path, capsys):
    out = tmp_path / "data.parquet"
    assert main(["data", "task=moddiv", "task.p=10", f"--out={out}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "task.p" in err and not out.exists()
    assert main(["data", "task.p=7"]) == 2 and "--out" in capsys.readouterr().err
