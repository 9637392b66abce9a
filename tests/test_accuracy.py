"""Accuracies are exact: a member with exactly 95 % (1653 of 1740) right reaches the 95 % threshold, in the metrics
table (float64), in the summary and in early stopping's comparison."""
import pandas as pd
import torch

from conftest import compose
from grokbench.metrics import evaluate
from grokbench.metrics.basic import accuracy, hit_fraction
from grokbench.summary import summarize_members
from grokbench.tasks.dataset import Dataset
from grokbench.recording import Recorder

N = 1740  # 1653 / 1740 = 0.95 exactly; float32 makes it 0.94999999


class Scripted(torch.nn.Module):
    """Member r predicts the right class (0) for its first `right[r]` samples and the wrong one for the rest."""

    def __init__(self, right):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(len(right), 1))  # (R, 1): weight_norm needs a parameter
        self.right = torch.tensor(right)

    def forward(self, x):  # x (R, N, 1): sample positions
        wrong = (x[..., 0] >= self.right[:, None]).float()  # (R, N)
        return torch.stack([1 - wrong, wrong], -1)  # (R, N, 2)


def scripted_data(R):
    positions = torch.arange(N).expand(R, N)[..., None]  # (R, N, 1)
    return Dataset(positions, torch.zeros(R, N, dtype=torch.long), torch.zeros(R, N, dtype=torch.bool), positions,
                   torch.zeros(R, N, dtype=torch.long), vocab_size=N, n_classes=2)


def test_exactly_95_percent_is_95_percent():
    assert torch.tensor(1653 / 1740, dtype=torch.float32).item() < 0.95  # what a float32 accuracy stored
    logits = Scripted([1653, 1652])(scripted_data(2).x_test)
    acc = accuracy(logits, torch.zeros(2, N, dtype=torch.long))
    assert acc.dtype == torch.float64 and acc.tolist() == [1653 / 1740, 1652 / 1740]
    assert (acc >= 0.95).tolist() == [True, False]
    mask = torch.arange(2 * N).reshape(2, N) % 2 == 0  # every other sample: 827 of 870 right is again 95 %
    hits = torch.arange(N).expand(2, N) < torch.tensor([[1653], [1652]])
    assert hit_fraction(hits, mask).tolist() == [827 / 870, 826 / 870]


def test_summary_and_early_stop_count_exactly_95_percent():
    """Both members climb to 1653 right (95 %) at step 30; member 1 never gets past 1652."""
    cfg = compose(["loss=mse", "seeds=2"])
    table = pd.DataFrame({"member": [0, 1], "seed": [0, 1]})
    data, recorder = scripted_data(2), Recorder(table)
    for step, right in ((0, [900, 900]), (10, [1600, 1600]), (30, [1653, 1652]), (50, [1700, 1652])):
        values = evaluate(Scripted(right), data, cfg.loss)
        recorder.add(step, values)
        assert bool((values["test_acc"] >= 0.95)[0]) == (step >= 30)  # early stopping's comparison
    metrics = recorder.frame()
    assert metrics["test_acc"].dtype == "float64" and metrics["train_acc"].dtype == "float64"
    summary = summarize_members(metrics, table, [None, None])
    assert summary["step_test_95"].tolist() == [30, pd.NA]
    assert summary["step_train_95"].tolist() == [30, pd.NA]
