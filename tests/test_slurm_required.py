"""GROKBENCH_REQUIRE_SLURM=1 (set by .ci/run) turns the SLURM tests' skip into a failure, so a CI whose SLURM did not
come up cannot pass with nothing run."""
import os
import subprocess
import sys

from conftest import REPO


def slurm_tests(require: bool):
    """`pytest -m slurm tests/test_slurm.py` with no sinfo on PATH (only this Python's dir)."""
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    env.pop("GROKBENCH_REQUIRE_SLURM", None)
    if require:
        env["GROKBENCH_REQUIRE_SLURM"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-m", "slurm", "-q", "-p", "no:cacheprovider",
                           "tests/test_slurm.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_missing_slurm_fails_when_required():
    required = slurm_tests(require=True)
    assert required.returncode == 1, required.stdout + required.stderr
    assert "sinfo not found" in required.stdout and "2 errors" in required.stdout  # the fixture fails each test
    skipped = slurm_tests(require=False)  # the same run without the switch: skips, exit 0
    assert skipped.returncode == 0 and " skipped" in skipped.stdout, skipped.stdout + skipped.stderr
