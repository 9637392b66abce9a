"""Every config mistake: one line naming the key and what is allowed, exit code 2, no traceback, nothing written."""
import pytest

from conftest import grokbench
from grokbench.cli import main

BAD = [  # override, words the one-line error must contain
    (["task.train_fraction=1.5"], ["task.train_fraction", "(0, 1]"]),
    (["task.train_fraction=0"], ["task.train_fraction", "(0, 1]"]),
    (["task.corruption=1.0"], ["task.corruption", "[0, 1)"]),
    (["task.corruption=-0.1"], ["task.corruption", "[0, 1)"]),
    (["task=moddiv", "task.p=58"], ["task.p", "prime"]),
    (["model.width=0"], ["model.width", ">= 1"]),
    (["model.depth=0"], ["model.depth", ">= 1"]),
    (["optimizer.lr=0"], ["optimizer.lr", "> 0"]),
    (["optimizer.lr=-1e-3"], ["optimizer.lr", "> 0"]),
    (["optimizer.weight_decay=-1"], ["optimizer.weight_decay", ">= 0"]),
    (["train.max_steps=0"], ["train.max_steps", ">= 1"]),
    (["seeds=0"], ["seeds", "integer"]),
    (["seeds=[1,1]"], ["seeds", "distinct"]),
    (["task.foo=1"], ["task.foo", "unknown key", "train_fraction"]),
    (["train.foo=1"], ["train.foo", "unknown key", "max_steps"]),
    (["task.p=abc"], ["task.p", "abc"]),
    (["model.activation=swishy"], ["model.activation", "relu"]),
    (["device=tpu"], ["device", "cuda"]),
    (["task=nosuch"], ["task=nosuch", "modadd"]),
    (["population.grid.optimizer.lr=[0.1,-1]"], ["population.grid.optimizer.lr", "> 0"]),
    # population.grid: the schema's own ranges, one value at a time; shape-changing keys stay Hydra job axes
    (["population.grid.optimizer.lr=[]"], ["population.grid.optimizer.lr", "non-empty"]),
    (["population.grid.task.corruption=[0.1,1.5]"], ["population.grid.task.corruption", "[0, 1)"]),
    (["population.grid.task.train_fraction=[0.5,0.5]"], ["population.grid.task.train_fraction", "distinct"]),
    (["population.grid.model.init_scale=[0]"], ["population.grid.model.init_scale", "> 0"]),
    (["population.grid.model.width=[64,128]"], ["population.grid.model.width", "tensor shapes", "-m model.width="]),
    (["population.grid.task.p=[7,11]"], ["population.grid.task.p", "tensor shapes", "train_fraction, corruption"]),
    (["population.grid.model.dtype=[1]"], ["population.grid.model.dtype", "Hydra job axis"]),
    (["task=sparse_parity", "population.grid.task.samples=[100]"], ["population.grid.task.samples", "job axis"]),
    (["population.grid.model.d_ff=[8]"], ["population.grid.model.d_ff", "model=mlp: init_scale"]),
    (["population.grid.model.foo=[1]"], ["population.grid.model.foo", "unknown key", "init_scale"]),
    (["population.grid.loss.dtype=[1]"], ["population.grid.loss", "unknown key", "optimizer"]),
    (["population.grid.task.train_fraction=[a]"], ["population.grid.task.train_fraction", "numbers"]),
    (["population.grid.optimizer.beta2=[0.9,1.0]"], ["population.grid.optimizer.beta2", "[0, 1)"]),
    (["optimizer=sgd", "population.grid.optimizer.momentum=[1]"], ["population.grid.optimizer.momentum", "[0, 1)"]),
    (["population.grid.optimizer.warmup_steps=[-1]"], ["population.grid.optimizer.warmup_steps", ">= 0"]),
    (["population.grid.optimizer.grokfast_window=[5]"], ["population.grid.optimizer.grokfast_window", "job axis"]),
    (["population.grid.optimizer.momentum=[0.9]"], ["population.grid.optimizer.momentum", "optimizer=adamw"]),
    (["model=quadratic", "model.batch_norm=true", "population.grid.task.train_fraction=[0.3,0.5]"],
     ["population.grid.task.train_fraction", "batch_norm"]),
    # Prieto et al. 2025's config surface
    (["optimizer=perp_sgd", "optimizer.momentum=1"], ["optimizer.momentum", "[0, 1)"]),
    (["optimizer.grokfast_lambda=-1"], ["optimizer.grokfast_lambda", ">= 0"]),
    (["optimizer=perp_adamw", "optimizer.grokfast_alpha=1"], ["optimizer.grokfast_alpha", "[0, 1)"]),
    (["optimizer.warmup_steps=-1"], ["optimizer.warmup_steps", ">= 0"]),
    (["optimizer.grokfast_window=0"], ["optimizer.grokfast_window", ">= 1"]),
    (["optimizer.grokfast_filter=fir"], ["optimizer.grokfast_filter", "ema"]),
    (["optimizer=adam", "optimizer.beta2=1"], ["optimizer.beta2", "[0, 1)"]),
    (["loss=stablemax_ce", "loss.dtype=float8"], ["loss.dtype", "float64"]),
    (["task.encoding=bits"], ["task.encoding", "onehot_concat"]),
    (["model=transformer", "model.d_model=130"], ["model.d_model", "divisible"]),
    (["model=transformer", "model.dropout=1"], ["model.dropout", "[0, 1)"]),
    (["model=transformer", "task.encoding=equals_token", "model.positional=false"],
     ["model.positional", "equals_token"]),
    (["task=sparse_parity", "task.k=41"], ["task.k", "n_bits=40"]),
    (["task=sparse_parity", "task.train_fraction=1"], ["task.train_fraction", "(0, 1)"]),
    # Doshi et al. / Xu et al. 2024's config surface
    (["model=quadratic", "model.dropout=1.0"], ["model.dropout", "[0, 1)"]),
    (["model=quadratic", "model.init_std=0"], ["model.init_std", "> 0"]),
    (["model=two_layer_relu_fixed_output", "model.width=3"], ["model.width", "even"]),
    (["task=xor_clusters", "task.label_flip=0.5"], ["task.label_flip", "[0, 0.5)"]),
    (["task=xor_clusters", "task.mu_norm=-1"], ["task.mu_norm", "> 0"]),
]


@pytest.mark.parametrize("overrides,words", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_config_is_one_line_exit_2(overrides, words, capsys):
    assert main(["run", *overrides]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("grokbench: error:")
    for word in words:
        assert word in err, err


def test_bad_config_in_a_sweep_is_caught_before_any_job(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    assert main(["run", "-m", "task.train_fraction=0.5,2.0", f"hydra.sweep.dir={sweep}"]) == 2
    assert "task.train_fraction" in capsys.readouterr().err
    assert not sweep.exists()


def test_subprocess_exit_code_no_traceback_nothing_lost(tmp_path):
    out = tmp_path / "run"
    ok = grokbench("run", "device=cpu", "task.p=7", "model.width=4", "train.max_steps=2", "seeds=1",
                   f"hydra.run.dir={out}")
    assert ok.returncode == 0, ok.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = grokbench("run", "task.corruption=2", f"hydra.run.dir={out}")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr + bad.stdout
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_show_prints_composed_config(capsys):
    assert main(["show", "task=modsub", "task.p=97", "seeds=8"]) == 0
    out = capsys.readouterr().out
    assert "name: modsub" in out and "p: 97" in out and "seeds: 8" in out


def test_list_shows_groups(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for option in ("modadd", "moddiv", "mlp", "adamw", "sgd", "softmax_ce", "mse"):
        assert option in out


def test_hydra_flags_with_values_are_not_taken_for_overrides(tmp_path):
    r = grokbench("run", "--config-name", "config", "device=cpu", "task.p=7", "model.width=4", "train.max_steps=2",
                  "seeds=1", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run" / "summary.parquet").exists()
