"""The pipeline end to end on tiny settings with the real embedded model, and the demo spec."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from culturealign.culturespa.pipeline import TABLE_JSON, TABLE_MD, run_culturespa
from culturealign.culturespa.spec import load_culturespa_spec
from culturealign.errors import CultureAlignError
from culturealign.experiments.spec import shipped_specs


class Recorder(Console):
    """A real rich console writing to memory (the SFT progress bar needs a real one)."""

    def __init__(self) -> None:
        super().__init__(file=io.StringIO(), width=200, soft_wrap=True)

    @property
    def lines(self) -> list[str]:
        return self.file.getvalue().splitlines()


TINY = {
    "kind": "culturespa",
    "name": "tiny",
    "model": "smollm2-135m-instruct",
    "model_options": {"threads": 1},
    "generate": {"source": "release", "topics": [3], "per_topic": 3},
    "answer": {"countries": ["USA", "NGA"], "max_new_tokens": 4, "seeds": [42]},
    "train": {"adapters": ["joint"], "sft": {"max_steps": 2, "batch_size": 2, "threads": 1}},
    "evaluate": {"mode": "choice", "limit": 4},
}


def test_tiny_pipeline_runs_every_stage_and_reruns_from_cache(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    out, console = tmp_path / "run", Recorder()
    result = run_culturespa(spec, out, True, False, console)
    stages = out / "stages"
    questions = (
        (next((stages / "questions").iterdir()) / "questions.jsonl").read_text().splitlines()
    )
    assert len(questions) == 3
    answers = next((stages / "answers").iterdir()) / "answers.jsonl"
    rows = [json.loads(x) for x in answers.read_text().splitlines()]
    assert sorted({r["country"] for r in rows}) == ["-", "NGA", "USA"] and len(rows) == 9
    stats = json.loads((next((stages / "sft_data").iterdir()) / "filter.json").read_text())
    joint = stats["joint"]
    assert joint == sum(s["kept"] for s in stats["per_country"].values())
    # The joint adapter exists exactly when some answer survived the filter.
    assert set(result["models"]) == ({"base", "joint"} if joint else {"base"})
    if joint:
        adapter = next((stages / "adapter").iterdir())
        assert (adapter / "adapter_config.json").is_file()
        assert json.loads((adapter / "training_manifest.json").read_text())["summary"]["steps"] == 2
    assert result["countries"] == ["USA", "NGA"]
    assert result["models"]["base"]["avg"]["value"] is not None
    assert (out / TABLE_MD).read_text().startswith("| model | USA | NGA | Avg |")
    assert json.loads((out / TABLE_JSON).read_text()) == result
    # A second run does nothing but read the finished stages.
    again = Recorder()
    assert run_culturespa(spec, out, True, False, again) == result
    assert all("cached" in line for line in again.lines if line.split(":")[0] in
               {"questions", "answers", "sft_data", "adapter", "evaluate"})  # fmt: skip


def test_shipped_specs_validate_and_state_their_provenance():
    demo = load_culturespa_spec(shipped_specs()["culturespa_demo"])
    release = load_culturespa_spec(shipped_specs()["culturespa_release"])
    assert len(demo.generate.topics) == 2 and demo.generate.per_topic == 50
    assert len(demo.answer.countries) == 4 and demo.train.adapters == ["joint"]
    assert len(release.answer.countries) == 18 and release.generate.per_topic == 1000
    assert (release.generate.temperature, release.generate.top_p) == (0.9, 0.95)
    assert (release.answer.temperature, release.answer.top_p) == (0.6, 0.9)
    sft = release.train.sft
    assert sft["batch_size"] * sft["grad_accum"] == 128 and sft["warmup_ratio"] == 0.1
    assert "release" in release.paper and "Our choice" in demo.paper


def test_bad_spec_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**TINY, "answer": {"countries": ["XXX"]}}))
    with pytest.raises(CultureAlignError, match="unknown countries"):
        load_culturespa_spec(bad)
    bad.write_text(yaml.safe_dump({**TINY, "generate": {"per_topic": 0}}))
    with pytest.raises(CultureAlignError, match="per_topic"):
        load_culturespa_spec(bad)


@pytest.mark.slow
def test_demo_spec_end_to_end(tmp_path):
    result = run_culturespa(
        Path(shipped_specs()["culturespa_demo"]), tmp_path, True, False, Recorder(), 2
    )
    assert result["countries"] == ["USA", "DEU", "CHN", "NGA"]
    assert "joint" in result["models"]
