"""task.split_file: each member's train/test split read from a Parquet file (a, b, split [, seed | member])."""
import pandas as pd
import pytest
import torch

from grokbench.cli import main
from grokbench.config import ConfigError, validate
from grokbench.tasks import build_task
from conftest import compose

P = 7  # modadd mod 7: 49 pairs


def pairs_table(p=P, skip_b0=False):
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    t = pd.DataFrame({"a": a.numpy(), "b": b.numpy()})
    return t[t.b != 0].reset_index(drop=True) if skip_b0 else t


def with_split(t, seed, n_train=20):
    perm = torch.randperm(len(t), generator=torch.Generator().manual_seed(1000 + seed)).numpy()
    split = pd.Series("test", index=t.index)
    split.iloc[perm[:n_train]] = "train"
    return t.assign(split=split)


def train_pairs(data, k):
    return {tuple(r) for r in data.x_train[k, :, :2].tolist()}


def rows(t, which):
    return {(int(a), int(b)) for a, b in t.loc[t.split == which, ["a", "b"]].to_numpy()}


def test_each_seed_trains_on_its_own_rows_of_the_file(tmp_path):
    path = tmp_path / "split.parquet"
    per_seed = {s: with_split(pairs_table(), s).assign(seed=s) for s in (3, 5)}
    pd.concat(per_seed.values()).to_parquet(path)
    cfg = compose([f"task.p={P}", "seeds=[5,3]", f"task.split_file={path}", "task.train_fraction=0.9"])
    validate(cfg)
    data = build_task(cfg.task, [5, 3], "cpu")
    assert data.x_train.shape[:2] == (2, 20) and data.x_test.shape[:2] == (2, 29)  # the file's 20, not 0.9 · 49
    for k, s in enumerate((5, 3)):
        assert train_pairs(data, k) == rows(per_seed[s], "train")
        assert {tuple(r) for r in data.x_test[k, :, :2].tolist()} == rows(per_seed[s], "test")
        a, b = data.x_train[k, :, 0], data.x_train[k, :, 1]
        assert torch.equal(data.y_train[k], (a + b) % P)  # labels come from the task, not the file


def test_without_a_seed_column_every_member_shares_the_split(tmp_path, run):
    path = tmp_path / "split.parquet"
    t = with_split(pairs_table(), 0)
    t.to_parquet(path)
    data = build_task(compose([f"task.p={P}", f"task.split_file={path}"]).task, [0, 1], "cpu")
    assert train_pairs(data, 0) == train_pairs(data, 1) == rows(t, "train")
    summary, metrics, _ = run([f"task.p={P}", f"task.split_file={path}"])
    assert len(summary) == 2 and metrics["step"].max() == 20


def test_member_column_gives_the_split_by_position(tmp_path):
    path = tmp_path / "split.parquet"
    per_member = [with_split(pairs_table(), m).assign(member=m) for m in (0, 1)]
    pd.concat(per_member).to_parquet(path)
    data = build_task(compose([f"task.p={P}", f"task.split_file={path}"]).task, [7, 8], "cpu")
    assert [train_pairs(data, k) for k in (0, 1)] == [rows(t, "train") for t in per_member]


def bad_files():
    good = with_split(pairs_table(), 0)
    return {
        "missing": None,
        "no split column": good.drop(columns="split"),
        "pair twice": pd.concat([good, good.iloc[:1]]),
        "pair missing": good.iloc[1:],
        "operand outside 0..p-1": pd.concat([good.iloc[1:], pd.DataFrame({"a": [P], "b": [0], "split": ["test"]})]),
        "no test rows": good.assign(split="train"),
        "bad split value": good.assign(split="validation"),
        "seed not in file": good.assign(seed=9),
    }


@pytest.mark.parametrize("case", list(bad_files()))
def test_bad_file_is_refused_at_validation(tmp_path, case):
    path = tmp_path / "split.parquet"
    if bad_files()[case] is not None:
        bad_files()[case].to_parquet(path)
    with pytest.raises(ConfigError, match="task.split_file"):
        validate(compose([f"task.p={P}", f"task.split_file={path}"]))


def test_moddiv_file_naming_b_zero_is_refused(tmp_path):
    path = tmp_path / "split.parquet"
    good = with_split(pairs_table(skip_b0=True), 0)
    good.to_parquet(path)
    validate(compose(["task=moddiv", f"task.p={P}", f"task.split_file={path}"]))  # the 42 pairs with b ≠ 0: fine
    pd.concat([good.iloc[1:], pd.DataFrame({"a": [1], "b": [0], "split": ["train"]})]).to_parquet(path)
    with pytest.raises(ConfigError, match=r"task.split_file.*\(1, 0\)"):
        validate(compose(["task=moddiv", f"task.p={P}", f"task.split_file={path}"]))


def test_cli_refuses_a_bad_file_in_one_line_before_writing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "device=cpu", f"task.p={P}", f"task.split_file={tmp_path / 'nope.parquet'}",
                 f"hydra.run.dir={out}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "task.split_file" in err, err
    assert not out.exists()
