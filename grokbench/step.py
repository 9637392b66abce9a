"""One training step of a whole population, and `train.compile`: the same step replayed as one CUDA graph.

A single small run on a GPU is bound by host overhead (~30 kernels of a few µs each, each launched from Python);
capturing the whole step (forward, backward, optimizer) once and replaying it removes that overhead (DESIGN.md: one
eager Prieto-MLP run ~1,000 steps/s, the same step as one graph ~4,800 steps/s on an H200).
"""
from __future__ import annotations

import copy
import logging
import warnings

import torch

from grokbench.config import plain
from grokbench.losses import mean_loss, per_sample_loss

log = logging.getLogger("grokbench")
WARMUP_STEPS = 3  # eager steps before capture: cuBLAS handles, autograd buffers and the one-hot cache exist by then


def train_step(model, opt, loss_cfg, x, y, active, diverged_step, step, mask=None) -> None:
    """One optimizer step of every live member. x (R, N, T), y (R, N); mask (R, N) bool marks each member's real
    samples (None: all are real); active (R,) bool and diverged_step (R,) long are updated in place; step (int or
    0-d device tensor) is the number of steps taken before this one."""
    loss = mean_loss(per_sample_loss(loss_cfg, model(x), y), mask)  # (R,)
    # ALGO LOGIC: a member whose loss is not finite is frozen; the others' gradients never see it
    bad = active & ~torch.isfinite(loss)
    diverged_step.copy_(torch.where(bad, step, diverged_step))  # torch.where, not masked_fill_: no host sync
    active &= ~bad
    opt.zero_grad()
    torch.where(active, loss, 0.0).sum().backward()
    opt.step(active)


class Stepper:
    """`stepper(step, x, y)` takes one training step: eagerly, or (train.compile on CUDA) by replaying a CUDA graph
    captured after WARMUP_STEPS eager steps. Capture never poisons the process: it first checks that an eager step
    makes no host sync (the usual reason a capture fails), restores the pre-check state if anything goes wrong, and
    then trains eagerly with a warning."""

    def __init__(self, compile: bool, model, opt, loss_cfg, active, diverged_step, device: torch.device,
                 tf32: bool = False):
        self.model, self.opt, self.loss_cfg = model, opt, plain(loss_cfg)
        self.base_opt = opt  # the PopulationOptimizer under any ⊥Grad/Grokfast wrappers: it owns the step counters
        while hasattr(self.base_opt, "inner"):
            self.base_opt = self.base_opt.inner
        self.active, self.diverged_step = active, diverged_step
        self.graph, self.calls, self.last_x = None, 0, None
        self.want_graph = compile and device.type == "cuda"
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = tf32  # process-wide, like the run it belongs to
        elif tf32:
            warnings.warn(f"train.tf32=true applies to CUDA matmuls; {device.type} computes in full fp32")
        if compile and device.type != "cuda":
            warnings.warn(f"train.compile=true captures CUDA graphs, which need a CUDA device; training eagerly "
                          f"on {device.type}")

    def __call__(self, step: int, x: torch.Tensor, y: torch.Tensor, mask=None) -> None:
        self.calls += 1
        if self.graph is not None:
            self.graph.replay()  # full batch: x, y are the captured (constant) train tensors
            self.base_opt.steps += 1  # the graph advanced opt.count on the device; keep the host count in step
            return
        if self.want_graph and self.calls > WARMUP_STEPS:
            self.want_graph = False  # one attempt per run
            if x is not self.last_x:  # minibatches: the model's input caches (one-hot) would go stale in a graph
                warnings.warn("train.compile: only full-batch training is captured as a CUDA graph; training eagerly")
            elif self.capture(step, x, y, mask):
                return self(step, x, y, mask)
        self.last_x = x
        train_step(self.model, self.opt, self.loss_cfg, x, y, self.active, self.diverged_step, step, mask)

    def snapshot(self):
        return (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.opt.state_dict()),
                self.active.clone(), self.diverged_step.clone())

    def restore(self, snap) -> None:
        model_sd, opt_sd, active, diverged_step = snap
        self.model.load_state_dict(model_sd)
        self.opt.load_state_dict(opt_sd)
        self.active.copy_(active)
        self.diverged_step.copy_(diverged_step)

    def capture(self, step: int, x: torch.Tensor, y: torch.Tensor, mask=None) -> bool:
        snap = self.snapshot()
        try:
            self.base_opt.make_capturable()
            self.step_t = torch.tensor(step, dtype=torch.long, device=x.device)  # the graph counts steps itself
            self.x_static, self.y_static, self.mask_static = x, y, mask
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                mode = torch.cuda.get_sync_debug_mode()
                torch.cuda.set_sync_debug_mode("error")  # a host sync would abort the capture: find it first
                try:
                    self.captured_step()
                finally:
                    torch.cuda.set_sync_debug_mode(mode)
            torch.cuda.current_stream().wait_stream(side)
            torch.cuda.synchronize()
            self.restore(snap)  # the check step was a rehearsal: replay starts from the same state
            self.step_t.fill_(step)
            self.opt.zero_grad()
            graph = torch.cuda.CUDAGraph()
            steps_before = self.base_opt.steps
            with torch.cuda.graph(graph):
                self.captured_step()
            self.base_opt.steps = steps_before  # capture records kernels; it ran no step
            torch.cuda.synchronize()
            self.restore(snap)  # nothing ran, but be sure the state is the pre-capture one
            self.graph = graph
            log.info(f"train.compile: the training step is one CUDA graph from step {step}")
            return True
        except Exception as err:  # noqa: BLE001 — any failure means: train eagerly, the run goes on
            warnings.warn(f"train.compile: CUDA graph capture failed ({type(err).__name__}: {err}); training eagerly")
            try:
                torch.cuda.synchronize()
            except Exception:  # noqa: BLE001
                pass
            self.base_opt.count, self.graph = None, None
            self.restore(snap)
            return False

    def captured_step(self) -> None:
        train_step(self.model, self.opt, self.loss_cfg, self.x_static, self.y_static, self.active,
                   self.diverged_step, self.step_t, self.mask_static)
        self.step_t += 1
