"""Which torch device a config's `device` names. Its own module so that threads.py and train.py (which imports
threads.py) both read it without importing each other."""
import torch


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
