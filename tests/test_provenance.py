"""run.json: every run dir says where it came from (versions, commit, device, host, command, members, times)."""
import json
import platform
import subprocess
from datetime import datetime

import torch

import grokbench
from conftest import REPO, compose, interrupted_train
from grokbench.provenance import git_commit
from grokbench.train import train


def utc(text):
    t = datetime.fromisoformat(text)
    assert t.utcoffset().total_seconds() == 0, text
    return t


def test_run_json(run):
    _, _, out = run(["seeds=3"])
    info = json.loads((out / "run.json").read_text())
    assert info["grokbench_version"] == grokbench.__version__ and info["torch_version"] == torch.__version__
    assert info["cuda_version"] == torch.version.cuda and info["python_version"] == platform.python_version()
    assert info["members"] == 3 and info["device"] and info["hostname"] and info["command"]
    assert utc(info["started"]) <= utc(info["ended"]) and info["resumed"] == []
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert info["git_commit"] == (head.stdout.strip() if head.returncode == 0 else None)


def test_git_commit_is_null_without_git_or_outside_a_checkout(tmp_path, monkeypatch):
    assert git_commit(tmp_path) is None  # e.g. installed from a wheel: no .git above the package
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path))  # no git program at all
    assert git_commit(tmp_path) is None


def test_resume_with_other_versions_warns_in_one_line(tmp_path, monkeypatch, caplog):
    cfg = compose(["train.checkpoint_every_s=1e-9"])
    out = tmp_path / "run"
    interrupted_train(monkeypatch, cfg, out, at_step=10)
    first = json.loads((out / "run.json").read_text())
    assert first["ended"] is None
    (out / "run.json").write_text(json.dumps({**first, "grokbench_version": "0.0.1", "torch_version": "2.0.0"}))
    with caplog.at_level("WARNING", logger="grokbench"):
        train(cfg, out)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert f"grokbench_version 0.0.1 -> {grokbench.__version__}" in warnings[0] and "torch_version 2.0.0" in warnings[0]
    info = json.loads((out / "run.json").read_text())
    assert info["started"] == first["started"] and len(info["resumed"]) == 1 and info["ended"] is not None
    assert info["grokbench_version"] == grokbench.__version__  # the versions of the latest start
