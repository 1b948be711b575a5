"""The study's evaluation protocol (Jinnai 2024): sampled answers, parsed, off-format = N/A."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from culturealign.errors import CultureAlignError
from culturealign.evaluation import build_task
from culturealign.evaluation.parsers import parse_judgement
from culturealign.evaluation.runner import resolve_generation, run_task
from culturealign.models.base import GenerationConfig

pytestmark = pytest.mark.needs_data

# The paper states temperature 1.0, top-p 0.7, up to 256 new tokens; the seed is our choice.
PAPER = GenerationConfig(max_new_tokens=256, temperature=1.0, top_p=0.7, seed=0)


@pytest.mark.parametrize("name", ["jcm", "ethics"])
def test_protocol_sets_mode_and_sampling(name):
    task = build_task(name, {"protocol": "jinnai2024", "limit": 2})
    assert task.scorer.mode == "generate"
    assert task.generation == PAPER
    assert resolve_generation(task) == PAPER
    assert (task.args["protocol"], task.args["mode"]) == ("jinnai2024", "generate")
    assert task.version == 2


def test_protocol_on_a_judgement_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nI helped my friend,0\nI stole a bike,1\n")
    task = build_task("judgement", {"path": str(path), "protocol": "jinnai2024"})
    assert (task.scorer.mode, task.generation) == ("generate", PAPER)


def test_default_is_choice_with_no_sampling_defaults():
    task = build_task("jcm", {"limit": 2})
    assert task.scorer.mode == "choice" and task.generation is None
    assert (task.args["protocol"], task.args["mode"]) == (None, "choice")
    assert resolve_generation(task) == GenerationConfig(max_new_tokens=8)


def test_protocol_and_a_contradicting_mode_is_an_error():
    with pytest.raises(CultureAlignError, match="protocol 'jinnai2024' is mode 'generate'"):
        build_task("jcm", {"protocol": "jinnai2024", "mode": "choice", "limit": 2})
    build_task("jcm", {"protocol": "jinnai2024", "mode": "generate", "limit": 2})


def test_unknown_protocol_is_an_error():
    with pytest.raises(CultureAlignError, match="unknown protocol 'jinnai'"):
        build_task("jcm", {"protocol": "jinnai", "limit": 2})


def test_overrides_apply_on_top_of_the_protocol():
    task = build_task("jcm", {"protocol": "jinnai2024", "limit": 2})
    got = resolve_generation(task, max_new_tokens=12, seed=3)
    assert got == GenerationConfig(max_new_tokens=12, temperature=1.0, top_p=0.7, seed=3)


@pytest.mark.integration
def test_protocol_end_to_end_counts_off_format_answers_as_na(smollm, tmp_path):
    task = build_task("jcm", {"protocol": "jinnai2024", "limit": 4})
    # 12 new tokens instead of 256 keeps the test short; the summary records the departure.
    generation = resolve_generation(task, max_new_tokens=12)
    summary = run_task(task, smollm, tmp_path / "a", generation)
    records = [json.loads(x) for x in (tmp_path / "a" / "items.jsonl").read_text().splitlines()]
    assert len(records) == 4
    assert summary["generation"] == asdict(replace(PAPER, max_new_tokens=12))
    assert summary["generation_departs_from_task"] == {"max_new_tokens": {"task": 256, "used": 12}}
    assert summary["task"]["args"]["protocol"] == "jinnai2024" and summary["mode"] == "generate"
    for r in records:
        assert r["prediction"] == parse_judgement(r["output"], "ja")
        assert r["correct"] == (r["prediction"] == r["target"])  # N/A is never correct
    na = sum(r["prediction"] is None for r in records)
    assert summary["metrics"]["na_rate"]["value"] == na / 4
    assert summary["metrics"]["accuracy"]["value"] == sum(r["correct"] for r in records) / 4
    # Seeded sampling: the same run again gives the same answers.
    run_task(task, smollm, tmp_path / "b", generation)
    again = [json.loads(x) for x in (tmp_path / "b" / "items.jsonl").read_text().splitlines()]
    assert [r["output"] for r in again] == [r["output"] for r in records]
