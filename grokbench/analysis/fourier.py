"""Why did it grok? Nanda et al. 2023's progress measures from a run's weight snapshots (train.snapshots=N).

`grokbench analyze fourier RUN_DIR [--freqs k1,k2,...]` rebuilds each part of the run as training built it
(grokbench/runs.py), loads each snapshot and computes, per member, on the logit table L (R, p², C) of all p² inputs (a, b):

- the 2-D Fourier transform of L over (a, b) in Nanda et al.'s basis (metrics/fourier.py: constant 1/√p, normalised
  cos/sin(w_k x), w_k = 2πk/p) and, per frequency k, the components of L on the two unit directions
  cos(w_k(a±b)), sin(w_k(a±b)) (± as the task: modadd +, modsub −) — the authors' get_component_cos_xpy/sin_xpy;
- key frequencies per member from the final snapshot: the frequencies whose cos/sin(w_k(a±b)) components have a norm
  (over a, b and the output class) of at least KEY_CUTOFF × the largest one. The paper (App. C.2) takes "the
  frequencies with nontrivial coefficients" of the DFT of W_L without a number; the cut-off max/4 is the one the
  authors' later TransformerLens demo applies to the embedding's Fourier norms; here it is applied to the logits,
  which every model has (MLP, quadratic, transformer alike). --freqs gives them by hand, --top N takes each
  member's N largest;
- restricted loss: L kept only on the constant and the key frequencies' cos/sin(w_k(a±b)) directions (§5.1). The
  authors' code adds back the mean of the original logits over all inputs ("bias correction"); the sum directions
  have zero mean, so that is exactly keeping the constant component. Measured on the test set (as the TransformerLens
  demo's get_restricted_loss) and on the train set (restricted_loss_train; the paper names no split);
- excluded loss: L minus those components (all key frequencies at once, Fig. 7), no bias correction, train set
  (§5.1: "We measure this on the training data"), against the labels trained on;
- gini_embed: Gini of the token embedding's Fourier norms (metrics/fourier.py).

Also where the logit table's non-constant squared norm sits (frac_sum: the cos/sin(w_k(a±b)) directions of every
frequency; frac_other_same_freq: the rest of the same-frequency 2×2 blocks, cos/sin(w_k(a∓b)); frac_single: a or b
alone; frac_cross: products of two different frequencies).

Outputs: RUN_DIR/fourier.parquet (step, member, seed, restricted_loss, restricted_loss_train, excluded_loss,
gini_embed, frac_sum, frac_other_same_freq, frac_single, frac_cross, train_loss, test_loss),
RUN_DIR/key_freqs.parquet (member, seed, freq, rank, norm, frac),
RUN_DIR/plots/progress_measures.png.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch

from grokbench import snapshots, store
from grokbench.config import FOURIER_MODELS, FOURIER_TASKS
from grokbench.losses import mean_loss, per_sample_loss
from grokbench.runs import load_weights, member_data, member_model, open_run, run_config
from grokbench.metrics.fourier import fourier_basis, gini_embed

KEY_CUTOFF = 0.25  # a key frequency's component norm is at least this fraction of the largest one
INPUT_CHUNK = 4096  # inputs per forward pass (a transformer's activations over all p² inputs at once are large)
SIGN = {"modadd": 1, "modsub": -1}  # label (a + σ b) mod p


# --------------------------------------------------------------------------------------------------- the Fourier math
def fourier_2d(table: torch.Tensor, p: int) -> torch.Tensor:
    """L (R, p², C), row a·p + b → its coefficients (R, p, p, C) in the 2-D basis F_f(a) F_g(b)."""
    F = fourier_basis(p, table.dtype, table.device)
    return torch.einsum("fa,rabc,gb->rfgc", F, table.view(table.shape[0], p, p, -1), F)


def sum_directions(p: int, sign: int, dtype=torch.float64) -> torch.Tensor:
    """(2, K, p²) unit vectors cos(w_k(a + σb)), sin(w_k(a + σb)) over the inputs, k = 1..K = (p-1)/2."""
    a, b = torch.arange(p, dtype=dtype)[:, None], torch.arange(p, dtype=dtype)[None, :]
    k = torch.arange(1, (p - 1) // 2 + 1, dtype=dtype)[:, None, None]
    angle = 2 * math.pi * k * (a + sign * b) / p  # (K, p, p)
    waves = torch.stack([torch.cos(angle), torch.sin(angle)]).flatten(2)  # (2, K, p²)
    return waves / waves.norm(dim=-1, keepdim=True)


def sum_components(coeffs: torch.Tensor, sign: int) -> torch.Tensor:
    """2-D coefficients (R, p, p, C) → (2, R, K, C): L's coordinates on cos(w_k(a+σb)) and sin(w_k(a+σb)).
    cos(a+σb) = cos a cos b − σ sin a sin b and sin(a+σb) = sin a cos b + σ cos a sin b, each of norm √2 in the
    product basis (Nanda et al.'s get_component_cos_xpy / sin_xpy for σ = +1)."""
    c, s = coeffs[:, 1::2], coeffs[:, 2::2]  # rows cos_k, sin_k of the a-axis: (R, K, p, C)
    k = torch.arange(c.shape[1], device=coeffs.device)
    cc, ss = c[:, k, 2 * k + 1], s[:, k, 2 * k + 2]  # (R, K, C): the same frequency on the b-axis
    cs, sc = c[:, k, 2 * k + 2], s[:, k, 2 * k + 1]
    return torch.stack([(cc - sign * ss), (sc + sign * cs)]) / math.sqrt(2)


def frequency_norms(components: torch.Tensor) -> torch.Tensor:
    """(2, R, K, C) → (R, K): norm of each frequency's cos and sin components together (over a, b and the class)."""
    return components.pow(2).sum((0, -1)).sqrt()


def key_mask(norms: torch.Tensor, cutoff: float = KEY_CUTOFF) -> torch.Tensor:
    """(R, K) → (R, K) bool: the frequencies with at least `cutoff` × the member's largest norm."""
    return norms >= cutoff * norms.max(-1, keepdim=True).values


def top_mask(norms: torch.Tensor, n: int) -> torch.Tensor:
    """(R, K) → (R, K) bool: each member's n frequencies of largest norm (--top)."""
    idx = norms.argsort(-1, descending=True)[:, :n]
    return torch.zeros_like(norms, dtype=torch.bool).scatter_(1, idx, True)


def logit_shares(coeffs: torch.Tensor, sum_norms: torch.Tensor) -> dict:
    """Where the table's non-constant squared norm sits: {name: (R,)} over the 2-D coefficients (R, p, p, C) —
    cos/sin(w_k(a±b)) (sum_norms (R, K) of those), the other directions of the same-frequency 2×2 blocks
    (cos/sin(w_k(a∓b))), terms of a or b alone (one axis constant), products of two different frequencies."""
    p = coeffs.shape[1]
    power = coeffs.pow(2).sum(-1)  # (R, p, p)
    freq = (torch.arange(p, device=coeffs.device) + 1) // 2  # frequency of each basis row (0: the constant)
    fa, fb = freq[:, None], freq[None, :]
    total = power.sum((1, 2)) - power[:, 0, 0]
    same = power[:, (fa == fb) & (fa > 0)].sum(-1)
    summed = sum_norms.pow(2).sum(-1)
    return {"frac_sum": summed / total, "frac_other_same_freq": (same - summed) / total,
            "frac_single": power[:, (fa == 0) ^ (fb == 0)].sum(-1) / total,
            "frac_cross": power[:, (fa != fb) & (fa > 0) & (fb > 0)].sum(-1) / total}


def key_part(components: torch.Tensor, directions: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """The table's part on the key frequencies' sum directions:
    components (2, R, K, C), directions (2, K, p²), keys (R, K) → (R, p², C)."""
    return torch.einsum("jkn,jrkc->rnc", directions, components * keys[None, :, :, None])


def restricted_and_excluded(table, components, directions, keys):
    """Restricted logits (the constant + the key part; the constant is the mean over inputs, i.e. the authors'
    bias correction) and excluded logits (table − key part), both (R, p², C)."""
    part = key_part(components, directions, keys)
    return table.mean(1, keepdim=True) + part, table - part  # ALGO LOGIC: Nanda et al. 2023 §5.1


# --------------------------------------------------------------------------------------------------- the run
def all_inputs(cfg, R: int, device) -> torch.Tensor:
    """Every pair (a, b) encoded as the model reads it (tasks.modular.encode, as training), row a·p + b: (R, p², T)."""
    from grokbench.tasks.modular import all_pairs, encode

    p = cfg.task.p
    pairs, _ = all_pairs(cfg.task.name, p)  # cartesian order: row a·p + b
    x, _ = encode(pairs, cfg.task.encoding.value, p)
    return x.to(device).expand(R, *x.shape)


@torch.no_grad()
def logit_table(model, x: torch.Tensor) -> torch.Tensor:
    """(R, p², C) float64 logits, in chunks of inputs."""
    return torch.cat([model(x[:, i : i + INPUT_CHUNK]).double() for i in range(0, x.shape[1], INPUT_CHUNK)], 1)


def split_rows(data, p: int, encoding: str):
    """Each member's train and test inputs as rows a·p + b of the table: (R, N_train), (R, N_test) (a padded
    sample's row is masked out by data.train_mask / test_mask)."""
    from grokbench.tasks.modular import operands

    def rows(x):
        pairs = operands(x, encoding)
        return pairs[..., 0] * p + pairs[..., 1]
    return rows(data.x_train), rows(data.x_test)


def loss_on(loss_cfg, table, rows, y, mask=None) -> torch.Tensor:
    """Mean loss per member over its own samples: the table's rows `rows` (R, N) against labels y (R, N) → (R,)."""
    logits = torch.gather(table, 1, rows[..., None].expand(-1, -1, table.shape[-1]))
    return mean_loss(per_sample_loss(loss_cfg, logits, y), mask).double()


def analyze(run_dir: Path, freqs=None, device: str = "cpu", top=None):
    """→ (fourier table, key-frequency table); writes neither (see `main`). Each part the run trained in (all at once,
    or chunk by chunk) is rebuilt with its own members' data and model (grokbench/runs.py)."""
    cfg = run_config(run_dir)
    if cfg.task.name not in FOURIER_TASKS:
        raise ValueError(f"task={cfg.task.name} is invalid for the Fourier progress measures; allowed: "
                         f"{', '.join(FOURIER_TASKS)} (labels (a ± b) mod p)")
    if cfg.model.name not in FOURIER_MODELS:
        raise ValueError(f"model={cfg.model.name} is invalid; allowed: {', '.join(FOURIER_MODELS)}")
    path = run_dir / store.SNAPSHOTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; train with train.snapshots=N (N >= 1)")
    K = (cfg.task.p - 1) // 2
    if freqs is not None:
        bad = [k for k in freqs if not 1 <= k <= K]
        if bad:
            raise ValueError(f"--freqs {','.join(map(str, freqs))} is invalid; allowed: integers in [1, {K}] "
                             f"(p={cfg.task.p})")
    run, snaps = open_run(run_dir), snapshots.load(path)
    column = {int(m): i for i, m in enumerate(snaps["member"])}
    tables, keys = [], []
    for rows, _ in run.parts:
        cols = [column[int(m)] for m in rows["member"]]
        part_table, part_keys = analyze_part(run.cfg, rows, snaps, cols, freqs, torch.device(device), top)
        tables.append(part_table)
        keys.append(part_keys)
    return (pd.concat(tables, ignore_index=True).sort_values(["step", "member"], ignore_index=True),
            pd.concat(keys, ignore_index=True).sort_values(["member", "rank"], ignore_index=True))


def analyze_part(cfg, rows: pd.DataFrame, snaps: dict, cols: list, freqs, dev, top):
    """The progress measures of one part's members (snapshot columns `cols`) at each of their snapshots. Key
    frequencies come from each member's own last snapshot (a chunk that stopped early has no later one)."""
    p, sign, encoding = cfg.task.p, SIGN[cfg.task.name], cfg.task.encoding.value
    data = member_data(cfg, rows, dev)
    model = member_model(cfg, rows, data, device=dev)
    x = all_inputs(cfg, len(rows), dev)
    train_rows, test_rows = split_rows(data, p, encoding)
    directions = sum_directions(p, sign).to(dev)
    present = snaps["present"][:, cols]  # (S, R)

    def at(i):  # snapshot i loaded into the model → (table, coeffs, components)
        state = {n: v[i][cols].to(dev) for n, v in snaps["state"].items()}
        load_weights(model, state)
        table = logit_table(model, x)
        coeffs = fourier_2d(table, p)
        return table, coeffs, sum_components(coeffs, sign)

    last = [int(present[:, r].nonzero().max()) for r in range(len(cols))]  # each member's last snapshot
    norms = torch.zeros(len(cols), (p - 1) // 2, dtype=torch.float64, device=dev)
    centred = torch.zeros(len(cols), dtype=torch.float64, device=dev)
    for i in sorted(set(last)):
        table, _, comp = at(i)
        mine = torch.tensor([r == i for r in last], device=dev)
        norms[mine] = frequency_norms(comp)[mine]
        centred[mine] = (table - table.mean(1, keepdim=True)).pow(2).sum((1, 2))[mine]
    if top is not None:
        keys = top_mask(norms, top)
    elif freqs is None:
        keys = key_mask(norms)
    else:
        keys = torch.zeros_like(norms, dtype=torch.bool)
        keys[:, [k - 1 for k in freqs]] = True
    table_rows = []
    for i, step in enumerate(snaps["steps"]):
        if not present[i].any():
            continue
        table, coeffs, comp = at(i)
        restricted, excluded = restricted_and_excluded(table, comp, directions, keys)
        values = {
            "restricted_loss": loss_on(cfg.loss, restricted, test_rows, data.y_test, data.test_mask),
            "restricted_loss_train": loss_on(cfg.loss, restricted, train_rows, data.y_train, data.train_mask),
            "excluded_loss": loss_on(cfg.loss, excluded, train_rows, data.y_train, data.train_mask),
            "gini_embed": gini_embed(model).double(),
            # the member's own train loss from this snapshot: equals metrics.parquet's train_loss at this step
            "full_train_loss": loss_on(cfg.loss, table, train_rows, data.y_train, data.train_mask),
            **logit_shares(coeffs, frequency_norms(comp)),
        }
        for r, (member, seed) in enumerate(zip(rows["member"], rows["seed"])):
            if present[i, r]:
                table_rows.append({"step": step, "member": int(member), "seed": int(seed),
                                   **{k: float(v[r]) for k, v in values.items()}})
    key_rows = []
    for r, (member, seed) in enumerate(zip(rows["member"], rows["seed"])):
        order = torch.argsort(norms[r], descending=True).tolist()
        for rank, k in enumerate([k for k in order if keys[r, k]], start=1):
            key_rows.append({"member": int(member), "seed": int(seed), "freq": k + 1, "rank": rank,
                             "norm": float(norms[r, k]), "frac": float(norms[r, k] ** 2 / centred[r])})
    return pd.DataFrame(table_rows), pd.DataFrame(key_rows)


# --------------------------------------------------------------------------------------------------- outputs
def with_losses(table: pd.DataFrame, run_dir: Path) -> pd.DataFrame:
    """Add train_loss / test_loss of the same steps from metrics.parquet (the cross-check column goes)."""
    metrics = pd.read_parquet(run_dir / store.METRICS_FILE, columns=["step", "member", "train_loss", "test_loss"])
    return table.drop(columns="full_train_loss").merge(metrics, on=["step", "member"], how="left")


def plot(table: pd.DataFrame, grok_step, path: Path, title: str, loss_name: str, chance=None) -> None:
    """Losses (log y) and the embedding's Gini against step (symlog: the snapshots are log-spaced early, evenly
    spaced late): median over members, IQR band, grokking step marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    q = table.groupby("step").quantile([0.25, 0.5, 0.75]).unstack()
    steps = q.index.to_numpy()
    fig, (ax, ax_g) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    curves = (("train_loss", "train", "tab:blue", "-"), ("test_loss", "test", "tab:red", "-"),
              ("restricted_loss", "restricted (test)", "tab:green", "--"),
              ("excluded_loss", "excluded (train)", "tab:purple", "--"))
    for col, name, color, style in curves:
        ax.plot(steps, q[(col, 0.5)], style, color=color, label=name, marker=".", ms=4)
        ax.fill_between(steps, q[(col, 0.25)], q[(col, 0.75)], color=color, alpha=0.2)
    if chance is not None:
        ax.axhline(chance, color="black", lw=0.8, alpha=0.5, label=f"chance (log p = {chance:.2f})")
    ax.set(yscale="log", xlabel="step", ylabel=f"{loss_name} (median, IQR band)")
    ax_g.plot(steps, q[("gini_embed", 0.5)], color="black", marker=".", ms=4)
    ax_g.fill_between(steps, q[("gini_embed", 0.25)], q[("gini_embed", 0.75)], color="black", alpha=0.15)
    ax_g.set(xlabel="step", ylabel="Gini of embedding Fourier norms", ylim=(0, 1))
    for a in (ax, ax_g):
        a.set_xscale("symlog", linthresh=1)  # step 0 stays on the axis
        a.set_xlim(0, steps.max() * 1.1)
        if grok_step is not None:
            a.axvline(grok_step, color="gray", ls=":", label=f"test acc 95 % (median step {grok_step:g})")
        a.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    store.save_figure(fig, path)


def grok_step(run_dir: Path):
    """Median step_test_95 over the members that reached it (None if none did)."""
    summary = pd.read_parquet(run_dir / store.SUMMARY_FILE)
    steps = summary["step_test_95"].dropna()
    return float(steps.median()) if len(steps) else None


def parse_freqs(text: str):
    try:
        return [int(k) for k in text.split(",")]
    except ValueError:
        raise ValueError(f"--freqs {text} is invalid; allowed: comma-separated integers k1,k2,...") from None
