"""How much slower this CPU multiplies float32 matrices when one operand holds subnormal values (|x| < 1.2e-38).

    python scripts/bench_subnormal.py

Late in a long run whose losses have reached ~1e-13 (Prieto et al.'s fig1c and fig2 with a float64 softmax and a
float32 model, or any run trained far past 100 % train accuracy), the gradient reaching the float32 weights holds such
values. The shapes are the Prieto MLP's weight gradient (113×5,107 @ 5,107×200), timed side by side on one thread.
"""
import time

import torch


def seconds(a: torch.Tensor, b: torch.Tensor, repeats: int = 20) -> float:
    t0 = time.perf_counter()
    for _ in range(repeats):
        a.T @ b
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    torch.set_num_threads(1)
    grad = torch.randn(5107, 113)
    acts = torch.randn(5107, 200)
    normal, subnormal, flushed = [], [], []
    small = grad * 1e-39  # every value subnormal
    for _ in range(5):  # alternating blocks, median of each
        normal.append(seconds(grad, acts))
        subnormal.append(seconds(small, acts))
        torch.set_flush_denormal(True)  # what train.flush_denormal=true does (grokbench/denormals.py)
        try:
            flushed.append(seconds(small, acts))
        finally:
            torch.set_flush_denormal(False)
    normal, subnormal, flushed = (sorted(t)[2] for t in (normal, subnormal, flushed))
    print(f"torch {torch.__version__}, 1 thread: normal {normal * 1e3:.2f} ms, subnormal operand "
          f"{subnormal * 1e3:.2f} ms, the same flushed to zero {flushed * 1e3:.2f} ms; subnormal ÷ normal = "
          f"{subnormal / normal:.1f}, flushed ÷ normal = {flushed / normal:.1f}")

if __name__ == "__main__":
    main()
