"""checkpoint.pt holds only tensors and plain types and is loaded with weights_only=True: loading never runs code,
and a checkpoint holding pickled objects is refused in one line. Metrics live in metrics.parquet only."""
import os

import pandas as pd
import pytest
import torch

from conftest import TINY, compose, grokbench, interrupted_train
from grokbench.train import train


class RunsCode:
    """Unpickling this runs a shell command (what a malicious checkpoint could do)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("payload", ["code", "dataframe"])
def test_a_checkpoint_with_pickled_objects_is_refused(tmp_path, payload):
    """`code`: an object whose unpickling runs a command; `dataframe`: an earlier grokbench's checkpoint format."""
    out, marker = tmp_path / "run", tmp_path / "code_ran"
    out.mkdir()
    held = RunsCode(marker) if payload == "code" else pd.DataFrame({"step": [0], "train_acc": [0.5]})
    torch.save({"config": "", "finished": False, "step": 5, "metrics": held}, out / "checkpoint.pt")
    r = grokbench("run", *TINY, f"hydra.run.dir={out}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "start a new output dir" in errors[0], r.stderr
    assert not marker.exists(), "loading the checkpoint ran its code"
    assert not (out / "metrics.parquet").exists() and not (out / "run.json").exists()


def test_checkpoint_is_tensors_and_plain_types(run):
    _, metrics, out = run(["train.batch_size=8", "model=quadratic", "model.dropout=0.3"])  # sampler and dropout state
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["finished"] and ckpt["step"] == 20 and "metrics" not in ckpt


def test_resume_drops_metric_rows_written_after_the_checkpoint(tmp_path, monkeypatch):
    """Killed between writing metrics.parquet and checkpoint.pt: the table holds rows past the checkpoint's step.
    The resumed run recomputes them once, and its table equals an uninterrupted run's."""
    cfg = compose(["train.checkpoint_every_s=1e-9"])
    out = tmp_path / "run"
    interrupted_train(monkeypatch, cfg, out, at_step=12)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 12
    metrics = pd.read_parquet(out / "metrics.parquet")
    ahead = metrics[metrics["step"] == 10].assign(step=15, train_acc=-1.0)  # a row the checkpoint does not know
    pd.concat([metrics, ahead], ignore_index=True).to_parquet(out / "metrics.parquet", index=False)
    train(cfg, out)
    train(cfg, tmp_path / "whole")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "metrics.parquet"),
                                  pd.read_parquet(tmp_path / "whole" / "metrics.parquet"))


def files_of(run_dir):
    return {p.relative_to(run_dir): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def test_another_config_into_a_run_dir_leaves_every_file_as_it_was(tmp_path):
    out = tmp_path / "run"
    assert grokbench("run", *TINY, "train.plot=false", f"hydra.run.dir={out}").returncode == 0
    before = files_of(out)
    r = grokbench("run", *TINY, "seeds=3", "train.plot=false", f"hydra.run.dir={out}")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "different config" in r.stderr
    assert files_of(out) == before  # .hydra/ included: refused before Hydra rewrites it


def test_a_dir_whose_checkpoint_has_no_chunk_decision_is_checked_before_anything_is_written(tmp_path):
    from grokbench.store import RunDirError

    out = tmp_path / "run"
    out.mkdir()
    train(compose(), out)
    (out / "chunks" / "size.json").unlink()  # as a run dir from before the decision was recorded
    before = files_of(out)
    with pytest.raises(RunDirError, match="different config"):
        train(compose(["seeds=3"]), out)
    assert files_of(out) == before  # no chunk decision of the refused config, no status change
    train(compose(), out)  # its own config still continues (here: already finished)
    assert '"members_per_chunk": 2' in (out / "chunks" / "size.json").read_text()  # it trained all at once
