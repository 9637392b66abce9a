"""Every command the docs show runs here, so the docs cannot rot.

The command lines are read from every ```bash block of README.md and docs/*.md (a trailing backslash or an open
quote continues a line; `A && B` is two commands). Each page's commands run in the page's order in one fresh
working directory, so a command that reads a dir reads the dir an earlier command of the page wrote:
- `grokbench ...` (and `python -m grokbench.cli ...`) runs through the real command line, grokbench.cli.main, in
  one subprocess per page. Training commands are shrunk by appending SHRINK: Hydra applies overrides in order, so
  the last value given for a key wins. A command that sets `train.max_steps` to at most KEEP_STEPS is small on
  purpose and keeps its steps and eval schedule (an export of its step 100 needs them). `grokbench watch` gets
  `--once`, `grokbench bench` one short timed block, `grokbench analyze llc` a few draws.
- `python -c ...` and `python scripts/...` run as written (a benchmark script with SCRIPT_SHRINK appended);
  `bash scripts/...` (GPU, root) must name a script that exists; `pip install` must name extras pyproject.toml
  declares; `pytest` must come with the `test` extra.
- A command that cannot run on a CPU-only machine ends in `# not run: REASON`. It must be a `grokbench run` that
  needs SLURM or a GPU, and it is still composed and validated as `grokbench run` does before it starts anything
  (grokbench.compose.preflight), so a renamed key or option fails here too.

`pytest tests/test_docs.py -k sweeps` runs one page.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]

# population.workers=1: a grid of one step would otherwise start two worker processes per command (~2 s each);
# tests/test_workers.py covers them
SHRINK = ["train.max_steps=1", "train.eval_every=1", "seeds=1", "train.plot=false", "device=cpu",
          "population.workers=1"]
KEEP_STEPS = 500
WORKERS = 2  # pages run side by side; each runner trains on one thread (OMP_NUM_THREADS=1, conftest.py)
# benchmark scripts: one short timed block
SCRIPT_SHRINK = {"scripts/bench_overhead.py": ["--repeats", "1", "train.max_steps=1", "train.eval_every=1"],
                 "scripts/bench_transformer.py": ["--members", "1", "--steps", "1", "--repeats", "1"],
                 "scripts/bench_workers.py": ["--configs", "demo", "--seeds", "2", "--max-steps", "2"],
                 "scripts/bench_first_layer.py": ["--repeats", "1", "--max-steps", "2"]}
NOT_RUN = re.compile(r"#\s*not run:\s*(\S.*)$")
MARK = "@@ doc command"  # the runner's line before each command's output


def logical_lines(text: str):
    """The command lines of a page's ```bash blocks: comment-only lines dropped, continued lines joined."""
    lines, block, pending = [], False, ""
    for raw in text.splitlines():
        if raw.startswith("```"):
            block = raw.strip() == "```bash" and not block
            continue
        if not block:
            continue
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        try:
            shlex.split(line, comments=True)
        except ValueError:  # an open quote: the string goes on on the next line
            pending = line + "\n"
            continue
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    assert not pending, f"unterminated command line: {pending!r}"
    return lines


def commands(page: str):
    """[(kind, argv, source line)] in page order. kind: grokbench, not_run, python, pip, pytest, bash."""
    out = []
    for line in logical_lines((REPO / page).read_text()):
        not_run = NOT_RUN.search(line)
        tokens = shlex.split(line, comments=True)
        parts, current = [], []
        for t in tokens:
            if t == "&&":
                parts.append(current)
                current = []
            else:
                current.append(t)
        parts.append(current)
        for argv in parts:
            if argv[:3] == ["python", "-m", "grokbench.cli"]:
                argv = ["grokbench", *argv[3:]]
            kind = argv[0]
            assert kind in ("grokbench", "python", "pip", "pytest", "bash"), f"{page}: no rule for `{line}`"
            if not_run:
                assert kind == "grokbench", f"{page}: only grokbench commands may be marked not run: `{line}`"
                kind = "not_run"
            out.append((kind, argv, line))
    return out


def shrunk(argv):
    """The grokbench (or python) command as the test runs it."""
    if argv[0] == "python":
        return [*argv, *SCRIPT_SHRINK.get(argv[1], [])]
    sub, args = argv[1], argv[2:]
    if sub in ("run", "reproduce") and "--check" not in args:
        given = [int(a.split("=", 1)[1]) for a in args if a.startswith("train.max_steps=")]
        extra = SHRINK[3:] if given and given[-1] <= KEEP_STEPS else SHRINK
        if "hydra/sweeper=optuna" in args:
            extra = [*extra, "hydra.sweeper.n_trials=2"]
        if any(a.startswith("logger.wandb.mode=") for a in args):
            extra = [*extra, "logger.wandb.mode=offline"]  # no network here
        return ["grokbench", sub, *args, *extra]
    if sub == "watch" and "--once" not in args:
        return ["grokbench", sub, *args, "--once"]
    if sub == "bench":
        return ["grokbench", sub, "device=cpu", *args, "--steps", "1", "--warmup", "1", "--repeats", "1"]
    if args[:1] == ["llc"]:  # a few SGLD draws: the command and its outputs, not the estimate
        return [*argv, "--draws", "5", "--burnin", "0"]
    return argv


def pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def check_static(kind, argv, line):
    """The commands that are checked, not run: pip extras, pytest, bash scripts."""
    extras = pyproject()["project"]["optional-dependencies"]
    if kind == "pip":
        assert argv[:2] == ["pip", "install"], line
        named = [t for t in argv[2:] if not t.startswith("-")]
        assert named, line
        for target in named:
            m = re.fullmatch(r"(\.|grokbench)(?:\[([\w,-]+)\])?", target)
            assert m, f"`{line}`: installs {target!r}, not grokbench"
            for extra in filter(None, (m[2] or "").split(",")):
                assert extra in extras, f"`{line}`: no extra {extra!r} in pyproject.toml ({', '.join(extras)})"
    elif kind == "pytest":  # the suite itself: it comes with the test extra
        assert any(req.startswith("pytest") for req in extras["test"]), line
    elif kind == "bash":
        assert argv[1].startswith("scripts/") and (REPO / argv[1]).is_file(), f"`{line}`: no {argv[1]}"


PAGE_COMMANDS = {page: commands(page) for page in PAGES}


def test_every_page_is_read():
    """The pages with commands are the ones the parser finds, and every marked exception is justified."""
    with_commands = {p for p, cmds in PAGE_COMMANDS.items() if cmds}
    assert {"README.md", "docs/configuration.md", "docs/sweeps_and_clusters.md",
            "docs/progress_measures.md"} <= with_commands
    for page, cmds in PAGE_COMMANDS.items():
        for kind, argv, line in cmds:
            if kind == "not_run":
                assert argv[1] == "run" and any(
                    a.startswith(("hydra/launcher=slurm", "hydra/launcher=submitit_slurm", "device=cuda"))
                    for a in argv), f"{page}: `{line}` is marked not run but needs no SLURM or GPU"
            assert not re.search(r"\b(RUN|SWEEP)_DIR\b", line), f"{page}: placeholder in `{line}`"


def test_readme_setup_commands_are_ci_s():
    """CI runs the README's test command verbatim (.ci/run); the two set-up lines stay as they are."""
    readme = (REPO / "README.md").read_text()
    assert "```bash\npip install . && grokbench run\n```" in readme
    assert "```bash\npip install -e \".[test]\" && pytest\n```" in readme
    assert 'pip install -q -e ".[test]" && pytest' in (REPO / ".ci/run").read_text()


def plan(page):
    """The steps the runner takes for a page: every command but the static checks, shrunk."""
    return [{"kind": kind, "argv": argv if kind == "not_run" else shrunk(argv), "line": line}
            for kind, argv, line in PAGE_COMMANDS[page] if kind in ("grokbench", "python", "not_run")]


def run_page(page, tmp: Path):
    """(exit code, output) of the page's runner in a fresh working directory."""
    (tmp / "plan.json").write_text(json.dumps(plan(page)))
    (tmp / "work").mkdir()
    proc = subprocess.run([sys.executable, __file__, str(tmp / "plan.json")], cwd=tmp / "work", capture_output=True,
                          text=True, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def page_runs(request, tmp_path_factory):
    """The selected pages' runners, started together, WORKERS at a time (the pages are independent), the longest
    plans first: {page: future of (exit code, output)}."""
    pages = [item.callspec.params["page"] for item in request.session.items
             if getattr(item, "originalname", None) == "test_doc_commands"]
    pool = ThreadPoolExecutor(WORKERS)
    futures = {page: pool.submit(run_page, page, tmp_path_factory.mktemp("doc"))
               for page in sorted(pages, key=lambda p: -len(plan(p)))}
    yield futures
    pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("page", [p for p in PAGES if PAGE_COMMANDS[p]])
def test_doc_commands(page, page_runs):
    for kind, argv, line in PAGE_COMMANDS[page]:
        if kind in ("pip", "pytest", "bash"):
            check_static(kind, argv, line)
    code, out = page_runs[page].result()
    ran, steps = out.count(MARK), len(plan(page))
    assert code == 0 and ran == steps, (
        f"{page}: {ran} of {steps} commands started; the last one failed:\n{out[out.rfind(MARK):][-6000:]}")


# ---------------------------------------------------------------------------------------------------------------
# The runner: one process per page, the commands in order, in its working directory. Stops at the first failure.


def cpu_seconds() -> float:
    import resource

    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF,
                                                                          resource.RUSAGE_CHILDREN)))


def run_steps(plan: Path) -> int:
    import contextlib
    import io
    import os
    import time

    from grokbench import cli
    from grokbench.compose import preflight

    for step in json.loads(plan.read_text()):
        kind, argv = step["kind"], step["argv"]
        print(f"{MARK}: {shlex.join(argv)}", flush=True)
        start, cpu = time.perf_counter(), cpu_seconds()
        if kind == "python":
            script = [str(REPO / argv[1])] if argv[1].startswith("scripts/") else argv[1:2]  # the repo's scripts
            proc = subprocess.run([sys.executable, *script, *argv[2:]], capture_output=True, text=True)
            code, output = proc.returncode, proc.stdout + proc.stderr
        else:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                try:
                    if kind == "not_run":  # composed and validated, nothing launched
                        preflight([a for a in argv[2:] if "=" in a or a.startswith("~")],
                                  multirun="-m" in argv or "--multirun" in argv)
                        code = 0
                    else:
                        code = cli.main(argv[1:])
                except SystemExit as exit_:  # Hydra exits on a failed job
                    code = exit_.code if isinstance(exit_.code, int) else 1
                except Exception:
                    import traceback

                    traceback.print_exc()
                    code = 1
            output = buf.getvalue()
        print(output, f"({time.perf_counter() - start:.1f} s, CPU {cpu_seconds() - cpu:.1f} s)", sep="\n", flush=True)
        # a shrunk reproduction cannot reach its claims' steps: it must run and check them (exit 1), not fail to start
        ok = code == 0 or (argv[1] == "reproduce" and code == 1 and "claims hold; written:" in output)
        if not ok:
            print(f"exit code {code}: `{step['line']}`", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_steps(Path(sys.argv[1])))
