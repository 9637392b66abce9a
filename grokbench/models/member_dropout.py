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
        self.gens, self.pending_states = None, state
