"""Analyses of finished runs and sweeps (subcommands of the grokbench CLI)."""
