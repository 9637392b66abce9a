"""How every command refuses: one line on stderr and exit code 2 (the errors behind such lines are schema.ConfigError
and store.RunDirError). Its own module, importing nothing, so the subcommands need not import the CLI that imports
them."""
import sys


def fail(message: str) -> int:
    print(f"grokbench: error: {message}", file=sys.stderr)
    return 2
