"""Where a batched llama.cpp decoding step spends its time: the model's body vs its output layer.

One ``llama_decode`` of n single-token sequences after a shared 100-token prefix (the shape of a
step of ``culturealign.models.llamacpp_batch``), with and without logits, best of 5; the head's
cost is the difference. Then the same output-layer product in torch (float32 and bfloat16), the
fastest implementation of it on hand, for the ceiling in docs/results/backend_throughput.md.

    CULTUREALIGN_DATA=../shared/data python benchmarks/llamacpp_step.py --threads 2
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

REPEATS = 5
PREFIX = 100


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def llamacpp_step(spec: str, sizes: list[int], threads: int) -> None:
    import llama_cpp

    from culturealign.models import load_model
    from culturealign.models.llamacpp_batch import BatchedGenerator, _Entry

    lm = load_model(spec, threads=threads)
    for n in sizes:
        gen = BatchedGenerator(lm.llm, n)  # type: ignore[attr-defined]
        gen._open(PREFIX + 8 * n)
        gen._decode([_Entry(1000 + i, i, n, False) for i in range(PREFIX)])  # seq n: prefix
        for seq in range(n):
            llama_cpp.llama_memory_seq_cp(gen._memory, n, seq, -1, -1)

        with_logits = best_of(partial(_step, gen, n, True))
        without = best_of(partial(_step, gen, n, False))
        head, body = (with_logits - without) * 1000 / n, without * 1000 / n
        print(
            f"{spec} n={n}: head {head:.2f} / body {body:.2f} ms per token, "
            f"{n / with_logits:.0f} tokens/s",
            flush=True,
        )
        gen.close()


def _step(gen: Any, n: int, logits: bool) -> None:
    import llama_cpp

    from culturealign.models.llamacpp_batch import _Entry

    gen._decode([_Entry(2000 + s, PREFIX, s, logits) for s in range(n)])
    for s in range(n):  # drop the step's cells: every repeat decodes the same position
        llama_cpp.llama_memory_seq_rm(gen._memory, s, PREFIX, -1)


def torch_head(sizes: list[int], threads: int, rows: int = 262_144, dim: int = 640) -> None:
    import torch

    torch.set_num_threads(threads)
    weight = torch.randn(rows, dim)
    for dtype in (torch.float32, torch.bfloat16):
        w = weight.to(dtype)
        for n in sizes:
            x = torch.randn(n, dim).to(dtype)
            t = best_of(lambda x=x, w=w: x @ w.T)
            print(
                f"torch {str(dtype).removeprefix('torch.')} head n={n}: {t * 1000 / n:.2f} ms "
                f"per token, {2 * n * rows * dim / t / 1e9:.0f} GFLOP/s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", default="1,16,32,40,64", help="sequences per step")
    parser.add_argument(
        "--models",
        nargs="+",
        default=["llamacpp:gemma-3-270m", "llamacpp:gemma-3-270m#head=bf16"],
        help="llamacpp: model strings",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for spec in args.models:
        llamacpp_step(spec, sizes, args.threads)
    torch_head(sizes, args.threads)


if __name__ == "__main__":
    main()
