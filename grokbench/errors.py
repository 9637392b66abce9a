"""How every command refuses: one line on stderr and exit code 2 (the errors behind such lines are schema.ConfigError
and store.RunDirError). Its own module, importing nothing, so the subcommands need not import the CLI that imports
them."""
import argparse
import sys


def fail(message: str) -> int:
    print(f"grokbench: error: {message}", file=sys.stderr)
    return 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser for every subcommand, but a bad argument is one line (argparse's own message, which names
    the argument and its choices) and exit code 2, without the usage block; --help still prints the usage."""

    def error(self, message: str):
        self.exit(2, f"grokbench: error: {self.prog.removeprefix('grokbench ')}: {message}\n")
