"""End-to-end evaluation on the embedded gemma-3-270m: golden accuracy, resume, provenance."""

import json
import shutil

import pytest

from culturealign.evaluation import build_task
from culturealign.evaluation.runner import resolve_generation, run_task

pytestmark = pytest.mark.integration

# gemma-3-270m (GGUF Q4_K_M de-quantized, fp32, CPU), JCM test first 40 items, 3-shot, choice.
GOLDEN_JCM40_ACCURACY = 0.525


class CountingModel:
    """Wraps a real model and counts the requests it scores."""

    def __init__(self, model):
        self.inner, self.scored = model, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @property
    def is_chat(self):
        return self.inner.is_chat

    def choice_logprobs(self, requests, progress=None):
        self.scored += len(requests)
        return self.inner.choice_logprobs(requests, progress)


def test_golden_accuracy_and_outputs(gemma, tmp_path):
    task = build_task("jcm", {"limit": 40, "shots": 3})
    summary = run_task(task, gemma, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert len(records) == 40
    acc = sum(r["correct"] for r in records) / 40
    assert summary["metrics"]["accuracy"]["value"] == acc
    assert acc == pytest.approx(GOLDEN_JCM40_ACCURACY, abs=0.026)  # one item of slack
    first = records[0]
    assert {"id", "prompt", "logprobs", "prediction", "target"} <= set(first)
    assert first["prompt"].count("答え：") == 4  # 3 shots + the item
    assert summary["dataset"]["sha256"] and summary["environment"]["packages"]["torch"]
    assert (tmp_path / "results.md").read_text().startswith("| task | model |")


def test_resume_scores_only_missing_items(gemma, tmp_path):
    task = build_task("jcm", {"limit": 24, "shots": 0})
    full = run_task(task, gemma, tmp_path / "full")
    part = tmp_path / "part"
    run_task(task, gemma, part)
    lines = (part / "items.jsonl").read_text().splitlines(keepends=True)
    # Simulate a kill: 10 finished items, then a torn half line, no summary yet.
    (part / "items.jsonl").write_text("".join(lines[:10]) + lines[10][:25])
    (part / "summary.json").unlink()
    counting = CountingModel(gemma)
    resumed = run_task(task, counting, part)
    assert counting.scored == 14
    assert resumed["metrics"] == full["metrics"]


def test_resume_refuses_a_different_run(gemma, tmp_path):
    from culturealign.errors import CultureAlignError

    run_task(build_task("jcm", {"limit": 4, "shots": 0}), gemma, tmp_path)
    with pytest.raises(CultureAlignError, match="different run"):
        run_task(build_task("jcm", {"limit": 4, "shots": 1}), gemma, tmp_path)


def test_generate_mode_parses_answers(gemma, tmp_path):
    task = build_task("jcm", {"limit": 6, "shots": 3, "mode": "generate"})
    summary = run_task(task, gemma, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert all("output" in r for r in records)
    na = sum(r["prediction"] is None for r in records) / 6
    assert summary["metrics"]["na_rate"]["value"] == pytest.approx(na)


def test_sampled_run_resumes_to_the_same_answers(gemma, tmp_path):
    # Sampled answers depend on their batch and seed: a resume must redraw them identically.
    task = build_task("jcm", {"limit": 20, "shots": 0, "protocol": "jinnai2024"})
    generation = resolve_generation(task, max_new_tokens=3)
    run_task(task, gemma, tmp_path / "full", generation)
    full = (tmp_path / "full" / "items.jsonl").read_text().splitlines(keepends=True)
    outputs = {json.loads(line)["id"]: json.loads(line)["output"] for line in full}
    assert len(set(outputs.values())) > 1  # the draws differ between items
    for kept in (16, 10):  # a kill after the first chunk of 16, and one inside it
        part = shutil.copytree(tmp_path / "full", tmp_path / f"part{kept}")
        (part / "summary.json").unlink()
        (part / "items.jsonl").write_text("".join(full[:kept]) + full[kept][:25])
        run_task(task, gemma, part, generation)
        resumed = [json.loads(line) for line in (part / "items.jsonl").read_text().splitlines()]
        assert len(resumed) == 20
        assert {r["id"]: r["output"] for r in resumed} == outputs
