"""Per-member random streams: every random draw of member `seed` comes from its own named generator, so member i of a
population sees exactly the numbers a standalone run of seed i sees."""
import zlib

import torch


def generator(seed: int, stream: str) -> torch.Generator:
    # crc32 gives a stable per-stream offset (Python's hash() is salted per process)
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(stream.encode()))
