"""The task metrics path (records -> summary) on the released CultureSPA answers and by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from culturealign.data.cali import load_cali
from culturealign.data.survey import SurveyQuestion, SurveySet
from culturealign.data.wvs import WESTERN, load_culturespa_wvs, load_released_answers
from culturealign.evaluation.nli_metrics import best_threshold_f1, floor_f1
from culturealign.evaluation.opinion_metrics import opinion_similarity
from culturealign.evaluation.records import RunSummary, TaskRef
from culturealign.evaluation.survey_summary import summarise_cali, summarise_opinions, summarise_wvs
from culturealign.evaluation.wvs_metrics import parse_first_integer
from culturealign.reports.survey import report_markdown, write_survey_report


def _summary(task: str, model: str, metrics: dict) -> RunSummary:
    """A summary as the runner hands it to the report (only names and metrics matter here)."""
    return RunSummary(
        task=TaskRef(name=task, version=2, args={}),
        dataset={},
        model={"name": model},
        mode="choice",
        generation=None,
        table_columns=[],
        n_items=0,
        metrics=metrics,
        environment={},
        work={},
    )


def _item(id: str, **fields) -> dict:
    """An items.jsonl record: the common fields, then the task's."""
    return {"id": id, "prompt": "", "choices": [], "target": None, **fields}


def _record(q, persona, country, raw):
    answer = parse_first_integer(raw)
    index = q.labels.index(str(answer)) if str(answer) in q.labels else None
    return {
        "id": f"{persona}/{country}/{q.id}",
        "prompt": "",
        "choices": [],
        "question": q.id,
        "persona": persona,
        "country": country,
        "answer": answer,
        "prediction": index,
        "output": raw,
    }


@pytest.mark.needs_data
def test_summary_of_released_answers_reproduces_culturespa_fixture(tmp_path):
    """62.36 / 66.61: what CultureSPA's released analysis script prints for run 0 of its
    released answers (SOURCE.md), not a table of the paper (which averages 3 runs)."""
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
    # one answer for all countries: r and pooled r exist, the question-centred r cannot
    assert m["r_unaware"]["value"] > 0.2 and m["r_pooled_unaware"]["value"] > 0.2
    assert m["r_centred_unaware"] is None and m["r_centred_aware"]["value"] > 0
    assert m["r_aware"]["ci_low"] < m["r_aware"]["value"] < m["r_aware"]["ci_high"]
    western = m["western_vs_rest"]["unaware"]["culturespa"]
    assert western["group"] > western["rest"]  # the released model leans Western
    json.dumps(m, allow_nan=False)  # strict JSON

    paths = write_survey_report(tmp_path, _summary("wvs-culturespa", "Llama-3-8B (released)", m))
    assert not (tmp_path / "summary.json").exists()  # the report reads nothing back
    assert {p.name for p in paths} == {"per_country.csv", "report.md", "per_country.png"}
    report = (tmp_path / "report.md").read_text()
    assert "| USA | 68.3 | 71.1 | 2.8 |" in report
    assert "Perceptions of Migration" in report
    assert "| unaware | 27.3 | 27.2 | — |" in report  # r, r pooled, r centred
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
        _item("a", question="a", persona="unaware", country="-", prediction=0, probs=[0.7, 0.3]),
        _item(
            "b", question="b", persona="unaware", country="-", prediction=2, probs=[0.2, 0.3, 0.5]
        ),
    ]
    m = summarise_opinions(records, survey)
    sims = {
        ("a", "US"): opinion_similarity([0.7, 0.3], [0.5, 0.5], 2),
        ("a", "FR"): opinion_similarity([0.7, 0.3], [0.9, 0.1], 2),
        ("b", "US"): 1.0,
    }
    # Durmus et al.: question a's two countries first, then the two questions
    by_question = ((sims[("a", "US")] + sims[("a", "FR")]) / 2 + 1.0) / 2
    assert m["similarity_unaware"]["value"] == pytest.approx(by_question)
    assert m["average"] == "question"
    flat = summarise_opinions(records, survey, average="pair")
    assert flat["similarity_unaware"]["value"] == pytest.approx(sum(sims.values()) / 3)
    us = (sims[("a", "US")] + 1.0) / 2
    assert m["per_country"]["unaware"]["US"]["similarity"] == pytest.approx(us)
    assert m["std_unaware"]["value"] == pytest.approx(abs(us - sims[("a", "FR")]) / math.sqrt(2))
    cb = summarise_opinions(records, survey, "culturebank")
    assert cb["similarity_unaware"]["value"] != pytest.approx(m["similarity_unaware"]["value"])


def _cali_records(rows):
    return [
        {
            **_item(f"US/{premise}", group="US", item=str(premise), majority="entail"),
            **{"target": t, "p_entail": p, "premise": premise, "prediction": 0},
            **{"probs": [p, 0.0, 1 - p], "logprobs": [0.0, 0.0, 0.0]},
        }
        for premise, (t, p) in enumerate(rows)
    ]


def test_cali_summary_chooses_the_threshold_off_the_scored_fold_and_shows_the_floor():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 60)
    p = rng.uniform(0.5, 1.0, 60)  # no signal at all
    m = summarise_cali(_cali_records(zip(gold.tolist(), p.tolist(), strict=True)), ["US"])
    us = m["per_country"]["aware"]["US"]
    in_sample = best_threshold_f1(list(gold.astype(bool)), list(p))
    assert us["f1_threshold_on_test"] == pytest.approx(in_sample.f1)
    assert m["f1_US"]["value"] == pytest.approx(us["f1"]) and len(us["thresholds"]) == 5
    assert m["f1_US"]["value"] < in_sample.f1  # choosing t on the scored items flatters
    assert m["f1_US"]["ci_low"] <= m["f1_US"]["value"] <= m["f1_US"]["ci_high"]
    n_pos = int(gold.sum())
    assert us["f1_all_not_entail"] == pytest.approx((60 - n_pos) / (120 - n_pos))
    assert m["floor_US"]["value"] == max(us["f1_all_not_entail"], us["f1_all_entail"])
    report = report_markdown(_summary("cali", "m", m))
    assert "## F1 and its floors" in report and "cross-validation" in report


def test_cali_summary_by_hand():
    records = _cali_records([(1, 0.95), (1, 0.65), (0, 0.75), (0, 0.1)])
    m = summarise_cali(records, ["US"])
    us = m["per_country"]["aware"]["US"]
    assert us["f1_threshold_on_test"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert us["threshold_on_test"] == 0.6
    assert us["f1_all_not_entail"] == pytest.approx(1 / 3)


@pytest.mark.needs_data
def test_cali_reference_numbers_of_llama2_7b_are_the_all_not_entail_floor():
    """CultureBank Table 3's Llama-2-7b-chat 39.2 (US) / 39.5 (IN) is what t = 1.0 gives."""
    items = load_cali().unique_pairs().items
    for group, paper in (("US", 39.2), ("IN", 39.5)):
        gold = [it.majority(group) == "entail" for it in items]
        assert round(floor_f1(gold)["all_not_entail"] * 100, 1) == paper
        # t = 1.0 is among the thresholds, so choosing t on these items never scores below it
        noise = np.random.default_rng(0).uniform(0.5, 1.0, len(gold))
        assert best_threshold_f1(gold, list(noise)).f1 >= floor_f1(gold)["all_not_entail"]
