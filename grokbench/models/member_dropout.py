"""Inverted dropout for a population: member r's masks come from its own device generator, seeded from r's seed, so
member r draws exactly the masks a standalone run of that seed draws. The generator states are module extra state,
so a resumed run continues the same mask stream."""
import torch
import torch.nn as nn

from grokbench.seeding import generator


class MemberDropout(nn.Module):
    def __init__(self, seeds, p: float):
        super().__init__()
        self.seeds, self.p = list(seeds), p
        self.gens = None  # made on first use: the device is known only then
        self.pending_states = None  # states loaded from a checkpoint before the generators exist

    def generators(self, device):
        if self.gens is None:
            self.gens = [torch.Generator(device=device).manual_seed(generator(s, "dropout").initial_seed())
                         for s in self.seeds]
            for g, state in zip(self.gens, self.pending_states or []):
                g.set_state(state)
            self.pending_states = None
        return self.gens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (R, …) → x with a fresh mask per member, scaled by 1/(1-p) as nn.Dropout; identity in eval mode."""
        if not self.training or self.p == 0:
            return x
        keep = torch.stack([torch.rand(x.shape[1:], generator=g, device=x.device) for g in self.generators(x.device)])
        return x * (keep >= self.p).to(x.dtype) / (1 - self.p)

    def get_extra_state(self):
        return [g.get_state() for g in self.gens] if self.gens is not None else self.pending_states

    def set_extra_state(self, state):
        if self.gens is None or state is None:
            self.gens, self.pending_states = None, state
            return
        if len(state) != len(self.gens):
            raise ValueError(f"dropout state for {len(state)} members, this population has {len(self.gens)}")
        for g, s in zip(self.gens, state):  # in place: a captured CUDA graph keeps drawing from these generators
            g.set_state(s)


def adopt_legacy_state(model: nn.Module, name: str) -> None:
    """Checkpoints written before MemberDropout kept the dropout generator states as the model's own extra state
    (quadratic: {"dropout_gens", "pending"}; transformer: a list): move them to the submodule `name` on load."""
    def hook(module, state_dict, prefix, *args):
        old_key = prefix + "_extra_state"
        if old_key in state_dict:
            old = state_dict.pop(old_key)
            if isinstance(old, dict):
                old = old["dropout_gens"] if old["dropout_gens"] is not None else old["pending"]
            state_dict.setdefault(f"{prefix}{name}._extra_state", old)

    model.register_load_state_dict_pre_hook(hook)
