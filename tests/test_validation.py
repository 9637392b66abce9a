"""Every config mistake: one line naming the key and what is allowed, exit code 2, no traceback, nothing written."""
import copy
import functools

import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import grokbench
from grokbench.cli import main
from grokbench.compose import checked_config, compose_config
from grokbench.config import ConfigError, Encoding, config_options, validate
from grokbench.train import train

BAD = [  # override, words the one-line error must contain
    (["task.train_fraction=1.5"], ["task.train_fraction", "(0, 1)"]),
    (["task.train_fraction=0"], ["task.train_fraction", "(0, 1)"]),
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
    (["model=transformer", "task.encoding=equals_token", "model.positional=none"],
     ["model.positional", "equals_token"]),
    # the canonical experiments' config surface
    (["task=moddiv", "task.p=96"], ["task.p", "prime", "moddiv"]),
    (["task=s5_compose", "task.p=97"], ["task.p", "S5"]),
    (["task=s5_conj", "task.train_fraction=0"], ["task.train_fraction", "(0, 1)"]),
    (["model=transformer", "task.encoding=op_equals", "model.positional=none", "model.dropout=0"],
     ["model.positional", "op_equals"]),
    (["model=quadratic", "task.encoding=op_equals"], ["model", "quadratic", "4 tokens"]),
    (["model=transformer", "model.norm=pre"], ["model.norm", "dropout > 0"]),
    (["model=transformer", "model.impl=vmap"], ["model.impl", "dropout > 0"]),
    (["model=transformer", "model.dropout=0", "model.impl=batched", "model.causal=true"], ["model.causal", "batched"]),
    (["model=transformer", "model.norm=layer"], ["model.norm", "pre"]),
    (["model=transformer", "model.positional=rope"], ["model.positional", "sinusoidal"]),
    (["model=transformer", "model.embedding_std=0"], ["model.embedding_std", "> 0"]),
    (["task=xor_clusters", "model=transformer"], ["model", "xor_clusters"]),
    (["task=s5_compose", "model=two_layer_relu_fixed_output"], ["task", "float features"]),
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


# ------------------------------------------------------------------------------------ every combination of groups
# The smallest value of each size key a group option has (applied where the option has the key), so a new task or
# model is covered by the table below without an entry of its own.
TINY_KEYS = {"task": {"p": 5, "n_bits": 3, "k": 2, "samples": 12, "n_train": 6, "n_test": 6},
             "model": {"width": 4, "d_model": 4, "n_heads": 2, "d_ff": 4}}
RUN_3_STEPS = ["device=cpu", "seeds=1", "train.max_steps=3", "train.eval_every=1", "train.eval_log_points=0"]


@functools.lru_cache(maxsize=None)
def group_node(group: str, option: str, *overrides: str):
    """One group's composed node, shrunk by TINY_KEYS; composed once per option (Hydra takes ~0.1 s a compose)."""
    node = compose_config([f"{group}={option}", *overrides])[group]
    for key, value in TINY_KEYS.get(group, {}).items():
        if key in node and node[key] is not None:  # None: a key the option refuses to set (S5's p)
            node[key] = value
    return node


def combination_config(task, model, loss, encoding):
    """The config `task=.. model=.. loss=.. [task.encoding=..]` with tiny sizes, and Hydra's choices for it."""
    cfg = copy.deepcopy(base_config())
    cfg.task = group_node("task", task, *([f"task.encoding={encoding}"] if encoding else []))
    cfg.model, cfg.loss = group_node("model", model), group_node("loss", loss)
    return cfg, {"task": task, "model": model, "loss": loss, "optimizer": cfg.optimizer.name}


@functools.lru_cache(maxsize=None)
def base_config():
    return compose_config(RUN_3_STEPS)


def combinations():
    """(task, model, loss, encoding or None) for every option of every group, from the config dirs."""
    for task in config_options("task"):
        has_encoding = "encoding" in group_node("task", task)
        for encoding in ([e.value for e in Encoding] if has_encoding else [None]):
            for model in config_options("model"):
                for loss in config_options("loss"):
                    yield task, model, loss, encoding


COMBINATIONS = list(combinations())


@pytest.mark.parametrize("task,model,loss,encoding", COMBINATIONS, ids=["-".join(map(str, c)) for c in COMBINATIONS])
def test_every_combination_trains_or_is_refused_in_one_line(task, model, loss, encoding, tmp_path):
    cfg, choices = combination_config(task, model, loss, encoding)
    try:
        validate(cfg, choices)
    except ConfigError as err:  # refused: one line naming the model and the data it cannot take
        assert "\n" not in str(err) and str(err).startswith(("model=", "model.positional=")), err
        return
    summary = train(cfg, tmp_path)
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert sorted(metrics["step"].unique()) == [0, 1, 2, 3]
    assert metrics[["train_acc", "test_acc"]].notna().all().all()  # both splits non-empty
    assert summary["final_step"].tolist() == [3]


@pytest.mark.parametrize("overrides,refused", [
    (["task=xor_clusters", "model=mlp"], True),  # a ZeroDivisionError (no tokens) before it was checked
    (["task=xor_clusters", "model=transformer"], True),
    (["task=sparse_parity", "model=quadratic"], True),  # trained on 2 of the 40 bits before it was checked
    (["task=modadd", "model=quadratic", "task.encoding=equals_token"], True),  # "=" silently ignored
    (["task=modadd", "model=two_layer_relu_fixed_output"], True),
    (["task=xor_clusters", "model=two_layer_relu_fixed_output"], False),
    (["task=moddiv", "model=quadratic"], False),
    (["task=sparse_parity", "model=transformer"], False),
    (["task=modsub", "model=mlp", "task.encoding=equals_token"], False),
])
def test_model_task_pairs_refused_exactly_where_the_model_cannot_read_the_data(overrides, refused):
    try:
        checked_config(overrides)
    except ConfigError as err:
        assert refused, err
        assert str(err).startswith("model=")
        return
    assert not refused


def test_split_sizes_are_the_ones_the_task_builds():
    """validate() judges the split by the task's declared sizes; the builder must make exactly those."""
    from grokbench.tasks import build_task

    for overrides in (["task.p=7", "task.train_fraction=0.3"], ["task=moddiv", "task.p=7", "task.train_fraction=0.9"],
                      ["task=sparse_parity", "task.samples=10", "task.train_fraction=0.8"]):
        cfg = checked_config(overrides)
        shape, data = OmegaConf.to_object(cfg.task).data_shape(), build_task(cfg.task, [0], "cpu")
        assert (data.y_train.shape[1], data.y_test.shape[1]) == (shape.n_train, shape.n_test) != 0
        assert (data.seq_len, data.vocab_size, data.n_classes) == (shape.width, shape.vocab, shape.n_classes)


REFUSED_BEFORE_ANY_DIR = [  # each once composed, made a run dir and then crashed or trained something else
    ["experiment=prieto2025/fig1a_perp_adamx"],
    ["task.name=foo"],
    ["loss.name=foo"],
    ["task=modadd", "task.name=modmul"],
    ["task=xor_clusters"],
    ["model=quadratic", "task=sparse_parity"],
    ["task.train_fraction=1.0"],
    ["task.p=3", "task.train_fraction=0.05"],  # floor(0.05 · 9) = 0 train pairs
]


@pytest.mark.parametrize("overrides", REFUSED_BEFORE_ANY_DIR, ids=[" ".join(o) for o in REFUSED_BEFORE_ANY_DIR])
def test_refused_in_a_subprocess_one_line_exit_2_no_run_dir(overrides, tmp_path):
    r = grokbench("run", *overrides, f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().startswith("grokbench: error:") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "run").exists()


def test_device_cuda_without_a_gpu_is_one_line_in_the_job_not_the_preflight(tmp_path, capsys):
    assert main(["show", "device=cuda"]) == 0  # a submit host without a GPU still composes and launches GPU jobs
    r = grokbench("run", "device=cuda", "task.p=5", "model.width=4", "train.max_steps=2", "seeds=1",
                  f"hydra.run.dir={tmp_path / 'run'}", env={"CUDA_VISIBLE_DEVICES": ""})
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == ["grokbench: error: device='cuda' is invalid; allowed: cpu or auto: "
                                             "no CUDA device is visible on this machine"], r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "run" / "metrics.parquet").exists()
