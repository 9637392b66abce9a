"""population.workers: parts trained at the same time in worker processes give workers=1's run bit for bit (every
table, snapshot and weight), resume after a kill -9, and the auto count stays within the cores this job may use."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from conftest import TINY, compose, grokbench, grokbench_probing_steps, grokbench_with
from grokbench import cores, store
from grokbench.chunking import recorded_parts
from grokbench.population import members
from grokbench.train import train
from grokbench.workers import worker_count

# p=13, not TINY's 11: with 11 classes torch's CPU matmul of a 61-sample test set gives a member other bits at another
# offset in the batch, so members of TINY already differ between populations (workers or not)
SMALL = ["task.p=13", "seeds=4", "train.snapshots=3"]
TABLES = (store.METRICS_FILE, store.SUMMARY_FILE)
EARLY_STOP = ["train.max_steps=400", "task.p=23", "model.width=64", "optimizer.lr=0.01", "task.train_fraction=0.8",
              "train.early_stop_threshold=0.1", "train.early_stop_patience=2"]  # test_training.py's: stops < 400


def member_weights(out, cfg) -> dict:
    """{member: {name: tensor}} from the checkpoints of every part of cfg's run in `out`."""
    weights = {}
    for rows, part_dir in recorded_parts(members(cfg), out):
        state = store.load_checkpoint(part_dir / store.CHECKPOINT_FILE)["model"]
        for i, m in enumerate(rows["member"]):
            weights[int(m)] = {name: None if w is None else w[i] for name, w in state.items()}
    return weights


def assert_same_run(out, reference, cfg):
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(reference / name), check_exact=True)
    a, b = member_weights(out, cfg), member_weights(reference, cfg)
    assert a.keys() == b.keys()
    for m in a:
        assert a[m].keys() == b[m].keys()
        assert all(torch.equal(a[m][n], b[m][n]) for n in a[m] if a[m][n] is not None), m


@pytest.mark.parametrize("extra", [[], ["population.grid.task.train_fraction=[0.3,0.6]"],
                                   EARLY_STOP],
                         ids=["full_batch", "train_fraction_grid", "early_stop"])
def test_two_workers_equal_one(run, extra):
    _, _, one = run([*SMALL, *extra, "population.workers=1"], "one")
    _, _, two = run([*SMALL, *extra, "population.workers=2"], "two")
    cfg = compose([*SMALL, *extra])
    assert len(recorded_parts(members(cfg), two)) == 2  # it trained in two parts
    assert_same_run(two, one, cfg)
    a, b = (torch.load(d / store.SNAPSHOTS_FILE, weights_only=True) for d in (one, two))
    assert a["steps"] == b["steps"] and a["member"] == b["member"] and torch.equal(a["present"], b["present"])
    assert all(torch.equal(a["state"][n], b["state"][n]) for n in a["state"])
    if extra == EARLY_STOP:  # the two pieces stopped where the whole population stops, which is before the end
        assert pd.read_parquet(one / store.METRICS_FILE)["step"].max() < 400
        assert (two / "chunks" / "early_stop.json").exists()  # the pieces voted


def test_split_is_decided_at_the_first_start(tmp_path, monkeypatch):
    """workers=auto counts cores once: a resume on a machine with other cores cuts the members the same way."""
    from grokbench.train import train

    cfg = compose([*SMALL, "train.max_steps=5", "population.workers=auto"])
    monkeypatch.setattr(cores, "available_cores", lambda: 2)
    train(cfg, tmp_path)
    assert len(recorded_parts(members(cfg), tmp_path)) == 2
    monkeypatch.setattr(cores, "available_cores", lambda: 1)
    train(cfg, tmp_path)  # finished: nothing to train, the same two parts merged again
    assert len(recorded_parts(members(cfg), tmp_path)) == 2


RUN = ["device=cpu", "task.p=13", "model.width=16", "seeds=4", "train.max_steps=4000", "train.eval_every=200",
       "train.checkpoint_every_s=0.2", "train.plot=false"]


ENV = {"OMP_NUM_THREADS": "1"}


def start_until_both_parts_checkpointed(args, out):
    """A `grokbench run` subprocess, returned once both parts have a checkpoint; and the checkpoint paths."""
    proc = subprocess.Popen([sys.executable, "-m", "grokbench.cli", *args], env={**os.environ, **ENV},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = [out / "chunks" / str(k) / store.CHECKPOINT_FILE for k in range(2)]
    t0 = time.monotonic()
    while not all(c.exists() for c in ckpts):
        assert proc.poll() is None, "the run ended before both parts checkpointed"
        assert time.monotonic() - t0 < 300
        time.sleep(0.05)
    return proc, ckpts


def reference_run(tmp_path, extra=()):
    reference = tmp_path / "reference"
    r = grokbench("run", *RUN, *extra, "population.workers=1", f"hydra.run.dir={reference}", env=ENV)
    assert r.returncode == 0, r.stderr
    return reference


def descendants(pid: int) -> list:
    """The processes started by `pid`, then those started by them, ... (Linux /proc): here multiprocessing's
    resource tracker and fork server, then the workers forked from the server."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in sorted(children.get(todo.pop(0), [])):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_killed_two_worker_run_resumes_every_part(tmp_path):
    out = tmp_path / "run"
    args = ["run", *RUN, "population.workers=2", f"hydra.run.dir={out}"]
    proc, ckpts = start_until_both_parts_checkpointed(args, out)
    started = descendants(proc.pid)
    assert len(started) >= 3  # the fork server and the two workers (and multiprocessing's resource tracker)
    proc.send_signal(signal.SIGKILL)  # the parent only: its fork server and workers die with it
    proc.wait()
    t0 = time.monotonic()
    while any(running(p) for p in started):
        assert time.monotonic() - t0 < 10, "a process of the killed run is still running"
        time.sleep(0.05)
    steps = [store.load_checkpoint(c)["step"] for c in ckpts]
    assert not any(store.load_checkpoint(c)["finished"] for c in ckpts), "finished before the kill: make RUN longer"
    r = grokbench(*args, env=ENV)
    assert r.returncode == 0, r.stderr
    for k, step in enumerate(steps):  # each part went on from its own checkpoint (or a later one)
        resumed = [int(line.split("resumed from step ")[1].split(":")[0]) for line in r.stdout.splitlines()
                   if line.startswith(f"part {k}: resumed from step ")]
        assert resumed and resumed[0] >= step > 0
    assert_same_run(out, reference_run(tmp_path), compose(RUN, tiny=False))


# threshold 1.0 is never reached here, so the pieces vote at every eval and take the signal at the same one.
# to_all: SIGTERM to every process of the run, as SLURM signals a job's: the fork server first, and time for it to die
# of it, which must not happen (it would take its workers with it before they saved).
@pytest.mark.parametrize("extra, to_all", [pytest.param([], False, marks=pytest.mark.slow),
                                           (["train.early_stop_threshold=1.0"], False), ([], True)],
                         ids=["parts", "voting_pieces", "parts_every_process"])
def test_sigterm_checkpoints_every_part_then_ends_the_run(tmp_path, extra, to_all):
    from grokbench.status import read_status

    out = tmp_path / "run"
    args = ["run", *RUN, *extra, "population.workers=2", f"hydra.run.dir={out}"]
    proc, ckpts = start_until_both_parts_checkpointed(args, out)
    for pid in descendants(proc.pid) if to_all else ():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:  # a worker that saved and left on its sibling's signal, which the parent forwards
            continue
        time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == -signal.SIGTERM  # handed on to the default action, after the workers saved
    assert read_status(out)["state"] == "preempted"
    saved = [store.load_checkpoint(c) for c in ckpts]
    assert not any(c["finished"] for c in saved)
    if extra:
        from grokbench.recording import eval_steps

        assert saved[0]["step"] == saved[1]["step"] and saved[0]["step"] in eval_steps(4000, 200, 40)  # the same eval
    r = grokbench(*args, env=ENV)
    assert r.returncode == 0, r.stderr
    assert read_status(out)["state"] == "finished"
    assert_same_run(out, reference_run(tmp_path, extra), compose([*RUN, *extra], tiny=False))


SIGTERM_IN_SETUP = '''
import multiprocessing
import os
import signal

import grokbench.loop

_build = grokbench.loop.Part.build


def _signalled_build(cfg, table, device):
    marker = os.environ["GROKBENCH_SIGNALLED"]
    if multiprocessing.current_process().name == "grokbench-part-0" and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGTERM)  # a cluster's signal that reaches this piece in its setup
    return _build(cfg, table, device)


grokbench.loop.Part.build = staticmethod(_signalled_build)
'''


def test_a_piece_signalled_before_its_first_vote_keeps_the_signal_for_it(tmp_path):
    """Pieces that stop together take a signal at an eval, all at the same one. One that is signalled in its setup,
    before its first vote (SLURM signals every process of the job, each wherever it is), keeps the signal for that
    vote: ending at once would leave its sibling waiting for its vote for ever."""
    out, extra = tmp_path / "run", ["train.early_stop_threshold=1.0"]
    args = ["run", *RUN, *extra, "population.workers=2", f"hydra.run.dir={out}"]
    env = {**ENV, "GROKBENCH_SIGNALLED": str(tmp_path / "signalled")}
    r = grokbench_with(tmp_path, SIGTERM_IN_SETUP, *args, env=env, timeout=120)
    assert r.returncode == -signal.SIGTERM, r.stderr  # handed on to the default action, after both pieces saved
    from grokbench.recording import eval_steps

    first_vote = min(eval_steps(4000, 200, 40) - {0})  # step 0's eval comes before the loop, and no vote
    saved = [store.load_checkpoint(out / "chunks" / str(k) / store.CHECKPOINT_FILE) for k in range(2)]
    assert [c["step"] for c in saved] == [first_vote] * 2 and not any(c["finished"] for c in saved)
    r = grokbench(*args, env=ENV)
    assert r.returncode == 0, r.stderr
    assert_same_run(out, reference_run(tmp_path, extra), compose([*RUN, *extra], tiny=False))


def test_fork_server_has_one_thread(tmp_path):
    """Workers are forked from the fork server: safe only while it runs one thread (a lock another thread held at the
    fork would stay held in the worker), so its imports must start none (grokbench/worker_server.py)."""
    train(compose(["population.workers=2"]), tmp_path)  # the server of this process has forked its workers
    servers = [p for p in descendants(os.getpid()) if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(servers) == 1
    assert sorted(os.listdir(f"/proc/{servers[0]}/task")) == [str(servers[0])]


def test_workers_train_in_the_runs_directory(tmp_path):
    """The fork server starts in the directory the command was typed in; with hydra.job.chdir=true the run then moves
    into its output dir, and its workers train there, as spawned ones did."""
    launch, out = tmp_path / "launch", tmp_path / "run"
    launch.mkdir()
    r, steps = grokbench_probing_steps(tmp_path, "run", *TINY, "population.workers=2", "train.plot=false",
                                       "hydra.job.chdir=true", f"hydra.run.dir={out}", cwd=launch)
    assert r.returncode == 0, r.stderr
    assert len({pid for pid, _, _ in steps}) == 2 and {cwd for _, _, cwd in steps} == {str(out)}


# ------------------------------------------------------------------------------------------------------ core counts
def fake_topology(root, cores_of_cpu: dict):
    for cpu, core in cores_of_cpu.items():
        topology = root / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{core}\n")


def test_auto_workers_count_physical_cores_within_the_affinity(tmp_path, monkeypatch):
    fake_topology(tmp_path, {0: 0, 1: 0, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3})  # 4 cores, 2 hardware threads each
    monkeypatch.setattr(cores, "CPU_SYS", tmp_path)
    monkeypatch.setattr(cores, "cgroup_quota", lambda: None)
    cfg, cpu = compose(["seeds=8", "population.workers=auto"]), torch.device("cpu")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert worker_count(cfg, cpu, parts=8) == 4
    assert worker_count(cfg, cpu, parts=3) == 3  # never more workers than parts
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})  # taskset / SLURM --cpus-per-task
    assert worker_count(cfg, cpu, parts=8) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5})
    assert worker_count(cfg, cpu, parts=8) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(cores, "cgroup_quota", lambda: 2.5)  # a container's --cpus=2.5
    assert worker_count(cfg, cpu, parts=8) == 2
    assert worker_count(compose(["seeds=8", "population.workers=auto", "train.threads=2"]), cpu, parts=8) == 1
    assert worker_count(compose(["seeds=8", "population.workers=3"]), cpu, parts=8) == 3
    assert worker_count(cfg, torch.device("cuda"), parts=8) == 1


def test_joblib_jobs_share_the_cores(monkeypatch):
    from hydra.core.hydra_config import HydraConfig

    def launcher(**node):
        monkeypatch.setattr(HydraConfig, "get", staticmethod(lambda: SimpleNamespace(launcher=OmegaConf.create(node))))

    launcher(_target_="hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", n_jobs=2)
    assert cores.parallel_jobs(8) == 2
    launcher(_target_="hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", n_jobs=-1)
    assert cores.parallel_jobs(8) == 8  # joblib's -1: every core
    launcher(_target_="hydra._internal.core_plugins.basic_launcher.BasicLauncher")
    assert cores.parallel_jobs(8) == 1
    monkeypatch.setattr(cores, "available_cores", lambda: 8)
    launcher(_target_="hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", n_jobs=3)
    assert cores.cores_per_job() == 2


@pytest.mark.parametrize("override", ["population.workers=0", "population.workers=many", "train.threads=0"])
def test_bad_workers_or_threads_is_one_line(override):
    res = grokbench("show", override)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0 and f"{override.split('=')[0]}=" in res.stderr
    assert "allowed: auto or an integer >= 1" in res.stderr or "allowed: an integer >= 1" in res.stderr
