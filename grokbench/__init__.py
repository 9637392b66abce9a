"""grokbench: populations of small models trained as one batched model, for grokking and memorization research."""
__version__ = "0.1.0"
