"""Configs ship inside the package: a plain (non-editable) install must find them."""
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO


def test_wheel_contains_every_config(tmp_path):
    # build isolation: pip brings the build backend pyproject.toml names, so the test does not depend on the
    # setuptools this venv happens to have (a venv's own 65.x cannot build wheels without the `wheel` package)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, timeout=300)
    wheel = next(tmp_path.glob("grokbench-*.whl"))
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".yaml")}
    on_disk = {str(Path("grokbench") / p.relative_to(REPO / "grokbench"))
               for p in (REPO / "grokbench" / "configs").rglob("*.yaml")}
    assert on_disk and on_disk <= shipped
    assert "grokbench/configs/config.yaml" in shipped


def test_config_registries_match_yaml_files():
    from grokbench.compose import CONFIG_DIR
    from grokbench.losses import LOSSES
    from grokbench.models import MODELS
    from grokbench.optim import OPTIMIZERS
    from grokbench.tasks import TASKS

    for group, registry in [("task", TASKS), ("model", MODELS), ("optimizer", OPTIMIZERS), ("loss", LOSSES)]:
        assert {p.stem for p in (CONFIG_DIR / group).glob("*.yaml")} == set(registry), group


def test_every_config_option_composes_with_its_own_name():
    from grokbench.compose import CONFIG_DIR, compose_config

    for group in ("task", "model", "optimizer", "loss"):
        for option in (p.stem for p in (CONFIG_DIR / group).glob("*.yaml")):
            assert compose_config([f"{group}={option}"])[group].name == option
