"""Evaluation throughput: culturealign vs EleutherAI lm-evaluation-harness on the same job.

Two benchmarks (issue 2, "Speed"; issue 8 point 10, "against the peers' best settings"):

  a  ETHICS commonsense short sentences, 0-shot, the study's (Japanese) instruction prompt,
     smollm2-135m-instruct (chat template applied, as culturealign does for chat models);
     target: >= 3x the fastest lm-eval setting;
  b  JCM test, 3-shot (first 3 rows of JCM val, fixed as in the study), the study's prompt,
     gemma-3-270m (base model, plain text); target: >= 8x the fastest lm-eval setting.

Each run is a fresh subprocess, timed from outside (imports + model load + scoring + writing
results), with the same thread count (``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` and
``torch.set_num_threads``):

* culturealign: the real ``culturealign eval`` command (``cli.app``), fresh output folder;
* lm-eval: ``lm_eval.simple_evaluate(model="hf", model_args="pretrained=<culturealign's
  converted safetensors folder>,dtype=float32,device=cpu", batch_size=B)`` on a task config
  generated at run time into a temporary folder, for every B in ``--lm-eval-batch-sizes``
  (default 1, 8, 32 and ``auto``: lm-eval's own probe, which starts at its ``max_batch_size``
  64 and halves on out-of-memory; its probe forwards count in its time, as they do for users).

Runs are interleaved (each repeat runs culturealign, then every lm-eval setting), ``--repeats``
times (default 3); the report gives min / median / max wall and CPU time per side and setting.
The targets are judged on medians against the lm-eval setting with the lowest median wall time;
the worst case (our slowest run against lm-eval's fastest) is printed beside it.

Prompt fidelity: the lm-eval task reads a local JSONL whose ``prompt`` field is the exact text
culturealign rendered for that item (``render_moral`` with ``TEMPLATES['ja']``, the chat template
for smollm2, and for JCM the three fixed few-shot examples already inside the text), with
``doc_to_text: prompt``, ``doc_to_choice: choices`` (``["正", "誤"]``, index = label),
``doc_to_target: label``, ``target_delimiter: ""`` and ``num_fewshot: 0``. Pre-rendering rather
than lm-eval's ``fewshot_config`` keeps one source of truth for the text; lm-eval's compute is
the same either way, since the model sees the same tokens. The benchmark checks after the run,
for every lm-eval setting, that every context lm-eval logged equals culturealign's prompt, and
compares per-item predictions and log-prob margins.

Where our time goes: every culturealign run wraps the backend's methods (tokenizing, encoding
the cached prefix, batch forwards, the LM head via a forward hook) and the tokenizer load, and
reports seconds per component with the rest of the model load; the wrappers cost microseconds
per call and stay on in the timed runs.

Share of the machine: ``tokens fed per item x 2 x non-embedding parameters`` divided by the
GFLOP/s of a large fp32 matmul (best of several, same thread count) measured in the same run.
Tokens fed are what the backend counted itself (``summary.json`` "work"): padding included, the
shared prefix once per process, so the share counts padding as work; the share of useful
(unpadded) tokens is printed beside it.

Usage (the full benchmark; ``--limit 20 --repeats 1`` for a smoke run)::

    CULTUREALIGN_DATA=/work/shared/data python benchmarks/eval_throughput.py \
        --bench a b --limit 200 --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
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
class _FastPathClock:
    """Seconds per component of HFModel's choice scoring, by wrapping its methods in place."""

    COMPONENTS = {
        "choice_logprobs": "scoring",
        "_split_at_cache": "tokenize",
        "encode_piece": "tokenize",
        "_prefix_state": "prefix encode",
        "_run": "batch forward",
        "_run_body": "batch forward",
    }

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._active: list[str] = []
        self._head_start = 0.0

    def install(self, cls: Any) -> None:
        for name, component in self.COMPONENTS.items():
            setattr(cls, name, self.timed(getattr(cls, name), component))

    def watch_head(self, lm: Any) -> None:
        head = lm.get_output_embeddings()
        head.register_forward_pre_hook(lambda *_: setattr(self, "_head_start", self._now()))
        head.register_forward_hook(lambda *_: self._add_head())

    def timed(self, fn: Any, component: str) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._active.append(component)
            start = self._now()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(component, self._now() - start)
                self._active.pop()

        return timed

    def _add_head(self) -> None:
        where = self._active[-1] if self._active else "outside"
        self._add(f"LM head in {where}", self._now() - self._head_start)

    def _add(self, key: str, seconds: float) -> None:
        self.seconds[key] = self.seconds.get(key, 0.0) + seconds

    @staticmethod
    def _now() -> float:
        return time.perf_counter()


def _worker_culturealign(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the real ``culturealign eval`` command; time model load by wrapping load_model."""
    t0 = time.perf_counter()
    import culturealign.models as cam
    import culturealign.models.hf as hf
    from culturealign import cli
    from culturealign.models.hf import HFModel

    marks: dict[str, float] = {"imported": time.perf_counter() - t0}
    original = cam.load_model
    clock = _FastPathClock()
    clock.install(HFModel)

    def timed_load(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        model = original(*args, **kwargs)
        marks["load_start"] = start - t0
        marks["loaded"] = time.perf_counter() - t0
        clock.watch_head(model.model)
        return model

    cam.load_model = timed_load  # run_with_progress imports it at call time
    hf.load_tokenizer = clock.timed(hf.load_tokenizer, "tokenizer load")  # load_hf looks it up
    argv = ["eval", "--model", spec["model"], "--task", spec["task"], "--shots", str(spec["shots"])]
    argv += ["--limit", str(spec["limit"]), "--out", spec["out"], "--threads", str(spec["threads"])]
    import atexit
    import gc

    atexit.register(gc.freeze)  # as culturealign.cli.main does
    try:
        cli.app(argv, standalone_mode=False)
    finally:
        cam.load_model = original
    import torch

    marks["done"] = time.perf_counter() - t0
    return {"marks": marks, "components": clock.seconds, "torch_threads": torch.get_num_threads()}


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
        model_args=f"pretrained={spec['pretrained']},dtype=float32,device=cpu"
        + (f",max_batch_size={spec['max_batch_size']}" if spec["max_batch_size"] else ""),
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
    chosen = results["config"].get("batch_sizes") or [spec["batch_size"]]
    return {
        "marks": marks,
        "acc": acc,
        "batch_sizes": chosen,  # what "auto" settled on
        "torch_threads": torch.get_num_threads(),
    }


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


def _run_worker(
    kind: str, spec: dict[str, Any], threads: int, log: Path, may_fail: bool = False
) -> dict[str, Any]:
    """Run a worker in a fresh interpreter; returns its result plus the outside wall time.

    With ``may_fail`` a failed worker (lm-eval's ``auto`` probe can run out of memory) returns
    ``{"failed": ...}`` so the other settings still get reported.
    """
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
        if may_fail:
            return {"failed": f"exit {code} after {wall:.0f} s, log {log}"}
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

        from culturealign.models.compat import special_start_ids

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self._bos = special_start_ids(self.tokenizer)
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
def run_bench(bench: Bench, args: argparse.Namespace, work: Path) -> dict[str, Any]:
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
    }
    le_spec = {
        "pretrained": str(path),
        "task_name": task_name,
        "task_dir": str(task_dir),
        "threads": args.threads,
        "max_batch_size": args.lm_eval_max_batch_size,
    }
    print(f"[{bench.key}] {bench.title}, {bench.model}, n={n}, threads={args.threads}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {"culturealign": []}
    settings = [] if args.skip_lm_eval else args.lm_eval_batch_sizes
    for size in settings:
        runs[f"lm_eval bs={size}"] = []
    for rep in range(args.repeats):  # interleaved, so drift in the machine's load hits all sides
        ca_out = {**ca_spec, "out": str(bdir / f"ca-{rep}")}
        _timed_run(bench.key, "culturealign", ca_out, runs, bdir / f"culturealign-{rep}.log")
        for size in settings:
            spec = {**le_spec, "batch_size": size, "out": str(bdir / f"lm_eval-{size}.json")}
            _timed_run(
                bench.key, f"lm_eval bs={size}", spec, runs, bdir / f"lm_eval-{size}-{rep}.log"
            )

    ca_items = _items(bdir / "ca-0" / "items.jsonl")
    ca_acc = sum(r["correct"] for r in ca_items.values()) / len(ca_items)
    out: dict[str, Any] = {"bench": bench, "n": n, "ca_acc": ca_acc, "runs": runs, "agree": {}}
    for size in settings:
        samples_file = bdir / f"lm_eval-{size}.json"
        if samples_file.exists():
            out["agree"][f"lm_eval bs={size}"] = _agreement(samples_file, ca_items)
    out["tokens"] = _fed_tokens(bdir / "ca-0", tok, samples)
    out["params"] = _param_counts(path)
    return out


def _timed_run(key: str, label: str, spec: dict[str, Any], runs: dict, log: Path) -> None:
    kind = "culturealign" if label == "culturealign" else "lm_eval"
    r = _run_worker(kind, spec, spec["threads"], log, may_fail=kind == "lm_eval")
    runs[label].append(r)
    if "failed" in r:
        print(f"[{key}]   {label:16s}: FAILED ({r['failed']})", flush=True)
        return
    print(
        f"[{key}]   {label:16s}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU "
        f"(load avg {r['load_before']} -> {r['load_after']})",
        flush=True,
    )


def _items(path: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return {r["id"]: r for r in rows}


def _agreement(samples_file: Path, ca_items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """lm-eval's per-item results (last repeat) against culturealign's."""
    rows = json.loads(samples_file.read_text("utf-8"))
    agree, margin_diff = 0, 0.0
    for r in rows:
        ca = ca_items[r["id"]]
        agree += max(range(len(r["loglik"])), key=r["loglik"].__getitem__) == ca["prediction"]
        margin_le = r["loglik"][1] - r["loglik"][0]
        margin_ca = ca["logprobs"][1] - ca["logprobs"][0]
        margin_diff = max(margin_diff, abs(margin_le - margin_ca))
    return {
        "acc": sum(r["acc"] for r in rows) / len(rows),
        "same_context": sum(r["context"] == ca_items[r["id"]]["prompt"] for r in rows),
        "pred_agree": agree,
        "max_margin_diff": margin_diff,
        "continuations": rows[0]["continuations"],
    }


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def _ok(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if "failed" not in r]


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(_ok(runs), key=lambda r: r["wall_s"])
    return ordered[(len(ordered) - 1) // 2]


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f} s"


def _side_line(label: str, runs: list[dict[str, Any]], n: int, extra: str = "") -> str:
    ok = _ok(runs)
    if not ok:
        return f"  {label:18s}: all {len(runs)} runs failed ({runs[0]['failed']})"
    walls = [r["wall_s"] for r in ok]
    failed = f"; {len(runs) - len(ok)} failed" if len(ok) < len(runs) else ""
    return (
        f"  {label:18s}: {n / statistics.median(walls):7.2f} items/s at median wall; wall "
        f"min/median/max {_spread(walls)}, CPU {_spread([r['cpu_s'] for r in ok])} "
        f"({len(ok)} runs{failed}){extra}"
    )


def _breakdown(run: dict[str, Any]) -> str:
    """Where the median culturealign run spent its time (seconds)."""
    c, m = run["components"], run["marks"]
    head_in_forward = c.get("LM head in batch forward", 0.0)  # choices' later tokens
    head_after = c.get("LM head in scoring", 0.0)  # first tokens: one head call for many rows
    head = head_in_forward + head_after
    parts = {
        "import": m["imported"],
        "tokenizer load": c.get("tokenizer load", 0.0),
        "model load (weights, transformers' imports)": m["loaded"]
        - m["load_start"]
        - c.get("tokenizer load", 0.0),
        "tokenize": c.get("tokenize", 0.0),
        "prefix encode": c.get("prefix encode", 0.0),
        "batch forward (body)": c.get("batch forward", 0.0) - head_in_forward,
        "LM head": head,
    }
    outside = ("scoring", "tokenizer load")
    inside = sum(v for k, v in c.items() if k not in outside and not k.startswith("LM head"))
    parts["rest of scoring (cache copy, log-softmax)"] = c.get("scoring", 0.0) - inside - head_after
    parts["task, prompts, writing results"] = m["done"] - m["loaded"] - c.get("scoring", 0.0)
    total = run["wall_s"]
    parts["process start, exit"] = total - m["done"]
    return "; ".join(f"{k} {v:.2f}" for k, v in parts.items()) + f" (sum {total:.1f} s wall)"


def report(res: dict[str, Any], gflops: float, args: argparse.Namespace) -> str:
    b: Bench = res["bench"]
    n = res["n"]
    runs = res["runs"]
    lines = [f"({b.key}) {b.title}, model {b.model}, {n} items, {args.threads} thread(s)"]
    ca_runs = _ok(runs["culturealign"])
    ca_med = statistics.median(r["wall_s"] for r in ca_runs)
    lines.append(
        _side_line(
            "culturealign", runs["culturealign"], n, f"; accuracy {100 * res['ca_acc']:.1f}%"
        )
    )
    lines.append(f"    time per component, median run (s): {_breakdown(_median_run(ca_runs))}")
    settings = {k: v for k, v in runs.items() if k != "culturealign" and _ok(v)}
    for label, le_runs in runs.items():
        if label == "culturealign":
            continue
        agree = res["agree"].get(label)
        extra = ""
        if _ok(le_runs):
            extra = f"; batch sizes used {_ok(le_runs)[0]['batch_sizes']}"
        if agree:
            extra += f"; accuracy {100 * agree['acc']:.1f}%"
        lines.append(_side_line(label, le_runs, n, extra))
    if settings:
        best = min(settings, key=lambda k: statistics.median(r["wall_s"] for r in settings[k]))
        le_ok = settings[best]
        le_med = statistics.median(r["wall_s"] for r in le_ok)
        ratio = le_med / ca_med
        worst = min(r["wall_s"] for r in le_ok) / max(r["wall_s"] for r in ca_runs)
        cpu = statistics.median(r["cpu_s"] for r in le_ok) / statistics.median(
            r["cpu_s"] for r in ca_runs
        )
        lines.append(
            f"  ratio vs fastest lm-eval setting ({best}): {ratio:.2f}x at median wall (target "
            f">= {b.target_ratio:g}: {'met' if ratio >= b.target_ratio else 'NOT met'}); worst "
            f"case (our slowest vs its fastest run) {worst:.2f}x; by median CPU time {cpu:.2f}x"
        )
        for label, a in res["agree"].items():
            diff = 100 * abs(res["ca_acc"] - a["acc"])
            lines.append(
                f"  agreement {label}: accuracy diff {diff:.2f} points; same prediction on "
                f"{a['pred_agree']}/{n}; identical prompt text on {a['same_context']}/{n}; "
                f"max |log-prob margin diff| {a['max_margin_diff']:.2e}; "
                f"continuations {a['continuations']!r}"
            )
    lines += _machine_lines(res, gflops, n / ca_med, _median_run(ca_runs))
    return "\n".join(lines)


def _machine_lines(res: dict[str, Any], gflops: float, ips: float, run: dict[str, Any]):
    t = res["tokens"]
    p = res["params"]["non_embedding"]
    flop_item = t["fed_per_item"] * 2 * p
    useful = t["useful_per_item"] / t["fed_per_item"]
    scoring_ips = res["n"] / run["components"].get("scoring", float("nan"))
    share = flop_item * ips / 1e9 / gflops
    share_scoring = flop_item * scoring_ips / 1e9 / gflops
    return [
        f"  machine limit: {t['fed_per_item']:.1f} tokens fed/item ({t['useful_per_item']:.1f} "
        f"without padding; prefix {t['prefix_tokens']} tokens encoded once; {t['rows']} rows in "
        f"{t['forwards']} forwards; single-token choices: {t['single_token_choices']}) x 2 x "
        f"{p / 1e6:.1f}M non-embedding params = {flop_item / 1e9:.3f} GFLOP/item",
        f"    share of fp32 matmul peak {gflops:.1f} GFLOP/s, counting padding as work: "
        f"{100 * share:.1f}% whole process (median run), {100 * share_scoring:.1f}% in "
        f"choice scoring; useful tokens only: {100 * share * useful:.1f}% / "
        f"{100 * share_scoring * useful:.1f}%",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", nargs="+", choices=sorted(BENCHES), default=sorted(BENCHES))
    ap.add_argument("--limit", type=int, default=200, help="items per benchmark (default 200)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads, both sides (default 1)")
    ap.add_argument(
        "--lm-eval-batch-sizes",
        nargs="+",
        default=["1", "8", "32", "auto"],
        help="lm-eval batch_size settings to sweep (ints or 'auto'; default 1 8 32 auto)",
    )
    ap.add_argument("--repeats", type=int, default=3, help="runs per side and setting (default 3)")
    ap.add_argument(
        "--lm-eval-max-batch-size",
        type=int,
        default=None,
        help="cap for lm-eval's 'auto' probe (default: lm-eval's own, 64); its gemma probe "
        "holds about 3 x 64 x prompt length x 262k fp32 logits",
    )
    ap.add_argument("--skip-lm-eval", action="store_true", help="time culturealign only")
    ap.add_argument("--matmul-n", type=int, default=2048)
    ap.add_argument("--workdir", type=Path, default=None, help="keep outputs here (default temp)")
    args = ap.parse_args(argv)
    args.lm_eval_batch_sizes = [
        size if size == "auto" else int(size) for size in args.lm_eval_batch_sizes
    ]
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
        results = [run_bench(BENCHES[k], args, work) for k in args.bench]
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
