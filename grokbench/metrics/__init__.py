"""Metric names, declared once: each is a metrics.parquet column and may be used as an `expect:` key.

Every metric is a pure function returning a tensor of shape (R,), one value per member; train.py only decides when
to call `evaluate`.
"""
import torch

from grokbench.losses import per_sample_loss
from grokbench.metrics.basic import accuracy, hit_fraction, sample_mean, weight_norms
from grokbench.metrics.collapse import COLLAPSE_METRICS, collapse_metrics
from grokbench.metrics.fourier import FOURIER_METRICS, gini_embed
from grokbench.metrics.ipr import ipr_metrics

METRICS = {
    "train_loss": "mean loss on the train set, as trained on (corrupted labels included)",
    "train_acc": "accuracy on the train set against its (possibly corrupted) labels",
    "test_loss": "mean loss on the clean test set",
    "test_acc": "accuracy on the clean test set",
    "train_acc_clean": "train accuracy on samples whose label was not corrupted",
    "train_acc_corrupted": "train accuracy on corrupted samples, against the corrupted label (memorisation); NaN if none",
    "weight_norm": "L2 norm of all parameters of the member",
    **COLLAPSE_METRICS,
    **FOURIER_METRICS,
    # models with neurons over Z_p only (quadratic): per-neuron IPR of the weight rows' Fourier spectra (metrics/ipr.py)
    "ipr_mean": "mean over neurons of the per-neuron IPR (1: one Fourier frequency; ~1/p: spread, memorising)",
    "ipr_frac_above_0.5": "fraction of neurons with IPR > 0.5 (generalising, Fourier-sparse neurons)",
}
# plus one `weight_norm.<parameter>` and one `nlm_cosine.<parameter>` column per parameter tensor (per-layer values)


@torch.no_grad()
def evaluate(model, data, loss_cfg, nlm: bool = False, fourier: bool = False) -> dict:
    """All metrics of every member at the current parameters → {name: (R,)}. Stays on the device (no host sync)."""
    was_training = model.training
    model.eval()
    train_logits, test_logits = model(data.x_train), model(data.x_test)  # (R, N, C)
    model.train(was_training)
    train_hit = train_logits.argmax(-1) == data.y_train  # (R, N_train) bool
    real = data.train_mask if data.train_mask is not None else torch.ones_like(train_hit)  # padded sets: real samples
    out = {
        "train_loss": sample_mean(per_sample_loss(loss_cfg, train_logits, data.y_train), data.train_mask).float(),
        "train_acc": hit_fraction(train_hit, data.train_mask),
        "test_loss": sample_mean(per_sample_loss(loss_cfg, test_logits, data.y_test), data.test_mask).float(),
        "test_acc": accuracy(test_logits, data.y_test, data.test_mask),
        "train_acc_clean": hit_fraction(train_hit, ~data.corrupted & real),
        "train_acc_corrupted": hit_fraction(train_hit, data.corrupted & real),
    }
    norms = weight_norms(model)
    out["weight_norm"] = norms.pop("total")
    out.update({f"weight_norm.{name}": value for name, value in norms.items()})
    out.update(collapse_metrics(model, data, loss_cfg, train_logits, nlm))
    out.update(ipr_metrics(model))  # {} unless the model has neurons over Z_p
    if fourier:  # train.fourier_metrics (validated: modular +/− with a token embedding)
        out["gini_embed"] = gini_embed(model)
    return out
