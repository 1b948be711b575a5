"""DPO + LoRA throughput: TRL's DPOTrainer (defaults) vs culturealign's fast path, same everything.

Same model, same JCM preference pairs in the same (file) order, same LoRA (r=64, alpha=16,
all-linear), batch 4, beta 0.1, lr, fp32 on CPU. Each arm runs in its own subprocess so its peak
memory (ru_maxrss) is its own. Prints pairs/s, the ratio, peak memory, the loss of both after the
same steps, and a FLOP count per pair (work done vs work a pair needs).

    python benchmarks/dpo_throughput.py --model smollm2-135m-instruct --steps 4
    python benchmarks/dpo_throughput.py --model gemma-3-270m --steps 4

Threads: ``--threads`` (default: cores not busy with other processes, from the 1-minute load
average). OMP_WAIT_POLICY=PASSIVE stops OpenMP workers spin-waiting, which on an oversubscribed
CPU turns a 9 s step into 70 s. Both arms get identical settings. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH = 4
LR = 1e-5
BETA = 0.1


def free_cores() -> int:
    cores = len(os.sched_getaffinity(0))
    busy = os.getloadavg()[0]
    return max(1, min(cores, round(cores - busy + 0.49)))


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load(model_name: str, n_pairs: int, threads: int):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from culturealign.alignment.prefs import pairs_from_judgements
    from culturealign.data.judgements import load_jcm
    from culturealign.models.embedded import ensure_converted

    torch.set_num_threads(threads)
    path = ensure_converted(model_name)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    pairs = pairs_from_judgements(load_jcm("train").head(n_pairs))
    return model, tok, pairs


def arm_trl(model_name: str, steps: int, threads: int) -> dict:
    from culturealign.alignment import trl_adapter
    from culturealign.alignment.config import LoraSettings

    model, tok, pairs = load(model_name, BATCH * (steps + 1), threads)
    loaded = rss_mb()
    stamps: list[float] = []
    losses: list[float] = []

    def on_log(step, total, record):
        stamps.append(time.perf_counter())
        losses.append(record["loss"])

    with tempfile.TemporaryDirectory() as tmp:
        trainer = trl_adapter.trl_dpo_trainer(
            model,
            tok,
            [p.model_dump() for p in pairs],
            Path(tmp),
            lora=LoraSettings(),
            beta=BETA,
            learning_rate=LR,
            batch_size=BATCH,
            max_steps=steps + 1,
            save_every=10**6,
            use_cpu=True,
            bf16=False,  # fp32 on both arms so the losses can be compared
            sequential=True,
            callbacks=[trl_adapter.log_callback(on_log)],
        )
        trainer.train()
    # Step 1 carries one-time setup; time steps 2..steps+1.
    return {
        "seconds": stamps[-1] - stamps[0],
        "pairs": BATCH * steps,
        "losses": losses,
        "rss_loaded_mb": loaded,
        "peak_mb": peak_mb(),
        "gradient_checkpointing": bool(trainer.args.gradient_checkpointing),
    }


def arm_fast(model_name: str, steps: int, threads: int) -> dict:
    from culturealign.alignment import trl_adapter
    from culturealign.alignment.config import LoraSettings
    from culturealign.alignment.fast_dpo import reference_logps, tokenize_pair
    from culturealign.alignment.fast_trainer import LoopSettings, train_loop

    model, tok, pairs = load(model_name, BATCH * (steps + 1), threads)
    loaded = rss_mb()
    model = trl_adapter.wrap_lora(model, LoraSettings())
    trl_adapter.disable_dropout(model)
    tokenized = [tokenize_pair(tok, p) for p in pairs]
    t0 = time.perf_counter()
    reference = reference_logps(model, tokenized, tok.pad_token_id)
    ref_seconds = time.perf_counter() - t0
    stamps: list[float] = []
    losses: list[float] = []

    def on_step(step, total, record):
        stamps.append(time.perf_counter())
        losses.append(record["loss"])

    settings = LoopSettings(
        epochs=1,
        max_steps=steps + 1,
        learning_rate=LR,
        batch_size=BATCH,
        grad_accum=1,
        scheduler="linear",
        warmup_ratio=0.0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        beta=BETA,
        seed=42,
        save_every=10**6,
        keep_checkpoints=1,
        shuffle=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        train_loop(model, tokenized, reference, Path(tmp), settings, tok.pad_token_id, on_step)
    # The reference pass is paid once per pair: charge the timed pairs their share of it.
    return {
        "seconds": stamps[-1] - stamps[0] + ref_seconds * steps / (steps + 1),
        "reference_seconds": ref_seconds,
        "pairs": BATCH * steps,
        "losses": losses,
        "rss_loaded_mb": loaded,
        "peak_mb": peak_mb(),
    }


def flops_per_pair(model_name: str) -> dict:
    """Estimated FLOPs per pair (2 x params per token forward, backward = 2 x forward)."""
    from transformers import AutoConfig, AutoTokenizer

    from culturealign.alignment.fast_dpo import shared_prefix, tokenize_pair
    from culturealign.alignment.prefs import pairs_from_judgements
    from culturealign.data.judgements import load_jcm
    from culturealign.models.embedded import ensure_converted

    path = ensure_converted(model_name)
    cfg = AutoConfig.from_pretrained(path).get_text_config()
    tok = AutoTokenizer.from_pretrained(path)
    h, layers, inter = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size
    heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads
    head_dim = getattr(cfg, "head_dim", None) or h // heads
    body = layers * (h * head_dim * (heads + 2 * kv) + heads * head_dim * h + 3 * h * inter)
    lm_head = h * cfg.vocab_size
    toks = [tokenize_pair(tok, p) for p in pairs_from_judgements(load_jcm("train").head(64))]
    prompt = sum(len(t.prompt) for t in toks) / len(toks)
    comp = sum((len(t.chosen) + len(t.rejected)) / 2 for t in toks) / len(toks)
    shared = shared_prefix(toks)  # the instruction every JCM prompt starts with

    def fwd(tokens: float, head_positions: float) -> float:
        return 2 * body * tokens + 2 * lm_head * head_positions

    # What a pair needs on its own: forward + backward over its prompt once and both completions,
    # head only at completion positions, plus one reference forward over the same tokens.
    unique = fwd(prompt + 2 * (comp - 1), 2 * comp)
    need = 3 * unique + unique
    # TRL: prompt+completion twice; forward, checkpoint recompute, backward (2x), reference.
    trl = fwd(2 * (prompt + comp), 2 * comp) * (1 + 1 + 2 + 1)
    # Fast: as "need", but the shared instruction is forwarded once per batch (training batch
    # BATCH, reference batch 16), so it can do less than a pair needs on its own.
    train_tokens = prompt - shared + shared / BATCH + 2 * (comp - 1)
    ref_tokens = prompt - shared + shared / 16 + 2 * (comp - 1)
    fast = 3 * fwd(train_tokens, 2 * comp) + fwd(ref_tokens, 2 * comp)
    return {
        "need": need,
        "trl": trl,
        "fast": fast,
        "prompt_tokens": prompt,
        "completion": comp,
        "shared_prefix": shared,
    }


def run_arm(arm: str, model: str, steps: int, threads: int) -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--arm", arm, "--model", model, "--steps", str(steps)]
    proc = subprocess.run(
        [*cmd, "--threads", str(threads)], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit(f"{arm} arm failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--steps", type=int, default=4, help="timed steps (after 1 warm-up)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--arm", choices=["trl", "fast"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = args.threads or free_cores()
    if args.arm:
        fn = arm_trl if args.arm == "trl" else arm_fast
        print(json.dumps(fn(args.model, args.steps, threads)))
        return
    print(f"model={args.model} pairs/step={BATCH} timed_steps={args.steps} threads={threads}")
    trl = run_arm("trl", args.model, args.steps, threads)
    fast = run_arm("fast", args.model, args.steps, threads)
    flops = flops_per_pair(args.model)
    report(args.model, trl, fast, flops)


def report(model: str, trl: dict, fast: dict, flops: dict) -> None:
    rows = []
    for name, r in (("TRL DPOTrainer", trl), ("culturealign fast", fast)):
        rate = r["pairs"] / r["seconds"]
        done = flops["trl" if r is trl else "fast"]
        rows.append(
            (
                name,
                f"{rate:.3f}",
                f"{r['seconds'] / (r['pairs'] / BATCH):.2f}",
                f"{r['peak_mb']:.0f}",
                f"{r['peak_mb'] - r['rss_loaded_mb']:.0f}",
                f"{r['losses'][-1]:.6f}",
                f"{done / 1e9:.1f}",
                f"{flops['need'] / done:.2f}",
                f"{done * rate / 1e9:.1f}",
            )
        )
    head = (
        "arm",
        "pairs/s",
        "s/step",
        "peak RSS MB",
        "peak over loaded MB",
        "loss after last step",
        "GFLOP/pair done",
        "FLOP efficiency (need/done)",
        "GFLOP/s",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    ratio = (fast["pairs"] / fast["seconds"]) / (trl["pairs"] / trl["seconds"])
    print(f"\nspeed ratio fast/TRL: {ratio:.2f}x")
    print(f"peak memory fast/TRL: {fast['peak_mb'] / trl['peak_mb']:.2f}")
    print("per-step losses TRL : " + ", ".join(f"{x:.6f}" for x in trl["losses"]))
    print("per-step losses fast: " + ", ".join(f"{x:.6f}" for x in fast["losses"]))
    print(f"fast reference pass: {fast['reference_seconds']:.2f} s (once, for all pairs)")
    print(
        f"mean prompt {flops['prompt_tokens']:.1f} tokens (shared {flops['shared_prefix']}), "
        f"completion {flops['completion']:.1f}; "
        f"TRL gradient checkpointing: {trl['gradient_checkpointing']}"
    )


if __name__ == "__main__":
    main()
