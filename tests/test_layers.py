"""The import layers declared in pyproject.toml ([tool.importlinter]) hold: no module imports a layer above its own and
no package has an import cycle, so a new cycle fails here."""
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_lint_imports_keeps_every_contract():
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]
    out = subprocess.run([*command, str(REPO / "pyproject.toml"), "--no-cache", "--no-logo"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout, out.stdout
