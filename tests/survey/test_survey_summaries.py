"""The task metrics path (records -> summary) on the released CultureSPA answers and by hand."""

from __future__ import annotations

import json
import math

import pytest

from culturealign.data.survey import SurveyQuestion, SurveySet
from culturealign.data.wvs import WESTERN, load_culturespa_wvs, load_released_answers
from culturealign.evaluation.survey_metrics import opinion_similarity, parse_first_integer
from culturealign.evaluation.survey_report import (
    summarise_cali,
    summarise_opinions,
    summarise_wvs,
    write_report,
)


def _record(q, persona, country, raw):
    answer = parse_first_integer(raw)
    index = q.labels.index(str(answer)) if str(answer) in q.labels else None
    return {
        "question": q.id,
        "persona": persona,
        "country": country,
        "answer": answer,
        "prediction": index,
        "output": raw,
    }


@pytest.mark.needs_data
def test_summary_of_released_answers_reproduces_culturespa_fixture(tmp_path):
    survey = load_culturespa_wvs()
    unaware = load_released_answers("culture_unaware")
    records = [_record(q, "unaware", "-", unaware[q.id]) for q in survey.questions]
    for c in survey.countries:
        aware = load_released_answers(f"culture_aware_{c}")
        records += [
            _record(q, "aware", c, aware[q.id]) for q in survey.questions if c in q.majority
        ]
    m = summarise_wvs(records, survey, WESTERN)
    assert round(m["culturespa_unaware"]["value"] * 100, 2) == 62.36
    assert round(m["culturespa_aware"]["value"] * 100, 2) == 66.61
    assert m["culturespa_unaware"]["ci_low"] < m["culturespa_unaware"]["value"]
    assert m["culturespa_gain"]["value"] == pytest.approx(
        m["culturespa_aware"]["value"] - m["culturespa_unaware"]["value"]
    )
    assert round(m["gain_per_country"]["USA"] * 100, 2) == round(71.12 - 68.34, 2)
    assert len(m["per_category"]["aware"]) == 13  # 12 WorldValuesBench categories + uncategorised
    western = m["western_vs_rest"]["unaware"]["culturespa"]
    assert western["group"] > western["rest"]  # the released model leans Western
    json.dumps(m, allow_nan=False)  # strict JSON

    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "task": {"name": "wvs-culturespa"},
                "model": {"name": "Llama-3-8B (released)"},
                "metrics": m,
            }
        )
    )
    paths = write_report(tmp_path)
    assert {p.name for p in paths} == {"per_country.csv", "report.md", "per_country.png"}
    report = (tmp_path / "report.md").read_text()
    assert "| USA | 68.3 | 71.1 | 2.8 |" in report
    assert "Perceptions of Migration" in report
    csv_rows = (tmp_path / "per_country.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 2 * 18
    assert (tmp_path / "per_country.png").stat().st_size > 5000


def _goqa():
    q1 = SurveyQuestion(
        "a",
        "?",
        ("x", "y"),
        ("A", "B"),
        (None, None),
        {"US": (0.5, 0.5), "FR": (0.9, 0.1)},
        {"US": 0, "FR": 0},
    )
    q2 = SurveyQuestion(
        "b", "?", ("x", "y", "z"), ("A", "B", "C"), (None,) * 3, {"US": (0.2, 0.3, 0.5)}, {"US": 2}
    )
    return SurveySet("goqa", [q1, q2], ("US", "FR"), "-", "-")


def test_opinion_summary_expands_unaware_answers_to_every_country():
    survey = _goqa()
    records = [
        {"question": "a", "persona": "unaware", "country": "-", "probs": [0.7, 0.3]},
        {"question": "b", "persona": "unaware", "country": "-", "probs": [0.2, 0.3, 0.5]},
    ]
    m = summarise_opinions(records, survey)
    sims = {
        ("a", "US"): opinion_similarity([0.7, 0.3], [0.5, 0.5], 2),
        ("a", "FR"): opinion_similarity([0.7, 0.3], [0.9, 0.1], 2),
        ("b", "US"): 1.0,
    }
    assert m["similarity_unaware"]["value"] == pytest.approx(sum(sims.values()) / 3)
    us = (sims[("a", "US")] + 1.0) / 2
    assert m["per_country"]["unaware"]["US"]["similarity"] == pytest.approx(us)
    assert m["std_unaware"]["value"] == pytest.approx(abs(us - sims[("a", "FR")]) / math.sqrt(2))
    cb = summarise_opinions(records, survey, "culturebank")
    assert cb["similarity_unaware"]["value"] != pytest.approx(m["similarity_unaware"]["value"])


def test_cali_summary_by_hand():
    records = [
        {"group": "US", "target": t, "p_entail": p}
        for t, p in [(1, 0.95), (1, 0.65), (0, 0.75), (0, 0.1)]
    ]
    m = summarise_cali(records, ["US"])
    assert m["f1_US"]["value"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m["per_country"]["aware"]["US"]["threshold"] == 0.6
