"""A member is the same whoever it trains with: bitwise (every metrics column, every weight), on CPU with 2 threads.

conftest.py runs the suite on one thread, which would hide the thread split these tests are about, so they set 2
threads themselves (as torch's default on a 2-core machine). Without grokbench/threads.py each of them fails: with 2
threads the MLP's member 1 of seeds=3 and seeds=[1] part at step 1 (weights) and the transformer and quadratic
models' members at step 1 as well, and a chunk of one member is a population of one.
"""
import pandas as pd
import pytest
import torch

from conftest import compose
from grokbench import store
from grokbench.train import train

DEMO_400 = ["device=cpu", "train.max_steps=400"]  # the default demo (modadd p=59, MLP 1×128, AdamW), 400 steps
# shrunk, but with the shapes where threads split a member: d_ff 2048 feed-forward, dropout on; N=128 neurons
TRANSFORMER = ["device=cpu", "model=transformer", "task.p=23", "model.d_model=32", "train.max_steps=5",
               "train.eval_every=1"]
# Nanda et al.'s layout: the torch.func path (models/transformer_net.py under vmap), layer 0 projected as a table
NANDA = ["device=cpu", "experiment=nanda2023/modadd", "task.p=23", "model.d_model=32", "model.d_ff=64",
         "train.max_steps=5", "train.eval_every=1"]
QUADRATIC = ["device=cpu", "experiment=doshi2024/coexistence", "task.p=31", "model.width=128", "train.max_steps=20",
             "train.eval_every=1"]


def trained(out, overrides):
    """(metrics, model state) of train() called as a library by a caller that uses 2 threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train(compose(overrides, tiny=False), out)
        assert torch.get_num_threads() == 2  # the caller's setting is back after train()
    finally:
        torch.set_num_threads(before)
    checkpoint = store.load_checkpoint(out / store.CHECKPOINT_FILE)  # a chunked run has one per chunk instead
    return pd.read_parquet(out / store.METRICS_FILE), checkpoint and checkpoint["model"]


def rows_of(metrics, k):
    return metrics[metrics["member"] == k].drop(columns="member").reset_index(drop=True)


def weights_of(weights, k):
    # parameter tensors and per-member dropout generator states (None without dropout)
    return {name: None if w is None else w[k] for name, w in weights.items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] is None and b[name] is None) or torch.equal(a[name], b[name]), name


def assert_same_member(population, k, alone):
    """Member k of population = the only member of alone: every metrics column, every weight, bit for bit."""
    pd.testing.assert_frame_equal(rows_of(population[0], k), rows_of(alone[0], 0), check_exact=True)
    assert_same_weights(weights_of(population[1], k), weights_of(alone[1], 0))


@pytest.fixture(scope="module")
def demo_seeds_3(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("demo") / "seeds3", [*DEMO_400, "seeds=3"])


@pytest.mark.parametrize("k", [0, 1, 2])
def test_demo_member_equals_its_seed_alone(demo_seeds_3, tmp_path, k):
    assert_same_member(demo_seeds_3, k, trained(tmp_path / "alone", [*DEMO_400, f"seeds=[{k}]"]))


def test_demo_chunks_equal_one_population(demo_seeds_3, tmp_path):
    out = tmp_path / "chunked"
    metrics, _ = trained(out, [*DEMO_400, "seeds=3", "population.chunk=2"])  # chunks of 2 and 1 members
    pd.testing.assert_frame_equal(metrics, demo_seeds_3[0], check_exact=True)
    for k in range(3):
        chunk = store.load_checkpoint(out / "chunks" / str(k // 2) / store.CHECKPOINT_FILE)["model"]
        assert_same_weights(weights_of(chunk, k % 2), weights_of(demo_seeds_3[1], k))


@pytest.mark.parametrize("overrides", [TRANSFORMER, NANDA, QUADRATIC],
                         ids=["transformer", "transformer_nanda", "quadratic"])
def test_member_equals_its_seed_alone(tmp_path, overrides):
    population = trained(tmp_path / "seeds3", [*overrides, "seeds=3"])
    assert_same_member(population, 1, trained(tmp_path / "alone", [*overrides, "seeds=[1]"]))
