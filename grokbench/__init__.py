"""grokbench: populations of small models trained as one batched model, for grokking and memorization research.

In Python: `from grokbench import load_run, load_sweep` (grokbench/api.py)."""
__version__ = "0.1.0"


def __getattr__(name):  # the API imports torch and pandas: only when asked for, so the CLI starts fast
    if name in ("load_run", "load_sweep"):
        from grokbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'grokbench' has no attribute {name!r}")
