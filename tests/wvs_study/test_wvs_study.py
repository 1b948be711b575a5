"""The model comparison: figures from known mean scores, and a real run with an embedded model."""

from __future__ import annotations

import json

import pytest

from culturealign.errors import CultureAlignError
from culturealign.evaluation.wvs_metrics import MeanPair
from culturealign.reports.wvs_study import model_figures, western_gap, write_study_report
from culturealign.wvs_study.spec import load_study_spec

HUMAN = [0.1, 0.4, 0.2, 0.9, 0.6, 0.3, 0.8, 0.5]


def pairs(follow: dict[str, bool]) -> list[MeanPair]:
    """Each country's model means: equal to the human ones (r = 1) or reversed (r = -1)."""
    out = []
    for c, good in follow.items():
        for i, h in enumerate(HUMAN):
            cat = "A" if i < 4 else "B"
            out.append(MeanPair(f"Q{i + 1}", c, cat, h if good else 1 - h, h))
    return out


def test_western_gap_is_western_minus_rest_with_an_interval():
    rows = pairs({"USA": True, "GBR": True, "NGA": False, "IND": False})
    gap = western_gap(rows, ["USA", "GBR", "NGA", "IND"], {"USA", "GBR"})
    assert gap["western"] == pytest.approx(1.0) and gap["rest"] == pytest.approx(-1.0)
    assert gap["value"] == pytest.approx(2.0)
    assert gap["ci_low"] == pytest.approx(2.0) and gap["ci_high"] == pytest.approx(2.0)
    mixed = pairs({"USA": True, "NGA": True}) + [
        MeanPair(f"Q{i + 1}", "IND", None, h * h, h) for i, h in enumerate(HUMAN)
    ]
    gap = western_gap(mixed, ["USA", "NGA", "IND"], {"USA"})
    assert 0 < gap["value"] and gap["ci_low"] <= gap["value"] <= gap["ci_high"]


def test_figures_per_category_and_country_and_the_report_files(tmp_path):
    countries = ["USA", "NGA"]
    figures = {
        "good": model_figures(pairs({"USA": True, "NGA": True}), countries, {"USA"}),
        "biased": model_figures(pairs({"USA": True, "NGA": False}), countries, {"USA"}),
    }
    assert figures["good"]["per_category"] == pytest.approx({"A": 1.0, "B": 1.0})
    assert figures["biased"]["per_country"] == pytest.approx({"USA": 1.0, "NGA": -1.0})
    assert figures["biased"]["western_gap"]["value"] == pytest.approx(2.0)
    paths = write_study_report(tmp_path, figures, {"USA"})
    assert paths[-1].read_bytes().startswith(b"\x89PNG")
    text = (tmp_path / "study.md").read_text()
    assert "| biased |" in text and "## Per category" in text
    assert json.loads((tmp_path / "study.json").read_text())["western"] == ["USA"]


def test_spec_errors_name_the_field(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("kind: wvs-study\nname: x\nmodels: [{id: m}]\nmode: sample\n")
    with pytest.raises(CultureAlignError, match="mode"):
        load_study_spec(path)


@pytest.mark.needs_data
@pytest.mark.integration
def test_run_compares_models_and_resumes(tmp_path):
    """`culturealign run` on a 3-question x 2-country spec with the real embedded smollm2."""
    from tests.conftest import run_cli

    spec = tmp_path / "tiny.yaml"
    spec.write_text(
        "kind: wvs-study\nname: tiny\n"
        "data: {countries: [USA, NGA], questions: [Q1, Q27, Q45]}\n"
        "models:\n  - {id: smollm2-135m-instruct, label: smollm2, threads: 1}\n"
        "  - {id: smollm2-135m-instruct, label: smollm2-copy, threads: 1}\n"
    )
    out = tmp_path / "run"
    result = run_cli("run", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr
    study = json.loads((out / "study.json").read_text())
    assert set(study["models"]) == {"smollm2", "smollm2-copy"}
    one, two = study["models"]["smollm2"], study["models"]["smollm2-copy"]
    assert one["n_pairs"] == 6 and one["r"] == pytest.approx(two["r"])  # same model, same r
    assert set(one["per_country"]) == {"USA", "NGA"}
    assert (out / "heatmap.png").is_file()
    items = (out / "models" / "smollm2" / "items.jsonl").read_text().splitlines()
    assert len(items) == 6
    again = run_cli("run", str(spec), "--out", str(out))  # finished: nothing re-evaluated
    assert again.returncode == 0 and "evaluating" not in again.stderr
