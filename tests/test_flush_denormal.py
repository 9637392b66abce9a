"""train.flush_denormal: subnormals flushed to zero during training on CPU, the caller's setting back afterwards,
a bad value refused in one line."""

import pytest
import torch

import grokbench.step
from conftest import TINY, compose
from conftest import grokbench_probing_steps
from grokbench.cli import main
from grokbench.denormals import flushing
from grokbench.train import train


@pytest.fixture
def seen(monkeypatch):
    """Whether subnormals were flushed at each training step."""
    flags, step = [], grokbench.step.train_step

    def recording_step(*args, **kwargs):
        flags.append(flushing())
        return step(*args, **kwargs)

    monkeypatch.setattr(grokbench.step, "train_step", recording_step)
    return flags


def test_subnormal_probe():
    assert not flushing()
    try:
        torch.set_flush_denormal(True)
        assert flushing()
        assert torch.tensor([1e-39]).item() == 0  # a subnormal float32 is zero
    finally:
        torch.set_flush_denormal(False)
    assert torch.tensor([1e-39]).item() != 0


@pytest.mark.parametrize("flush", [True, False])
def test_applied_while_training_and_restored(seen, tmp_path, flush):
    assert not flushing()
    train(compose([f"train.flush_denormal={flush}"]), tmp_path)
    assert len(seen) == 20 and set(seen) == {flush}  # every step of TINY's 20
    assert not flushing()  # the caller's setting is back


def test_restored_after_a_failure_and_keeps_a_flushing_caller(seen, tmp_path, monkeypatch):
    def failing_step(*args, **kwargs):
        seen.append(flushing())
        raise RuntimeError("boom")

    monkeypatch.setattr(grokbench.step, "train_step", failing_step)
    with pytest.raises(RuntimeError, match="boom"):
        train(compose(["train.flush_denormal=true"]), tmp_path / "failed")
    assert seen == [True] and not flushing()
    try:  # a caller that flushes itself still flushes afterwards (restored to its setting, not to "off")
        torch.set_flush_denormal(True)
        monkeypatch.undo()
        train(compose(["train.flush_denormal=true"]), tmp_path / "caller_flushes")
        assert flushing()
    finally:
        torch.set_flush_denormal(False)


def test_bad_value_is_one_line_exit_2(capsys):
    assert main(["run", "train.flush_denormal=sometimes"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train.flush_denormal" in err and "bool" in err, err


@pytest.mark.parametrize("flush", [True, False])
def test_applied_in_every_worker_process(tmp_path, flush):
    """Worker processes get the setting from the config, not from the parent's thread: each step of a real
    `grokbench run` records which process stepped and whether it flushes."""
    r, steps = grokbench_probing_steps(tmp_path, "run", *TINY, f"train.flush_denormal={flush}",
                                       "population.workers=2", "train.plot=false", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 0, r.stderr
    assert len({pid for pid, _, _ in steps}) == 2  # two workers, and the parent never stepped
    assert len(steps) == 2 * 20 and {f for _, f, _ in steps} == {str(flush)}  # every step of each
    assert not flushing()
