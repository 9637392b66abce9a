"""run.json: where a run came from — grokbench version and git commit, torch/CUDA/Python versions, device, host, the
command line, number of members, start/resume/end times (ISO 8601 UTC). Written atomically when training starts
(or resumes) and when it ends."""
from __future__ import annotations

import json
import logging
import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import grokbench
from grokbench import store

if TYPE_CHECKING:
    import torch

log = logging.getLogger("grokbench")
RUN_FILE = "run.json"
COMMAND_ENV = "GROKBENCH_COMMAND"  # `grokbench run` puts its command line here: a job (a SLURM node) inherits it
SAME_FOR_BITWISE_RESUME = ("grokbench_version", "torch_version")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_commit(source: Path = Path(grokbench.__file__).resolve().parents[1]) -> Optional[str]:
    """HEAD of the git checkout grokbench runs from; None when installed from a wheel or git is not there."""
    if not (source / ".git").exists():  # a dir in a checkout, a file in a worktree
        return None
    try:
        r = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


# torch is imported where it is used: collect, summarize and plot read run.json through this module and stay
# torch-free, so they answer in well under a second (a mistyped path too)
def device_name(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or device.type


def environment(device: torch.device) -> dict:
    import torch

    return {"grokbench_version": grokbench.__version__, "git_commit": git_commit(), "torch_version": torch.__version__,
            "cuda_version": torch.version.cuda, "python_version": platform.python_version(),
            "device": device_name(device), "hostname": socket.gethostname()}


class RunRecord:
    """run.json of one run dir. start() once training (re)starts in this process, end() when it finished."""

    def __init__(self, run_dir: Path, n_members: int, device: torch.device):
        self.path, self.n_members, self.device, self.info = Path(run_dir) / RUN_FILE, n_members, device, None

    def start(self) -> None:
        if self.info is not None:  # chunks: the run started with the first chunk that trains
            return
        command = os.environ.get(COMMAND_ENV)
        info = {**environment(self.device), "command": json.loads(command) if command else sys.argv,
                "members": self.n_members, "started": now(), "resumed": [], "ended": None}
        previous = json.loads(self.path.read_text()) if self.path.exists() else None
        if previous is not None:  # a resume: the first start's time stays, this start is listed
            changed = [f"{k} {previous.get(k)} -> {info[k]}"
                       for k in SAME_FOR_BITWISE_RESUME if previous.get(k) != info[k]]
            if changed:
                log.warning(f"resuming with other versions than the run started with ({', '.join(changed)}): "
                            f"a resume equals an uninterrupted run bitwise only with the same versions")
            info.update(started=previous["started"], resumed=[*previous.get("resumed", []), info["started"]])
        store.write_json(info, self.path)
        self.info = info

    def end(self) -> None:
        if self.info is not None:
            store.write_json({**self.info, "ended": now()}, self.path)


def grokbench_version(run_dir: Path) -> Optional[str]:
    """The grokbench version run.json records (None for a dir without one)."""
    path = Path(run_dir) / RUN_FILE
    return json.loads(path.read_text()).get("grokbench_version") if path.exists() else None
