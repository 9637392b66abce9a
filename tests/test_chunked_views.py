"""Chunked runs (population.chunk) as collect, summarize, watch and reproduce see them: a run still training shows its
finished chunks' members and the rows so far of the chunk in training; a run whose chunks early-stopped at different
steps counts every member, each at its own last evaluated step."""
import io

import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import compose, interrupted_train, run_main
from grokbench import watch
from grokbench.analysis import collect, summarize
from grokbench.reproduce import check_all
from grokbench.train import train

MIDWAY = ["seeds=3", "population.chunk=1", "train.checkpoint_every_s=1e-9", "train.plot=false"]
# member 0 (seed 0) has test_acc 0.13 from step 0 and early-stops at step 3; member 1 never reaches 0.1 and runs to 20
EARLY = ["population.chunk=1", "train.early_stop_threshold=0.1", "train.plot=false"]


def as_hydra_job(cfg, out, overrides) -> None:
    """The .hydra/ files Hydra writes for a job of `grokbench run`: what collect and reproduce read."""
    (out / ".hydra").mkdir()
    OmegaConf.save(cfg, out / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(overrides), out / ".hydra" / "overrides.yaml")


@pytest.fixture
def midway(monkeypatch, tmp_path):
    """3 members, one per chunk: chunk 0 finished, chunk 1 killed at step 10 (checkpointed there), chunk 2 unstarted."""
    out = tmp_path / "run"
    out.mkdir()
    cfg = compose(MIDWAY)
    interrupted_train(monkeypatch, cfg, out, at_step=10, chunk=1)
    as_hydra_job(cfg, out, MIDWAY)
    assert (out / "chunks" / "0" / "summary.parquet").exists() and not (out / "metrics.parquet").exists()
    assert pd.read_parquet(out / "chunks" / "1" / "metrics.parquet")["step"].max() == 10
    assert not (out / "chunks" / "2").exists()
    return out


@pytest.fixture(scope="module")
def early(tmp_path_factory):
    out = tmp_path_factory.mktemp("early") / "run"
    out.mkdir()
    cfg = compose(EARLY)
    train(cfg, out)
    as_hydra_job(cfg, out, EARLY)
    last = pd.read_parquet(out / "metrics.parquet").groupby("member")["step"].max()
    assert last.to_dict() == {0: 3, 1: 20}  # the chunks stopped at different steps
    return out


def last_rows(*paths) -> pd.DataFrame:
    """Each member's row at its own last evaluated step."""
    metrics = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    return metrics.sort_values("step", kind="stable").drop_duplicates("member", keep="last").set_index("member")


def test_collect_and_summarize_show_the_chunks_so_far(midway):
    df = collect.collect(midway, write=False)
    assert df["member"].tolist() == [0, 1]  # member 2's chunk has not started: no row
    assert df.set_index("member")["finished"].to_dict() == {0: True, 1: False}
    done = pd.read_parquet(midway / "chunks" / "0" / "summary.parquet")
    pd.testing.assert_frame_equal(df.loc[df["member"] == 0, done.columns].reset_index(drop=True), done,
                                  check_dtype=False)
    so_far = last_rows(midway / "chunks" / "1" / "metrics.parquet").loc[1]
    partial = df.set_index("member").loc[1]
    assert partial["final_step"] == 10 and partial["seed"] == 1
    assert (partial["final_train_acc"], partial["final_test_acc"]) == (so_far["train_acc"], so_far["test_acc"])
    line = collect.status_line(df)
    assert "0 finished, 1 unfinished with partial results" in line and "chunk 2/3" in line, line
    assert "1 member of later chunks" in line, line

    code, out = run_main(summarize, midway, "--format", "csv")
    table = pd.read_csv(io.StringIO(out))
    assert code == 0 and table["members"].tolist() == [2] and table["done"].tolist() == [1]


def test_watch_shows_the_chunks_so_far(midway, capsys):
    assert watch.main([str(midway), "--once"]) == 0
    text = capsys.readouterr().out
    assert "failed" in text and "10/20 (chunk 2/3)" in text
    assert "2 of 3" in text  # the accuracies are medians over the 2 members with rows
    last = last_rows(*(midway / "chunks" / k / "metrics.parquet" for k in "01"))
    assert f"{last['train_acc'].median():.1%}" in text and f"{last['test_acc'].median():.1%}" in text


def test_watch_reads_each_member_at_its_last_step(early, capsys):
    assert watch.main([str(early), "--once"]) == 0
    text = capsys.readouterr().out
    last = last_rows(early / "metrics.parquet")
    assert f"{last['train_acc'].median():.1%}" in text and f"{last['test_acc'].median():.1%}" in text


def test_claims_count_every_member_at_its_own_last_step(early):
    at_20 = {"metric": "test_acc", "at_step": 20, "min": 0.0}
    at_10 = {"metric": "test_acc", "at_step": 10, "min": 0.0}
    rows = check_all([at_20, at_10, {"metric": "final_test_acc", "min": 0.0}], [early])
    assert [r["n"] for r in rows] == [2, 2, 2]
    metrics = pd.read_parquet(early / "metrics.parquet").set_index(["member", "step"])["test_acc"]
    assert rows[0]["median"] == pytest.approx((metrics[0, 3] + metrics[1, 20]) / 2)
    assert rows[1]["median"] == pytest.approx((metrics[0, 3] + metrics[1, 10]) / 2)
    assert (rows[0]["step_read_min"], rows[0]["step_read"]) == (3, 20)

    code, out = run_main(summarize, early, "--format", "csv")  # per member from summary.parquet: both count
    table = pd.read_csv(io.StringIO(out))
    assert code == 0 and table["members"].tolist() == [2] and table["done"].tolist() == [2]
    assert table["final_test_acc"].item() == pytest.approx(last_rows(early / "metrics.parquet")["test_acc"].median())
