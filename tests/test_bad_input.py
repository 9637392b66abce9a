"""Every command's bad input: one line on stderr (at most ~200 characters), exit code 2, no traceback. No case
trains anything: each is refused while parsing or checking its arguments."""
import pytest

from conftest import grokbench

NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}  # device=cuda is refused the same way on a machine with a GPU

# arguments ({missing}: a path that does not exist, {empty}: an empty dir), words the line must contain
BAD_INPUT = [
    (["nosuch"], ["unknown command", "run"]),
    (["--bogus"], ["unknown command"]),
    (["run", "--bogus"], ["--bogus"]),
    (["run", "--cfg", "nosuch"], ["--cfg", "job"]),
    (["run", "task.p=abc"], ["task.p"]),
    (["run", "task.p=[1"], ["task.p=[1"]),
    (["run", "task.p=7,11"], ["-m"]),
    (["run", "experiment=prieto2025/fig1b_stablemx"], ["did you mean prieto2025/fig1b_stablemax?"]),
    (["run", "-m", "task.p=7,abc", "hydra.sweep.dir={missing}"], ["task.p"]),
    (["show", "--bogus"], ["--bogus"]),
    (["show", "task.nosuch=1"], ["task.nosuch"]),
    (["list", "--bogus"], ["--bogus"]),
    (["collect"], ["sweep_dir"]),
    (["collect", "{missing}"], ["not a directory"]),
    (["collect", "{empty}", "{missing}"], ["unrecognized"]),
    (["summarize", "{missing}"], ["not a directory"]),
    (["summarize", "{empty}"], ["no results"]),
    (["summarize", "{empty}", "--format", "xml"], ["--format", "markdown"]),
    (["plot"], ["dir"]),
    (["plot", "{missing}"], ["not a directory"]),
    (["watch", "--bogus"], ["dir"]),
    (["watch", "{missing}", "--once"], ["not a directory"]),
    (["watch", "{empty}", "--every", "soon"], ["--every"]),
    (["reproduce"], ["PAPER/FIGURE"]),
    (["reproduce", "--bogus"], ["--bogus"]),
    (["reproduce", "prieto2025/fig1b_stablemx"], ["did you mean prieto2025/fig1b_stablemax?"]),
    (["reproduce", "prieto2025/fig1a_perp_adamw", "optimizer.lr=-1"], ["optimizer.lr"]),
    (["reproduce", "prieto2025/fig1a_perp_adamw", "--bogus"], ["--bogus"]),
    (["reproduce", "prieto2025/fig1a_perp_adamw", "--check"], ["--check"]),
    (["bench", "--bogus"], ["--bogus"]),
    (["bench", "--threads", "0"], ["--threads", ">= 1"]),
    (["bench", "--members", "0"], ["--members"]),
    (["bench", "device=cuda"], ["device", "cpu"]),
    (["bench", "task.nosuch=1"], ["task.nosuch"]),
    (["analyze"], ["prune", "fourier"]),
    (["analyze", "nosuch"], ["prune", "fourier"]),
    (["analyze", "fourier", "{missing}"], ["config.yaml"]),
    (["analyze", "fourier", "{missing}", "--device", "gpu"], ["--device", "cpu", "cuda", "auto"]),
    (["analyze", "fourier", "{missing}", "--device", "cuda"], ["--device", "cpu"]),
    (["analyze", "fourier", "{missing}", "--top", "0"], ["--top"]),
    (["analyze", "fourier", "{empty}", "--bogus"], ["--bogus"]),
    (["analyze", "prune", "{missing}", "--device", "gpu"], ["--device", "cpu", "cuda", "auto"]),
    (["analyze", "prune", "{missing}", "--device", "cuda"], ["--device", "cpu"]),
    (["analyze", "prune", "{missing}", "--order", "nosuch"], ["--order", "low_ipr"]),
    (["data"], ["--out"]),
    (["data", "--bogus"], ["--bogus"]),
    (["data", "task.nosuch=1", "--out", "{empty}/x.parquet"], ["task.nosuch"]),
]


@pytest.mark.parametrize("args,words", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_exit_2(args, words, tmp_path):
    (tmp_path / "empty").mkdir()
    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    r = grokbench(*[a.format(**paths) for a in args], cwd=tmp_path, env=NO_GPU)
    err = r.stderr.strip()
    assert "Traceback" not in r.stdout + r.stderr, err
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(err.splitlines()) == 1 and len(err) <= 200, err
    assert err.startswith("grokbench: error:"), err
    for word in words:
        assert word in err, err
    assert not (tmp_path / "missing").exists() and not any((tmp_path / "empty").iterdir())  # nothing written


@pytest.fixture(scope="module")
def quadratic_run(tmp_path_factory):
    """A finished run both analyses take (neurons over Z_p for prune, snapshots for fourier)."""
    out = tmp_path_factory.mktemp("analyze") / "run"
    r = grokbench("run", "device=cpu", "task.p=7", "model=quadratic", "model.width=4", "train.max_steps=4",
                  "train.eval_every=2", "seeds=1", "train.snapshots=2", f"hydra.run.dir={out}")
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("analysis", ["fourier", "prune"])
def test_analyze_device_cuda_without_a_gpu_is_one_line_and_auto_takes_the_cpu(analysis, quadratic_run):
    r = grokbench("analyze", analysis, str(quadratic_run), "--device", "cuda", env=NO_GPU)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == ["grokbench: error: --device=cuda is invalid; allowed: cpu or auto: "
                                             "no CUDA device is visible on this machine"], r.stderr
    r = grokbench("analyze", analysis, str(quadratic_run), "--device", "auto", env=NO_GPU)
    assert r.returncode == 0, r.stderr
