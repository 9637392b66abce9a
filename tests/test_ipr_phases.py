"""IPR of Fourier-sparse vs spread weight rows, and the phase labels of Doshi et al. 2024 on hand-made cases."""
import math

import pytest
import torch

from grokbench.metrics.ipr import ipr, ipr_metrics, neuron_ipr
from grokbench.metrics.phases import PHASES, phase

P = 97


def test_pure_cosine_row_has_ipr_one():
    a = torch.arange(P, dtype=torch.float64)
    for k in (1, 7, 48):
        row = 3.0 * torch.cos(2 * math.pi * k * a / P + 0.4)
        assert ipr(row, dim=0).item() == pytest.approx(1.0, abs=1e-9)


def test_random_row_has_small_ipr():
    rows = torch.randn(200, P, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    values = ipr(rows, dim=1)  # (200,)
    assert values.max() < 0.15  # ~2/49 for Gaussian rows over 49 one-sided coefficients
    assert values.median() < 0.06


def test_zero_row_has_ipr_zero_not_nan():
    assert ipr(torch.zeros(3, P), dim=1).tolist() == [0.0, 0.0, 0.0]


def test_two_frequencies_halve_ipr():
    a = torch.arange(P, dtype=torch.float64)
    row = torch.cos(2 * math.pi * 3 * a / P) + torch.cos(2 * math.pi * 11 * a / P)
    assert ipr(row, dim=0).item() == pytest.approx(0.5, abs=1e-9)


class FakeNeurons:
    """U, V, W whose neuron 0 is one cosine everywhere and neuron 1 random."""

    def __init__(self):
        a = torch.arange(P, dtype=torch.float64)
        cos = torch.cos(2 * math.pi * 5 * a / P)
        noise = torch.randn(3, P, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        self.U = torch.stack([cos, noise[0]], dim=1)[None]  # (1, p, 2)
        self.V = torch.stack([cos, noise[1]], dim=1)[None]
        self.W = torch.stack([cos, noise[2]], dim=0)[None]  # (1, 2, p)

    def neuron_weights(self):
        return self.U, self.V, self.W


def test_neuron_ipr_and_its_summary():
    model = FakeNeurons()
    values = neuron_ipr(model)
    assert values.shape == (1, 2)
    assert values[0, 0].item() == pytest.approx(1.0) and values[0, 1].item() < 0.2
    summary = ipr_metrics(model)
    assert summary["ipr_frac_above_0.5"].tolist() == [0.5]
    assert summary["ipr_mean"].shape == (1,)
    assert ipr_metrics(object()) == {}  # models without neurons over Z_p log nothing


XI = 0.35
CASES = [  # train, test, ξ → phase (paper: test ≥ 90 %; train vs 90 % and 100·(1.05 - ξ) %)
    (0.978, 0.983, XI, "coexistence"),
    (0.786, 1.0, XI, "partial_inversion"),
    (0.70, 1.0, XI, "partial_inversion"),  # exactly 1.05 - ξ
    (0.6537, 1.0, XI, "full_inversion"),
    (1.0, 0.02, XI, "memorization"),
    (0.01, 0.01, XI, "forgetting"),
    (0.5, 0.5, XI, "forgetting"),
    (1.0, 1.0, 0.0, "coexistence"),  # a clean run groks
    (0.85, 0.95, 0.0, "full_inversion"),  # ξ = 0: 1.05 - ξ > .9, partial inversion is impossible
    (0.85, 0.95, 0.2, "partial_inversion"),
    (float("nan"), 0.5, XI, "diverged"),
]


@pytest.mark.parametrize("train,test,xi,expected", CASES)
def test_phase_labels(train, test, xi, expected):
    assert phase(train, test, xi) == expected


def test_every_phase_is_reachable():
    assert {phase(tr, te, XI) for tr, te, _, _ in [c[:3] + (None,) for c in CASES]} >= set(PHASES)


def test_a_diverged_member_is_labelled_diverged():
    import pandas as pd

    from grokbench.summary import summarize_members

    metrics = pd.DataFrame({"step": [0, 0], "member": [0, 1], "train_acc": [1.0, 1.0], "test_acc": [1.0, 0.01],
                            "train_loss": [0.0, float("nan")], "test_loss": [0.0, float("nan")],
                            "train_acc_clean": [1.0, 1.0], "train_acc_corrupted": [float("nan")] * 2,
                            "weight_norm": [1.0, float("nan")]})
    members = pd.DataFrame({"member": [0, 1], "seed": [0, 1]})
    assert summarize_members(metrics, members, [None, 0], [XI, XI])["phase"].tolist() == ["coexistence", "diverged"]
    assert summarize_members(metrics, members, [None, 0], None)["phase"].isna().all()  # ξ = 0: no phase at all
