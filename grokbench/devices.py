"""Which torch device a config's `device` names: one place, below everything that needs it (training, the
compute context, jobs, benchmarks, analyses), so none of them imports another for it."""
import torch

from grokbench.schema import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_device(name: str) -> None:
    """device=cuda on a machine without a visible GPU: one line (ConfigError), not torch's traceback mid-setup."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", name, "cpu or auto: no CUDA device is visible on this machine")
