"""Backend throughput: which backend should a CPU user pick? (issue 9, point 5)

The same JCM test items (3-shot, the study's Japanese prompt, gemma-3-270m) through:

* ``hf``            the Hugging Face backend (fp32 de-quantized copy): the baseline;
* ``server c=1``    a real ``python -m llama_cpp.server`` on loopback serving the shipped Q4_K_M
                    GGUF, through the OpenAI-compatible backend, one request in flight;
* ``server c=4``    the same, four requests in flight;
* ``llamacpp``      the same GGUF in-process (llama-cpp-python).

Each arm does two jobs on every item: choice scoring (正/誤) and greedy generation of up to 32
new tokens. Reported per arm and job: wall seconds, items/s, and for generation tokens/s, where
tokens are the generated texts re-tokenized with gemma's HF tokenizer (one count for all arms),
and each arm's ratio to the HF baseline. Agreement of predictions with HF is printed beside it
(the GGUF is quantized, so a few items may differ). Every arm and the server get the same
``--threads``; model loading and server start-up are outside the timed region.

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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODEL = "gemma-3-270m"
MAX_NEW_TOKENS = 32


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_arm(lm: Any, samples: list[Any], count_tokens: Callable[[str], int]) -> dict[str, Any]:
    from culturealign.models.base import GenerationConfig

    scores, choice_s = _timed(lambda: lm.choice_logprobs([s.request for s in samples]))
    config = GenerationConfig(max_new_tokens=MAX_NEW_TOKENS)
    texts, gen_s = _timed(lambda: lm.generate([s.prompt for s in samples], config))
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
    parser.add_argument("--out", type=Path, help="write the Markdown report here too")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    from transformers import AutoTokenizer

    from culturealign.evaluation import build_task
    from culturealign.models import load_model
    from culturealign.models.embedded import EMBEDDED, ensure_converted
    from culturealign.models.llamacpp import LlamaServer

    tokenizer = AutoTokenizer.from_pretrained(ensure_converted(MODEL))

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    task = build_task("jcm", {"limit": args.limit})
    hf = load_model(MODEL, threads=args.threads)
    samples = task.samples(hf)  # gemma is a base model: the same plain prompts for every arm
    results = {"hf": run_arm(hf, samples, count_tokens)}
    del hf

    server = LlamaServer(EMBEDDED[MODEL].gguf_path(), MODEL, threads=args.threads).start()
    try:
        for conc in (1, 4):
            spec = f"openai:{MODEL}@{server.base_url}#x.repeat_penalty=1,scoring=topk"
            lm = load_model(f"{spec},concurrency={conc}")
            results[f"llama.cpp server, c={conc}"] = run_arm(lm, samples, count_tokens)
    finally:
        server.stop()
    lm = load_model(f"llamacpp:{MODEL}", threads=args.threads)
    results["llama.cpp in-process"] = run_arm(lm, samples, count_tokens)

    report = render(results, len(samples), args)
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


def render(results: dict[str, dict[str, Any]], n: int, args: argparse.Namespace) -> str:
    base = results["hf"]
    base_tps = base["tokens"] / base["generate_s"]
    base_ips = n / base["choice_s"]
    lines = [
        "# Backend throughput: gemma-3-270m on JCM (3-shot), CPU",
        "",
        f"{n} JCM test items; choice scoring (正/誤) and greedy generation of up to "
        f"{MAX_NEW_TOKENS} tokens; {args.threads} thread(s) for every arm and the server. "
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs. Produced by `python benchmarks/backend_throughput.py "
        f"--limit {args.limit} --threads {args.threads}`.",
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
    lines += [
        "",
        "Target (issue 9): llama.cpp generation >= 3x the HF backend's tokens/s.",
        "Tokens: generated texts re-tokenized with gemma's HF tokenizer (one count for all "
        "arms). The llama.cpp arms run the Q4_K_M GGUF, HF its fp32 copy, so a few answers "
        "differ; generated lengths differ with them, hence tokens/s rather than items/s.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
