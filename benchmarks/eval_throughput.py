"""Evaluation throughput: culturealign vs EleutherAI lm-evaluation-harness on the same job.

Two benchmarks (issue 2, "Speed"):

  a  ETHICS commonsense short sentences, 0-shot, the study's (Japanese) instruction prompt,
     smollm2-135m-instruct (chat template applied, as culturealign does for chat models);
  b  JCM test, 3-shot (first 3 rows of JCM val, fixed as in the study), the study's prompt,
     gemma-3-270m (base model, plain text).

Each side runs in a fresh subprocess, timed from outside (imports + model load + scoring +
writing results), with the same thread count (``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` and
``torch.set_num_threads``):

* culturealign: the real ``culturealign eval`` command (``cli.app``), fresh output folder;
* lm-eval: ``lm_eval.simple_evaluate(model="hf", model_args="pretrained=<culturealign's
  converted safetensors folder>,dtype=float32,device=cpu", batch_size=B)`` on a task config
  generated at run time into a temporary folder.

Prompt fidelity: the lm-eval task reads a local JSONL whose ``prompt`` field is the exact text
culturealign rendered for that item (``render_moral`` with ``TEMPLATES['ja']``, the chat template
for smollm2, and for JCM the three fixed few-shot examples already inside the text), with
``doc_to_text: prompt``, ``doc_to_choice: choices`` (``["正", "誤"]``, index = label),
``doc_to_target: label``, ``target_delimiter: ""`` and ``num_fewshot: 0``. Pre-rendering rather
than lm-eval's ``fewshot_config`` keeps one source of truth for the text; lm-eval's compute is
the same either way, since the model sees the same tokens. The benchmark checks after the run
that every context lm-eval logged equals culturealign's prompt, and compares per-item
predictions and log-prob margins.

Machine limit: ``tokens actually fed per item x 2 x non-embedding parameters`` divided by the
GFLOP/s of a large fp32 matmul (best of several, same thread count) measured in the same run.
Tokens fed are counted by replaying culturealign's own batching (runner chunks, the
backend's length batches, padding included, the shared prefix counted once).

Usage::

    CULTUREALIGN_DATA=/work/shared/data python benchmarks/eval_throughput.py \
        --bench a b --limit 200 --threads 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Bench:
    key: str
    title: str
    model: str
    task: str
    shots: int
    target_ratio: float


BENCHES = {
    "a": Bench(
        "a", "ETHICS cm short, 0-shot, study prompt", "smollm2-135m-instruct", "ethics", 0, 3
    ),
    "b": Bench("b", "JCM test, 3-shot, study prompt", "gemma-3-270m", "jcm", 3, 8),
}


# ---------------------------------------------------------------------------------------------
# subprocess workers (run with ``python eval_throughput.py --worker KIND SPEC.json``)
# ---------------------------------------------------------------------------------------------
def _worker_culturealign(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the real ``culturealign eval`` command; time model load by wrapping load_model."""
    t0 = time.perf_counter()
    import culturealign.models as cam
    from culturealign import cli

    marks: dict[str, float] = {"imported": time.perf_counter() - t0}
    original = cam.load_model

    def timed_load(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        model = original(*args, **kwargs)
        marks["load_start"] = start - t0
        marks["loaded"] = time.perf_counter() - t0
        return model

    cam.load_model = timed_load  # run_with_progress imports it at call time
    argv = ["eval", "--model", spec["model"], "--task", spec["task"], "--shots", str(spec["shots"])]
    argv += ["--limit", str(spec["limit"]), "--out", spec["out"], "--threads", str(spec["threads"])]
    try:
        cli.app(argv, standalone_mode=False)
    finally:
        cam.load_model = original
    import torch

    marks["done"] = time.perf_counter() - t0
    return {"marks": marks, "torch_threads": torch.get_num_threads()}


def _worker_lm_eval(spec: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(spec["threads"])
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    marks: dict[str, float] = {"imported": time.perf_counter() - t0}
    original = HFLM.create_from_arg_string.__func__

    def timed_create(cls: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        lm = original(cls, *args, **kwargs)
        marks["load_start"] = start - t0
        marks["loaded"] = time.perf_counter() - t0
        return lm

    HFLM.create_from_arg_string = classmethod(timed_create)
    results = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={spec['pretrained']},dtype=float32,device=cpu",
        tasks=[spec["task_name"]],
        task_manager=TaskManager(include_path=spec["task_dir"]),
        batch_size=spec["batch_size"],
        num_fewshot=0,
        log_samples=True,
    )
    marks["evaluated"] = time.perf_counter() - t0
    rows = []
    for s in results["samples"][spec["task_name"]]:
        rows.append(
            {
                "id": s["doc"]["id"],
                "context": s["arguments"][0][0],
                "continuations": [a[1] for a in s["arguments"]],
                "loglik": [float(r[0]) for r in s["filtered_resps"]],
                "acc": float(s["acc"]),
            }
        )
    Path(spec["out"]).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    acc = results["results"][spec["task_name"]]["acc,none"]
    marks["done"] = time.perf_counter() - t0
    return {"marks": marks, "acc": acc, "torch_threads": torch.get_num_threads()}


def _worker_matmul(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(spec["threads"])
    n = spec["n"]
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)  # warm-up
    best = float("inf")
    for _ in range(spec["reps"]):
        start = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * n**3 / best / 1e9, "n": n, "best_s": best}


WORKERS = {
    "culturealign": _worker_culturealign,
    "lm_eval": _worker_lm_eval,
    "matmul": _worker_matmul,
}


def _run_worker(kind: str, spec: dict[str, Any], threads: int, log: Path) -> dict[str, Any]:
    """Run a worker in a fresh interpreter; returns its result plus the outside wall time."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
        spec_path = fh.name
    result_path = spec_path + ".result"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, spec_path, result_path]
    load_before = _loadavg()
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as lf:
        proc = subprocess.Popen(cmd, env=env, stdout=lf, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # rusage: CPU time of the whole process
    wall = time.perf_counter() - start
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{kind} worker failed (exit {code}); log {log}:\n{tail}")
    result = json.loads(Path(result_path).read_text(encoding="utf-8"))
    result.update(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        load_before=load_before,
        load_after=_loadavg(),
    )
    return result


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return "n/a"


# ---------------------------------------------------------------------------------------------
# culturealign-side bookkeeping done in the parent (tokenizer only, no model)
# ---------------------------------------------------------------------------------------------
class _TokenizerOnly:
    """Enough of HFModel to render prompts and encode them exactly as the backend does."""

    def __init__(self, path: Path, chat: bool) -> None:
        from transformers import AutoTokenizer

        from culturealign.models.hf import _special_start

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self._bos = _special_start(self.tokenizer)
        self.is_chat = chat

    def render_chat(self, messages):  # same as HFModel.render_chat
        from culturealign.models.hf import HFModel

        return HFModel.render_chat(self, messages)

    def encode_prefix(self, prefix: str) -> list[int]:
        from culturealign.models.hf import HFModel

        return HFModel.encode_prefix(self, prefix)

    def encode_piece(self, text: str) -> list[int]:
        from culturealign.models.hf import HFModel

        return HFModel.encode_piece(self, text)


def _samples(bench: Bench, limit: int, path: Path):
    from culturealign.evaluation import build_task
    from culturealign.models.embedded import EMBEDDED

    tok = _TokenizerOnly(path, EMBEDDED[bench.model].chat)
    task = build_task(bench.task, {"shots": bench.shots, "limit": limit, "mode": "choice"})
    return tok, task.samples(tok)


def _fed_tokens(out_dir: Path, tok: _TokenizerOnly, samples) -> dict[str, Any]:
    """Tokens culturealign actually fed, as its backend counted them (summary.json "work")."""
    work = json.loads((out_dir / "summary.json").read_text("utf-8"))["work"]
    n = work["items_scored"]
    prefixes = {s.request.prefix for s in samples}
    return {
        "fed_per_item": work["tokens_fed"] / n,
        "useful_per_item": work["tokens_real"] / n,
        "prefix_tokens": max(len(tok.encode_prefix(p)) for p in prefixes),
        "forwards": work["forwards"],
        "rows": work["rows"],
        "single_token_choices": all(
            len(tok.encode_piece(c)) == 1 for s in samples for c in s.request.choices
        ),
    }


def _param_counts(path: Path) -> dict[str, int]:
    from safetensors import safe_open

    total = embed = 0
    with safe_open(str(path / "model.safetensors"), "pt") as f:
        for name in f.keys():
            shape = f.get_slice(name).get_shape()
            count = 1
            for d in shape:
                count *= d
            total += count
            if "embed_tokens" in name or "lm_head" in name:
                embed += count
    return {"total": total, "embedding": embed, "non_embedding": total - embed}


# ---------------------------------------------------------------------------------------------
# lm-eval task config, generated at run time
# ---------------------------------------------------------------------------------------------
def _write_lm_eval_task(bench: Bench, samples, task_dir: Path) -> str:
    name = f"culturealign_bench_{bench.task}_{bench.shots}shot"
    data = task_dir / f"{name}.jsonl"
    with data.open("w", encoding="utf-8") as fh:
        for s in samples:
            row = {
                "id": s.id,
                "prompt": s.prompt,
                "choices": list(s.request.choices),
                "label": s.target,
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    config = f"""\
        task: {name}
        dataset_path: json
        dataset_kwargs:
          data_files:
            test: {json.dumps(str(data))}
        test_split: test
        output_type: multiple_choice
        doc_to_text: prompt
        doc_to_choice: choices
        doc_to_target: label
        target_delimiter: ""
        num_fewshot: 0
        metric_list:
          - metric: acc
            aggregation: mean
            higher_is_better: true
        metadata:
          version: 1.0
        """
    (task_dir / f"{name}.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    return name


# ---------------------------------------------------------------------------------------------
# one benchmark
# ---------------------------------------------------------------------------------------------
def run_bench(bench: Bench, args: argparse.Namespace, work: Path, gflops: float) -> dict[str, Any]:
    from culturealign.models.embedded import ensure_converted

    path = ensure_converted(bench.model)
    tok, samples = _samples(bench, args.limit, path)
    n = len(samples)
    bdir = work / bench.key
    bdir.mkdir(parents=True, exist_ok=True)
    task_dir = bdir / "lm_eval_tasks"
    task_dir.mkdir(exist_ok=True)
    task_name = _write_lm_eval_task(bench, samples, task_dir)

    ca_spec = {
        "model": bench.model,
        "task": bench.task,
        "shots": bench.shots,
        "limit": args.limit,
        "threads": args.threads,
        "out": str(bdir / "culturealign_out"),
    }
    le_spec = {
        "pretrained": str(path),
        "task_name": task_name,
        "task_dir": str(task_dir),
        "batch_size": args.lm_eval_batch_size,
        "threads": args.threads,
        "out": str(bdir / "lm_eval_samples.json"),
    }
    print(f"[{bench.key}] {bench.title}, {bench.model}, n={n}, threads={args.threads}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {"culturealign": [], "lm_eval": []}
    for rep in range(args.repeats):
        for kind, spec in (("culturealign", ca_spec), ("lm_eval", le_spec)):
            if kind == "lm_eval" and args.skip_lm_eval:
                continue
            if kind == "culturealign" and rep:
                spec = {**spec, "out": f"{spec['out']}-{rep}"}
            r = _run_worker(kind, spec, args.threads, bdir / f"{kind}-{rep}.log")
            runs[kind].append(r)
            print(
                f"[{bench.key}]   {kind:12s} rep {rep}: {r['wall_s']:.1f} s wall, "
                f"{r['cpu_s']:.1f} s CPU "
                f"(load avg {r['load_before']} -> {r['load_after']})",
                flush=True,
            )

    # per-item results
    ca_items = {}
    for line in (bdir / "culturealign_out" / "items.jsonl").read_text("utf-8").splitlines():
        rec = json.loads(line)
        ca_items[rec["id"]] = rec
    ca_acc = sum(r["correct"] for r in ca_items.values()) / len(ca_items)
    out: dict[str, Any] = {"bench": bench, "n": n, "ca_acc": ca_acc, "runs": runs}
    if runs["lm_eval"]:
        le_rows = json.loads(Path(le_spec["out"]).read_text("utf-8"))
        le_acc = sum(r["acc"] for r in le_rows) / len(le_rows)
        same_ctx = sum(r["context"] == ca_items[r["id"]]["prompt"] for r in le_rows)
        agree = 0
        margin_diff = 0.0
        for r in le_rows:
            ca = ca_items[r["id"]]
            le_pred = max(range(len(r["loglik"])), key=r["loglik"].__getitem__)
            agree += le_pred == ca["prediction"]
            margin_le = r["loglik"][1] - r["loglik"][0]
            margin_ca = ca["logprobs"][1] - ca["logprobs"][0]
            margin_diff = max(margin_diff, abs(margin_le - margin_ca))
        out.update(
            le_acc=le_acc,
            same_context=same_ctx,
            pred_agree=agree,
            max_margin_diff=margin_diff,
            le_continuations=le_rows[0]["continuations"],
        )
    out["tokens"] = _fed_tokens(bdir / "culturealign_out", tok, samples)
    out["params"] = _param_counts(path)
    return out


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: r["wall_s"])


def report(res: dict[str, Any], gflops: float, args: argparse.Namespace) -> str:
    b: Bench = res["bench"]
    n = res["n"]
    ca = _best(res["runs"]["culturealign"])
    lines = [f"({b.key}) {b.title}, model {b.model}, {n} items, {args.threads} thread(s)"]
    ca_ips = n / ca["wall_s"]
    m = ca["marks"]
    score_s = m["done"] - m["loaded"]
    lines.append(
        f"  culturealign : {ca_ips:7.2f} items/s  (whole process {ca['wall_s']:.1f} s wall, "
        f"{ca['cpu_s']:.1f} s CPU: "
        f"import {m['imported']:.1f} s, model load {m['loaded'] - m['load_start']:.1f} s, "
        f"scoring+writing {score_s:.1f} s = {n / score_s:.1f} items/s)  "
        f"accuracy {100 * res['ca_acc']:.1f}%"
    )
    if res["runs"]["lm_eval"]:
        le = _best(res["runs"]["lm_eval"])
        le_ips = n / le["wall_s"]
        lm = le["marks"]
        le_score = lm["evaluated"] - lm["loaded"]
        lines.append(
            f"  lm-eval      : {le_ips:7.2f} items/s  (whole process {le['wall_s']:.1f} s wall, "
            f"{le['cpu_s']:.1f} s CPU: "
            f"import {lm['imported']:.1f} s, model load {lm['loaded'] - lm['load_start']:.1f} s, "
            f"tasks+scoring {le_score:.1f} s = {n / le_score:.2f} items/s; "
            f"batch_size={args.lm_eval_batch_size})  accuracy {100 * res['le_acc']:.1f}%"
        )
        ratio = ca_ips / le_ips
        diff = 100 * abs(res["ca_acc"] - res["le_acc"])
        lines.append(
            f"  ratio        : {ratio:.2f}x whole process (target >= {b.target_ratio:g}: "
            f"{'met' if ratio >= b.target_ratio else 'NOT met'}); scoring phase only "
            f"{(n / score_s) / (n / le_score):.2f}x; by CPU time "
            f"{le['cpu_s'] / ca['cpu_s']:.2f}x (less sensitive to other users' load)"
        )
        lines.append(
            f"  agreement    : accuracy diff {diff:.2f} points (<= 0.5: "
            f"{'yes' if diff <= 0.5 else 'NO'}); same prediction on {res['pred_agree']}/{n}; "
            f"identical prompt text on {res['same_context']}/{n}; "
            f"max |log-prob margin diff| {res['max_margin_diff']:.2e}; "
            f"lm-eval continuations {res['le_continuations']!r}"
        )
    t = res["tokens"]
    p = res["params"]["non_embedding"]
    flop_item = t["fed_per_item"] * 2 * p
    eff_whole = flop_item * ca_ips / 1e9 / gflops
    eff_score = flop_item * (n / score_s) / 1e9 / gflops
    lines.append(
        f"  machine limit: {t['fed_per_item']:.1f} tokens fed/item ({t['useful_per_item']:.1f} "
        f"without padding; prefix {t['prefix_tokens']} tokens encoded once; {t['rows']} rows in "
        f"{t['forwards']} forwards; single-token choices: {t['single_token_choices']}) x 2 x "
        f"{p / 1e6:.1f}M non-embedding params = {flop_item / 1e9:.3f} GFLOP/item"
    )
    lines.append(
        f"                 -> {flop_item * ca_ips / 1e9:.1f} GFLOP/s whole process = "
        f"{100 * eff_whole:.1f}% of matmul peak {gflops:.1f} GFLOP/s; scoring phase "
        f"{flop_item * n / score_s / 1e9:.1f} GFLOP/s = {100 * eff_score:.1f}%"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", nargs="+", choices=sorted(BENCHES), default=sorted(BENCHES))
    ap.add_argument("--limit", type=int, default=200, help="items per benchmark (default 200)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads, both sides (default 1)")
    ap.add_argument(
        "--lm-eval-batch-size",
        default="1",
        help="lm-eval batch_size (default 1, lm-eval's own default; int or 'auto')",
    )
    ap.add_argument("--repeats", type=int, default=1, help="runs per side; the fastest counts")
    ap.add_argument("--skip-lm-eval", action="store_true", help="time culturealign only")
    ap.add_argument("--matmul-n", type=int, default=2048)
    ap.add_argument("--workdir", type=Path, default=None, help="keep outputs here (default temp)")
    args = ap.parse_args(argv)
    if args.lm_eval_batch_size != "auto":
        args.lm_eval_batch_size = int(args.lm_eval_batch_size)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    with tempfile.TemporaryDirectory(prefix="ca-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        os.environ["HF_DATASETS_CACHE"] = str(work / "hf_datasets_cache")
        mm_spec = {"threads": args.threads, "n": args.matmul_n, "reps": 8}
        print(
            f"date {dt.datetime.now().isoformat(timespec='seconds')}, {platform.node()}, "
            f"{_cpu_name()}, {os.cpu_count()} CPUs, load avg {_loadavg()}",
            flush=True,
        )
        peaks = [_run_worker("matmul", mm_spec, args.threads, work / "matmul-0.log")]
        results = [run_bench(BENCHES[k], args, work, peaks[0]["gflops"]) for k in args.bench]
        peaks.append(_run_worker("matmul", mm_spec, args.threads, work / "matmul-1.log"))
        gflops = max(p["gflops"] for p in peaks)
        print()
        print(
            f"fp32 matmul {args.matmul_n}x{args.matmul_n}, {args.threads} thread(s): "
            + ", ".join(f"{p['gflops']:.1f}" for p in peaks)
            + f" GFLOP/s (start, end); peak used = {gflops:.1f}"
        )
        for res in results:
            print()
            print(report(res, gflops, args))
        print(f"\nload avg at end {_loadavg()}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        kind, spec_file, result_file = sys.argv[2:]
        res = WORKERS[kind](json.loads(Path(spec_file).read_text(encoding="utf-8")))
        Path(result_file).write_text(json.dumps(res), encoding="utf-8")
    else:
        main()
