"""A translated training set with a translator: a cached ``translate`` stage before its pairs.

The translation is real (a tiny M2M100 built locally, through the seq2seq code path); pairs,
training and evaluation use the fake services.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from culturealign.experiments.executor import run_experiment
from culturealign.experiments.spec import load_spec
from tests.experiments import fakes
from tests.experiments.conftest import write_spec
from tests.translation.tiny_m2m import build_tiny_m2m

pytestmark = pytest.mark.needs_data


def _translated_grid(grid: dict, model: Path, beams: int) -> dict:
    translated = {
        "source_language": "ja",
        "target_language": "en",
        "translator": f"seq2seq:{model}",
        "options": {"max_length": 8, "beams": beams},
        "check_sample": 4,
    }
    sets = [ts for ts in grid["train_sets"] if ts["name"] != "MISSING-EN"]
    sets.append(
        {"name": "JCM-EN", "data": {"dataset": "jcm", "limit": 6, "translated": translated}}
    )
    return {**grid, "train_sets": sets}


def _run(tmp_path: Path, spec: dict, out: Path):
    fakes.CALLS.clear()
    path = write_spec(tmp_path / "spec.yaml", spec)
    return run_experiment(load_spec(path), out, fakes.FakeServices()), list(fakes.CALLS)


def test_translate_stage_runs_once_and_reports_round_trip(grid, tmp_path, monkeypatch):
    monkeypatch.setenv("CULTUREALIGN_CACHE", str(tmp_path / "cache"))
    model = build_tiny_m2m(tmp_path / "m2m")
    out = tmp_path / "run"
    plan, calls = _run(tmp_path, _translated_grid(grid, model, 5), out)
    kinds = [s.kind for s in plan.stages.values()]
    assert kinds[0] == "translate" and kinds.count("translate") == 1
    assert calls[0] == "translate" and calls.count("pairs") == 2
    assert all(c.stage for c in plan.cells if c.row == "JCM-EN")
    (folder,) = (out / "stages" / "translate").iterdir()
    rows = [json.loads(x) for x in (folder / "translated.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) == 6 and {r["label"] for r in rows} <= {0, 1} and rows[0]["source_text"]
    meta = json.loads((folder / "translated.jsonl.meta.json").read_text("utf-8"))
    assert meta["translator"]["beams"] == 5 and len(meta["source"]["sha256"]) == 64
    notes = json.loads((out / "plan.json").read_text("utf-8"))["notes"]
    assert any("JCM-EN" in n and "round trip on 4 sentences: chrF" in n for n in notes)

    _, calls = _run(tmp_path, _translated_grid(grid, model, 5), out)
    assert calls == []  # every stage cached
    plan, calls = _run(tmp_path, _translated_grid(grid, model, 2), out)
    assert calls.count("translate") == 1  # another beam width is another translation
    assert len(list((out / "stages" / "translate").iterdir())) == 2


def test_translated_set_without_translator_is_not_run(grid, tmp_path):
    plan, _ = _run(tmp_path, grid, tmp_path / "run")
    reasons = {c.reason for c in plan.cells if c.row == "MISSING-EN"}
    assert len(reasons) == 1 and "set data.translated.translator" in reasons.pop()


def test_table3_spec_translates_with_the_study_models():
    from culturealign.experiments.plan import build_plan
    from culturealign.experiments.spec import find_spec

    plan = build_plan(load_spec(find_spec(Path("jinnai2024_table3"))), fakes.FakeServices())
    translate = [s for s in plan.stages.values() if s.kind == "translate"]
    forward = {s.inputs["translator"]["forward"]["model"] for s in translate}
    assert "facebook/wmt21-dense-24-wide-x-en" in forward  # JCM-EN (ETHICS train may be absent)
    assert all(s.inputs["translator"]["forward"]["beams"] == 5 for s in translate)
    assert all(c.stage for c in plan.cells if c.row == "JCM-EN")
