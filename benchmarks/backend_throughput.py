"""Backend throughput: which backend should a CPU user pick? (issue 9, point 5)

The same JCM test items (3-shot, the study's Japanese prompt, gemma-3-270m) through:

* ``hf``            the Hugging Face backend (the de-quantized copy) in each of ``--hf-dtypes``
                    (float32, bfloat16); its fastest run is the baseline;
* ``server c=1``    a real ``python -m llama_cpp.server`` on loopback serving the shipped Q4_K_M
                    GGUF, through the OpenAI-compatible backend, one request in flight;
* ``server c=4``    the same, four requests in flight;
* ``llamacpp``      the same GGUF in-process (llama-cpp-python), one prompt at a time
                    (``parallel=1``, ``create_completion``) and batched (``parallel=N``: N
                    sequences per ``llama_decode`` call, shared few-shot prefix); the batched
                    arms also on the ``head=bf16`` copy (a BF16 output layer; see
                    ``culturealign.models.gguf_rewrite``).

The HF baseline is taken at its fastest generation batch size among ``--hf-batch-sizes`` (each
is timed; the table shows them all).

Each arm does two jobs on every item: choice scoring (正/誤) and greedy generation of up to 32
new tokens. Reported per arm and job: wall seconds, items/s, and for generation tokens/s, where
tokens are the generated texts re-tokenized with gemma's HF tokenizer (one count for all arms),
and each arm's ratio to the HF baseline. Agreement of predictions with HF is printed beside it
(the GGUF is quantized, so a few items may differ). Every arm and the server get the same
``--threads``; model loading, server start-up and a two-item warm-up are outside the timed
region.

The llama.cpp server scores choices with ``scoring=topk`` (JCM's answers are single gemma
tokens; llama-cpp-python's ``echo`` path sorts the 262k vocabulary in Python per prompt token).
llama-cpp-python's server runs one request at a time, so c=4 only overlaps HTTP and
tokenization with compute; a vLLM server batches concurrent requests.

Usage (the issue's run; ``--limit 10`` for a smoke run)::

    CULTUREALIGN_DATA=/work/shared/data python benchmarks/backend_throughput.py \
        --limit 200 --threads 2 --out docs/results/backend_throughput.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODEL = "gemma-3-270m"
MAX_NEW_TOKENS = 32


def _timed(fn: Callable[[], Any], repeats: int = 1, check: bool = False) -> tuple[Any, float]:
    """``fn()``'s first result and its median wall time over ``repeats`` calls.

    ``check``: every repeat must return the same (greedy generation is deterministic; choice
    log-probs are not checked: llama.cpp's reuse of a cached prefix moves their last bits).
    """
    outs, times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        outs.append(fn())
        times.append(time.perf_counter() - start)
    if check and any(out != outs[0] for out in outs):
        raise SystemExit("a repeat generated other texts: greedy decoding should not")
    return outs[0], statistics.median(times)


def run_arm(
    lm: Any,
    samples: list[Any],
    count_tokens: Callable[[str], int],
    repeats: int = 1,
    **gen_kwargs: Any,
) -> dict[str, Any]:
    from culturealign.models.base import GenerationConfig

    warm = samples[:2]  # first-call costs (allocation, thread pools) stay out of the timing
    lm.choice_logprobs([s.request for s in warm])
    lm.generate([s.prompt for s in warm], GenerationConfig(max_new_tokens=2), **gen_kwargs)
    scores, choice_s = _timed(lambda: lm.choice_logprobs([s.request for s in samples]), repeats)
    config = GenerationConfig(max_new_tokens=MAX_NEW_TOKENS)
    prompts = [s.prompt for s in samples]
    texts, gen_s = _timed(lambda: lm.generate(prompts, config, **gen_kwargs), repeats, True)
    return {
        "choice_s": choice_s,
        "generate_s": gen_s,
        "tokens": sum(count_tokens(t) for t in texts),
        "predictions": [max(range(len(s)), key=s.__getitem__) for s in scores],
        "texts": texts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--parallel",
        default="1,16,32",
        help="llama.cpp in-process arms: sequences decoded at once (1: one by one)",
    )
    parser.add_argument(
        "--bf16-parallel", default="32", help="batched arms on the head=bf16 copy ('' for none)"
    )
    parser.add_argument("--hf-batch-sizes", default="16,32,64", help="HF generation batch sizes")
    parser.add_argument(
        "--hf-dtypes", default="float32,bfloat16", help="HF weight dtypes (torch names)"
    )
    parser.add_argument("--skip-server", action="store_true", help="leave out the server arms")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per arm (the median)")
    parser.add_argument("--out", type=Path, help="write the Markdown report here too")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    from transformers import AutoTokenizer

    from culturealign.evaluation import build_task
    from culturealign.models import load_model
    from culturealign.models.embedded import EMBEDDED, ensure_converted
    from culturealign.models.llamacpp_server import LlamaServer

    tokenizer = AutoTokenizer.from_pretrained(ensure_converted(MODEL))

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    task = build_task("jcm", {"limit": args.limit})
    results = {}
    for dtype in args.hf_dtypes.split(","):
        hf = load_model(MODEL, threads=args.threads, dtype=dtype)
        samples = task.samples(hf)  # gemma is a base model: the same plain prompts for every arm
        label = "hf" if dtype == "float32" else f"hf {dtype}"
        for size in [int(b) for b in args.hf_batch_sizes.split(",")]:
            results[f"{label}, batch {size}"] = run_arm(
                hf, samples, count_tokens, args.repeats, batch_size=size
            )
        del hf
    results = _fastest_first(results)

    if not args.skip_server:
        server = LlamaServer(EMBEDDED[MODEL].gguf_path(), MODEL, threads=args.threads).start()
        try:
            for conc in (1, 4):
                spec = f"openai:{MODEL}@{server.base_url}#x.repeat_penalty=1,scoring=topk"
                lm = load_model(f"{spec},concurrency={conc}")
                results[f"llama.cpp server, c={conc}"] = run_arm(
                    lm, samples, count_tokens, args.repeats
                )
        finally:
            server.stop()
    arms = [(int(p), "") for p in filter(None, args.parallel.split(","))]
    arms += [(int(p), ",head=bf16") for p in filter(None, args.bf16_parallel.split(","))]
    for parallel, head in arms:
        lm = load_model(f"llamacpp:{MODEL}#parallel={parallel}{head}", threads=args.threads)
        name = "one by one" if parallel == 1 else f"batched, parallel={parallel}{head}"
        results[f"llama.cpp in-process, {name}"] = run_arm(lm, samples, count_tokens, args.repeats)
        del lm

    report = render(results, len(samples), args)
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


def _llama_build() -> str:
    """llama-cpp-python's version and the CPU features its llama.cpp was compiled for."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode().strip()
    return f"llama-cpp-python {llama_cpp.__version__}; {info}"


def _fastest_first(hf_runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The HF runs with the fastest generation first: that one is the baseline."""
    order = sorted(hf_runs, key=lambda k: hf_runs[k]["tokens"] / hf_runs[k]["generate_s"])
    return {k: hf_runs[k] for k in reversed(order)}


def render(results: dict[str, dict[str, Any]], n: int, args: argparse.Namespace) -> str:
    base = next(iter(results.values()))  # the fastest HF run
    base_tps = base["tokens"] / base["generate_s"]
    base_ips = n / base["choice_s"]
    lines = [
        "# Backend throughput: gemma-3-270m on JCM (3-shot), CPU",
        "",
        f"{n} JCM test items; choice scoring (正/誤) and greedy generation of up to "
        f"{MAX_NEW_TOKENS} tokens; {args.threads} thread(s) for every arm and the server. "
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs. Produced by `python benchmarks/backend_throughput.py "
        f"--limit {args.limit} --threads {args.threads} --parallel {args.parallel} "
        f"--bf16-parallel '{args.bf16_parallel}' --hf-batch-sizes {args.hf_batch_sizes} "
        f"--hf-dtypes {args.hf_dtypes} "
        f"--repeats {args.repeats}{' --skip-server' if args.skip_server else ''}`; times are "
        f"the median of {args.repeats} run(s) after a warm-up. "
        "Baseline (x HF = 1.00): the first row, the HF backend at its fastest generation "
        "batch size.",
        "",
        f"llama.cpp build: {_llama_build()}",
        "",
        "| backend | choice items/s | x HF | gen items/s | gen tokens/s | x HF | tokens | "
        "choice agree | gen same text |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        ips, tps = n / r["choice_s"], r["tokens"] / r["generate_s"]
        agree = sum(a == b for a, b in zip(r["predictions"], base["predictions"], strict=True))
        same = sum(a == b for a, b in zip(r["texts"], base["texts"], strict=True))
        lines.append(
            f"| {name} | {ips:.2f} | {ips / base_ips:.2f} | {n / r['generate_s']:.2f} | "
            f"{tps:.1f} | {tps / base_tps:.2f} | {r['tokens']} | {agree}/{n} | {same}/{n} |"
        )
    one = results.get("llama.cpp in-process, one by one")
    batched = [k for k in results if k.startswith("llama.cpp in-process, batched")]
    if one and batched:
        same = sum(a == b for a, b in zip(one["texts"], results[batched[0]]["texts"], strict=True))
        lines += ["", f"Batched vs one-by-one llama.cpp in-process: {same}/{n} identical texts."]
    lines += [
        "",
        "Target (issue 9): llama.cpp generation >= 3x the HF backend's tokens/s.",
        "Tokens: generated texts re-tokenized with gemma's HF tokenizer (one count for all "
        "arms). The llama.cpp arms run the Q4_K_M GGUF (head=bf16: its copy with a BF16 "
        "output layer), HF its fp32 copy, so a few answers "
        "differ; generated lengths differ with them, hence tokens/s rather than items/s.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
