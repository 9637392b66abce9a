"""Tests compose the real config and shrink it: CPU, a few steps, outputs under tmp_path."""
import io
import os
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd
import pytest
import torch

# Tiny models: one thread is faster than two fighting over a shared 2-core machine; subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

from grokbench.compose import compose_config
from grokbench.train import train

# population.workers=1: one process per run (layouts, speed); tests/test_workers.py covers the worker processes
TINY = ["device=cpu", "task.p=11", "model.width=16", "train.max_steps=20", "train.eval_every=5", "seeds=2",
        "population.workers=1"]


def compose(overrides=(), tiny=True):
    return compose_config([*(TINY if tiny else []), *overrides])


@pytest.fixture
def run(tmp_path):
    """run(overrides, name) → (summary, metrics, out_dir) of an in-process training run."""

    def _run(overrides=(), name="run", tiny=True):
        out = tmp_path / name
        out.mkdir(parents=True, exist_ok=True)
        summary = train(compose(overrides, tiny), out)
        return summary, pd.read_parquet(out / "metrics.parquet"), out

    return _run


def grokbench(*args, cwd=None, timeout=300, env=None):
    """The real command line, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "grokbench.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


REPO = Path(__file__).resolve().parents[1]

STEP_PROBE = '''
import os
import grokbench.step
from grokbench.denormals import flushing

_step = grokbench.step.train_step


def _recording_step(*args, **kwargs):
    with open(os.environ["GROKBENCH_STEP_PROBE"], "a") as f:
        f.write(f"{os.getpid()}\\t{flushing()}\\t{os.getcwd()}\\n")
    return _step(*args, **kwargs)


grokbench.step.train_step = _recording_step
'''


def grokbench_with(tmp_path, sitecustomize: str, *args, cwd=None, env=None, timeout=300):
    """The real command line with `sitecustomize` (Python source) run at the start of each of its processes: the
    command's, its fork server's, and so every worker's (forked from the server)."""
    site = tmp_path / "sitecustomize"
    site.mkdir()
    (site / "sitecustomize.py").write_text(sitecustomize)
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    return grokbench(*args, cwd=cwd, env={**(env or {}), "PYTHONPATH": path}, timeout=timeout)


def grokbench_probing_steps(tmp_path, *args, cwd=None):
    """The real command line, recording at each training step which process stepped, whether it flushes subnormals
    and its working directory. → (the finished subprocess, [(pid, flushing, cwd) per step])."""
    steps = tmp_path / "steps.tsv"
    r = grokbench_with(tmp_path, STEP_PROBE, *args, cwd=cwd, env={"GROKBENCH_STEP_PROBE": str(steps)})
    lines = steps.read_text().splitlines() if steps.exists() else []
    return r, [tuple(line.split("\t")) for line in lines]


def run_main(module, *argv):
    """(exit code, stdout) of a subcommand module's main(argv), in this process."""
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = module.main([str(a) for a in argv])
    return code, buf.getvalue()


class Interrupted(Exception):
    pass


def interrupted_train(monkeypatch, cfg, out, at_step: int, chunk: int = 0) -> None:
    """train(cfg, out) dies just before step `at_step` of the `chunk`-th part it trains (population.chunk; 0 when
    unchunked), as a killed job would (set train.checkpoint_every_s tiny so it has checkpointed at that step); the
    real step is back in place afterwards."""
    from grokbench.step import Stepper

    parts = []  # one Stepper per part trained

    class Dies(Stepper):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.part = len(parts)
            parts.append(self)

        def __call__(self, step, x, y, mask=None):
            if step == at_step and self.part == chunk:
                raise Interrupted
            super().__call__(step, x, y, mask)

    with monkeypatch.context() as patch:
        patch.setattr("grokbench.loop.Stepper", Dies)
        with pytest.raises(Interrupted):
            train(cfg, out)
