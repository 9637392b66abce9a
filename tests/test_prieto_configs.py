"""Config surface added for Prieto et al. 2025: registries match the YAML files, dtypes, the task encodings and sparse
parity's labels (its range errors are in tests/test_validation.py)."""
import pytest
import torch

from grokbench.compose import CONFIG_DIR, compose_config
from grokbench.losses import LOSSES
from grokbench.models import MODELS
from grokbench.optim import OPTIMIZERS
from grokbench.tasks import TASKS, build_task


@pytest.mark.parametrize("group,registry", [("task", TASKS), ("model", MODELS), ("optimizer", OPTIMIZERS),
                                            ("loss", LOSSES)])
def test_yaml_names_equal_registry_keys(group, registry):
    assert {p.stem for p in (CONFIG_DIR / group).glob("*.yaml")} == set(registry)
    for stem in registry:
        assert compose_config([f"{group}={stem}"])[group].name == stem


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "float16"])
def test_model_dtype_trains(run, dtype):
    """Parameters in `dtype`; token inputs and long labels need no cast. SGD: AdamW's eps 1e-8 underflows in float16."""
    summary, metrics, _ = run([f"model.dtype={dtype}", "optimizer=sgd", "optimizer.lr=0.1", "seeds=1"], dtype)
    assert metrics["train_loss"].notna().all() and not summary["diverged"].any()
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]


def test_encodings_are_token_layouts():
    concat = build_task(compose_config(["task.p=7"]).task, [0], "cpu")
    equals = build_task(compose_config(["task.p=7", "task.encoding=equals_token"]).task, [0], "cpu")
    assert (concat.seq_len, concat.vocab_size) == (2, 7)  # one-hot(a) ⊕ one-hot(b): 2p = 14 MLP inputs (226 at 113)
    assert (equals.seq_len, equals.vocab_size) == (3, 8)
    assert torch.equal(equals.x_train[..., :2], concat.x_train) and (equals.x_train[..., 2] == 7).all()
    assert torch.equal(equals.y_train, concat.y_train)


def test_sparse_parity_labels_and_split():
    cfg = compose_config(["task=sparse_parity", "task.n_bits=10", "task.k=3", "task.samples=100",
                          "task.corruption=0.2"]).task
    data = build_task(cfg, [0, 1], "cpu")
    assert data.x_train.shape == (2, 50, 10) and data.x_test.shape == (2, 50, 10) and data.vocab_size == 2
    assert torch.equal(data.y_test, data.x_test[..., :3].sum(-1) % 2)
    clean = ~data.corrupted
    assert torch.equal(data.y_train[clean], (data.x_train[..., :3].sum(-1) % 2)[clean])
    assert data.corrupted.sum(1).tolist() == [10, 10]
    assert not torch.equal(data.x_train[0], data.x_train[1])  # each member draws its own samples
