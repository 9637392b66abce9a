"""Nanda et al. 2023's progress measures: the Fourier projection on tables of known frequencies, the restricted /
excluded split, the Gini coefficient, weight snapshots (save, resume, chunks) and `grokbench analyze fourier`."""
import math

import pandas as pd
import pytest
import torch

from conftest import grokbench
from grokbench.analysis.fourier import (analyze, frequency_norms, fourier_2d, key_mask, key_part, logit_shares,
                                        restricted_and_excluded, sum_components, sum_directions, top_mask)
from grokbench.metrics.fourier import fourier_basis, frequency_norms as embed_norms, gini
from grokbench.snapshots import load, snapshot_steps
from grokbench.recording import eval_steps

P = 11


def known_table(p, sign, freqs, amplitudes, extra=True):
    """L[a, b, c] = 0.3 + Σ α_k cos(w_k(a + σb − c)), plus a term in a alone (in no sum direction): (1, p², p)."""
    a, b, c = (torch.arange(p, dtype=torch.float64).view(*s) for s in ((p, 1, 1), (1, p, 1), (1, 1, p)))
    table = 0.3 + sum(amp * torch.cos(2 * math.pi * k * (a + sign * b - c) / p) for k, amp in zip(freqs, amplitudes))
    if extra:
        table = table + 0.7 * torch.cos(2 * math.pi * 4 * a / p) * torch.ones_like(b) * torch.ones_like(c)
    return table.reshape(1, p * p, p)


@pytest.mark.parametrize("sign", [1, -1], ids=["modadd", "modsub"])
def test_projection_recovers_the_frequencies_of_a_known_table(sign):
    table = known_table(P, sign, freqs=[2, 5], amplitudes=[1.0, 0.5])
    coeffs = fourier_2d(table, P)  # (1, p, p, C)
    # the transform is orthonormal: same norm, and it inverts
    assert torch.allclose(coeffs.pow(2).sum(), table.pow(2).sum())
    F = fourier_basis(P)
    assert torch.allclose(torch.einsum("fa,rfgc,gb->rabc", F, coeffs, F).reshape(table.shape), table)
    # only the constant, the a-only term (cos 4 ⊗ const) and the 2×2 blocks of k = 2, 5 are nonzero
    big = coeffs[0].pow(2).sum(-1) > 1e-20  # (p, p)
    expected = {(0, 0), (7, 0)} | {(f, g) for k in (2, 5) for f in (2 * k - 1, 2 * k) for g in (2 * k - 1, 2 * k)}
    assert {tuple(ix) for ix in big.nonzero().tolist()} == expected
    comp = sum_components(coeffs, sign)  # (2, 1, K, C)
    norms = frequency_norms(comp)[0]
    assert (norms[[0, 2, 3]] < 1e-10).all() and norms[1] > 1 and norms[4] > 0.4  # k = 2 and 5 (index k - 1)
    assert key_mask(norms[None])[0].nonzero().flatten().tolist() == [1, 4]
    assert top_mask(norms[None], 1)[0].nonzero().flatten().tolist() == [1]
    # the table's non-constant norm: the sum directions and the a-only term, nothing else
    shares = {k: float(v) for k, v in logit_shares(coeffs, norms[None]).items()}
    single = 0.7**2 * P / 2 * P * P  # ‖0.7 cos(w_4 a)‖² over a, b and c
    assert shares["frac_single"] == pytest.approx(single / (single + P**3 / 2 * (1 + 0.25)))
    assert shares["frac_sum"] == pytest.approx(1 - shares["frac_single"])
    assert abs(shares["frac_other_same_freq"]) < 1e-12 and abs(shares["frac_cross"]) < 1e-12
    # the same coordinates as projecting straight onto the unit vectors cos/sin(w_k(a + σb))
    directions = sum_directions(P, sign)
    assert torch.allclose(comp, torch.einsum("jkn,rnc->jrkc", directions, table), atol=1e-12)
    # restricted keeps exactly the constant and the k = 2, 5 waves: the known table without the a-only term
    restricted, _ = restricted_and_excluded(table, comp, directions, key_mask(norms[None]))
    assert torch.allclose(restricted, known_table(P, sign, [2, 5], [1.0, 0.5], extra=False), atol=1e-12)


def test_key_part_plus_excluded_table_is_the_full_table():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(3, P * P, P, generator=g, dtype=torch.float64)  # (R, p², C)
    comp = sum_components(fourier_2d(table, P), 1)
    keys = torch.rand(3, (P - 1) // 2, generator=g) > 0.5  # a different key set per member
    directions = sum_directions(P, 1)
    part = key_part(comp, directions, keys)
    restricted, excluded = restricted_and_excluded(table, comp, directions, keys)
    assert torch.allclose(part + excluded, table)
    assert torch.allclose(restricted - table.mean(1, keepdim=True), part)
    assert part.abs().max() > 0.1 and not torch.allclose(excluded, table)  # something was taken out
    # the excluded table has nothing left on the key directions
    assert frequency_norms(sum_components(fourier_2d(excluded, P), 1))[keys].max() < 1e-10


def test_gini_one_hot_is_one_and_flat_is_zero():
    K = 1000
    one_hot = torch.zeros(2, K, dtype=torch.float64)
    one_hot[0, 3], one_hot[1, 999] = 1.0, 5.0
    assert torch.allclose(gini(one_hot), torch.full((2,), 1 - 1 / K, dtype=torch.float64))
    assert torch.allclose(gini(torch.full((2, K), 0.7, dtype=torch.float64)), torch.zeros(2, dtype=torch.float64))
    mixed = torch.tensor([[1.0, 0, 0, 1], [4.0, 1, 1, 1]], dtype=torch.float64)
    assert 0 < gini(mixed)[1] < gini(mixed)[0] < 1


def test_embedding_norms_find_a_single_frequency():
    x = torch.arange(P, dtype=torch.float64)
    rows = torch.stack([torch.cos(2 * math.pi * 3 * x / P + 0.4), 2 * torch.sin(2 * math.pi * 3 * x / P)], 1)
    norms = embed_norms(rows[None])  # (1, K)
    assert norms[0].argmax() == 2 and norms[0, [0, 1, 3, 4]].max() < 1e-10
    assert gini(norms)[0] > 1 - 1 / norms.shape[1] - 1e-9


def test_snapshot_steps_are_eval_steps_log_early_linear_late_with_the_last():
    schedule = eval_steps(1500, None, 40)
    steps = snapshot_steps(schedule, 30)
    assert len(steps) == 30 and set(steps) <= schedule and steps == sorted(steps) and steps[-1] == 1500
    assert sum(s < 150 for s in steps) >= 10  # dense early: a tenth of the run holds a third of the snapshots
    assert snapshot_steps({0, 5, 10}, 30) == [0, 5, 10]
    assert snapshot_steps(schedule, 1) == [1500]


# --------------------------------------------------------------------------------------------------- snapshots
def test_snapshots_hold_the_weights_and_load_weights_only(run):
    _, metrics, out = run(["train.snapshots=3", "train.fourier_metrics=true"])
    snaps = load(out / "snapshots.pt")  # weights_only=True
    assert snaps["steps"] == [1, 10, 20] and snaps["member"] == [0, 1] and snaps["seed"] == [0, 1]
    final = torch.load(out / "checkpoint.pt", weights_only=False)["model"]
    for name, stacked in snaps["state"].items():
        assert stacked.shape[:2] == (3, 2)
        assert torch.equal(stacked[-1], final[name])
    assert not torch.equal(snaps["state"]["w_in"][0], snaps["state"]["w_in"][-1])
    assert metrics["gini_embed"].between(0, 1).all() and metrics["gini_embed"].notna().all()


def test_no_snapshots_and_no_fourier_metric_by_default(run):
    _, metrics, out = run()
    assert not (out / "snapshots.pt").exists() and "gini_embed" not in metrics


def test_a_chunked_run_writes_the_snapshots_of_the_unchunked_one(run):
    extra = ["train.snapshots=3", "seeds=3"]
    _, _, whole = run(extra, name="whole")
    _, _, chunked = run([*extra, "population.chunk=2"], name="chunked")
    a, b = load(whole / "snapshots.pt"), load(chunked / "snapshots.pt")
    assert a["steps"] == b["steps"] and a["member"] == b["member"] == [0, 1, 2] and a["seed"] == b["seed"]
    assert b["present"].all()
    for name in a["state"]:
        assert torch.allclose(a["state"][name], b["state"][name], atol=1e-6)


def test_a_killed_run_resumes_to_the_snapshots_of_an_uninterrupted_one(tmp_path):
    from test_resume import ENV, RUN, kill_after_checkpoint, start

    args = [*RUN, "train.snapshots=8"]
    ref = tmp_path / "reference"
    assert grokbench("run", *args, f"hydra.run.dir={ref}", env=ENV).returncode == 0
    out = tmp_path / "killed"
    step = kill_after_checkpoint(start(["run", *args, f"hydra.run.dir={out}"], tmp_path), out / "checkpoint.pt")
    r = grokbench("run", *args, f"hydra.run.dir={out}", cwd=tmp_path, env=ENV)
    assert r.returncode == 0 and f"resumed from step {step}" in r.stdout, r.stderr
    a, b = load(ref / "snapshots.pt"), load(out / "snapshots.pt")
    assert a["steps"] == b["steps"] and len(a["steps"]) == 8 and a["steps"][0] < step < a["steps"][-1]
    for name in a["state"]:
        assert torch.equal(a["state"][name], b["state"][name])


# --------------------------------------------------------------------------------------------------- the CLI
def test_analyze_fourier_end_to_end(tmp_path):
    out = tmp_path / "run"
    ok = grokbench("run", "device=cpu", "task.p=11", "model.width=16", "train.max_steps=60", "train.eval_every=10",
                   "seeds=2", "train.snapshots=5", f"hydra.run.dir={out}")
    assert ok.returncode == 0, ok.stderr
    assert "KiB per member and snapshot" in ok.stdout + ok.stderr
    res = grokbench("analyze", "fourier", str(out))
    assert res.returncode == 0, res.stderr
    table = pd.read_parquet(out / "fourier.parquet")
    cols = ["step", "member", "seed", "restricted_loss", "excluded_loss", "gini_embed", "train_loss", "test_loss"]
    assert set(cols) <= set(table.columns) and len(table) == 5 * 2 and table[cols].notna().all().all()
    keys = pd.read_parquet(out / "key_freqs.parquet")
    assert list(keys.columns[:4]) == ["member", "seed", "freq", "rank"] and keys["freq"].between(1, 5).all()
    assert (out / "plots" / "progress_measures.png").stat().st_size > 10_000
    # the model rebuilt from .hydra/config.yaml and a snapshot gives back the run's own train loss at that step
    rebuilt, _ = analyze(out)
    metrics = pd.read_parquet(out / "metrics.parquet")
    both = rebuilt.merge(metrics, on=["step", "member"])
    assert len(both) == 10
    pd.testing.assert_series_equal(both["full_train_loss"], both["train_loss"].astype(float), check_names=False,
                                   rtol=1e-4)
    # frequencies by hand: the same for every member
    res = grokbench("analyze", "fourier", str(out), "--freqs", "1,3")
    assert res.returncode == 0, res.stderr
    assert sorted(pd.read_parquet(out / "key_freqs.parquet").groupby("member")["freq"].apply(sorted).iloc[0]) == [1, 3]
    res = grokbench("analyze", "fourier", str(out), "--top", "2")
    assert res.returncode == 0, res.stderr
    assert (pd.read_parquet(out / "key_freqs.parquet").groupby("member").size() == 2).all()
    bad = grokbench("analyze", "fourier", str(out), "--freqs", "1,6")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "[1, 5]" in bad.stderr


def test_a_task_without_a_sum_rule_is_refused_in_one_line(tmp_path):
    out = tmp_path / "run"
    ok = grokbench("run", "device=cpu", "task=modmul", "task.p=11", "model.width=8", "train.max_steps=5", "seeds=1",
                   "train.snapshots=2", f"hydra.run.dir={out}")
    assert ok.returncode == 0, ok.stderr
    res = grokbench("analyze", "fourier", str(out))
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    assert "task=modmul" in res.stderr and "modadd, modsub" in res.stderr
    assert not (out / "fourier.parquet").exists()
    live = grokbench("run", "device=cpu", "task=modmul", "train.fourier_metrics=true", f"hydra.run.dir={out}2")
    assert live.returncode == 2 and "train.fourier_metrics" in live.stderr and not (tmp_path / "run2").exists()


@pytest.mark.parametrize("model", [
    ["model=quadratic", "model.width=16"],
    ["model=transformer", "model.d_model=16", "model.n_heads=2", "model.d_ff=32", "task.encoding=equals_token",
     "task=modsub", "model.dropout=0.1"],
], ids=["quadratic", "transformer_modsub"])
def test_every_model_is_rebuilt_from_its_snapshots(tmp_path, model):
    out = tmp_path / "run"
    ok = grokbench("run", "device=cpu", "task.p=11", *model, "train.max_steps=10", "train.eval_every=5", "seeds=2",
                   "train.snapshots=3", "train.fourier_metrics=true", f"hydra.run.dir={out}")
    assert ok.returncode == 0, ok.stderr
    table, keys = analyze(out)
    metrics = pd.read_parquet(out / "metrics.parquet")
    both = table.merge(metrics, on=["step", "member"], suffixes=("", "_live"))
    assert len(both) == 3 * 2 and len(keys) >= 2
    pd.testing.assert_series_equal(both["full_train_loss"], both["train_loss"].astype(float), check_names=False,
                                   rtol=1e-4)
    pd.testing.assert_series_equal(both["gini_embed"], both["gini_embed_live"].astype(float), check_names=False,
                                   rtol=1e-5)
