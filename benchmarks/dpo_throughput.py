"""DPO + LoRA throughput: culturealign's fast path vs TRL's DPOTrainer, defaults and tuned.

Three arms, same model, same JCM preference pairs in the same (file) order, same batches, same
initial LoRA weights (r=64, alpha=16, all-linear; B is not zero, so step 1 already trains both
LoRA factors), beta 0.1, AdamW with a linear schedule, fp32 on CPU:

* ``trl_default``: TRL ``DPOTrainer`` with its defaults (gradient checkpointing, reference
  forward at every step). We set only ``bf16=False`` (a CPU cannot run TRL's bf16 default, and
  fp32 lets the losses be compared) and the sequential sampler (same batches as the others).
* ``trl_tuned``: the same plus TRL's own speed options: no gradient checkpointing,
  ``precompute_ref_log_probs`` (reference batch 16, as the fast path's), ``padding_free`` and
  ``use_logits_to_keep`` where the installed TRL has them. What TRL actually did is printed.
* ``fast``: :mod:`culturealign.alignment.fast_dpo` + ``fast_trainer``.

All three arms train from one ``TrainSettings`` (:func:`train_settings`); the TRL arms are built
by the project's own ``trl_trainers.trl_dpo_trainer``, the speed options passed through to TRL.

Each arm runs in its own subprocess (its own peak memory, ru_maxrss): ``--repeats`` timed runs,
each from a freshly loaded model, then one untimed run under torch's FlopCounterMode that counts
the matmul and attention FLOPs the arm really executes (padding, checkpoint recompute, TRL's
LM head at every position it scores, backward included). Timed window: steps 2..steps+1 (step 1
carries one-time setup); a one-off reference pass (fast, trl_tuned) is charged to the timed
pairs pro rata. The fp32 matmul peak is measured in each arm's process with the same threads.

    python benchmarks/dpo_throughput.py --threads 2            # both models, 3 repeats
    python benchmarks/dpo_throughput.py --models smollm2-135m-instruct --steps 1 --repeats 1

Threads: ``--threads`` (default: cores not busy, from the 1-minute load average).
OpenMP wait policy: every arm runs under libgomp's default (what a user gets); the TRL arms
also run under ``OMP_WAIT_POLICY=PASSIVE`` and are scored at the faster of the two (the peer's
best setting). ``--wait-policies default`` skips the second TRL run. Exit code 1 when a loss
differs from TRL's default arm by more than ``LOSS_TOL`` at any step. Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, astuple, dataclass
from pathlib import Path
from typing import Any

MODELS = ("gemma-3-270m", "smollm2-135m-instruct")
ARMS = ("trl_default", "trl_tuned", "fast")
BETA = 0.1
REF_BATCH = 16  # reference batch of the fast path (reference_logps) and of TRL's precompute
LOSS_TOL = 1e-4
TARGETS = {"trl_tuned": 2.0, "trl_default": 5.0}  # fast pairs/s over the arm's, at least


@dataclass(frozen=True)
class Settings:
    model: str
    steps: int
    repeats: int
    batch: int
    lr: float
    threads: int

    @property
    def n_pairs(self) -> int:
        return self.batch * (self.steps + 1)


@dataclass(frozen=True)
class Mark:
    wall: float
    cpu: float  # process CPU time, all threads
    flops: int
    head_flops: int

    def __sub__(self, other: Mark) -> Mark:
        return Mark(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def scaled(self, k: float) -> Mark:
        return Mark(*(a * k for a in astuple(self)))

    def __add__(self, other: Mark) -> Mark:
        return Mark(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


ZERO = Mark(0.0, 0.0, 0, 0)


def free_cores() -> int:
    cores = len(os.sched_getaffinity(0))
    busy = os.getloadavg()[0]
    return max(1, min(cores, round(cores - busy + 0.49)))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def matmul_peak_gflops(n: int = 2048, tries: int = 5) -> float:
    """Best fp32 GFLOP/s of an n x n matmul: the ceiling the arms' FLOP rates are judged by."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up: thread pool and allocator
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def flop_counter(head_weight: Any) -> Any:
    """torch's FlopCounterMode, also tallying matmuls on the LM-head weight (any vocab slice).

    CPU attention runs ``_scaled_dot_product_flash_attention_for_cpu``, which torch's table
    lacks; it does the same two matmuls (four in backward) as the flash kernels it has.
    """
    import torch
    from torch.utils import flop_counter as fc

    aten = torch.ops.aten

    # FlopCounterMode hands custom formulas the shapes of the op's arguments.
    def sdpa_cpu(query, key, value, *args: Any, **kwargs: Any) -> int:
        return fc.sdpa_flop_count(query, key, value)

    def sdpa_cpu_backward(grad_out, query, key, value, *args: Any, **kwargs: Any) -> int:
        return fc.sdpa_backward_flop_count(grad_out, query, key, value)

    head = head_weight.untyped_storage().data_ptr()

    class Counter(fc.FlopCounterMode):
        total = 0
        head_total = 0

        def _count_flops(self, func_packet, out, args, kwargs):  # noqa: ANN001
            formula = self.flop_registry.get(func_packet)
            if formula is not None:
                n = formula(*args, **kwargs, out_val=out)
                self.total += n
                if any(_on_storage(a, head) for a in args):
                    self.head_total += n
            return out

    return Counter(
        display=False,
        custom_mapping={
            aten._scaled_dot_product_flash_attention_for_cpu: sdpa_cpu,
            aten._scaled_dot_product_flash_attention_for_cpu_backward: sdpa_cpu_backward,
        },
    )


def _on_storage(x: Any, ptr: int) -> bool:
    import torch

    return isinstance(x, torch.Tensor) and x.untyped_storage().data_ptr() == ptr


def mark(counter: Any) -> Mark:
    flops = (counter.total, counter.head_total) if counter is not None else (0, 0)
    return Mark(time.perf_counter(), time.process_time(), *flops)


def load(s: Settings) -> tuple[Any, Any, list[Any]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from culturealign.alignment.prefs import pairs_from_judgements
    from culturealign.data.judgements import load_jcm
    from culturealign.models.embedded import ensure_converted

    path = ensure_converted(s.model)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, tok, pairs_from_judgements(load_jcm("train").head(s.n_pairs))


def set_initial_lora(model: Any, seed: int = 0) -> None:
    """The same LoRA start in every arm, whatever RNG state TRL or PEFT left behind."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "lora_A" in name:  # PEFT's kaiming-uniform bound for A
                bound = p.shape[1] ** -0.5
                p.copy_(torch.rand(p.shape, generator=gen) * 2 * bound - bound)
            elif "lora_B" in name:  # small, not PEFT's zeros: step 1 must train A as well
                p.copy_(torch.randn(p.shape, generator=gen) * 0.01)


def head_weight(model: Any) -> Any:
    return model.get_output_embeddings().weight


def train_settings(s: Settings) -> Any:
    """The one settings object both DPO engines train with (file order: the same batches)."""
    from culturealign.alignment.config import LoraSettings
    from culturealign.alignment.settings import TrainSettings

    return TrainSettings(
        learning_rate=s.lr,
        batch_size=s.batch,
        max_steps=s.steps + 1,
        scheduler="linear",
        seed=42,
        save_every=10**6,
        keep_checkpoints=1,
        lora=LoraSettings(),
        shuffle=False,
    )


def trl_options(tuned: bool) -> dict[str, Any]:
    """TRL config fields beyond the settings: no saving, and a tuned arm's speed options
    (only those this TRL has)."""
    from trl import DPOConfig

    options: dict[str, Any] = {"save_strategy": "no", "dataloader_pin_memory": False}
    if not tuned:
        return options
    fields = DPOConfig.__dataclass_fields__
    asked: dict[str, Any] = {
        "gradient_checkpointing": False,
        "precompute_ref_log_probs": True,
        "precompute_ref_batch_size": REF_BATCH,
    }
    # Checked, not assumed: TRL 1.16 has padding_free (falls back to padding with a
    # warning) and no use_logits_to_keep (its fused LM head replaced it).
    for option in ("padding_free", "use_logits_to_keep"):
        if option in fields:
            asked[option] = True
    return options | asked


def run_trl(s: Settings, tuned: bool, count: bool) -> dict[str, Any]:
    from trl import DPOTrainer

    from culturealign.alignment import trl_trainers

    model, tok, pairs = load(s)
    counter = flop_counter(head_weight(model)) if count else None
    reference: list[Mark] = []

    class TimedDPOTrainer(DPOTrainer):
        def _precompute_ref_logps(self, *args: Any, **kwargs: Any) -> Any:
            start = mark(counter)
            result = super()._precompute_ref_logps(*args, **kwargs)
            reference.append(mark(counter) - start)
            return result

    marks: list[Mark] = []
    losses: list[float] = []

    def on_log(step: int, total: int, record: dict[str, Any]) -> None:
        marks.append(mark(counter))
        losses.append(record["loss"])

    options = trl_options(tuned)
    with tempfile.TemporaryDirectory() as tmp, counter or contextlib.nullcontext():
        trainer = trl_trainers.trl_dpo_trainer(
            model,
            tok,
            [p.model_dump() for p in pairs],
            Path(tmp),
            train_settings(s),
            beta=BETA,
            device="cpu",
            callbacks=[trl_trainers.log_callback(on_log)],
            trainer_cls=TimedDPOTrainer,
            **options,
        )
        set_initial_lora(trainer.model)
        trainer.train()
    effective = {
        "gradient_checkpointing": bool(trainer.args.gradient_checkpointing),
        "precompute_ref_log_probs": bool(trainer.precompute_ref_logps),
        "padding_free": bool(getattr(trainer, "padding_free", False)),
        "use_logits_to_keep": bool(getattr(trainer, "use_logits_to_keep", False)),
    }
    asked = {k: v for k, v in options.items() if k not in trl_options(False)}
    return summarise(s, marks, losses, reference) | {"asked": asked, "effective": effective}


def run_fast(s: Settings, count: bool) -> dict[str, Any]:
    from culturealign.alignment import lora
    from culturealign.alignment.fast_dpo import reference_logps, tokenize_pair
    from culturealign.alignment.fast_trainer import train_loop

    settings = train_settings(s)
    model, tok, pairs = load(s)
    counter = flop_counter(head_weight(model)) if count else None
    model = lora.wrap_lora(model, settings.lora)
    lora.disable_dropout(model)
    set_initial_lora(model)
    tokenized = [tokenize_pair(tok, p) for p in pairs]
    marks: list[Mark] = []
    losses: list[float] = []

    def on_step(step: int, total: int, record: dict[str, Any]) -> None:
        marks.append(mark(counter))
        losses.append(record["loss"])

    with tempfile.TemporaryDirectory() as tmp, counter or contextlib.nullcontext():
        start = mark(counter)
        ref = reference_logps(model, tokenized, tok.pad_token_id, batch_size=REF_BATCH)
        reference = [mark(counter) - start]
        train_loop(model, tokenized, ref, Path(tmp), settings, tok.pad_token_id, on_step, beta=BETA)
    return summarise(s, marks, losses, reference)


def summarise(
    s: Settings, marks: list[Mark], losses: list[float], reference: list[Mark]
) -> dict[str, Any]:
    """Timed window (steps 2..) plus the timed pairs' share of a one-off reference pass."""
    if len(marks) != s.steps + 1:
        raise RuntimeError(f"expected {s.steps + 1} logged steps, got {len(marks)}")
    ref = sum(reference, ZERO)
    window = marks[-1] - marks[0] + ref.scaled(s.steps / (s.steps + 1))
    return {
        "window": asdict(window),
        "reference": asdict(ref),
        "pairs": s.batch * s.steps,
        "losses": losses,
    }


def arm_main(arm: str, s: Settings) -> dict[str, Any]:
    """All runs of one arm in this process: ``repeats`` timed, then one counted."""
    import torch

    torch.set_num_threads(s.threads)
    peaks = [matmul_peak_gflops()]

    def once(count: bool) -> dict[str, Any]:
        result = run_fast(s, count) if arm == "fast" else run_trl(s, arm == "trl_tuned", count)
        gc.collect()
        return result

    timed = []
    for i in range(s.repeats):
        timed.append(once(count=False))
        if i == 0:
            memory = peak_mb()  # the first run's peak: later runs reload the model
    counted = once(count=True)
    peaks.append(matmul_peak_gflops())  # before and after: a busy moment only lowers one
    return {
        "arm": arm,
        "matmul_peak_gflops": max(peaks),
        "peak_mb": memory,
        "timed": timed,
        "counted": counted,
    }


def run_arm(arm: str, s: Settings, policy: str = "default") -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env |= {"OMP_NUM_THREADS": str(s.threads)}
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    cmd = [sys.executable, __file__, "--arm", arm, "--models", s.model]
    cmd += ["--steps", str(s.steps), "--repeats", str(s.repeats), "--batch", str(s.batch)]
    cmd += ["--lr", str(s.lr), "--threads", str(s.threads)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{arm} arm failed:\n{proc.stderr[-4000:]}")
    elapsed = time.perf_counter() - start
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result | {"process_s": elapsed, "wait_policy": policy}


def run_best(arm: str, s: Settings, policies: list[str]) -> dict[str, Any]:
    """A TRL arm under each OpenMP wait policy, kept at its fastest (median pairs/s); the
    fast arm under libgomp's default only."""
    runs = [run_arm(arm, s, p) for p in (policies if arm != "fast" else ["default"])]
    medians = {r["wait_policy"]: statistics.median(arm_figures(r)["rates"]) for r in runs}
    best = max(runs, key=lambda r: medians[r["wait_policy"]])
    return best | {"policy_medians": medians}


def stats(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def arm_figures(r: dict[str, Any]) -> dict[str, Any]:
    """Rates per timed run, and FLOPs per pair from the counted run."""
    rates = [t["pairs"] / t["window"]["wall"] for t in r["timed"]]
    cpu_per_pair = [t["window"]["cpu"] / t["pairs"] for t in r["timed"]]
    counted = r["counted"]
    flops = counted["window"]["flops"] / counted["pairs"]
    head = counted["window"]["head_flops"] / counted["pairs"]
    return {
        "rates": rates,
        "cpu_per_pair": cpu_per_pair,
        "flops_per_pair": flops,
        "head_flops_per_pair": head,
        "peak_share": flops * statistics.median(rates) / (r["matmul_peak_gflops"] * 1e9),
    }


def loss_gaps(results: dict[str, dict[str, Any]]) -> dict[str, list[float]]:
    """Per step, the largest |loss - TRL default's first run| over all runs of each arm."""
    base = results["trl_default"]["timed"][0]["losses"]
    gaps = {}
    for arm, r in results.items():
        runs = [t["losses"] for t in r["timed"]] + [r["counted"]["losses"]]
        gaps[arm] = [max(abs(run[i] - x) for run in runs) for i, x in enumerate(base)]
    return gaps


def report(s: Settings, results: dict[str, dict[str, Any]]) -> bool:
    """Print one model's tables and checks; True when the losses agree within LOSS_TOL."""
    fig = {arm: arm_figures(r) for arm, r in results.items()}
    print(
        f"\n## {s.model}: batch {s.batch}, timed steps {s.steps}, repeats {s.repeats}, "
        f"lr {s.lr}, threads {s.threads}\n"
    )
    head = (
        "arm",
        "pairs/s min / median / max",
        "CPU s/pair median",
        "GFLOP/pair done",
        "of which LM head",
        "GFLOP/s median",
        "fp32 matmul peak GFLOP/s",
        "share of peak",
        "peak RSS MB",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for arm, f in fig.items():
        r = results[arm]
        rate = statistics.median(f["rates"])
        row = (
            arm,
            " / ".join(f"{x:.3f}" for x in stats(f["rates"])),
            f"{statistics.median(f['cpu_per_pair']):.2f}",
            f"{f['flops_per_pair'] / 1e9:.1f}",
            f"{f['head_flops_per_pair'] / 1e9:.1f}",
            f"{f['flops_per_pair'] * rate / 1e9:.1f}",
            f"{r['matmul_peak_gflops']:.1f}",
            f"{f['peak_share']:.1%}",
            f"{r['peak_mb']:.0f}",
        )
        print("| " + " | ".join(row) + " |")
    print()
    fast = fig["fast"]
    for arm, target in TARGETS.items():
        ratio = statistics.median(fast["rates"]) / statistics.median(fig[arm]["rates"])
        worst = min(fast["rates"]) / max(fig[arm]["rates"])
        cpu = statistics.median(fig[arm]["cpu_per_pair"]) / statistics.median(fast["cpu_per_pair"])
        verdict = "PASS" if ratio >= target else "FAIL"
        print(
            f"fast vs {arm}: pairs/s ratio {ratio:.2f}x (median; worst pairing {worst:.2f}x), "
            f"CPU-time ratio {cpu:.2f}x; target >= {target:g}x: {verdict}"
        )
    gaps = loss_gaps(results)
    ok = all(max(g) <= LOSS_TOL for g in gaps.values())
    base = results["trl_default"]["timed"][0]["losses"]
    print("\nper-step loss, TRL default: " + ", ".join(f"{x:.6f}" for x in base))
    print(f"losses move: max - min = {max(base) - min(base):.4f}")
    for arm, g in gaps.items():
        print(f"max |loss - TRL default| per step, {arm}: " + ", ".join(f"{x:.1e}" for x in g))
    print(f"losses equal within {LOSS_TOL:g}: {'PASS' if ok else 'FAIL'}")
    for arm in ("trl_default", "trl_tuned"):
        print(
            f"{arm}: asked {results[arm]['counted']['asked']}, "
            f"TRL did {results[arm]['counted']['effective']}"
        )
    for arm in ("trl_tuned", "fast"):
        ref = results[arm]["timed"][0]["reference"]
        print(f"{arm} one-off reference pass: {ref['wall']:.2f} s for {s.n_pairs} pairs")
    for arm, r in results.items():
        medians = ", ".join(f"{p} {v:.3f}" for p, v in r["policy_medians"].items())
        print(f"{arm}: median pairs/s by OpenMP wait policy: {medians}; kept {r['wait_policy']}")
    took = ", ".join(f"{arm} {r['process_s']:.0f} s" for arm, r in results.items())
    print(f"benchmark time per arm process (all runs): {took}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--steps", type=int, default=2, help="timed steps (after 1 warm-up)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per arm")
    parser.add_argument("--batch", type=int, default=4, help="pairs per step, every arm")
    parser.add_argument("--lr", type=float, default=1e-3, help="large enough to move the loss")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--wait-policies",
        nargs="+",
        default=["default", "PASSIVE"],
        choices=["default", "PASSIVE", "ACTIVE"],
        help="OpenMP wait policies to run the TRL arms under (the fastest is kept)",
    )
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = args.threads or free_cores()
    settings = [
        Settings(m, args.steps, args.repeats, args.batch, args.lr, threads) for m in args.models
    ]
    if args.arm:
        print(json.dumps(arm_main(args.arm, settings[0])))
        return
    if args.repeats < 3:
        print(f"note: {args.repeats} repeat(s); numbers to report need --repeats 3 or more")
    ok = True
    for s in settings:
        ok &= report(s, {arm: run_best(arm, s, args.wait_policies) for arm in ARMS})
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
