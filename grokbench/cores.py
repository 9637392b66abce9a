"""How many CPU cores a run may use: what `population.workers=auto` trains on at once.

Physical cores, not hardware threads: two workers on the two hyperthreads of one core share its FPUs and gain little.
The count is taken within what this process is allowed (its CPU affinity, which SLURM's --cpus-per-task and `taskset`
set), capped by a cgroup CPU quota (a container's `--cpus`), and shared among the Hydra jobs that the joblib launcher
runs side by side on this machine (its n_jobs), so parallel jobs do not oversubscribe the cores.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional

CPU_SYS = Path("/sys/devices/system/cpu")
CGROUP = Path("/sys/fs/cgroup")


def allowed_cpus() -> set:
    """The logical CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def physical_cores(cpus: set) -> int:
    """Distinct (package, core) pairs among `cpus`; len(cpus) where the topology cannot be read."""
    cores = set()
    for cpu in cpus:
        topology = CPU_SYS / f"cpu{cpu}" / "topology"
        try:
            package, core = ((topology / f).read_text().strip() for f in ("physical_package_id", "core_id"))
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return len(cores) or len(cpus)


def cgroup_quota() -> Optional[float]:
    """CPUs' worth of time the cgroup quota allows (cgroup v2 cpu.max of this process's cgroup and its parents,
    else v1 cpu.cfs_quota_us), or None when there is no quota."""
    quotas = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        v2 = next((line.split("::", 1)[1] for line in lines if line.startswith("0::")), None)
    except OSError:
        v2 = None
    if v2 is not None:
        path = CGROUP / v2.lstrip("/")
        for folder in (path, *path.parents):
            if not str(folder).startswith(str(CGROUP)):
                break
            try:
                quota, period = (folder / "cpu.max").read_text().split()
            except (OSError, ValueError):
                continue
            if quota != "max":
                quotas.append(int(quota) / int(period))
    try:
        quota = int((CGROUP / "cpu" / "cpu.cfs_quota_us").read_text())
        if quota > 0:
            quotas.append(quota / int((CGROUP / "cpu" / "cpu.cfs_period_us").read_text()))
    except (OSError, ValueError):
        pass
    return min(quotas) if quotas else None


def available_cores() -> int:
    """Physical cores this process may use, >= 1."""
    cores = physical_cores(allowed_cpus())
    quota = cgroup_quota()
    if quota is not None:
        cores = min(cores, math.floor(quota))
    return max(1, cores)


def parallel_jobs(cores: int) -> int:
    """Hydra jobs running side by side in this machine's cores: the joblib launcher's n_jobs (negative counts back
    from the cores, as joblib does: -1 = all); 1 for any other launcher (SLURM gives each job its own CPUs) or
    outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        launcher = HydraConfig.get().launcher
    except (ImportError, ValueError):  # not inside a Hydra job
        return 1
    if "joblib" not in str(launcher.get("_target_", "")).lower():
        return 1
    n_jobs = launcher.get("n_jobs") or 1
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def cores_per_job() -> int:
    """The cores this job may use: available_cores() shared among the Hydra jobs running beside it, >= 1."""
    cores = available_cores()
    return max(1, cores // parallel_jobs(cores))


def worker_count(cfg, device, parts: int) -> int:
    """population.workers for `parts` parts: auto = on CPU the physical cores this job may use (grokbench/cores.py)
    ÷ train.threads, on a GPU 1; never more than the parts."""
    workers = cfg.population.workers
    if workers == "auto":
        if device.type != "cpu":
            return 1
        workers = cores_per_job() // cfg.train.threads
    return max(1, min(int(workers), parts))
