"""`grokbench analyze llc`: the local learning coefficient of every member at every snapshot, measured on the member's
own train set and loss; bad input is refused in one line."""
import math
import os

import pandas as pd
import pytest
import torch

from conftest import grokbench

SNAPSHOTS = ["train.snapshots=3"]
TINY_SGLD = ["--chains", "2", "--draws", "8"]


def one_line_error(res, *words):
    assert res.returncode == 2, (res.stdout, res.stderr)
    line = res.stderr.strip()
    assert "\n" not in line and len(line) <= 200 and "Traceback" not in line, line
    for word in words:
        assert word in line, line


def test_llc_of_every_member_and_snapshot_on_its_own_train_set(run):
    pytest.importorskip("devinterp")
    # members with train sets of different sizes (2 seeds × 2 train fractions), trained in chunks of 3 and 1
    _, metrics, out = run([*SNAPSHOTS, "population.grid.task.train_fraction=[0.3,0.7]", "population.chunk=3"])
    res = grokbench("analyze", "llc", str(out), *TINY_SGLD)
    assert res.returncode == 0, res.stderr
    table = pd.read_parquet(out / "llc.parquet")
    snaps = torch.load(out / "snapshots.pt", weights_only=True)
    expected = {(int(s), int(m)) for i, s in enumerate(snaps["steps"]) for j, m in enumerate(snaps["member"])
                if snaps["present"][i, j]}
    assert len(expected) == 4 * 3 and len(table) == len(expected)
    assert set(zip(table["step"], table["member"])) == expected
    assert {"step", "member", "seed", "llc_mean", "llc_std", "chains", "draws", "train_loss", "test_loss"} <= set(table)
    assert (table["chains"] == 2).all() and (table["draws"] == 8).all() and (table["chains_ok"] == 2).all()
    for col in ("llc_mean", "llc_std", "init_loss", "train_loss", "test_loss"):
        assert table[col].map(math.isfinite).all(), col
    # The member's own data: p=11 leaves each member fewer train samples than the default batch of 128, so SGLD
    # samples full batch and devinterp's init_loss — the loss it evaluates at the snapshot, before sampling, through
    # the loss function and dataset handed to it — is the member's train loss over its whole train set. It equals
    # metrics.parquet's train_loss at that step, which another member's data or another step's weights would not give
    # (the members' losses differ at every step).
    from grokbench import load_run

    n_train = {k: len(load_run(out).data(member=k).y_train) for k in range(4)}
    assert (table["batch_size"] == table["member"].map(n_train)).all() and max(n_train.values()) < 128
    assert len(set(n_train.values())) == 2
    assert (table.groupby("step")["train_loss"].nunique() == 4).all()
    for r in table.itertuples():
        assert r.init_loss == pytest.approx(r.train_loss, rel=1e-5), (r.step, r.member)
    # the metrics merged are those of the member and step
    merged = table.merge(metrics, on=["step", "member"], suffixes=("", "_m"))
    assert (merged["test_loss"] == merged["test_loss_m"]).all()
    assert (out / "plots" / "llc.png").stat().st_size > 0
    assert "LLC (median)" in res.stdout and "llc.parquet" in res.stdout


def test_the_estimate_recovers_the_llc_of_a_quadratic_loss():
    """A linear model at the least-squares minimum of an MSE loss: L(w) = L* + ½ (w − w*)ᵀ H (w − w*), a regular
    model. The localised tempered posterior ∝ exp(−nβ L − γ/2 |w − w*|²) is Gaussian, so nβ (E L − L*) is exactly
    ½ Σ_j nβ h_j / (nβ h_j + γ) over H's eigenvalues h_j (d/2 for γ → 0, Watanabe's λ of a regular model).
    Full-batch SGLD with a small step lands within a few per cent of it (measured: 4.06 for 3.96 at 1000 draws)."""
    pytest.importorskip("devinterp")
    from omegaconf import OmegaConf

    from grokbench.analysis.llc import Sgld, estimate
    from grokbench.config import LossConfig

    n, d, C = 512, 4, 2
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, C, (n,), generator=g)
    target = torch.nn.functional.one_hot(y, C).float()
    net = torch.nn.Linear(d, C, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.linalg.lstsq(x, target).solution.T)  # w*: the gradient is zero there
    # mse averages over samples and classes: each class's weights see the Hessian 2 XᵀX / (n C)
    h = torch.linalg.eigvalsh(2 * x.T @ x / (n * C)).repeat(C).double()
    nbeta, gamma = 100.0, 1.0
    expected = float(0.5 * (nbeta * h / (nbeta * h + gamma)).sum())
    est = estimate(net, x, y, OmegaConf.structured(LossConfig(name="mse")),
                   Sgld(lr=1e-3, nbeta=nbeta, localization=gamma, chains=2, draws=600, batch_size=n), "cpu")
    assert est["chains_ok"] == 2 and est["batch_size"] == n
    assert est["llc_mean"] == pytest.approx(expected, rel=0.15), (est, expected)
    assert 0 < est["llc_std"] < 0.15 * expected


def test_a_run_without_snapshots_is_refused_in_one_line(run):
    _, _, out = run()
    one_line_error(grokbench("analyze", "llc", str(out)), "snapshots.pt", "train.snapshots=N")


def test_a_missing_run_dir_is_refused_in_one_line(tmp_path):
    one_line_error(grokbench("analyze", "llc", str(tmp_path / "nope")), "not found")


@pytest.mark.parametrize("flag, value, allowed", [("--lr", "0", "> 0"), ("--nbeta", "hot", "auto"),
                                                   ("--chains", "1", ">= 2"), ("--draws", "1.5", "integer"),
                                                   ("--batch-size", "0", ">= 1")])
def test_bad_sgld_flags_are_refused_in_one_line(run, flag, value, allowed):
    _, _, out = run(SNAPSHOTS)
    one_line_error(grokbench("analyze", "llc", str(out), flag, value), f"{flag} {value} is invalid", allowed)


def test_a_bad_device_is_refused_in_one_line_like_every_analysis(run):
    _, _, out = run(SNAPSHOTS)
    one_line_error(grokbench("analyze", "llc", str(out), "--device", "gpu"), "--device", "'gpu'", "'cuda'")


def test_without_devinterp_the_error_names_the_extra(run, tmp_path):
    _, _, out = run(SNAPSHOTS)
    fake = tmp_path / "no_devinterp" / "devinterp"  # shadows an installed devinterp: importing it fails
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named devinterp')\n")
    path = os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])
    res = grokbench("analyze", "llc", str(out), env={"PYTHONPATH": path})
    one_line_error(res, "pip install 'grokbench[llc]'")
    assert not (out / "llc.parquet").exists()
